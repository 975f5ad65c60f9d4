"""Around every update: "typing…" when its answer takes long, who is writing and in
which language to answer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.enums import ChatAction
from aiogram.types import Chat, TelegramObject
from aiogram.types import User as TelegramUser
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import actions
from handlers.context import Options
from handlers.i18n import Translator, pick_language
from storage import users
from storage.models import Role


class PersonMiddleware(BaseMiddleware):
    """Loads the registered person behind the update (`user`, None if unknown or
    disabled) and the `t` translator in their language. People listed in
    ADMIN_IDS are registered as admins the first time they write."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        session: AsyncSession = data["session"]
        options: Options = data["options"]
        sender: TelegramUser | None = data.get("event_from_user")
        person = None
        if sender is not None and not sender.is_bot:
            person = await users.by_telegram_id(session, sender.id)
            if sender.id in options.admin_ids and (
                person is None or person.role != Role.ADMIN or not person.active
            ):
                person = await users.add(
                    session, sender.id, sender.full_name, Role.ADMIN, username=sender.username
                )
        if person is not None and not person.active:
            person = None
        language = pick_language(
            person.language if person else None,
            sender.language_code if sender else None,
            options.default_language,
        )
        data["user"] = person
        data["t"] = Translator(language)
        return await handler(event, data)


#: An update still being handled after this many seconds shows "typing…" in its chat.
TYPING_AFTER = 1.0


class ShowTyping(BaseMiddleware):
    """Shows "typing…" in the update's chat once its handling has taken TYPING_AFTER
    seconds, and again every few seconds until it ends, unless the chat shows a
    better action meanwhile (handlers.actions.working). The handling never waits
    for Telegram here (see handlers.actions)."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        chat: Chat | None = data.get("event_chat")
        bot: Bot | None = data.get("bot")
        if chat is None or bot is None:
            return await handler(event, data)
        typing = asyncio.create_task(_type_later(bot, chat.id), name=f"typing-{chat.id}")
        try:
            return await handler(event, data)
        finally:
            # Not waited for: the unit of work may hold the database's write lock,
            # which should go to its commit without giving the loop a turn here.
            typing.cancel()


async def _type_later(bot: Bot, chat_id: int) -> None:
    await asyncio.sleep(TYPING_AFTER)
    while True:
        if not actions.busy(chat_id):
            await actions.show(bot, chat_id, ChatAction.TYPING)
        await asyncio.sleep(actions.REPEAT)
