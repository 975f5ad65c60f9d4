"""Edits of the parts step: an edited message changes the field (or the whole line)
it had given, of a line already added or of the one still being typed."""

from __future__ import annotations

from decimal import Decimal

from aiogram.types import Message

from handlers.technician import money
from handlers.technician.part_lines import (
    FIELDS,
    BadLine,
    draft_of,
    field_record,
    line_record,
    line_text,
    read_field,
    read_line,
    stage_of,
)
from handlers.technician.sections import refuse
from handlers.technician.visit import Visit, figure, gist
from reports.rules.reading import ParseError
from storage.models import Answer, Part


def _draft_record(visit: Visit, field: str) -> str | None:
    """What the line being typed holds for `field`, as the answers record it."""
    if stage_of(visit) is None:
        return None
    value = draft_of(visit).get(field)
    if value is None:
        return None
    return figure(Decimal(value)) if field == "quantity" else str(value)


def _part_record(part: Part, field: str) -> str | None:
    if field == "line":
        return line_record(part)
    values = {
        "reference": part.reference,
        "designation": part.designation,
        "quantity": part.quantity,
        "price": part.unit_price,
    }
    return field_record(values.get(field))


async def _editdraft_of(visit: Visit, answer: Answer, message: Message, field: str) -> None:
    """An edited answer of the line still being typed: the draft takes the new value."""
    t, section = visit.t, visit.section(answer)
    if field not in FIELDS or await visit.pieces(answer, _draft_record(visit, field)) is None:
        await visit.no_longer_there(section)
        return
    try:
        value = read_field(field, message.text or "")
    except ParseError as error:
        await refuse(visit, message, error)
        return
    draft = draft_of(visit)
    draft[field] = str(value)
    visit.remember(draft=draft)
    answer.text = field_record(value)
    shown = t(
        "edits.part_draft",
        field=t(f"wizard.parts.field_{field}"),
        value=money.formatter(visit).number(value) if isinstance(value, Decimal) else gist(value),
    )
    await visit.amended(section, shown)


async def parts_edit(visit: Visit, answer: Answer, message: Message) -> None:
    """Stores an edited field of a line (or the whole line typed at once); the line
    and the total of the parts are shown again in one line."""
    t, fmt = visit.t, money.formatter(visit)
    _, which, field = [*answer.target.split(":", 2), "", ""][:3]
    if which == "new":
        await _editdraft_of(visit, answer, message, field)
        return
    lines = visit.job.parts
    found = next(((n, p) for n, p in enumerate(lines, start=1) if str(p.id) == which), None)
    section = visit.section(answer)
    if found is not None:
        section = f"{section} · {t('edits.line', n=found[0])}"
    if found is None or await visit.pieces(answer, _part_record(found[1], field)) is None:
        await visit.no_longer_there(section)
        return
    part, text = found[1], message.text or ""
    if field == "line":
        try:
            reference, designation, quantity, price = read_line(text)
        except BadLine as bad:
            await message.answer(bad.text(t))
            return
        part.reference, part.designation = reference, designation
        part.quantity, part.unit_price = quantity, price
    else:
        try:
            value = read_field(field, text)
        except ParseError as error:
            await refuse(visit, message, error)
            return
        if field == "reference":
            part.reference = str(value)
        elif field == "designation":
            part.designation = str(value)
        elif field == "quantity":
            part.quantity = Decimal(value)
        else:
            part.unit_price = Decimal(value)
    answer.text = _part_record(part, field)
    total = t("wizard.parts.total", amount=fmt.money(money.totals(visit).parts))
    await visit.amended(section, line_text(visit, part), total)
