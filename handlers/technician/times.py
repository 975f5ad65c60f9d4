"""The times step: when the work ended (now by default), the worked hours it gives,
and the travel (a distance or a flat fee, as the company counts it)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from aiogram.types import CallbackQuery, Message

from handlers.callbacks import WizardAction, Wz
from handlers.technician import money
from handlers.technician.sections import not_expected, refuse
from handlers.technician.visit import StepKind, Visit, figure
from reports.rules.reading import ParseError, parse_datetime, parse_hours, parse_km, parse_money
from storage.models import Answer, utcnow


def _hours_between(start: dt.datetime, end: dt.datetime) -> Decimal:
    seconds = Decimal(int((end - start).total_seconds()))
    return (seconds / Decimal(3600)).quantize(Decimal("0.01"))


async def times_prompt(visit: Visit) -> None:
    """End time (now by default), then the worked hours it gives, then travel."""
    t, job, fmt = visit.t, visit.job, money.formatter(visit)
    stage = visit.data.get("stage", "end")
    if stage == "end":
        now = utcnow()
        start = fmt.datetime(job.started_at) if job.started_at else "—"
        body = t("wizard.times.prompt", start=start)
        await visit.ask(
            body, [visit.button(t("wizard.times.now", time=fmt.time(now)), WizardAction.NOW)]
        )
    elif stage == "hours":
        body = t(
            "wizard.times.hours",
            end=fmt.datetime(job.ended_at) if job.ended_at else "—",
            hours=fmt.hours(job.worked_hours or Decimal(0)),
        )
        await visit.ask(body, [visit.button(t("wizard.times.hours_ok"), WizardAction.HOURS_OK)])
    elif money.travel_mode(visit) == "km":
        rate = fmt.money(job.travel_km_rate or visit.options.pricing.travel_km_rate)
        await visit.ask(
            t("wizard.times.km", rate=rate),
            [visit.button(t("wizard.times.no_travel"), WizardAction.NO_TRAVEL)],
        )
    else:
        flat = fmt.money(visit.options.pricing.travel_flat)
        await visit.ask(
            t("wizard.times.flat"),
            [
                visit.button(t("wizard.times.flat_fee", amount=flat), WizardAction.FLAT),
                visit.button(t("wizard.times.no_travel"), WizardAction.NO_TRAVEL),
            ],
        )


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


def _set_end(visit: Visit, end: dt.datetime) -> None:
    _end_at(visit, end)
    visit.remember(stage="hours")


def _end_text(visit: Visit) -> str | None:
    """The end time as the answers record it."""
    return visit.job.ended_at.isoformat() if visit.job.ended_at else None


async def times_answer(visit: Visit, message: Message) -> None:
    if not message.text:
        await not_expected(visit, message, "wizard.times.expected")
        return
    job, stage, text = visit.job, visit.data.get("stage", "end"), message.text
    try:
        if stage == "end":
            _set_end(visit, read_end(visit, text))
            await visit.note(message.message_id, "times:end", _end_text(visit))
        elif stage == "hours":
            job.worked_hours = parse_hours(text)
            await visit.note(message.message_id, "times:hours", figure(job.worked_hours))
            visit.remember(stage="travel")
        elif money.travel_mode(visit) == "km":
            job.travel_mode = "km"
            job.travel_km = parse_km(text)
            await visit.note(message.message_id, "times:km", figure(job.travel_km))
            await visit.advance()
            return
        else:
            job.travel_mode = "flat"
            job.travel_flat = read_flat(text)
            await visit.note(message.message_id, "times:flat", figure(job.travel_flat))
            await visit.advance()
            return
    except ParseError as error:
        await refuse(visit, message, error)
        return
    await times_prompt(visit)


async def times_press(visit: Visit, query: CallbackQuery, data: Wz) -> None:
    await query.answer()
    job = visit.job
    if data.action == WizardAction.NOW:
        _set_end(visit, utcnow())
    elif data.action == WizardAction.HOURS_OK:
        visit.remember(stage="travel")
    elif data.action == WizardAction.FLAT:
        job.travel_mode = "flat"
        job.travel_flat = visit.options.pricing.travel_flat
        await visit.advance()
        return
    elif data.action == WizardAction.NO_TRAVEL:
        job.travel_mode = money.travel_mode(visit)
        job.travel_flat = Decimal(0) if job.travel_mode == "flat" else None
        job.travel_km = Decimal(0) if job.travel_mode == "km" else None
        await visit.advance()
        return
    await times_prompt(visit)


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
            hours = fmt.hours(job.worked_hours or Decimal(0))
            shown = t(key, end=fmt.datetime(end), hours=hours)
            answer.text = _end_text(visit)
        elif what == "hours":
            job.worked_hours = parse_hours(text)
            shown = t("edits.hours", hours=fmt.hours(job.worked_hours))
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


TIMES = StepKind(times_prompt, times_answer, times_press, times_edit)
