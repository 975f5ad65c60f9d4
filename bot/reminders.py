"""Reminders to technicians, the office's daily digest and its overdue warnings, each
sent once.

The scheduler runs each job every minute (and once at start) with the time it is,
`now`. A job finds what is due by the rules of `reports.rules.reminders` (which also
say what becomes of a reminder missed while the bot was down), and queues each
notice not sent yet after claiming it (`storage.reminders.claim`) in the same
transaction: a notice goes once, across restarts and however many schedulers share
the database, and it exists exactly when its claim does.

- evening (REMIND_EVENING): each technician with planned interventions tomorrow gets
  their list, once a day.
- before (REMIND_BEFORE_MINUTES): each planned intervention, that long before its
  time, with a button to open its card; once per technician and time, so one moved
  or given to someone else is reminded again.
- idle (REMIND_IDLE_HOURS): a report under way that nobody worked on that long, once
  per idle period (a new one starts when the technician does something in it), with
  a button to resume it.
- digest (DIGEST_AT): the office group, once a day: the reports submitted since the
  previous digest's time, those awaiting validation (pointing out the ones waiting
  more than a day: they are in every digest until validated, rather than told apart),
  the overdue interventions and the failed deliveries.
- overdue: the office group, once per intervention not started OVERDUE_AFTER its time.

People read their own language (the one chosen with /lang, else the company's); the
office reads the company's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import format_date
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.sender import changes_only
from handlers.callbacks import Job, JobAction
from handlers.context import Options
from handlers.i18n import Translator, kind_label
from handlers.tell import Html, say, tell_office, tell_person
from reports.formatting import Formatter
from reports.rules import reminders as due
from storage import interventions, outbox
from storage import reminders as store
from storage.db import Database
from storage.models import Delivery, Intervention, utcnow
from storage.status import Status

#: A planned intervention not started this long after its time is reported to the office.
OVERDUE_AFTER = dt.timedelta(minutes=15)

EVENING = "evening"
BEFORE = "before"
IDLE = "idle"
DIGEST = "digest"
OVERDUE = "overdue"

#: Room for each list of the digest (four lists and their titles stay under Telegram's
#: 4096 characters); a longer list ends with how many more there are.
DIGEST_LIST_ROOM = 850
#: A failed delivery's reason, as the digest shows it, at most this long.
REASON_LENGTH = 120

AfterCommit = Callable[[Sequence[Delivery]], None]


def _nothing(deliveries: Sequence[Delivery]) -> None:
    """Hands the deliveries to no one: the sender finds them when it looks."""


@dataclass(frozen=True)
class Reminders:
    """When each reminder goes (on the company's clock); None turns one off."""

    evening: dt.time | None = dt.time(18, 0)
    before: dt.timedelta | None = dt.timedelta(hours=1)
    idle: dt.timedelta | None = dt.timedelta(hours=3)
    digest: dt.time | None = dt.time(18, 0)

    @classmethod
    def from_settings(cls, settings: Settings) -> Reminders:
        minutes, hours = settings.remind_before_minutes, settings.remind_idle_hours
        return cls(
            evening=settings.remind_evening,
            before=dt.timedelta(minutes=minutes) if minutes else None,
            idle=dt.timedelta(hours=hours) if hours else None,
            digest=settings.digest_at,
        )


@asynccontextmanager
async def _unit(db: Database, after_commit: AfterCommit) -> AsyncIterator[AsyncSession]:
    """One job's unit of work; the deliveries it wrote go to `after_commit` (the
    sender) once it has committed."""
    async with db.transaction() as session:
        yield session
        await session.flush()
        made = outbox.made_in(session)
    after_commit(made)


async def _once(
    session: AsyncSession,
    kind: str,
    notices: Mapping[str, Callable[[], object]],
    now: dt.datetime,
) -> int:
    """Queue each of `notices` (its key -> what queues it) not sent yet under `kind`,
    each claimed first in this unit of work; in key order, so that schedulers racing
    on PostgreSQL wait for each other's claims instead of deadlocking. Returns how
    many this unit of work queued."""
    queued = 0
    for key in sorted(notices.keys() - await store.sent(session, kind, notices)):
        if await store.claim(session, kind, key, now):
            notices[key]()
            queued += 1
    return queued


# What the notices say -------------------------------------------------------------------


def _formatter(tr: Translator, options: Options) -> Formatter:
    return Formatter("en" if tr.language == "en" else "fr", options.tz)


def _day(fmt: Formatter, day: dt.date) -> str:
    """A day as people say it: "jeudi 26 novembre", "Thursday 26 November"."""
    return format_date(day, "EEEE d MMMM", locale=fmt.locale)


def _address(job: Intervention) -> str:
    """What follows the client's name: ", 12 rue de la Paix" (the site's address, else
    the client's), or nothing."""
    where = job.site.address if job.site and job.site.address else job.client.address
    return f", {where}" if where else ""


def _technician(tr: Translator, job: Intervention) -> str:
    return job.technician.name if job.technician else tr("reminders.nobody")


def _moment(
    tr: Translator, fmt: Formatter, key: str, moment: dt.datetime, now: dt.datetime
) -> Html:
    """A moment told after "since" or "at" (`key`): its time alone when it falls on the
    same day as `now`, else its date and time."""
    if fmt.local(moment).date() == fmt.local(now).date():
        return Html(say(tr, f"reminders.{key}_today", time=fmt.time(moment)))
    return Html(say(tr, f"reminders.{key}_day", when=fmt.datetime(moment)))


def _tell_technician(
    session: AsyncSession,
    options: Options,
    job: Intervention,
    text: Callable[[Translator], str],
    label: str,
    action: JobAction,
) -> None:
    """Queues `text` about `job` for its technician, in their language, under one button
    (`label`) that does `action` on the job."""
    person = job.technician
    assert person is not None  # the queries of reminders return assigned interventions

    def keyboard(tr: Translator) -> InlineKeyboardMarkup:
        builder = InlineKeyboardBuilder()
        builder.button(text=tr(label), callback_data=Job(intervention_id=job.id, action=action))
        return builder.as_markup()

    tell_person(
        session,
        options,
        person.telegram_id,
        person.language,
        text,
        keyboard=keyboard,
        intervention_id=job.id,
    )


def _listed(tr: Translator, title: str, lines: Sequence[str]) -> str:
    """A list of the digest under its title, cut to DIGEST_LIST_ROOM with how many more."""
    shown = [title]
    room = DIGEST_LIST_ROOM
    for count, line in enumerate(lines):
        if len(line) + 1 > room:
            shown.append(tr("reminders.digest_more", count=len(lines) - count))
            break
        shown.append(line)
        room -= len(line) + 1
    return "\n".join(shown)


# The technicians' reminders --------------------------------------------------------------


async def remind_evening(
    db: Database,
    options: Options,
    reminders: Reminders,
    *,
    now: dt.datetime,
    after_commit: AfterCommit = _nothing,
) -> int:
    """From the evening time until midnight: each technician with planned interventions
    tomorrow gets the list of them, once. Returns how many were told."""
    if reminders.evening is None:
        return 0
    day = due.evening_due(now, options.tz, reminders.evening)
    if day is None:
        return 0
    start, end = due.day_span(day, options.tz)
    async with _unit(db, after_commit) as session:
        by_technician: dict[int, list[Intervention]] = {}
        for job in await store.planned_between(session, start, end):
            by_technician.setdefault(job.technician_id or 0, []).append(job)
        notices = {
            f"{technician}:{day.isoformat()}": partial(_tell_evening, session, options, day, jobs)
            for technician, jobs in by_technician.items()
        }
        return await _once(session, EVENING, notices, now)


def _tell_evening(
    session: AsyncSession, options: Options, day: dt.date, jobs: list[Intervention]
) -> None:
    person = jobs[0].technician
    assert person is not None  # planned_between returns assigned interventions only

    def text(tr: Translator) -> str:
        fmt = _formatter(tr, options)
        lines = [say(tr, "reminders.evening_title", day=_day(fmt, day))]
        for job in jobs:
            assert job.scheduled_at is not None  # found by its time
            lines.append(
                say(
                    tr,
                    "reminders.evening_line",
                    time=fmt.time(job.scheduled_at),
                    number=job.number,
                    client=job.client.name,
                    address=_address(job),
                    kind=kind_label(tr.language, job.kind),
                )
            )
        lines.append(tr("reminders.evening_footer"))
        return "\n".join(lines)

    tell_person(session, options, person.telegram_id, person.language, text)


async def remind_before(
    db: Database,
    options: Options,
    reminders: Reminders,
    *,
    now: dt.datetime,
    after_commit: AfterCommit = _nothing,
) -> int:
    """The lead time before each planned intervention (and until its time, if the bot
    was down then): its technician is reminded, once, with a button to open its card.
    Returns how many were told."""
    lead = reminders.before
    if lead is None:
        return 0
    async with _unit(db, after_commit) as session:
        found = await store.planned_between(session, now, now + lead + dt.timedelta(minutes=1))
        notices = {
            f"{job.id}:{job.technician_id}:{job.scheduled_at:%Y%m%dT%H%M}": partial(
                _tell_before, session, options, job, now
            )
            for job in found
            if job.scheduled_at is not None and due.before_due(job.scheduled_at, now, lead)
        }
        return await _once(session, BEFORE, notices, now)


def _tell_before(
    session: AsyncSession, options: Options, job: Intervention, now: dt.datetime
) -> None:
    scheduled = job.scheduled_at
    assert scheduled is not None  # found by its time

    def text(tr: Translator) -> str:
        return say(
            tr,
            "reminders.before",
            number=job.number,
            when=_moment(tr, _formatter(tr, options), "at", scheduled, now),
            client=job.client.name,
            address=_address(job),
        )

    _tell_technician(session, options, job, text, "reminders.open", JobAction.OPEN)


async def nudge_idle(
    db: Database,
    options: Options,
    reminders: Reminders,
    *,
    now: dt.datetime,
    after_commit: AfterCommit = _nothing,
) -> int:
    """A report under way that nobody worked on for the idle time: its technician is
    nudged once for this idle period, with a button to resume it; not at night (the
    nudge waits for the morning). Returns how many were nudged."""
    idle = reminders.idle
    if idle is None or due.at_night(now, options.tz):
        return 0
    async with _unit(db, after_commit) as session:
        notices = {
            f"{job.id}:{last:%Y%m%dT%H%M%S}": partial(_tell_idle, session, options, job, last, now)
            for job, last in await store.under_way(session)
            if due.idle_due(last, now, idle)
        }
        return await _once(session, IDLE, notices, now)


def _tell_idle(
    session: AsyncSession,
    options: Options,
    job: Intervention,
    last: dt.datetime,
    now: dt.datetime,
) -> None:
    key = "reminders.idle_returned" if job.status == Status.RETURNED else "reminders.idle"

    def text(tr: Translator) -> str:
        since = _moment(tr, _formatter(tr, options), "since", last, now)
        return say(tr, key, number=job.number, client=job.client.name, since=since)

    _tell_technician(session, options, job, text, "reminders.resume", JobAction.CONTINUE)


# The office --------------------------------------------------------------------------------


@dataclass
class _Digest:
    """What the digest of `day` lists."""

    day: dt.date
    since: dt.datetime
    now: dt.datetime
    done: list[tuple[Intervention, dt.datetime]]
    awaiting: list[tuple[Intervention, dt.datetime]]
    late: Sequence[Intervention]
    failed: list[tuple[Delivery, str | None]]
    names: dict[int, str]


async def send_digest(
    db: Database,
    options: Options,
    reminders: Reminders,
    *,
    now: dt.datetime,
    after_commit: AfterCommit = _nothing,
) -> int:
    """At the digest time (or up to DIGEST_GRACE later, if the bot was down then): the
    office group gets the day's digest, once. Returns 1 when it was queued."""
    if reminders.digest is None or options.office_chat_id is None:
        return 0
    day = due.digest_due(now, options.tz, reminders.digest)
    if day is None:
        return 0
    key = day.isoformat()
    until = due.moment(day, reminders.digest, options.tz)
    since = due.moment(day - dt.timedelta(days=1), reminders.digest, options.tz)
    async with _unit(db, after_commit) as session:
        if await store.sent(session, DIGEST, [key]):
            return 0  # checked first: the lists are read only for a digest to send
        failed = [
            (delivery, number)
            for delivery, number in await store.failed_between(session, since, until)
            if not changes_only(delivery)
        ]
        digest = _Digest(
            day=day,
            since=since,
            now=now,
            done=await store.submitted_between(session, since, until),
            awaiting=await store.awaiting_validation(session),
            late=await interventions.overdue(session, now - OVERDUE_AFTER),
            failed=failed,
            names=await store.names_by_chat(session, {d.chat_id for d, _ in failed if d.chat_id}),
        )
        queue = partial(tell_office, session, options, partial(_digest_text, options, digest))
        return await _once(session, DIGEST, {key: queue}, now)


def _digest_text(options: Options, digest: _Digest, tr: Translator) -> str:
    fmt = _formatter(tr, options)
    parts = [say(tr, "reminders.digest_title", day=_day(fmt, digest.day))]
    since = fmt.datetime(digest.since)

    def line(key: str, job: Intervention, **more: str) -> str:
        who = _technician(tr, job)
        return say(tr, key, number=job.number, client=job.client.name, technician=who, **more)

    if digest.done:
        title = say(tr, "reminders.digest_done", since=since, count=len(digest.done))
        lines = [line("reminders.digest_done_line", job) for job, _ in digest.done]
        parts.append(_listed(tr, title, lines))
    if digest.awaiting:
        title = say(tr, "reminders.digest_awaiting", count=len(digest.awaiting))
        lines = [
            line(
                "reminders.digest_awaiting_long"
                if digest.now - submitted > due.WAITING_TOO_LONG
                else "reminders.digest_awaiting_line",
                job,
                when=fmt.datetime(submitted),
            )
            for job, submitted in digest.awaiting
        ]
        parts.append(_listed(tr, title, lines))
    if digest.late:
        title = say(tr, "reminders.digest_overdue", count=len(digest.late))
        lines = [
            line(
                "reminders.digest_overdue_line",
                job,
                when=fmt.datetime(job.scheduled_at) if job.scheduled_at else "—",
            )
            for job in digest.late
        ]
        parts.append(_listed(tr, title, lines))
    if digest.failed:
        title = say(tr, "reminders.digest_failed", since=since, count=len(digest.failed))
        lines = [
            say(
                tr,
                "reminders.digest_failed_line",
                recipient=_recipient(tr, options, delivery, digest.names),
                number=Html(say(tr, "reminders.digest_failed_number", number=number))
                if number
                else "",
                reason=_reason(delivery),
            )
            for delivery, number in digest.failed
        ]
        parts.append(_listed(tr, title, lines))
    if len(parts) == 1:
        parts.append(tr("reminders.digest_nothing"))
    return "\n\n".join(parts)


def _recipient(tr: Translator, options: Options, delivery: Delivery, names: dict[int, str]) -> str:
    """Who a failed delivery was for, as the office knows them."""
    if delivery.channel == "email":
        return delivery.email or "—"
    if delivery.chat_id is not None and delivery.chat_id == options.office_chat_id:
        return tr("reminders.office_group")
    if delivery.chat_id is None:
        return "—"
    return names.get(delivery.chat_id, str(delivery.chat_id))


def _reason(delivery: Delivery) -> str:
    reason = " ".join((delivery.last_error or "—").split())
    return reason if len(reason) <= REASON_LENGTH else reason[: REASON_LENGTH - 1] + "…"


async def tell_overdue(
    db: Database,
    options: Options,
    after_commit: AfterCommit = _nothing,
    *,
    now: dt.datetime | None = None,
) -> int:
    """Tell the office, once each, of planned interventions whose time passed
    OVERDUE_AFTER ago without a start (the notices handed to `after_commit`, the
    sender). Returns how many were told."""
    if options.office_chat_id is None:
        return 0
    now = now or utcnow()
    async with _unit(db, after_commit) as session:
        late = await interventions.overdue(session, now - OVERDUE_AFTER)
        notices = {str(job.id): partial(_tell_overdue, session, options, job) for job in late}
        return await _once(session, OVERDUE, notices, now)


def _tell_overdue(session: AsyncSession, options: Options, job: Intervention) -> None:
    def text(tr: Translator) -> str:
        return say(
            tr,
            "notices.overdue",
            number=job.number,
            client=job.client.name,
            when=options.local(job.scheduled_at) if job.scheduled_at else "—",
            technician=job.technician.name if job.technician else tr("notices.nobody"),
        )

    tell_office(session, options, text, intervention_id=job.id)
