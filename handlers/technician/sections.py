"""The text sections; and what every step says to an answer it cannot take.

Each step says what it expects when it gets something else, and stays where it
was; nothing already given is lost.
"""

from __future__ import annotations

from aiogram.types import CallbackQuery, Message
from aiogram.utils.text_decorations import html_decoration as hd

from handlers.callbacks import WizardAction, Wz
from handlers.technician import photos, voice
from handlers.technician.visit import StepKind, Visit, gist
from reports.rules.reading import (
    ParseError,
    clean_text,
)
from reports.rules.templates import BY_KEY
from storage.models import Answer

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
    """Something other than what the step needs: say what it needs. A voice note is kept
    with the text section being asked (see voice.keep); a photo or a file is kept for
    the photo section when the report has one (see photos.keep_stray)."""
    if await voice.keep(visit, message, expected):
        return
    if await photos.keep_stray(visit, message):
        return
    await message.answer(visit.t(expected))


# Text sections -------------------------------------------------------------------


def _text_value(visit: Visit) -> str:
    field = visit.step.field or ""
    return str(getattr(visit.job, field) or "")


async def text_prompt(visit: Visit) -> None:
    """The question, with what was already written and a Keep button when there is
    some (then no Skip: both would go on with the text kept)."""
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
    await visit.ask(body, *rows, skip=not rows)


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
        visit.moving_on()
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
