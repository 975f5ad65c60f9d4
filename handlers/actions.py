"""Showing that the bot is at work: "sending a file…", "sending a photo…", "typing…".

Telegram shows a chat action for about five seconds, or until the bot's next
message arrives. `working` shows one from the moment the work starts and again
every REPEAT seconds while it lasts, so a report rendered in twenty seconds reads
"sending a file…" all along. A chat action shows nothing stored, so it does not
wait for the unit of work to commit: it is sent at once, in a task of its own,
and Telegram's trouble (unreachable, a refusal) is logged and forgotten. The
work never waits for it and never fails because of it.

The chats showing an action are known (`busy`), so that the "typing…" shown when
an answer takes long (bot.middlewares.ShowTyping) does not cover a better one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator

from aiogram import Bot
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramAPIError

log = logging.getLogger(__name__)

#: Seconds between two sends of the same action (Telegram shows one about 5 s).
REPEAT = 4.5

#: How many actions each chat is showing now.
_showing: Counter[int] = Counter()


def busy(chat_id: int) -> bool:
    """Whether the chat is showing an action of `working` now."""
    return _showing[chat_id] > 0


@contextlib.asynccontextmanager
async def working(bot: Bot, chat_id: int, action: ChatAction) -> AsyncIterator[None]:
    """Show `action` in the chat while the block runs (sent at once, then every
    REPEAT seconds; stopped when the block ends, however it ends)."""
    _showing[chat_id] += 1
    shown = asyncio.create_task(_keep_showing(bot, chat_id, action), name=f"{action}-{chat_id}")
    try:
        yield
    finally:
        _showing[chat_id] -= 1
        if _showing[chat_id] <= 0:
            del _showing[chat_id]
        # Not waited for: the work goes on to its commit (the unit of work may hold
        # the database's write lock) without giving the loop a turn here.
        shown.cancel()


async def _keep_showing(bot: Bot, chat_id: int, action: ChatAction) -> None:
    while True:
        await show(bot, chat_id, action)
        await asyncio.sleep(REPEAT)


async def show(bot: Bot, chat_id: int, action: ChatAction) -> None:
    """Send the action once; Telegram's trouble is logged, never raised."""
    try:
        await bot.send_chat_action(chat_id, action)
    except TelegramAPIError as exc:
        log.info("chat action %s in chat %s not shown: %s", action.value, chat_id, exc)
