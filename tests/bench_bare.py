"""A bare aiogram 3 bot: the baseline of the load benchmark (`python -m tests.bench`).

It answers the benchmark's technicians the way Terrain does, in shape only, and
keeps no data: a message gets a sendMessage with an HTML text and an inline
keyboard; a button press gets an answerCallbackQuery, then a sendMessage; a photo
gets a getFile and a download of its largest size, then a sendMessage. Updates
are handled by aiogram's own polling, concurrently, with no database.

Run as a script (it imports nothing from this repository), configured like the
bot: BOT_TOKEN, TELEGRAM_API_URL, POLLING_TIMEOUT, LOG_LEVEL.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os

from aiogram import Bot, Dispatcher, F
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram.utils.text_decorations import html_decoration as hd

#: About the length of one of Terrain's step prompts.
BODY = (
    "Décrivez ce qui a été fait, ou touchez un bouton. Toutes vos réponses sont "
    "gardées ; « Plus tard » met le rapport de côté, /resume le reprend."
)


def keyboard() -> InlineKeyboardMarkup:
    """Six buttons on three rows, like a step prompt with its navigation."""
    builder = InlineKeyboardBuilder()
    for n, label in enumerate(("⬜ Point 1", "⬜ Point 2", "Suivant ➡️", "⬅️ Retour", "⏭ Passer")):
        builder.button(text=label, callback_data=f"bare:{n}:step")
    builder.button(text="⏸ Plus tard", callback_data="bare:pause")
    builder.adjust(2, 1, 3)
    return builder.as_markup()


def reply_text(name: str, what: str) -> str:
    """A prompt-like HTML text naming the person and echoing what they sent."""
    return f"📋 <b>Bench</b> · {hd.quote(name)}\n<i>Réponse · {hd.quote(what[:100])}</i>\n\n{BODY}"


async def on_photo(message: Message, bot: Bot) -> None:
    """Download the largest size, then answer."""
    assert message.photo is not None
    buffer = io.BytesIO()
    await bot.download(message.photo[-1], destination=buffer)
    name = message.from_user.first_name if message.from_user else ""
    text = reply_text(name, f"photo de {len(buffer.getvalue())} octets")
    await message.answer(text, reply_markup=keyboard())


async def on_message(message: Message) -> None:
    """Answer any other message."""
    name = message.from_user.first_name if message.from_user else ""
    await message.answer(reply_text(name, message.text or ""), reply_markup=keyboard())


async def on_press(query: CallbackQuery, bot: Bot) -> None:
    """Answer the press, then send the next prompt."""
    await query.answer()
    chat_id = query.message.chat.id if query.message else query.from_user.id
    text = reply_text(query.from_user.first_name, query.data or "")
    await bot.send_message(chat_id, text, reply_markup=keyboard())


def build() -> tuple[Bot, Dispatcher]:
    """The Bot against TELEGRAM_API_URL and a Dispatcher with the three handlers."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"]))
    bot = Bot(
        os.environ["BOT_TOKEN"],
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
    dispatcher = Dispatcher()
    dispatcher.message.register(on_photo, F.photo)
    dispatcher.message.register(on_message)
    dispatcher.callback_query.register(on_press)
    return bot, dispatcher


def main() -> None:
    """Poll until SIGTERM or SIGINT."""
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"))
    bot, dispatcher = build()
    timeout = int(os.environ.get("POLLING_TIMEOUT", "1"))
    asyncio.run(dispatcher.start_polling(bot, polling_timeout=timeout))


if __name__ == "__main__":
    main()
