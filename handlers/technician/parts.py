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

from aiogram.types import CallbackQuery, InlineKeyboardButton, Message

from handlers.callbacks import WizardAction, Wz
from handlers.technician import money
from handlers.technician.checklist import cut
from handlers.technician.part_edits import parts_edit
from handlers.technician.part_lines import (
    DRAFT,
    EXPECTED,
    FIELDS,
    REFERENCE_LIMIT,
    BadLine,
    Draft,
    draft_of,
    field_record,
    line_record,
    line_text,
    looks_like_reference,
    part_name,
    read_designation,
    read_field,
    read_line,
    remove_line,
    restore_line,
    stage_of,
)
from handlers.technician.sections import not_expected, preview, refuse
from handlers.technician.visit import StepKind, Visit, figure
from reports.rules.reading import ParseError
from storage import answers
from storage import parts as known_parts
from storage.models import Part

SUGGESTIONS = 6
#: Lines shown in the prompt (the last ones; the total counts them all).
SHOWN_LINES = 20
REMOVE_PER_ROW = 5
BUTTON_WIDTH = 60

Rows = list[list[InlineKeyboardButton]]


def _choice(draft: Draft, index: int) -> str:
    """A suggestion's button value: its place in the list and a mark of the words it was
    found for, so a button of an earlier search never picks from a later one."""
    mark = zlib.crc32(str(draft.get("typed", "")).encode()) & 0xFFFF
    return f"{index}.{mark:04x}"


# Views -----------------------------------------------------------------------------


def _list_view(visit: Visit) -> tuple[str, Rows]:
    """The lines so far with their totals, a ❌ per line, Add, and Done once there is a
    line (before, Skip for an optional section: both would go on)."""
    t, fmt = visit.t, money.formatter(visit)
    lines = list(visit.job.parts)
    rows: Rows = []
    if not lines:
        body = t("wizard.parts.empty")
    else:
        first = max(0, len(lines) - SHOWN_LINES)
        shown = [
            f"{number}. {line_text(visit, part)}"
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
    last = [visit.button(t("wizard.parts.add"), WizardAction.ADD)]
    if lines or visit.required():
        last.append(visit.button(t("wizard.parts.done"), WizardAction.DONE))
    rows.append(last)
    return body, rows


def _draft_view(visit: Visit, stage: str) -> tuple[str, Rows]:
    """The question about the line being added."""
    t, fmt = visit.t, money.formatter(visit)
    draft = draft_of(visit)
    cancel = [visit.button(t("wizard.parts.cancel"), WizardAction.CANCEL)]
    name = part_name(draft.get("reference"), draft.get("designation"))
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
    stage = stage_of(visit)
    body, rows = _list_view(visit) if stage is None else _draft_view(visit, stage)
    # No Skip while a line is being typed (a stray tap would drop it: Cancel is there),
    # nor once there are lines (Done goes on).
    skip = stage is None and not visit.job.parts
    await visit.ask(f"{notice}\n\n{body}" if notice else body, *rows, skip=skip)


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


async def _added(visit: Visit, part: Part) -> None:
    await parts_prompt(visit, visit.t("wizard.parts.added", line=line_text(visit, part)))


async def _one_line(visit: Visit, message: Message, text: str) -> None:
    """`REF; designation; quantity; price` (or without the reference) at once."""
    try:
        reference, designation, quantity, price = read_line(text)
    except BadLine as bad:
        await message.answer(bad.text(visit.t))
        return
    part = await _add_line(visit, reference, designation, quantity, price)
    await visit.note(message.message_id, f"part:{part.id}:line", line_record(part))
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
    stage = stage_of(visit)
    if not message.text:
        await not_expected(visit, message, EXPECTED[stage])
        return
    text = message.text
    draft = draft_of(visit)
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
    await visit.note(message.message_id, DRAFT + field, field_record(value))
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
    stage = stage_of(visit)
    draft = draft_of(visit)
    if data.action in (WizardAction.ADD, WizardAction.DONE) and stage is not None:
        # A button of the list while a line is being added: finish that one first
        # (its question is in the chat, below).
        await query.answer(t("wizard.parts.draft_open"), show_alert=True)
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
        notice = remove_line(visit, data.value)
        if notice is None:
            await query.answer(t("wizard.parts.gone"), show_alert=True)
            return
        await query.answer()
        await parts_prompt(visit, notice)
    elif data.action == WizardAction.UNDO and visit.data.get("removed"):
        await query.answer()
        await parts_prompt(visit, await restore_line(visit))
    else:
        await query.answer(t("errors.old_button"), show_alert=True)


PARTS = StepKind(parts_prompt, parts_answer, parts_press, parts_edit, checks_stages=True)
