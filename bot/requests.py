"""What the bot does around each Bot API request.

Answers that cannot be read. During an outage Telegram's nginx front end answers
with an HTML error page (502, 503, 504), and a connection lost on the way back
leaves an answer cut short or empty. aiogram raises ClientDecodeError for those,
or lets a bare UnicodeDecodeError through, and nothing retries either. The bot's
session (TelegramSession) turns every answer it cannot read into the error a
network failure gives: TelegramServerError for a 5xx, TelegramNetworkError
otherwise, with a short message naming the status. So every path that already
waits out a network failure takes it: the outbox sender's backoff, the handling
of an update again, the poller's backoff, the wait for getMe at start.

File downloads do not go through Bot API methods, so the session treats them
apart: a 5xx, a file cut short, a dropped connection or a timeout is a network
error as well; any other 4xx means Telegram no longer serves that file, which
is TelegramBadRequest (asking again will not help: the person must send it again).

Harmless replays. An update can be handled again after a crash (its unit of work
rolled back), or late behind a backlog. Telegram then refuses two harmless
things: editing a message into what it already says ("message is not modified"),
and answering a button press already answered or too old. Neither means the
update failed: those refusals are logged and treated as done, so the update's
data is kept.

The messages made here never carry the bot token (aiohttp's own messages can
name the URL, which contains it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator
from http import HTTPStatus
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    Response,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiohttp import ClientError, ClientPayloadError, ClientResponseError
from pydantic import ValidationError

from bot.logs import HIDDEN
from bot.ratelimit import RateLimiter
from bot.replies import DeferReplies, current_unit

log = logging.getLogger(__name__)

EDITS = (EditMessageText, EditMessageReplyMarkup, EditMessageCaption)
HARMLESS_EDIT = "message is not modified"
HARMLESS_ANSWER = ("query is too old", "query id is invalid")
#: 4xx statuses of a download worth trying again (every 5xx is): a timeout, a rate limit.
DOWNLOAD_RETRYABLE = frozenset({HTTPStatus.REQUEST_TIMEOUT, HTTPStatus.TOO_MANY_REQUESTS})


class DownloadFile(TelegramMethod[bool]):
    """Names a file download in the errors raised for one (it is not a Bot API method)."""

    __returning__ = bool
    __api_method__ = "downloadFile"


def _status_words(status: int) -> str:
    """'502 Bad Gateway', or the bare number for a status HTTP does not name."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _body_words(content: str, cause: Exception) -> str:
    """What an unreadable answer was, in a few words (never its content)."""
    if isinstance(cause, ValidationError):
        return "JSON of an unexpected shape"
    body = content.strip()
    if not body:
        return "an empty body"
    if body.startswith("<"):
        return "an HTML page"
    if body.startswith(("{", "[")):
        return "JSON cut short"
    return "something that is not JSON"


def _unreadable(
    method: TelegramMethod[Any], status: int, content: str, cause: Exception
) -> TelegramAPIError:
    """The network error for an answer that is not what the Bot API sends."""
    message = (
        f"{method.__api_method__}: the Bot API answered {_status_words(status)}"
        f" with {_body_words(content, cause)}"
    )
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return TelegramServerError(method=method, message=message)
    return TelegramNetworkError(method=method, message=message)


def _download_failure(status: int) -> TelegramAPIError:
    """The error for a download answered with an error status."""
    words = f"file download: Telegram's file server answered {_status_words(status)}"
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return TelegramServerError(method=DownloadFile(), message=words)
    if status in DOWNLOAD_RETRYABLE or status < HTTPStatus.BAD_REQUEST:
        return TelegramNetworkError(method=DownloadFile(), message=words)
    return TelegramBadRequest(method=DownloadFile(), message=f"{words}: it no longer has the file")


def _network_words(exc: BaseException) -> str:
    """An aiohttp or socket error in words that cannot hold a URL."""
    reason = getattr(exc, "strerror", None)
    return f"{type(exc).__name__} ({reason})" if reason else type(exc).__name__


#: The answer models of the methods called so far. aiogram reads each answer with
#: `Response[<the method's result type>]`, a class pydantic makes on first use and
#: caches weakly: without a reference kept here, it is made again after every garbage
#: collection, which cost a tenth of the bot's time under load.
_ANSWER_TYPES: dict[Any, type[Response[Any]]] = {}


def _keep_answer_type(method: TelegramMethod[Any]) -> None:
    returning = method.__returning__
    if returning not in _ANSWER_TYPES:
        _ANSWER_TYPES[returning] = Response[returning]  # type: ignore[valid-type]


class ReadableAnswers(BaseSession):
    """The part of the bot's session that reads Telegram's answers (see the module's
    docstring); it comes first among the bases, before the session that does the
    transport."""

    def check_response(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        status_code: int,
        content: str,
    ) -> Response[TelegramType]:
        _keep_answer_type(method)
        try:
            return super().check_response(bot, method, status_code, content)
        except ClientDecodeError as exc:
            raise _unreadable(method, status_code, content, exc.original) from None

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        try:
            async for chunk in super().stream_content(
                url, headers, timeout, chunk_size, raise_for_status
            ):
                yield chunk
        except ClientResponseError as exc:
            raise _download_failure(exc.status) from None
        except ClientPayloadError:
            raise TelegramNetworkError(
                method=DownloadFile(),
                message="file download: the connection closed before the whole file arrived",
            ) from None
        except (ClientError, TimeoutError) as exc:
            raise TelegramNetworkError(
                method=DownloadFile(), message=f"file download: {_network_words(exc)}"
            ) from None


class TelegramSession(ReadableAnswers, AiohttpSession):
    """aiogram's aiohttp session, reading every answer as ReadableAnswers does."""


class NetworkTrouble(BaseRequestMiddleware):
    """Two things only a request middleware sees: an answer that is not even text
    (UTF-8 cut inside a letter fails before aiogram reads it) is a network error
    too; and a network error's message, made from aiohttp's, loses the token."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        try:
            return await make_request(bot, method)
        except UnicodeDecodeError:
            message = f"{method.__api_method__}: the Bot API answered bytes that are not text"
            raise TelegramNetworkError(method=method, message=message) from None
        except TelegramNetworkError as exc:
            if bot.token and bot.token in exc.message:
                exc.message = exc.message.replace(bot.token, HIDDEN)
            raise


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


class HoldBack(BaseRequestMiddleware):
    """A 429 on any call holds back everything to that chat until its retry_after ends
    (the outbox sender asks the same limiter before each message). A button press is
    answered in the background (bot.replies), which tries again after a short
    retry_after and leaves a long one: the spinner stops by itself."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter as exc:
            chat_id = getattr(method, "chat_id", None)
            if not isinstance(chat_id, int):
                unit = current_unit.get()
                chat_id = unit.chat_id if unit is not None else None
            if chat_id:
                self.limiter.pause(chat_id, time.monotonic() + exc.retry_after)
            raise


def install(bot: Bot, limiter: RateLimiter | None = None) -> Bot:
    """Add the bot's request middlewares, outermost first; returns the bot. Calls that
    show something are deferred while an update is handled (bot.replies); a 429 holds
    the chat back in `limiter`, the one the outbox sender keeps."""
    bot.session.middleware(DeferReplies())
    if limiter is not None:
        bot.session.middleware(HoldBack(limiter))
    bot.session.middleware(NetworkTrouble())
    bot.session.middleware(ForgiveReplays())
    return bot
