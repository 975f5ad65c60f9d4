"""The interventions of a period, for the office's spreadsheet export (billing, payroll).

An intervention belongs to the period in which its work happened: the moment it was
started, else the moment it was planned for, else the moment it was created. The
bounds are moments (timezone-aware), the start included and the end excluded: the
caller turns "from 01/11 to 30/11, inclusive, in the company's time zone" into
[01/11 00:00, 01/12 00:00) local time. Read only: nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.models import Client, Intervention, Rating, Site, User


@dataclass(frozen=True)
class ExportRecord:
    """One intervention (its parts loaded) with the names printed beside it."""

    job: Intervention
    client: str
    site: str
    """The site's name and address on one line; empty when the intervention has no site."""
    technician: str
    """Empty when nobody is assigned."""
    rating: int | None
    """The client's score, 1 to 5; None when the client has not rated it."""


def _site_line(name: str | None, address: str | None) -> str:
    address_line = ", ".join(line.strip() for line in (address or "").splitlines() if line.strip())
    return " — ".join(part for part in ((name or "").strip(), address_line) if part)


async def interventions_between(
    session: AsyncSession, start: dt.datetime, end: dt.datetime
) -> list[ExportRecord]:
    """The interventions whose work moment is in [start, end), in that order (then by number)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("the bounds of an export must be timezone-aware")
    moment = func.coalesce(
        Intervention.started_at, Intervention.scheduled_at, Intervention.created_at
    )
    query = (
        select(Intervention, Client.name, Site.name, Site.address, User.name, Rating.score)
        .join(Client, Client.id == Intervention.client_id)
        .outerjoin(Site, Site.id == Intervention.site_id)
        .outerjoin(User, User.id == Intervention.technician_id)
        .outerjoin(Rating, Rating.intervention_id == Intervention.id)
        .options(selectinload(Intervention.parts))
        .where(moment >= start, moment < end)
        .order_by(moment, Intervention.year, Intervention.seq)
    )
    rows = (await session.execute(query)).all()
    return [
        ExportRecord(
            job=job,
            client=client,
            site=_site_line(site_name, site_address),
            technician=technician or "",
            rating=score,
        )
        for job, client, site_name, site_address, technician, score in rows
    ]
