"""The parts step: any number of lines (reference, designation, quantity, unit price),
added with as few keystrokes as gloves allow, and removed with one tap.

    list ──"➕ Add" or any text──▶ reference? ─┬─ known parts match ──▶ pick ─┐
      ▲                                        ├─ looks like a reference ──▶ designation
      │                                        └─ a designation ─────────────┤
      │                                                     quantity ◀───────┘
      │                        "REF; designation; qty; price"   │
      └──── line added ◀───── (one line, at reference?) ◀── unit price ("Same price")

The line being added is a draft in `visit.data` (it lives on the intervention row),
so a restart in the middle of a line asks the same question with nothing lost.
A number that cannot be read is refused with the parse catalog's words; the
question and the draft stay.

Each message typed for a line is remembered as the answer it gave: "part:new:quantity"
while the line is a draft, "part:12:quantity" once it is line 12 (or "part:12:line"
for the one-line form), so that editing the message changes that field.
"""

from __future__ import annotations

import zlib
from decimal import Decimal
from typing import Any

from aiogram.types import CallbackQuery, InlineKeyboardButton, Message

from handlers.callbacks import WizardAction, Wz
from handlers.i18n import Translator
from handlers.technician import money
from handlers.technician.checklist import cut
from handlers.technician.sections import not_expected, preview, refuse
from handlers.technician.visit import StepKind, Visit, figure, gist
from reports.rules.reading import ParseError, clean_text, parse_money, parse_quantity
from reports.totals import line_total
from storage import answers
from storage import parts as known_parts
from storage.models import Answer, Part

#: The highest unit price accepted for one part, in euros (more is a typing slip).
MAX_UNIT_PRICE = Decimal(100_000)
REFERENCE_LIMIT = 100
DESIGNATION_LIMIT = 300
SUGGESTIONS = 6
#: Lines shown in the prompt (the last ones; the total counts them all).
SHOWN_LINES = 20
REMOVE_PER_ROW = 5
BUTTON_WIDTH = 60

Rows = list[list[InlineKeyboardButton]]
Draft = dict[str, Any]

#: The target of the answers given to the line being typed, until it is added.
DRAFT = "part:new:"
#: The fields of a line a message can give, each read as its question reads it.
FIELDS = ("reference", "designation", "quantity", "price")

#: What each stage expects when something else arrives.
EXPECTED = {
    None: "wizard.parts.expected",
    "reference": "wizard.parts.expected",
    "pick": "wizard.parts.expected_pick",
    "designation": "wizard.parts.expected_designation",
    "quantity": "wizard.parts.expected_quantity",
    "price": "wizard.parts.expected_price",
}


def read_reference(text: str) -> str:
    return clean_text(text, maximum=REFERENCE_LIMIT)


def read_designation(text: str) -> str:
    return clean_text(text, maximum=DESIGNATION_LIMIT)


def read_price(text: str) -> Decimal:
    return parse_money(text, maximum=MAX_UNIT_PRICE)


def read_field(field: str, text: str) -> str | Decimal:
    """One field of a line, read as the question asking it reads it."""
    if field == "reference":
        return read_reference(text)
    if field == "designation":
        return read_designation(text)
    if field == "quantity":
        return parse_quantity(text)
    return read_price(text)


class BadLine(Exception):
    """A line typed at once that cannot be read: which field (None: not four fields)."""

    def __init__(self, field: str | None = None, error: ParseError | None = None) -> None:
        super().__init__(field or "fields")
        self.field = field
        self.error = error

    def text(self, t: Translator) -> str:
        """What the step says about it."""
        if self.field is None or self.error is None:
            return t("wizard.parts.one_line")
        problem = t(self.error.key, **self.error.display_values(t.language))
        field = t(f"wizard.parts.field_{self.field}")
        return t("wizard.parts.field_error", field=field, error=problem)


def read_line(text: str) -> tuple[str | None, str, Decimal, Decimal]:
    """`REF; designation; quantity; price` (or without the reference)."""
    fields = [field.strip() for field in text.split(";")]
    if len(fields) == 3:
        fields.insert(0, "")
    if len(fields) != 4 or not fields[1]:
        raise BadLine()
    reference, designation, quantity_text, price_text = fields
    field = "reference"
    try:
        reference = read_reference(reference) if reference else ""
        field = "designation"
        designation = read_designation(designation)
        field = "quantity"
        quantity = parse_quantity(quantity_text)
        field = "price"
        price = read_price(price_text)
    except ParseError as error:
        raise BadLine(field, error) from None
    return reference or None, designation, quantity, price


def looks_like_reference(text: str) -> bool:
    """One word with a digit in it ("FLT-200", "6205ZZ"): a reference, not a designation."""
    return " " not in text.strip() and any(char.isdigit() for char in text)


def _draft(visit: Visit) -> Draft:
    value = visit.data.get("draft")
    return dict(value) if isinstance(value, dict) else {}


def _stage(visit: Visit) -> str | None:
    stage = visit.data.get("stage")
    return stage if isinstance(stage, str) and stage in EXPECTED else None


def _choice(draft: Draft, index: int) -> str:
    """A suggestion's button value: its place in the list and a mark of the words it was
    found for, so a button of an earlier search never picks from a later one."""
    mark = zlib.crc32(str(draft.get("typed", "")).encode()) & 0xFFFF
    return f"{index}.{mark:04x}"


def _name(reference: str | None, designation: str | None) -> str:
    """The reference and designation ("REF · designation"), escaped, for the texts."""
    shown = [preview(value, 60) for value in (reference, designation) if value]
    return " · ".join(shown) or "—"


def _line_text(visit: Visit, part: Part) -> str:
    fmt = money.formatter(visit)
    return visit.t(
        "wizard.parts.line",
        name=_name(part.reference, part.designation),
        quantity=fmt.number(part.quantity),
        price=fmt.money(part.unit_price),
        amount=fmt.money(line_total(part.quantity, part.unit_price)),
    )


# Views -----------------------------------------------------------------------------


def _list_view(visit: Visit) -> tuple[str, Rows]:
    """The lines so far with their totals, a ❌ per line, Add and Done."""
    t, fmt = visit.t, money.formatter(visit)
    lines = list(visit.job.parts)
    rows: Rows = []
    if not lines:
        body = t("wizard.parts.empty")
    else:
        first = max(0, len(lines) - SHOWN_LINES)
        shown = [
            f"{number}. {_line_text(visit, part)}"
            for number, part in enumerate(lines, start=1)
            if number > first
        ]
        if first:
            shown.insert(0, t("wizard.parts.more", count=first))
        shown.append(t("wizard.parts.total", amount=fmt.money(money.totals(visit).parts)))
        body = t("wizard.parts.lines") + "\n" + "\n".join(shown) + "\n\n" + t("wizard.parts.hint")
        removes = [
            visit.button(t("wizard.parts.remove", n=number), WizardAction.REMOVE, str(part.id))
            for number, part in enumerate(lines, start=1)
            if number > first
        ]
        for start in range(0, len(removes), REMOVE_PER_ROW):
            rows.append(removes[start : start + REMOVE_PER_ROW])
    if visit.data.get("removed"):
        rows.append([visit.button(t("wizard.parts.undo"), WizardAction.UNDO)])
    rows.append(
        [
            visit.button(t("wizard.parts.add"), WizardAction.ADD),
            visit.button(t("wizard.parts.done"), WizardAction.DONE),
        ]
    )
    return body, rows


def _draft_view(visit: Visit, stage: str) -> tuple[str, Rows]:
    """The question about the line being added."""
    t, fmt = visit.t, money.formatter(visit)
    draft = _draft(visit)
    cancel = [visit.button(t("wizard.parts.cancel"), WizardAction.CANCEL)]
    name = _name(draft.get("reference"), draft.get("designation"))
    if stage == "pick":
        rows: Rows = []
        for index, choice in enumerate(draft.get("choices", [])):
            label = " · ".join(
                value
                for value in (
                    choice.get("reference"),
                    choice.get("designation"),
                    fmt.money(Decimal(choice["unit_price"])),
                )
                if value
            )
            rows.append(
                [visit.button(cut(label, BUTTON_WIDTH), WizardAction.PICK, _choice(draft, index))]
            )
        typed = str(draft.get("typed", ""))
        rows.append(
            [visit.button(t("wizard.parts.new_part", typed=cut(typed, 30)), WizardAction.NEW)]
        )
        rows.append(cancel)
        return t("wizard.parts.suggest", typed=preview(typed, 60)), rows
    if stage == "designation":
        return t("wizard.parts.ask_designation", reference=name), [cancel]
    if stage == "quantity":
        return t("wizard.parts.ask_quantity", name=name), [cancel]
    if stage == "price":
        quantity = fmt.number(Decimal(draft["quantity"]))
        row = []
        if draft.get("last_price") is not None:
            last = fmt.money(Decimal(draft["last_price"]))
            row.append(visit.button(t("wizard.parts.same_price", price=last), WizardAction.SAME))
        return t("wizard.parts.ask_price", name=name, quantity=quantity), [row, cancel]
    return t("wizard.parts.ask_reference"), [cancel]


async def parts_prompt(visit: Visit, notice: str = "") -> None:
    """The list of lines, or the question about the line being added; `notice` (what
    was just added or removed) comes first."""
    if any(part.id is None for part in visit.job.parts):
        await visit.session.flush()  # the ❌ buttons name lines by id
    stage = _stage(visit)
    body, rows = _list_view(visit) if stage is None else _draft_view(visit, stage)
    # No Skip while a line is being typed: a stray tap would drop it (Cancel is there).
    await visit.ask(f"{notice}\n\n{body}" if notice else body, *rows, skip=stage is None)


# Adding a line ---------------------------------------------------------------------


async def _add_line(
    visit: Visit, reference: str | None, designation: str, quantity: Decimal, price: Decimal
) -> Part:
    """The line, added; the answers typed for it now name it."""
    lines = visit.job.parts
    part = Part(
        position=max((p.position for p in lines), default=0) + 1,
        reference=reference or None,
        designation=designation,
        quantity=quantity,
        unit_price=price,
    )
    lines.append(part)
    visit.remember(stage=None, draft=None, removed=None)
    await visit.session.flush()
    await answers.retarget(visit.session, visit.job.id, DRAFT, f"part:{part.id}:")
    return part


def _line_record(part: Part) -> str:
    """A line as the answers record it when one message gave it all."""
    values = (part.reference, part.designation, figure(part.quantity), figure(part.unit_price))
    return "; ".join(value or "" for value in values)


def _field_record(value: str | Decimal | None) -> str | None:
    return figure(value) if isinstance(value, Decimal) else value


async def _added(visit: Visit, part: Part) -> None:
    await parts_prompt(visit, visit.t("wizard.parts.added", line=_line_text(visit, part)))


async def _one_line(visit: Visit, message: Message, text: str) -> None:
    """`REF; designation; quantity; price` (or without the reference) at once."""
    try:
        reference, designation, quantity, price = read_line(text)
    except BadLine as bad:
        await message.answer(bad.text(visit.t))
        return
    part = await _add_line(visit, reference, designation, quantity, price)
    await visit.note(message.message_id, f"part:{part.id}:line", _line_record(part))
    await _added(visit, part)


async def _reference(visit: Visit, message: Message, text: str) -> None:
    """What was typed at "reference or designation?": known parts to pick from, or
    the next question."""
    await answers.forget(visit.session, visit.job.id, DRAFT)
    if ";" in text:
        await _one_line(visit, message, text)
        return
    try:
        typed = read_designation(text)
    except ParseError as error:
        await refuse(visit, message, error)
        return
    found = await known_parts.known(visit.session, typed, limit=SUGGESTIONS)
    if found:
        choices = [
            {
                "reference": known.reference,
                "designation": known.designation,
                "unit_price": str(known.unit_price),
            }
            for known in found
        ]
        draft = {"typed": typed, "choices": choices, "message": message.message_id}
        visit.remember(stage="pick", draft=draft)
    else:
        await _new_part(visit, typed, message.message_id)
    await parts_prompt(visit)


async def _new_part(visit: Visit, typed: str, message_id: int | None) -> None:
    """A part never used before: a reference asks its designation, a designation goes
    straight to the quantity. The message typed is what gave it."""
    if looks_like_reference(typed) and len(typed) <= REFERENCE_LIMIT:
        field, stage = "reference", "designation"
    else:
        field, stage = "designation", "quantity"
    visit.remember(stage=stage, draft={field: typed})
    if message_id is not None:
        await visit.note(message_id, DRAFT + field, typed)


async def parts_answer(visit: Visit, message: Message) -> None:
    """Reads the answer to the current question of the line being added (any text
    on the list starts a new line); stores it and asks the next question."""
    stage = _stage(visit)
    if not message.text:
        await not_expected(visit, message, EXPECTED[stage])
        return
    text = message.text
    draft = _draft(visit)
    if stage in (None, "reference", "pick"):
        await _reference(visit, message, text)
        return
    field = stage if stage in FIELDS else "price"
    try:
        value = read_field(field, text)
    except ParseError as error:
        await refuse(visit, message, error)
        return
    if field == "price":
        await _finish(visit, draft, Decimal(value), message.message_id)
        return
    draft[field] = str(value)
    visit.remember(stage="quantity" if field == "designation" else "price", draft=draft)
    await visit.note(message.message_id, DRAFT + field, _field_record(value))
    await parts_prompt(visit)


async def _finish(
    visit: Visit, draft: Draft, price: Decimal, message_id: int | None = None
) -> None:
    """The line is complete: added, its price remembered as given by `message_id`."""
    part = await _add_line(
        visit,
        draft.get("reference"),
        str(draft.get("designation") or draft.get("reference") or ""),
        Decimal(draft["quantity"]),
        price,
    )
    if message_id is not None:
        await visit.note(message_id, f"part:{part.id}:price", figure(price))
    await _added(visit, part)


# Buttons ---------------------------------------------------------------------------


async def parts_press(visit: Visit, query: CallbackQuery, data: Wz) -> None:
    """Add, pick a known part, same price, cancel the line, remove a line (and undo),
    Done."""
    t = visit.t
    stage = _stage(visit)
    draft = _draft(visit)
    if data.action in (WizardAction.ADD, WizardAction.DONE) and stage is not None:
        # A button of the list while a line is being added: finish that one first.
        await query.answer(t("wizard.parts.draft_open"), show_alert=True)
        await parts_prompt(visit)
        return
    if data.action == WizardAction.ADD:
        await query.answer()
        visit.remember(stage="reference", draft={})
        await parts_prompt(visit)
    elif data.action == WizardAction.DONE:
        if not visit.job.parts and visit.required():
            await query.answer(t("wizard.parts.need_one"), show_alert=True)
            return
        await query.answer()
        await visit.advance()
    elif data.action == WizardAction.CANCEL and stage is not None:
        await query.answer()
        visit.remember(stage=None, draft=None)
        await answers.forget(visit.session, visit.job.id, DRAFT)
        await parts_prompt(visit)
    elif data.action == WizardAction.PICK and stage == "pick":
        choices = draft.get("choices", [])
        index = next((n for n in range(len(choices)) if _choice(draft, n) == data.value), None)
        if index is None:
            await query.answer(t("errors.old_button"), show_alert=True)
            return
        choice = choices[index]
        await query.answer()
        visit.remember(
            stage="quantity",
            draft={
                "reference": choice.get("reference"),
                "designation": choice["designation"],
                "last_price": choice["unit_price"],
            },
        )
        await parts_prompt(visit)
    elif data.action == WizardAction.NEW and stage == "pick":
        await query.answer()
        await _new_part(visit, str(draft.get("typed", "")), draft.get("message"))
        await parts_prompt(visit)
    elif (
        data.action == WizardAction.SAME
        and stage == "price"
        and draft.get("last_price") is not None
    ):
        await query.answer()
        await _finish(visit, draft, Decimal(draft["last_price"]))
    elif data.action == WizardAction.REMOVE:
        await _remove(visit, query, data.value)
    elif data.action == WizardAction.UNDO and visit.data.get("removed"):
        await query.answer()
        await _undo(visit)
    else:
        await query.answer(t("errors.old_button"), show_alert=True)


async def _remove(visit: Visit, query: CallbackQuery, part_id: str) -> None:
    """Removes the line (kept aside for Undo) and says which one it was."""
    lines = visit.job.parts
    found = next(((n, p) for n, p in enumerate(lines, start=1) if str(p.id) == part_id), None)
    if found is None:
        await query.answer(visit.t("wizard.parts.gone"), show_alert=True)
        return
    number, part = found
    await query.answer()
    text = _line_text(visit, part)
    visit.remember(
        removed={
            "id": part.id,
            "position": part.position,
            "reference": part.reference,
            "designation": part.designation,
            "quantity": str(part.quantity),
            "unit_price": str(part.unit_price),
        }
    )
    lines.remove(part)
    await parts_prompt(visit, visit.t("wizard.parts.removed", n=number, line=text))


async def _undo(visit: Visit) -> None:
    """Puts the line removed last back where it was."""
    kept = dict(visit.data["removed"])
    part = Part(
        position=int(kept["position"]),
        reference=kept.get("reference"),
        designation=str(kept["designation"]),
        quantity=Decimal(kept["quantity"]),
        unit_price=Decimal(kept["unit_price"]),
    )
    lines = visit.job.parts
    index = next((i for i, p in enumerate(lines) if p.position > part.position), len(lines))
    lines.insert(index, part)
    visit.remember(removed=None)
    if kept.get("id") is not None:
        await visit.session.flush()
        await answers.retarget(
            visit.session, visit.job.id, f"part:{kept['id']}:", f"part:{part.id}:"
        )
    await parts_prompt(visit, visit.t("wizard.parts.restored", line=_line_text(visit, part)))


# Edits -------------------------------------------------------------------------------


def _draft_record(visit: Visit, field: str) -> str | None:
    """What the line being typed holds for `field`, as the answers record it."""
    if _stage(visit) is None:
        return None
    value = _draft(visit).get(field)
    if value is None:
        return None
    return figure(Decimal(value)) if field == "quantity" else str(value)


def _part_record(part: Part, field: str) -> str | None:
    if field == "line":
        return _line_record(part)
    values = {
        "reference": part.reference,
        "designation": part.designation,
        "quantity": part.quantity,
        "price": part.unit_price,
    }
    return _field_record(values.get(field))


async def _edit_draft(visit: Visit, answer: Answer, message: Message, field: str) -> None:
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
    draft = _draft(visit)
    draft[field] = str(value)
    visit.remember(draft=draft)
    answer.text = _field_record(value)
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
        await _edit_draft(visit, answer, message, field)
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
    await visit.amended(section, _line_text(visit, part), total)


PARTS = StepKind(parts_prompt, parts_answer, parts_press, parts_edit, checks_stages=True)
