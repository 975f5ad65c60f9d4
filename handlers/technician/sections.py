"""The steps answered with words, choices and figures: the text sections, the results,
the times and the pricing summary.

Each step says what it expects when it gets something else, and stays where it
was; nothing already given is lost.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from aiogram.types import CallbackQuery, Message
from aiogram.utils.text_decorations import html_decoration as hd

from handlers.callbacks import WizardAction, Wz
from handlers.technician import money, photos
from handlers.technician.visit import StepKind, Visit, figure, gist
from reports.rules.reading import (
    ParseError,
    clean_text,
    parse_datetime,
    parse_decimal,
    parse_hours,
    parse_km,
    parse_money,
)
from reports.rules.templates import BY_KEY
from storage.models import Answer, utcnow

#: A section may hold this much text (several messages appended).
SECTION_LIMIT = 20_000
#: Telegram splits what a person types beyond 4096 characters into several messages:
#: a message this long is probably followed by the rest.
LONG_MESSAGE = 4000
PREVIEW = 300
OUTCOMES = ("yes", "partly", "no")


def preview(text: str, limit: int = PREVIEW) -> str:
    """The beginning of a text, escaped, for showing back."""
    text = text.strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return hd.quote(text)


async def refuse(visit: Visit, message: Message, error: ParseError) -> None:
    """A clear word about what was not understood; the step stays where it was."""
    values = error.display_values(visit.t.language)
    await message.answer(visit.t(error.key, **values))


async def not_expected(visit: Visit, message: Message, expected: str) -> None:
    """Something other than what the step needs: say what it needs. A photo or a file is
    kept for the photo section when the report has one (see photos.keep_stray)."""
    if await photos.keep_stray(visit, message):
        return
    await message.answer(visit.t(expected))


# Text sections -------------------------------------------------------------------


def _text_value(visit: Visit) -> str:
    field = visit.step.field or ""
    return str(getattr(visit.job, field) or "")


async def text_prompt(visit: Visit) -> None:
    """The question, with what was already written and a Keep button when there is some."""
    key = visit.step.key
    body = visit.t(f"wizard.{key}.prompt")
    current = _text_value(visit)
    rows = []
    if visit.data.get("continuing"):
        body = visit.t("wizard.text_continue", length=len(current))
        rows.append([visit.button(visit.t("wizard.next"), WizardAction.KEEP)])
    elif current:
        body += "\n\n" + visit.t("wizard.current", value=preview(current))
        rows.append([visit.button(visit.t("wizard.keep"), WizardAction.KEEP)])
    await visit.ask(body, *rows)


async def text_answer(visit: Visit, message: Message) -> None:
    """Stores the text in the section and goes on; a message long enough to have been
    cut by Telegram is kept and the rest awaited."""
    if not message.text:
        await not_expected(visit, message, "wizard.text_expected")
        return
    field = visit.step.field or ""
    existing = _text_value(visit) if visit.data.get("continuing") else ""
    try:
        added = clean_text(message.text, maximum=SECTION_LIMIT)
        value = f"{existing}\n{added}" if existing else added
        if len(value) > SECTION_LIMIT:
            raise ParseError("parse.too_long", maximum=SECTION_LIMIT, length=len(value))
    except ParseError as error:
        await refuse(visit, message, error)
        return
    setattr(visit.job, field, value)
    await visit.note(message.message_id, f"field:{field}", added)
    if len(message.text) >= LONG_MESSAGE:
        visit.remember(continuing=True)
        await text_prompt(visit)
        return
    visit.remember(continuing=None)
    await visit.advance()


async def text_press(visit: Visit, query: CallbackQuery, data: Wz) -> None:
    if data.action == WizardAction.KEEP:
        await query.answer()
        visit.remember(continuing=None)
        await visit.advance()
        return
    await query.answer(visit.t("errors.old_button"), show_alert=True)


async def edit_piece(
    visit: Visit,
    answer: Answer,
    message: Message,
    field: str,
    section: str,
    *,
    several: bool = True,
) -> None:
    """Replaces, in a text written over one or (with `several`) several messages, the
    piece that `message` gave (the other pieces stay), and confirms in one line."""
    pieces = await visit.pieces(answer, getattr(visit.job, field), several=several)
    if pieces is None:
        await visit.no_longer_there(section)
        return
    if not message.text:
        await message.answer(visit.t("wizard.text_expected"))
        return
    try:
        piece = clean_text(message.text, maximum=SECTION_LIMIT)
        value = "\n".join(piece if given is answer else given.text or "" for given in pieces)
        if len(value) > SECTION_LIMIT:
            raise ParseError("parse.too_long", maximum=SECTION_LIMIT, length=len(value))
    except ParseError as error:
        await refuse(visit, message, error)
        return
    setattr(visit.job, field, value)
    answer.text = piece
    await visit.amended(section, gist(piece))


async def text_edit(visit: Visit, answer: Answer, message: Message) -> None:
    """Stores the edited text in place of what the message had written in the section."""
    field = BY_KEY[answer.step].field or ""
    await edit_piece(visit, answer, message, field, visit.section(answer))


TEXT = StepKind(text_prompt, text_answer, text_press, text_edit)


# Results -------------------------------------------------------------------------


async def results_prompt(visit: Visit) -> None:
    """Objectives met? Yes / partly / no; then a comment."""
    job = visit.job
    if visit.data.get("stage") == "comment":
        body = visit.t("wizard.results.comment", met=visit.t(f"wizard.results.{job.results_met}"))
        if job.results_comment:
            body += "\n\n" + visit.t("wizard.current", value=preview(job.results_comment))
        await visit.ask(
            body, [visit.button(visit.t("wizard.results.no_comment"), WizardAction.NO_COMMENT)]
        )
        return
    choices = [
        visit.button(
            ("● " if job.results_met == outcome else "") + visit.t(f"wizard.results.{outcome}"),
            WizardAction.MET,
            outcome,
        )
        for outcome in OUTCOMES
    ]
    await visit.ask(visit.t("wizard.results.prompt"), choices)


async def results_answer(visit: Visit, message: Message) -> None:
    if visit.data.get("stage") != "comment":
        await not_expected(visit, message, "wizard.results.choose")
        return
    if not message.text:
        await not_expected(visit, message, "wizard.text_expected")
        return
    try:
        visit.job.results_comment = clean_text(message.text, maximum=SECTION_LIMIT)
    except ParseError as error:
        await refuse(visit, message, error)
        return
    await visit.note(message.message_id, "results:comment", visit.job.results_comment)
    await visit.advance()


async def results_press(visit: Visit, query: CallbackQuery, data: Wz) -> None:
    await query.answer()
    if data.action == WizardAction.MET and data.value in OUTCOMES:
        visit.job.results_met = data.value
        visit.remember(stage="comment")
        await results_prompt(visit)
    elif data.action == WizardAction.NO_COMMENT and visit.job.results_met:
        await visit.advance()


async def results_edit(visit: Visit, answer: Answer, message: Message) -> None:
    """Stores the edited comment on the result."""
    section = visit.section(answer)
    await edit_piece(visit, answer, message, "results_comment", section, several=False)


RESULTS = StepKind(results_prompt, results_answer, results_press, results_edit)


# Times ---------------------------------------------------------------------------


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


def _total(visit: Visit) -> str:
    """The new total incl. VAT, as the pricing summary says it."""
    amount = money.formatter(visit).money(money.totals(visit).incl_vat)
    return visit.t("wizard.pricing.incl_vat", amount=amount)


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
    await visit.amended(section, shown, _total(visit))


TIMES = StepKind(times_prompt, times_answer, times_press, times_edit)


# Pricing -------------------------------------------------------------------------


def pricing_summary(visit: Visit) -> str:
    """Labour, travel, parts, totals excl. and incl. VAT, payment terms."""
    t, fmt = visit.t, money.formatter(visit)
    totals = money.totals(visit)
    hours = visit.job.worked_hours or Decimal(0)
    lines = [
        t(
            "wizard.pricing.labour",
            hours=fmt.hours(hours),
            rate=fmt.money(money.labour_rate(visit)),
            amount=fmt.money(totals.labour),
        ),
        t("wizard.pricing.travel", amount=fmt.money(totals.travel)),
        t("wizard.pricing.parts", amount=fmt.money(totals.parts)),
        t("wizard.pricing.excl_vat", amount=fmt.money(totals.excl_vat)),
    ]
    for line in totals.vat:
        lines.append(
            t("wizard.pricing.vat", rate=fmt.percent(line.rate), amount=fmt.money(line.amount))
        )
    lines.append(t("wizard.pricing.incl_vat", amount=fmt.money(totals.incl_vat)))
    terms = money.payment_terms(visit)
    if terms:
        lines.append(t("wizard.pricing.terms", terms=hd.quote(terms)))
    return "\n".join(lines)


async def pricing_prompt(visit: Visit) -> None:
    """The pricing summary with buttons to change the rate, the VAT or the terms."""
    t = visit.t
    stage = visit.data.get("stage")
    if stage in ("rate", "vat", "terms"):
        await visit.ask(
            t(f"wizard.pricing.ask_{stage}"),
            [visit.button(t("wizard.pricing.cancel_change"), WizardAction.SUMMARY)],
        )
        return
    await visit.ask(
        pricing_summary(visit),
        [visit.button(t("wizard.pricing.ok"), WizardAction.OK)],
        [
            visit.button(t("wizard.pricing.change_rate"), WizardAction.CHANGE, "rate"),
            visit.button(t("wizard.pricing.change_vat"), WizardAction.CHANGE, "vat"),
        ],
        [visit.button(t("wizard.pricing.change_terms"), WizardAction.CHANGE, "terms")],
    )


#: The Intervention column each change of the pricing goes to.
PRICING_COLUMNS = {"rate": "labour_rate", "vat": "vat_rate", "terms": "payment_terms"}


def read_pricing(stage: str, text: str) -> Decimal | str:
    """The hourly rate, the VAT in percent, or the payment terms, as typed."""
    if stage == "rate":
        return parse_money(text, maximum=Decimal(10_000))
    if stage == "vat":
        return parse_decimal(
            text.replace("%", ""), minimum=Decimal(0), maximum=Decimal(99), places=2
        )
    return clean_text(text, maximum=1000)


def _pricing_text(value: Decimal | str | None) -> str | None:
    return figure(value) if isinstance(value, Decimal) else value


async def pricing_answer(visit: Visit, message: Message) -> None:
    stage = visit.data.get("stage")
    if stage not in PRICING_COLUMNS or not message.text:
        await not_expected(visit, message, "wizard.pricing.use_buttons")
        return
    try:
        value = read_pricing(stage, message.text)
    except ParseError as error:
        await refuse(visit, message, error)
        return
    setattr(visit.job, PRICING_COLUMNS[stage], value)
    await visit.note(message.message_id, f"pricing:{stage}", _pricing_text(value))
    visit.remember(stage=None)
    await pricing_prompt(visit)


async def pricing_press(visit: Visit, query: CallbackQuery, data: Wz) -> None:
    await query.answer()
    if data.action == WizardAction.OK:
        await visit.advance()
        return
    if data.action == WizardAction.CHANGE and data.value in ("rate", "vat", "terms"):
        visit.remember(stage=data.value)
    else:
        visit.remember(stage=None)
    await pricing_prompt(visit)


async def pricing_edit(visit: Visit, answer: Answer, message: Message) -> None:
    """Stores an edited hourly rate, VAT or payment terms; the line gives the new total."""
    t, fmt = visit.t, money.formatter(visit)
    stage = answer.target.removeprefix("pricing:")
    column = PRICING_COLUMNS.get(stage)
    section = visit.section(answer)
    if column is None:
        await visit.say(t("edits.nothing"))
        return
    section = f"{section} · {t(f'wizard.pricing.change_{stage}')}"
    if await visit.pieces(answer, _pricing_text(getattr(visit.job, column))) is None:
        await visit.no_longer_there(section)
        return
    try:
        value = read_pricing(stage, message.text or "")
    except ParseError as error:
        await refuse(visit, message, error)
        return
    setattr(visit.job, column, value)
    answer.text = _pricing_text(value)
    if isinstance(value, str):
        shown = gist(value)
    elif stage == "vat":
        shown = fmt.percent(value / 100)
    else:
        shown = fmt.money(value)
    await visit.amended(section, shown, _total(visit))


PRICING = StepKind(pricing_prompt, pricing_answer, pricing_press, pricing_edit)
