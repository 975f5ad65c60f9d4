"""The pricing step: the summary of labour, travel, parts and totals, with a way to
change the hourly rate, the VAT or the payment terms."""

from __future__ import annotations

from decimal import Decimal

from aiogram.types import CallbackQuery, Message
from aiogram.utils.text_decorations import html_decoration as hd

from handlers.callbacks import WizardAction, Wz
from handlers.technician import money
from handlers.technician.sections import not_expected, refuse
from handlers.technician.visit import StepKind, Visit, figure, gist
from reports.rules.reading import ParseError, clean_text, parse_decimal, parse_money
from storage.models import Answer


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
    await visit.amended(section, shown, money.total_line(visit))


PRICING = StepKind(pricing_prompt, pricing_answer, pricing_press, pricing_edit)
