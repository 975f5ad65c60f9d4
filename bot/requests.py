"""What the bot does around each Bot API request.

An update can be handled again after a crash (its unit of work rolled back), or
late behind a backlog. Telegram then refuses two harmless things: editing a
message into what it already says ("message is not modified"), and answering a
button press already answered or too old. Neither means the update failed:
those refusals are logged and treated as done, so the update's data is kept.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    Response,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType

log = logging.getLogger(__name__)

EDITS = (EditMessageText, EditMessageReplyMarkup, EditMessageCaption)
HARMLESS_EDIT = "message is not modified"
HARMLESS_ANSWER = ("query is too old", "query id is invalid")


class ForgiveReplays(BaseRequestMiddleware):
    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as exc:
            text = exc.message.lower()
            harmless = (isinstance(method, EDITS) and HARMLESS_EDIT in text) or (
                isinstance(method, AnswerCallbackQuery)
                and any(reason in text for reason in HARMLESS_ANSWER)
            )
            if not harmless:
                raise
            log.info("%s refused as already done (%s); going on", method.__api_method__, text)
            result: Any = True
            return result  # type: ignore[no-any-return]


def install(bot: Bot) -> Bot:
    """Add the bot's request middlewares; returns the bot."""
    bot.session.middleware(ForgiveReplays())
    return bot
