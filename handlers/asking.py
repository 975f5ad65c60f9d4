"""The message that asks a conversation's current question, so that a chat holds one
live question at a time: the next question is shown in place of the message whose
button was pressed, or else in a new message at the bottom of the chat, once the
buttons of the question asked before are removed.

A question message is known by the id a handler was given for it: the placeholder
of a reply not sent yet (bot.replies), or the real id of a message pressed. An
edit naming either reaches the message, once it is sent (storage.outbox).
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from storage import outbox

#: Telegram's limit on a photo's caption.
CAPTION_LIMIT = 1024


async def remove_buttons(bot: Bot, chat_id: int, message_id: int) -> None:
    """The message keeps its text and loses its buttons."""
    await bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id)


async def show(
    bot: Bot,
    chat_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None,
    *,
    pressed: Message | None,
    asked: int | None,
) -> int | None:
    """Shows `text` with `markup`: in place of `pressed` (a text message whose button
    this update pressed), else as a new message once `asked` (the question before)
    has lost its buttons. Without buttons (the conversation asks nothing more), a
    picture pressed takes `text` as its caption. The id of the message that now asks
    (None: it asks nothing, having no buttons)."""
    if pressed is not None and pressed.text is not None:
        await bot.edit_message_text(
            text, chat_id=chat_id, message_id=pressed.message_id, reply_markup=markup
        )
        return pressed.message_id if markup else None
    if (
        pressed is not None
        and pressed.caption is not None
        and markup is None
        and len(text) <= CAPTION_LIMIT
    ):
        await bot.edit_message_caption(chat_id=chat_id, message_id=pressed.message_id, caption=text)
        return None
    if asked is not None:
        await remove_buttons(bot, chat_id, asked)
    sent = await bot.send_message(chat_id, text, reply_markup=markup)
    return sent.message_id if markup else None


async def is_asked(session: AsyncSession, asked: object, message: Message) -> bool | None:
    """Whether `message` is the question message known as `asked` (None: not known
    yet, it was sent a moment ago and its real id is not written down)."""
    if not isinstance(asked, int):
        return False
    if not outbox.is_placeholder(asked):
        return asked == message.message_id
    real = await outbox.message_id_of(session, asked)
    return None if real is None else real == message.message_id


async def strip_old(session: AsyncSession, asked: object, message: object) -> None:
    """A message whose button was found old loses its buttons, unless it may be the
    question message itself (a second tap while its edit is on its way)."""
    if not isinstance(message, Message) or message.reply_markup is None:
        return
    if await is_asked(session, asked, message) is False:
        await message.edit_reply_markup()
