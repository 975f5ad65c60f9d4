"""The office's figures: work done per technician and week, and interventions by status.

An intervention counts in the week it ended, or, while it is not finished, in the
week it started; cancelled interventions do not count as work. Weeks are ISO weeks
(Monday to Sunday) in the company's time zone: a job ended on Sunday at 23:30 in
Paris belongs to that Sunday's week, although it is Monday already in some other
zone or Sunday 22:30 in UTC. The database hands back the moments; the grouping
by local week happens here, in Python, since SQLite and PostgreSQL truncate dates
differently.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Intervention, User, utcnow
from storage.status import Status

DEFAULT_WEEKS = 8

#: The order the office reads statuses in: the life of an intervention, cancelled last.
STATUS_ORDER: tuple[Status, ...] = (
    Status.PLANNED,
    Status.IN_PROGRESS,
    Status.POSTPONED,
    Status.AWAITING_CLIENT,
    Status.AWAITING_VALIDATION,
    Status.RETURNED,
    Status.VALIDATED,
    Status.CANCELLED,
)


@dataclass(frozen=True)
class TechnicianWeeks:
    """One technician's work, one value per week of `Activity.weeks`."""

    technician_id: int
    name: str
    interventions: tuple[int, ...]
    hours: tuple[Decimal, ...]

    @property
    def total_interventions(self) -> int:
        return sum(self.interventions)

    @property
    def total_hours(self) -> Decimal:
        return sum(self.hours, Decimal(0))


@dataclass(frozen=True)
class Activity:
    """What `/stats` shows: the last weeks of work, and every intervention by status."""

    #: The Monday of each ISO week, oldest first; the last one is the current week.
    weeks: tuple[dt.date, ...]
    #: Technicians with some work in those weeks, by name.
    technicians: tuple[TechnicianWeeks, ...]
    #: Every intervention ever recorded, by status (each status present, 0 when none).
    by_status: dict[Status, int]

    @property
    def has_interventions(self) -> bool:
        return any(self.by_status.values())


def week_of(moment: dt.datetime, tz: dt.tzinfo) -> dt.date:
    """The Monday of the ISO week `moment` falls in, as the company's clock reads it."""
    day = moment.astimezone(tz).date()
    return day - dt.timedelta(days=day.weekday())


def last_weeks(now: dt.datetime, tz: dt.tzinfo, count: int) -> tuple[dt.date, ...]:
    """The Mondays of the `count` weeks up to and including the current one, oldest first."""
    if count < 1:
        raise ValueError(f"at least one week is needed, got {count}")
    current = week_of(now, tz)
    return tuple(current - dt.timedelta(weeks=back) for back in range(count - 1, -1, -1))


def _local_midnight(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.UTC)


def _sort_key(name: str) -> str:
    """Names in alphabetical order as a French reader expects: "Élodie" among the E's."""
    letters = unicodedata.normalize("NFKD", name)
    return "".join(c for c in letters if not unicodedata.combining(c)).casefold()


def _distinct_names(people: dict[int, tuple[str, str | None]]) -> dict[int, str]:
    """Each technician's name, with the username (or the id) added where two share a name."""
    count: dict[str, int] = defaultdict(int)
    for name, _ in people.values():
        count[name] += 1
    names: dict[int, str] = {}
    for person_id, (name, username) in people.items():
        if count[name] > 1:
            name = f"{name} (@{username})" if username else f"{name} #{person_id}"
        names[person_id] = name
    return names


async def weekly(
    session: AsyncSession,
    tz: dt.tzinfo,
    weeks: int = DEFAULT_WEEKS,
    now: dt.datetime | None = None,
) -> tuple[tuple[dt.date, ...], tuple[TechnicianWeeks, ...]]:
    """Interventions and worked hours per technician for each of the last `weeks` weeks."""
    mondays = last_weeks(now or utcnow(), tz, weeks)
    start = _local_midnight(mondays[0], tz)
    end = _local_midnight(mondays[-1] + dt.timedelta(weeks=1), tz)
    ended_inside = and_(Intervention.ended_at >= start, Intervention.ended_at < end)
    started_inside = and_(
        Intervention.ended_at.is_(None),
        Intervention.started_at >= start,
        Intervention.started_at < end,
    )
    rows = await session.execute(
        select(
            Intervention.technician_id,
            User.name,
            User.username,
            Intervention.started_at,
            Intervention.ended_at,
            Intervention.worked_hours,
        )
        .join(User, User.id == Intervention.technician_id)
        .where(Intervention.status != Status.CANCELLED, or_(ended_inside, started_inside))
    )
    position = {monday: index for index, monday in enumerate(mondays)}
    counts: dict[int, list[int]] = {}
    hours: dict[int, list[Decimal]] = {}
    people: dict[int, tuple[str, str | None]] = {}
    for technician_id, name, username, started_at, ended_at, worked in rows:
        moment = ended_at or started_at
        index = None if moment is None else position.get(week_of(moment, tz))
        if technician_id is None or index is None:  # pragma: no cover - the query rules it out
            continue
        people[technician_id] = (name, username)
        counts.setdefault(technician_id, [0] * len(mondays))[index] += 1
        hours.setdefault(technician_id, [Decimal(0)] * len(mondays))[index] += worked or 0
    names = _distinct_names(people)
    technicians = sorted(
        (
            TechnicianWeeks(
                technician_id=person_id,
                name=names[person_id],
                interventions=tuple(counts[person_id]),
                hours=tuple(hours[person_id]),
            )
            for person_id in people
        ),
        key=lambda technician: (_sort_key(technician.name), technician.technician_id),
    )
    return mondays, tuple(technicians)


async def status_counts(session: AsyncSession) -> dict[Status, int]:
    """How many interventions are in each status, every status listed, in `STATUS_ORDER`."""
    rows = await session.execute(
        select(Intervention.status, func.count()).group_by(Intervention.status)
    )
    found = {str(status): int(count) for status, count in rows}
    return {status: found.get(status, 0) for status in STATUS_ORDER}


async def activity(
    session: AsyncSession,
    tz: dt.tzinfo,
    weeks: int = DEFAULT_WEEKS,
    now: dt.datetime | None = None,
) -> Activity:
    """Everything `/stats` shows, read in one go."""
    mondays, technicians = await weekly(session, tz, weeks, now)
    return Activity(weeks=mondays, technicians=technicians, by_status=await status_counts(session))
