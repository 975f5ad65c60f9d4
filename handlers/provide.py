"""Handing a router's handlers one object gathered from the update's data (the
technician's desk, the dispatcher's planner) instead of eight arguments each."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Router
from aiogram.types import TelegramObject


class Provide(BaseMiddleware):
    """Adds `name`, built by `build(data)`, for registered people (handlers for people
    the bot does not know never ask for it)."""

    def __init__(self, name: str, build: Callable[[dict[str, Any]], object]) -> None:
        self.name = name
        self.build = build

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if data.get("user") is not None:
            data[self.name] = self.build(data)
        return await handler(event, data)


def provide(router: Router, name: str, build: Callable[[dict[str, Any]], object]) -> None:
    """Give the messages, edited messages and button presses of `router` the object `name`."""
    router.message.middleware(Provide(name, build))
    router.edited_message.middleware(Provide(name, build))
    router.callback_query.middleware(Provide(name, build))
