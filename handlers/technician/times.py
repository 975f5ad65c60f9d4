"""The times step: when the work ended (now by default), the worked hours it gives,
and the travel (a distance or a flat fee, as the company counts it)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from aiogram.types import Message

from handlers.callbacks import WizardAction
from handlers.technician import money
from handlers.technician.questions import Button, Question, asking, plain
from handlers.technician.sections import refuse
from handlers.technician.visit import Visit, figure
from reports.rules.reading import ParseError, parse_datetime, parse_hours, parse_km, parse_money
from storage.models import Answer, utcnow


def _hours_between(start: dt.datetime, end: dt.datetime) -> Decimal:
    seconds = Decimal(int((end - start).total_seconds()))
    return (seconds / Decimal(3600)).quantize(Decimal("0.01"))


def read_end(visit: Visit, text: str) -> dt.datetime:
    """The end time typed (a time alone is on the day of the arrival), in UTC; refused
    before the arrival or more than 24 hours after it."""
    job, tz = visit.job, visit.options.tz
    local_now = utcnow().astimezone(tz)
    day, moment = parse_datetime(text, today=local_now.date())
    base = day or (job.started_at.astimezone(tz).date() if job.started_at else local_now.date())
    end = dt.datetime.combine(base, moment, tzinfo=tz)
    if job.started_at is not None and end <= job.started_at:
        start = money.formatter(visit).datetime(job.started_at)
        raise ParseError("wizard.times.before_start", start=start)
    if job.started_at is not None and end - job.started_at > dt.timedelta(hours=24):
        raise ParseError("wizard.times.too_long")
    return end.astimezone(dt.UTC)


def read_flat(text: str) -> Decimal:
    return parse_money(text, maximum=Decimal(10_000))


def _end_at(visit: Visit, end: dt.datetime) -> None:
    """The end time, and the worked hours it gives."""
    job = visit.job
    job.ended_at = end
    if job.started_at is not None:
        job.worked_hours = max(_hours_between(job.started_at, end), Decimal(0))


def _end_text(visit: Visit) -> str | None:
    """The end time as the answers record it."""
    return visit.job.ended_at.isoformat() if visit.job.ended_at else None


async def ask_end(visit: Visit) -> None:
    t, job, fmt = visit.t, visit.job, money.formatter(visit)
    start = fmt.datetime(job.started_at) if job.started_at else "—"
    now = fmt.time(utcnow())
    await visit.ask(
        t("wizard.times.prompt", start=start),
        [visit.button(t("wizard.times.now", time=now), WizardAction.NOW)],
    )


async def ask_hours(visit: Visit) -> None:
    t, job, fmt = visit.t, visit.job, money.formatter(visit)
    body = t(
        "wizard.times.hours",
        end=fmt.datetime(job.ended_at) if job.ended_at else "—",
        hours=fmt.duration(job.worked_hours or Decimal(0)),
    )
    await visit.ask(body, [visit.button(t("wizard.times.hours_ok"), WizardAction.HOURS_OK)])


async def ask_travel(visit: Visit) -> None:
    """The distance (by km) or the flat fee, as the company counts travel, under the
    time worked as it was read ("2,30" is 2 h 18: the technician sees it)."""
    t, job, fmt = visit.t, visit.job, money.formatter(visit)
    worked = t("wizard.times.worked", hours=fmt.duration(job.worked_hours or Decimal(0)))
    no_travel = visit.button(t("wizard.times.no_travel"), WizardAction.NO_TRAVEL)
    if money.travel_mode(visit) == "km":
        rate = fmt.money(job.travel_km_rate or visit.options.pricing.travel_km_rate)
        await visit.ask(f"{worked}\n{t('wizard.times.km', rate=rate)}", [no_travel])
        return
    flat = fmt.money(visit.options.pricing.travel_flat)
    fee = visit.button(t("wizard.times.flat_fee", amount=flat), WizardAction.FLAT)
    await visit.ask(f"{worked}\n{t('wizard.times.flat')}", [fee, no_travel])


async def store_end(visit: Visit, message: Message, end: dt.datetime) -> None:
    _end_at(visit, end)
    await visit.note(message.message_id, "times:end", _end_text(visit))


async def end_now(visit: Visit, _value: str) -> bool:
    _end_at(visit, utcnow())
    return True


def read_travel(visit: Visit, text: str) -> Decimal:
    return parse_km(text) if money.travel_mode(visit) == "km" else read_flat(text)


async def store_travel(visit: Visit, message: Message, value: Decimal) -> None:
    job = visit.job
    if money.travel_mode(visit) == "km":
        job.travel_mode, job.travel_km = "km", value
    else:
        job.travel_mode, job.travel_flat = "flat", value
    await visit.note(message.message_id, f"times:{job.travel_mode}", figure(value))


async def flat_fee(visit: Visit, _value: str) -> bool:
    visit.job.travel_mode = "flat"
    visit.job.travel_flat = visit.options.pricing.travel_flat
    return True


async def no_travel(visit: Visit, _value: str) -> bool:
    job = visit.job
    job.travel_mode = money.travel_mode(visit)
    job.travel_flat = Decimal(0) if job.travel_mode == "flat" else None
    job.travel_km = Decimal(0) if job.travel_mode == "km" else None
    return True


def _times_now(visit: Visit, what: str) -> str | None:
    """What the times section holds for `what` (end, hours, km, flat), as recorded."""
    job, mode = visit.job, money.travel_mode(visit)
    if what == "end":
        return _end_text(visit)
    if what == "hours":
        return figure(job.worked_hours)
    if what == "km":
        return figure(job.travel_km) if mode == "km" else None
    return figure(job.travel_flat) if what == "flat" and mode == "flat" else None


async def times_edit(visit: Visit, answer: Answer, message: Message) -> None:
    """Stores an edited end time (and the hours it gives, unless they were typed apart),
    worked hours or travel; the line gives the new total."""
    job, t, fmt = visit.job, visit.t, money.formatter(visit)
    what = answer.target.removeprefix("times:")
    section = visit.section(answer)
    if await visit.pieces(answer, _times_now(visit, what)) is None:
        await visit.no_longer_there(section)
        return
    text = message.text or ""
    try:
        if what == "end":
            end = read_end(visit, text)
            typed_apart = (
                job.started_at is not None
                and job.ended_at is not None
                and job.worked_hours is not None
                and job.worked_hours
                != max(_hours_between(job.started_at, job.ended_at), Decimal(0))
            )
            if typed_apart:
                job.ended_at = end
            else:
                _end_at(visit, end)
            key = "edits.end_hours_kept" if typed_apart else "edits.end_hours"
            hours = fmt.duration(job.worked_hours or Decimal(0))
            shown = t(key, end=fmt.datetime(end), hours=hours)
            answer.text = _end_text(visit)
        elif what == "hours":
            job.worked_hours = parse_hours(text)
            shown = t("edits.hours", hours=fmt.duration(job.worked_hours))
            answer.text = figure(job.worked_hours)
        elif what == "km":
            job.travel_km = parse_km(text)
            shown = t("edits.km", km=fmt.number(job.travel_km))
            answer.text = figure(job.travel_km)
        else:
            job.travel_flat = read_flat(text)
            shown = t("edits.travel", amount=fmt.money(job.travel_flat))
            answer.text = figure(job.travel_flat)
    except ParseError as error:
        await refuse(visit, message, error)
        return
    await visit.amended(section, shown, money.total_line(visit))


#: End time (now by default), then the worked hours it gives, then travel.
QUESTIONS = (
    Question(
        "end", "wizard.times.prompt", ask_end, "wizard.times.expected",
        read=read_end, store=store_end, then="hours",
        buttons=(Button(WizardAction.NOW, "hours", do=end_now),),
    ),
    Question(
        "hours", "wizard.times.hours", ask_hours, "wizard.times.expected",
        read=plain(parse_hours), column="worked_hours", target="times:hours", then="travel",
        buttons=(Button(WizardAction.HOURS_OK, "travel"),),
    ),
    Question(
        "travel", "wizard.times.km", ask_travel, "wizard.times.expected",
        read=read_travel, store=store_travel, then=None,
        buttons=(
            Button(WizardAction.FLAT, None, do=flat_fee),
            Button(WizardAction.NO_TRAVEL, None, do=no_travel),
        ),
    ),
)  # fmt: skip

TIMES = asking(QUESTIONS, times_edit)
