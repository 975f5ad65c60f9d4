"""Interventions: yearly numbering, status changes with their audit trail, and the
lists the technician and the office look at."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from storage.models import Counter, Intervention, StatusChange, User
from storage.status import Status, check_move

NUMBER_PREFIX = "OT"


def format_number(year: int, seq: int) -> str:
    """OT-2026-0042: the number printed on the report and typed in /find."""
    return f"{NUMBER_PREFIX}-{year}-{seq:04d}"


async def next_number(session: AsyncSession, year: int) -> tuple[int, str]:
    """Take the next number of `year`; safe when several units of work run at once.

    The UPDATE locks the counter row until the unit of work commits, so two
    interventions never share a number, on SQLite or PostgreSQL.
    """
    name = f"intervention-{year}"
    bump = update(Counter).where(Counter.name == name).values(value=Counter.value + 1)
    if not (await session.execute(bump)).rowcount:  # type: ignore[attr-defined]
        try:
            async with session.begin_nested():
                session.add(Counter(name=name, value=0))
        except IntegrityError:
            pass  # another unit of work created this year's counter first
        await session.execute(bump)
    seq = int(await session.scalar(select(Counter.value).where(Counter.name == name)) or 0)
    return seq, format_number(year, seq)


async def create(
    session: AsyncSession,
    *,
    year: int,
    client_id: int,
    kind: str,
    template: str,
    created_by: User | None = None,
    technician: User | None = None,
    **fields: object,
) -> Intervention:
    """A new planned intervention with the next number of `year`."""
    seq, number = await next_number(session, year)
    intervention = Intervention(
        number=number,
        year=year,
        seq=seq,
        client_id=client_id,
        kind=kind,
        template=template,
        status=Status.PLANNED,
        created_by_id=created_by.id if created_by else None,
        technician_id=technician.id if technician else None,
        wizard_data={},
        **fields,
    )
    session.add(intervention)
    await session.flush()
    session.add(
        StatusChange(
            intervention_id=intervention.id,
            user_id=created_by.id if created_by else None,
            from_status=None,
            to_status=Status.PLANNED,
        )
    )
    return intervention


async def change_status(
    session: AsyncSession,
    intervention: Intervention,
    target: Status,
    by: User | None,
    note: str | None = None,
) -> StatusChange:
    """Move the intervention to `target` if the rules allow it, and record who did it."""
    current = Status(intervention.status)
    check_move(current, target)
    intervention.status = target
    change = StatusChange(
        intervention_id=intervention.id,
        user_id=by.id if by else None,
        from_status=current,
        to_status=target,
        note=note,
    )
    session.add(change)
    await session.flush()
    return change


async def trail(session: AsyncSession, intervention_id: int) -> Sequence[StatusChange]:
    """The intervention's audit trail, oldest change first."""
    query = (
        select(StatusChange)
        .where(StatusChange.intervention_id == intervention_id)
        .order_by(StatusChange.at, StatusChange.id)
    )
    return (await session.scalars(query)).all()


async def return_note(session: AsyncSession, intervention_id: int) -> str | None:
    """What the office wrote when it last returned the report to the technician (not
    the note of a report coming back to `returned` from the client's answer)."""
    query = (
        select(StatusChange.note)
        .where(
            StatusChange.intervention_id == intervention_id,
            StatusChange.from_status == Status.AWAITING_VALIDATION,
            StatusChange.to_status == Status.RETURNED,
        )
        .order_by(StatusChange.id.desc())
        .limit(1)
    )
    return await session.scalar(query)


async def left_for_client(session: AsyncSession, intervention_id: int) -> Status:
    """The status the intervention was in when the technician last asked the client to
    accept remotely (in progress, or returned for a correction): where it goes back."""
    query = (
        select(StatusChange.from_status)
        .where(
            StatusChange.intervention_id == intervention_id,
            StatusChange.to_status == Status.AWAITING_CLIENT,
        )
        .order_by(StatusChange.id.desc())
        .limit(1)
    )
    found = await session.scalar(query)
    return Status(found) if found else Status.IN_PROGRESS


async def by_number(session: AsyncSession, number: str) -> Intervention | None:
    return await session.scalar(
        select(Intervention).where(Intervention.number == number.strip().upper())
    )


async def by_id(session: AsyncSession, intervention_id: int) -> Intervention | None:
    """The intervention alone: no query when this unit of work has it already."""
    return await session.get(Intervention, intervention_id)


async def get(session: AsyncSession, intervention_id: int) -> Intervention | None:
    """The intervention with its client and site (one query). Its checklist, parts and
    attachments are loaded by `load`, by whoever needs them."""
    return await session.scalar(
        select(Intervention)
        .options(joinedload(Intervention.client), joinedload(Intervention.site))
        .where(Intervention.id == intervention_id)
    )


#: The collections of an intervention that `load` knows.
COLLECTIONS = ("checklist", "parts", "attachments")


async def load(intervention: Intervention, *names: str) -> None:
    """Load these collections of the intervention (checklist, parts, attachments), one
    query each for those not loaded yet."""
    for name in names:
        await getattr(intervention.awaitable_attrs, name)


async def for_technician(
    session: AsyncSession, technician_id: int, statuses: Iterable[Status]
) -> Sequence[Intervention]:
    """A technician's interventions in `statuses`, by scheduled time (unscheduled last)."""
    query = (
        select(Intervention)
        .options(selectinload(Intervention.client), selectinload(Intervention.site))
        .where(
            Intervention.technician_id == technician_id,
            Intervention.status.in_([s.value for s in statuses]),
        )
        .order_by(Intervention.scheduled_at.is_(None), Intervention.scheduled_at, Intervention.id)
    )
    return (await session.scalars(query)).all()


async def client_history(
    session: AsyncSession, client_id: int, *, before: Intervention, limit: int = 5
) -> Sequence[Intervention]:
    """The client's earlier interventions, newest first (not the given one)."""
    query = (
        select(Intervention)
        .where(Intervention.client_id == client_id, Intervention.id != before.id)
        .order_by(Intervention.created_at.desc(), Intervention.id.desc())
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def overdue(session: AsyncSession, before: dt.datetime) -> Sequence[Intervention]:
    """Planned interventions scheduled before `before` (not started in time)."""
    query = (
        select(Intervention)
        .options(selectinload(Intervention.client), selectinload(Intervention.technician))
        .where(Intervention.status == Status.PLANNED, Intervention.scheduled_at < before)
        .order_by(Intervention.scheduled_at)
        .limit(200)
    )
    return (await session.scalars(query)).all()


async def scheduled_between(
    session: AsyncSession, start: dt.datetime, end: dt.datetime
) -> Sequence[Intervention]:
    """Interventions scheduled from `start` (included) to `end` (excluded), with their
    client, site and technician, by time."""
    query = (
        select(Intervention)
        .options(
            selectinload(Intervention.client),
            selectinload(Intervention.site),
            selectinload(Intervention.technician),
        )
        .where(Intervention.scheduled_at >= start, Intervention.scheduled_at < end)
        .order_by(Intervention.scheduled_at, Intervention.id)
    )
    return (await session.scalars(query)).all()


async def for_planning(session: AsyncSession, intervention_id: int) -> Intervention | None:
    """The intervention with its client, site and technician loaded, for the office."""
    return await session.scalar(
        select(Intervention)
        .options(
            selectinload(Intervention.client),
            selectinload(Intervention.site),
            selectinload(Intervention.technician),
        )
        .where(Intervention.id == intervention_id)
    )


async def latest_for_client(
    session: AsyncSession, client_id: int, limit: int
) -> Sequence[Intervention]:
    """The client's latest interventions with their technician, the latest scheduled
    first (unscheduled ones after), for the client's card."""
    query = (
        select(Intervention)
        .options(selectinload(Intervention.technician))
        .where(Intervention.client_id == client_id)
        .order_by(
            Intervention.scheduled_at.is_(None),
            Intervention.scheduled_at.desc(),
            Intervention.created_at.desc(),
            Intervention.id.desc(),
        )
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def validated_for_client(session: AsyncSession, client_id: int) -> Sequence[Intervention]:
    """The client's validated interventions, oldest first."""
    query = (
        select(Intervention)
        .where(Intervention.client_id == client_id, Intervention.status == Status.VALIDATED)
        .order_by(Intervention.ended_at, Intervention.id)
    )
    return (await session.scalars(query)).all()


async def latest_validated(
    session: AsyncSession, client_id: int, limit: int
) -> Sequence[Intervention]:
    """The client's latest validated interventions, newest first."""
    query = (
        select(Intervention)
        .where(Intervention.client_id == client_id, Intervention.status == Status.VALIDATED)
        .order_by(Intervention.ended_at.desc(), Intervention.id.desc())
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def by_reference(session: AsyncSession, reference: str) -> Intervention | None:
    """The intervention the office gave this reference (an imported file's key)."""
    return await session.scalar(select(Intervention).where(Intervention.reference == reference))


async def same_slot(
    session: AsyncSession,
    *,
    client_id: int,
    template: str,
    scheduled_at: dt.datetime,
    without_reference: bool = False,
) -> Intervention | None:
    """An intervention of this client, template and scheduled time, whatever its status
    (the oldest); with `without_reference`, only one the office gave no reference."""
    query = select(Intervention).where(
        Intervention.client_id == client_id,
        Intervention.template == template,
        Intervention.scheduled_at == scheduled_at,
    )
    if without_reference:
        query = query.where(Intervention.reference.is_(None))
    return await session.scalar(query.order_by(Intervention.id).limit(1))
