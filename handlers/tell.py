"""Telling someone who is not in the conversation: the office group, or one person.

A notice is a delivery in the outbox, written with the change that caused it and sent
after the commit. Two things are decided here once, so that no handler decides them
again: the language (the office reads the company's default language; a person
reads theirs, or the default) and the escaping (every text value filled into a
catalog text is escaped for HTML, unless it is marked `Html`: a catalog text or a
label already built from escaped parts).

No aiogram here, so that the command line's import tells people without loading it:
buttons come as aiogram's InlineKeyboardMarkup from the chat, or as the JSON the outbox
keeps (`{"inline_keyboard": [[{"text": ..., "callback_data": ...}]]}`) from elsewhere.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.context import Options
from handlers.i18n import Translator, pick_language
from storage import outbox
from storage.models import Delivery

if TYPE_CHECKING:
    from aiogram.types import InlineKeyboardMarkup


class Html(str):
    """Text that is HTML already, filled in as it is."""

    __slots__ = ()


#: What a notice says: a catalog key (filled with the values, escaped), or the whole
#: text made with the reader's translator (use `say` for each of its parts).
Text = str | Callable[[Translator], str]
#: Buttons: aiogram's markup, or the JSON the outbox keeps.
Markup: TypeAlias = "InlineKeyboardMarkup | dict[str, Any]"
#: The buttons under a notice, made with the reader's translator when they need it.
Keyboard: TypeAlias = "Markup | Callable[[Translator], Markup] | None"


def say(t: Translator, key: str, **values: Any) -> str:
    """`key` in `t`'s language, each text value escaped unless it is `Html`."""
    return t(key, **{name: _escaped(value) for name, value in values.items()})


def _escaped(value: Any) -> Any:
    if isinstance(value, str) and not isinstance(value, Html):
        return html.escape(value, quote=False)
    return value


def office_translator(options: Options) -> Translator:
    """The office's language: the company's default."""
    return Translator(options.default_language)


def person_translator(options: Options, language: str | None) -> Translator:
    """A person's language: the one they chose (or their client's), else the default."""
    return Translator(pick_language(language, None, options.default_language))


def _queue(
    session: AsyncSession,
    chat_id: int,
    tr: Translator,
    text: Text,
    keyboard: Keyboard,
    intervention_id: int | None,
    values: dict[str, Any],
) -> Delivery:
    said = say(tr, text, **values) if isinstance(text, str) else text(tr)
    markup = keyboard(tr) if callable(keyboard) else keyboard
    if isinstance(markup, dict) or markup is None:
        stored = markup
    else:
        stored = markup.model_dump(exclude_none=True)
    extra = {"reply_markup": stored} if stored else None
    return outbox.message(session, chat_id, said, options=extra, intervention_id=intervention_id)


def tell_office(
    session: AsyncSession,
    options: Options,
    text: Text,
    /,
    *,
    keyboard: Keyboard = None,
    intervention_id: int | None = None,
    **values: Any,
) -> Delivery | None:
    """Queues `text` for the office group, in the office's language; None when the
    deployment has no office group."""
    if options.office_chat_id is None:
        return None
    tr = office_translator(options)
    return _queue(session, options.office_chat_id, tr, text, keyboard, intervention_id, values)


def tell_person(
    session: AsyncSession,
    options: Options,
    chat_id: int,
    language: str | None,
    text: Text,
    /,
    *,
    keyboard: Keyboard = None,
    intervention_id: int | None = None,
    **values: Any,
) -> Delivery:
    """Queues `text` for the person in private chat `chat_id`, in `language` (theirs,
    or None: the default)."""
    tr = person_translator(options, language)
    return _queue(session, chat_id, tr, text, keyboard, intervention_id, values)
