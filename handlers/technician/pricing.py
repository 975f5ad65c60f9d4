"""The pricing step: the summary of labour, travel, parts and totals, with a way to
change the hourly rate, the VAT or the payment terms."""

from __future__ import annotations

from decimal import Decimal

from aiogram.types import Message
from aiogram.utils.text_decorations import html_decoration as hd

from handlers.callbacks import WizardAction
from handlers.technician import money
from handlers.technician.questions import Button, Question, Read, asking, by_target, record
from handlers.technician.sections import refuse
from handlers.technician.visit import Visit, gist
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
            hours=fmt.labour_hours(hours),
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


async def ask_summary(visit: Visit) -> None:
    """The pricing summary with buttons to change the rate, the VAT or the terms."""
    t = visit.t
    await visit.ask(
        pricing_summary(visit),
        [visit.button(t("wizard.pricing.ok"), WizardAction.OK)],
        [
            visit.button(t("wizard.pricing.change_rate"), WizardAction.CHANGE, "rate"),
            visit.button(t("wizard.pricing.change_vat"), WizardAction.CHANGE, "vat"),
        ],
        [visit.button(t("wizard.pricing.change_terms"), WizardAction.CHANGE, "terms")],
    )


async def ask_change(visit: Visit) -> None:
    """The new hourly rate, VAT or payment terms (the stage says which)."""
    t = visit.t
    await visit.ask(
        t(f"wizard.pricing.ask_{visit.data.get('stage')}"),
        [visit.button(t("wizard.pricing.cancel_change"), WizardAction.SUMMARY)],
    )


def read_rate(_visit: Visit, text: str) -> Decimal:
    return parse_money(text, maximum=Decimal(10_000))


def read_vat(_visit: Visit, text: str) -> Decimal:
    """The VAT in percent ("20", "5,5 %")."""
    return parse_decimal(text.replace("%", ""), minimum=Decimal(0), maximum=Decimal(99), places=2)


def read_terms(_visit: Visit, text: str) -> str:
    return clean_text(text, maximum=1000)


async def pricing_edit(visit: Visit, answer: Answer, message: Message) -> None:
    """Stores an edited hourly rate, VAT or payment terms; the line gives the new total."""
    t, fmt = visit.t, money.formatter(visit)
    question = by_target(QUESTIONS, answer.target)
    if question is None or question.read is None or question.column is None:
        await visit.say(t("edits.nothing"))
        return
    section = f"{visit.section(answer)} · {t(f'wizard.pricing.change_{question.key}')}"
    if await visit.pieces(answer, record(getattr(visit.job, question.column))) is None:
        await visit.no_longer_there(section)
        return
    try:
        value = question.read(visit, message.text or "")
    except ParseError as error:
        await refuse(visit, message, error)
        return
    setattr(visit.job, question.column, value)
    answer.text = record(value)
    if isinstance(value, str):
        shown = gist(value)
    elif question.key == "vat":
        shown = fmt.percent(value / 100)
    else:
        shown = fmt.money(value)
    await visit.amended(section, shown, money.total_line(visit))


def change(key: str, read: Read, column: str) -> Question:
    """A change of the summary's `column`, typed; back to the summary after it."""
    return Question(
        key, f"wizard.pricing.ask_{key}", ask_change, "wizard.pricing.use_buttons",
        read=read, column=column, target=f"pricing:{key}", then="summary",
        buttons=(Button(WizardAction.SUMMARY, "summary"),),
    )  # fmt: skip


#: The summary, OK; or a change of the rate, the VAT or the terms, then the summary again.
QUESTIONS = (
    Question(
        "summary", "wizard.pricing.title", ask_summary, "wizard.pricing.use_buttons",
        buttons=(
            Button(WizardAction.OK, None),
            Button(WizardAction.CHANGE, "rate", value="rate"),
            Button(WizardAction.CHANGE, "vat", value="vat"),
            Button(WizardAction.CHANGE, "terms", value="terms"),
        ),
    ),
    change("rate", read_rate, "labour_rate"),
    change("vat", read_vat, "vat_rate"),
    change("terms", read_terms, "payment_terms"),
)  # fmt: skip

PRICING = asking(QUESTIONS, pricing_edit)
