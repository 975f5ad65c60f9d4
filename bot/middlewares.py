"""Who is writing and in which language to answer, for every update."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from aiogram.types import User as TelegramUser
from sqlalchemy.ext.asyncio import AsyncSession

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
