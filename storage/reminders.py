"""What the scheduler's reminders and the office's digest read, and the claims that
make each notice go once.

A claim is a row of `sent_notices`, unique by (kind, key), written in the same
transaction as the notice's delivery: after a restart the row says the notice went,
and when two schedulers race on one database only one insert succeeds (PostgreSQL
holds the second until the first commits, SQLite lets one writer in at a time), so
the other sends nothing. No query here commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import Subquery, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.models import (
    Answer,
    Attachment,
    Delivery,
    DeliveryState,
    Intervention,
    SentNotice,
    StatusChange,
    User,
)
from storage.status import Status

#: Reports a technician has under way: started, or returned by the office for a correction.
UNDER_WAY = (Status.IN_PROGRESS, Status.RETURNED)
#: The most rows one list of the digest reads (it shows fewer, then how many more).
DIGEST_ROWS = 200


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    """A moment computed by the database (a MAX), marked UTC where the driver left it bare."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment


async def sent(session: AsyncSession, kind: str, keys: Iterable[str]) -> set[str]:
    """Those of `keys` already claimed under `kind` (one query)."""
    wanted = list(keys)
    if not wanted:
        return set()
    query = select(SentNotice.key).where(SentNotice.kind == kind, SentNotice.key.in_(wanted))
    return set((await session.scalars(query)).all())


async def claim(session: AsyncSession, kind: str, key: str, at: dt.datetime) -> bool:
    """Claim the notice (kind, key) for this unit of work: True when it is ours to send,
    False when another unit of work (another scheduler, an earlier run) has it."""
    try:
        async with session.begin_nested():
            session.add(SentNotice(kind=kind, key=key, claimed_at=at))
    except IntegrityError:
        return False
    return True


#: An intervention as a notice names it: with its client, site and technician.
_WITH_PEOPLE = (
    selectinload(Intervention.client),
    selectinload(Intervention.site),
    selectinload(Intervention.technician),
)


async def planned_between(
    session: AsyncSession, start: dt.datetime, end: dt.datetime
) -> Sequence[Intervention]:
    """Planned interventions scheduled from `start` (included) to `end` (excluded) whose
    technician is active, with their client, site and technician, by time."""
    query = (
        select(Intervention)
        .join(User, User.id == Intervention.technician_id)
        .options(*_WITH_PEOPLE)
        .where(
            Intervention.status == Status.PLANNED,
            Intervention.scheduled_at >= start,
            Intervention.scheduled_at < end,
            User.active.is_(True),
        )
        .order_by(Intervention.scheduled_at, Intervention.id)
    )
    return (await session.scalars(query)).all()


async def under_way(session: AsyncSession) -> list[tuple[Intervention, dt.datetime]]:
    """Reports under way whose technician is active, each with the moment it was last
    worked on: the latest of its own last change, an answer given to it and a file
    received for it. Oldest activity first."""
    answered = (
        select(func.max(Answer.created_at))
        .where(Answer.intervention_id == Intervention.id)
        .scalar_subquery()
    )
    received = (
        select(func.max(Attachment.received_at))
        .where(Attachment.intervention_id == Intervention.id)
        .scalar_subquery()
    )
    query = (
        select(Intervention, answered, received)
        .join(User, User.id == Intervention.technician_id)
        .options(*_WITH_PEOPLE)
        .where(Intervention.status.in_(UNDER_WAY), User.active.is_(True))
        .order_by(Intervention.id)
    )
    found = []
    for job, answer_at, file_at in (await session.execute(query)).all():
        moments = [m for m in (job.updated_at, _aware(answer_at), _aware(file_at)) if m]
        found.append((job, max(moments)))
    return sorted(found, key=lambda pair: (pair[1], pair[0].id))


def _submissions(start: dt.datetime | None = None, end: dt.datetime | None = None) -> Subquery:
    """Each intervention's latest submission (a move to awaiting validation), within
    [start, end) when given: a subquery of (intervention_id, at)."""
    query = select(StatusChange.intervention_id, func.max(StatusChange.at).label("at")).where(
        StatusChange.to_status == Status.AWAITING_VALIDATION
    )
    if start is not None:
        query = query.where(StatusChange.at >= start)
    if end is not None:
        query = query.where(StatusChange.at < end)
    return query.group_by(StatusChange.intervention_id).subquery()


async def _submitted(
    session: AsyncSession, latest: Subquery, *only: Status
) -> list[tuple[Intervention, dt.datetime]]:
    query = (
        select(Intervention, latest.c.at)
        .join(latest, latest.c.intervention_id == Intervention.id)
        .options(*_WITH_PEOPLE)
        .order_by(latest.c.at, Intervention.id)
        .limit(DIGEST_ROWS)
    )
    if only:
        query = query.where(Intervention.status.in_(only))
    rows = (await session.execute(query)).all()
    return [(job, _aware(at) or job.updated_at) for job, at in rows]


async def submitted_between(
    session: AsyncSession, start: dt.datetime, end: dt.datetime
) -> list[tuple[Intervention, dt.datetime]]:
    """Interventions whose report was submitted from `start` to `end` (excluded), each
    with the moment (the latest, if it was submitted again), oldest first."""
    return await _submitted(session, _submissions(start, end))


async def awaiting_validation(session: AsyncSession) -> list[tuple[Intervention, dt.datetime]]:
    """Reports awaiting the office's validation, each with when it was submitted,
    the longest waiting first."""
    return await _submitted(session, _submissions(), Status.AWAITING_VALIDATION)


async def failed_between(
    session: AsyncSession, start: dt.datetime, end: dt.datetime
) -> list[tuple[Delivery, str | None]]:
    """Deliveries that failed from `start` to `end` (excluded), each with the number of
    its intervention if it has one, oldest first. A failed delivery keeps the time of
    its last attempt as `next_attempt_at`, which is when it failed."""
    query = (
        select(Delivery, Intervention.number)
        .outerjoin(Intervention, Intervention.id == Delivery.intervention_id)
        .where(
            Delivery.state == DeliveryState.FAILED,
            Delivery.next_attempt_at >= start,
            Delivery.next_attempt_at < end,
        )
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(DIGEST_ROWS)
    )
    return [(delivery, number) for delivery, number in (await session.execute(query)).all()]


async def names_by_chat(session: AsyncSession, chat_ids: Iterable[int]) -> dict[int, str]:
    """The names of the people whose private chats these are, by chat id (one query)."""
    wanted = set(chat_ids)
    if not wanted:
        return {}
    rows = await session.execute(
        select(User.telegram_id, User.name).where(User.telegram_id.in_(wanted))
    )
    return {chat_id: name for chat_id, name in rows}
