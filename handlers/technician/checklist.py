"""The methods step: the template's checklist as toggle buttons (✅/⬜), a note on any
item on request, and a free note on the tools and equipment used.

The message lists the items whole, numbered, with their notes; a button shows its
item's number and first words, cut after a whole word ("✅ 1. Consignation et
coupure…"), since a phone would cut a long label anywhere.

    checklist ──tick──▶ checklist (the same message, buttons redrawn)
        │ "📝 Note on an item"            ▲
        ▼                                 │ text, or "back to the list"
    picking ──an item──▶ noting ──────────┘
        │ text (anywhere but noting) is added to the tools and equipment note
        ▼ "Next" (refused for a required step with nothing ticked or written)

Where the step stands lives in `visit.data` ("picking", "noting"), so a restart
asks the same question again.
"""

from __future__ import annotations

import logging

from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.text_decorations import html_decoration as hd

from handlers.callbacks import WizardAction, Wz
from handlers.technician.sections import (
    SECTION_LIMIT,
    edit_piece,
    not_expected,
    preview,
    refuse,
)
from handlers.technician.visit import StepKind, Visit, gist
from reports.rules.reading import ParseError, clean_text
from storage.models import Answer, ChecklistItem

log = logging.getLogger(__name__)

#: Characters of a label on a button (phones cut longer ones in the middle); the
#: whole label is in the message.
LABEL_WIDTH = 28
#: The longest note on one item.
NOTE_LIMIT = 1000
#: The prompt stays well under Telegram's 4096 characters: notes are shortened to fit.
PROMPT_LIMIT = 3500
NOTE_PREVIEWS = (200, 80, 20)
#: Words left off the end of a cut label when short and in lower case ("de", "and").
_LINKING_WORD = 3
_TRAILING = " ,;:.-–—/("

Rows = list[list[InlineKeyboardButton]]


def cut(text: str, width: int = LABEL_WIDTH) -> str:
    """`text` on one line, at most `width` characters, cut after a whole word and
    ended with "…" when too long (for a button: not escaped). A small linking word
    left at the end goes too ("Contrôle visuel…", not "Contrôle visuel de…"); only a
    first word longer than `width` is cut inside."""
    text = " ".join(line.strip() for line in text.splitlines() if line.strip())
    if len(text) <= width:
        return text
    kept = text[: width - 1]
    if text[width - 1] != " " and " " in kept:
        kept = kept.rsplit(" ", 1)[0]
    words = kept.rstrip(_TRAILING).split(" ")
    while len(words) > 1 and len(words[-1]) <= _LINKING_WORD and words[-1].islower():
        words.pop()
    return " ".join(words).rstrip(_TRAILING) + "…"


def _button_label(item: ChecklistItem) -> str:
    """ "1. Consignation et coupure…": the item's number, then its first words."""
    return f"{item.position}. {cut(item.label)}"


def ensure_items(visit: Visit) -> list[ChecklistItem]:
    """The intervention's checklist, made from its template the first time (labels in
    the technician's language)."""
    items = visit.job.checklist
    if not items:
        labels = visit.template.checklist_labels(visit.t.language)
        for position, label in enumerate(labels, start=1):
            items.append(ChecklistItem(position=position, label=label[:300], checked=False))
    return items


def _item(visit: Visit, value: object) -> ChecklistItem | None:
    for item in visit.job.checklist:
        if str(item.position) == str(value):
            return item
    return None


def _filled(visit: Visit) -> bool:
    return any(item.checked for item in visit.job.checklist) or bool(visit.job.methods)


# Views -----------------------------------------------------------------------------


def _mark(item: ChecklistItem) -> str:
    return "✅" if item.checked else "⬜"


def _listing(visit: Visit, width: int, *, marks: bool) -> str:
    """The items whole and numbered (their labels shortened to `2 × width` only when
    the message would be too long), each with its note under it."""
    t = visit.t
    lines = []
    for item in visit.job.checklist:
        lines.append(
            t(
                "wizard.methods.item",
                mark=_mark(item) if marks else "•",
                number=item.position,
                label=preview(item.label, 2 * width),
            )
        )
        if item.note:
            lines.append(t("wizard.methods.note_line", note=preview(item.note, width)))
    return "\n".join(lines)


def _checklist_view(visit: Visit) -> tuple[str, Rows]:
    """The items as toggles, the items whole with their notes and the tools note in
    the text."""
    t, job = visit.t, visit.job
    items = job.checklist
    rows: Rows = []
    for item in items:
        noted = " 📝" if item.note else ""
        label = f"{_mark(item)} {_button_label(item)}{noted}"
        rows.append([visit.button(label, WizardAction.TICK, str(item.position))])
    tools: list[InlineKeyboardButton] = []
    if items:
        tools.append(visit.button(t("wizard.methods.note_button"), WizardAction.PICK))
    if job.methods:
        tools.append(visit.button(t("wizard.methods.clear_tools"), WizardAction.CLEAR_TOOLS))
    rows.append(tools)
    rows.append([visit.button(t("wizard.next"), WizardAction.NEXT)])

    intro = t("wizard.methods.prompt" if items else "wizard.methods.prompt_no_checklist")
    body = intro
    for width in NOTE_PREVIEWS:
        blocks = [intro]
        if items:
            blocks.append(_listing(visit, width, marks=True))
        if job.methods:
            blocks.append(t("wizard.methods.tools", value=preview(job.methods)))
        body = "\n\n".join(blocks)
        if len(body) <= PROMPT_LIMIT:
            break
    return body, rows


def _picking_view(visit: Visit) -> tuple[str, Rows]:
    """Which item the note is for: the items whole in the text, numbered as their buttons."""
    rows: Rows = [
        [visit.button(_button_label(item), WizardAction.NOTE, str(item.position))]
        for item in visit.job.checklist
    ]
    rows.append([visit.button(visit.t("wizard.methods.back_to_list"), WizardAction.LIST)])
    for width in NOTE_PREVIEWS:
        body = visit.t("wizard.methods.pick") + "\n\n" + _listing(visit, width, marks=False)
        if len(body) <= PROMPT_LIMIT:
            break
    return body, rows


def _noting_view(visit: Visit, item: ChecklistItem) -> tuple[str, Rows]:
    """The note about to be written for `item`, with the one already there."""
    t = visit.t
    body = t("wizard.methods.write_note", label=hd.quote(item.label))
    row = [visit.button(t("wizard.methods.back_to_list"), WizardAction.LIST)]
    if item.note:
        body += "\n\n" + t("wizard.current", value=preview(item.note))
        row.append(
            visit.button(
                t("wizard.methods.clear_note"), WizardAction.CLEAR_NOTE, str(item.position)
            )
        )
    return body, [row]


def _view(visit: Visit) -> tuple[str, Rows]:
    noting = _item(visit, visit.data.get("noting")) if "noting" in visit.data else None
    if noting is not None:
        return _noting_view(visit, noting)
    if visit.data.get("picking") and visit.job.checklist:
        return _picking_view(visit)
    return _checklist_view(visit)


async def _redraw(visit: Visit, query: CallbackQuery, view: tuple[str, Rows]) -> None:
    """Show `view` in the message whose button was pressed (sent anew by the outbox
    when Telegram can no longer edit that message)."""
    body, rows = view
    await visit.ask(body, *rows)


# The step --------------------------------------------------------------------------


async def checklist_prompt(visit: Visit) -> None:
    """Makes the checklist on the first visit, then asks the current question."""
    ensure_items(visit)
    body, rows = _view(visit)
    await visit.ask(body, *rows)


async def checklist_answer(visit: Visit, message: Message) -> None:
    """Stores the note of the item being annotated, or adds the text to the tools and
    equipment note; then shows the checklist again."""
    ensure_items(visit)
    if not message.text:
        noting = "noting" in visit.data
        await not_expected(
            visit, message, "wizard.methods.note_expected" if noting else "wizard.methods.expected"
        )
        return
    if visit.data.get("picking"):
        await message.answer(visit.t("wizard.methods.pick_expected"))
        return
    item = _item(visit, visit.data.get("noting")) if "noting" in visit.data else None
    try:
        if item is not None:
            item.note = clean_text(message.text, maximum=NOTE_LIMIT)
            await visit.note(message.message_id, f"checklist:{item.position}", item.note)
        else:
            added = clean_text(message.text, maximum=SECTION_LIMIT)
            existing = visit.job.methods or ""
            value = f"{existing}\n{added}" if existing else added
            if len(value) > SECTION_LIMIT:
                raise ParseError("parse.too_long", maximum=SECTION_LIMIT, length=len(value))
            visit.job.methods = value
            await visit.note(message.message_id, "methods", added)
    except ParseError as error:
        await refuse(visit, message, error)
        return
    visit.remember(noting=None, picking=None)
    await checklist_prompt(visit)


async def checklist_press(visit: Visit, query: CallbackQuery, data: Wz) -> None:
    """Tick/untick (the message redrawn in place), choose an item to annotate, clear a
    note, or go on."""
    t = visit.t
    ensure_items(visit)
    if data.action == WizardAction.NEXT:
        if visit.required() and not _filled(visit):
            await query.answer(t("wizard.methods.need_one"), show_alert=True)
            return
        await query.answer()
        await visit.advance()
        return
    if data.action == WizardAction.CLEAR_TOOLS:
        visit.job.methods = None
        await query.answer()
        await _redraw(visit, query, _checklist_view(visit))
        return
    if data.action == WizardAction.LIST:
        visit.remember(noting=None, picking=None)
        await query.answer()
        await _redraw(visit, query, _checklist_view(visit))
        return
    if data.action == WizardAction.PICK and visit.job.checklist:
        visit.remember(picking=True, noting=None)
        await query.answer()
        await _redraw(visit, query, _picking_view(visit))
        return
    item = _item(visit, data.value)
    if item is None:
        await query.answer(t("errors.old_button"), show_alert=True)
        return
    if data.action == WizardAction.TICK:
        item.checked = not item.checked
        await query.answer()
        await _redraw(visit, query, _checklist_view(visit))
    elif data.action == WizardAction.NOTE:
        visit.remember(picking=None, noting=item.position)
        await query.answer()
        await _redraw(visit, query, _noting_view(visit, item))
    elif data.action == WizardAction.CLEAR_NOTE:
        item.note = None
        visit.remember(noting=None, picking=None)
        await query.answer()
        await _redraw(visit, query, _checklist_view(visit))
    else:
        await query.answer(t("errors.old_button"), show_alert=True)


async def checklist_edit(visit: Visit, answer: Answer, message: Message) -> None:
    """Stores an edited note on an item, or the edited piece of the tools note."""
    section = visit.section(answer)
    if answer.target == "methods":
        await edit_piece(visit, answer, message, "methods", section)
        return
    item = _item(visit, answer.target.removeprefix("checklist:"))
    if item is not None:
        section = f"{section} · {preview(item.label, 60)}"
    if item is None or await visit.pieces(answer, item.note) is None:
        await visit.no_longer_there(section)
        return
    try:
        note = clean_text(message.text or "", maximum=NOTE_LIMIT)
    except ParseError as error:
        await refuse(visit, message, error)
        return
    item.note = answer.text = note
    await visit.amended(section, gist(note))


CHECKLIST = StepKind(checklist_prompt, checklist_answer, checklist_press, checklist_edit)
