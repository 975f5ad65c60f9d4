"""What a handler says is written with its unit of work and said after the commit.

A handler answers the way aiogram handlers do (`message.answer(...)`,
`query.message.edit_text(...)`, `bot.send_document(...)`). While an update is being
handled, the request middleware here does not send those calls: it writes each one
as a delivery in the update's own transaction, in the order they were made, and
hands the handler the answer Telegram would have given (a message whose id is a
placeholder, a negative number, see below). Once the unit of work commits, the
outbox sender sends them in that order; if it rolls back, nobody read anything; if
the process dies after the commit, they are sent when it starts again. So what a
person reads is always what was stored.

What is not deferred: answering a button press (the spinner; it shows nothing
stored) and chat actions ("typing…") go at once, in the background, so that a
handler never waits for Telegram while it may hold the database's write lock;
downloads and every call that reads (getMe, getFile) are made as asked, since the
handler needs their answer.

A placeholder message id (storage.outbox.placeholder) names a message that may not
be sent yet. An edit or a deletion naming it, in this unit of work or a later one,
is sent to the real message once the sender knows its id (`Delivery.ref`). Files a
handler sends from memory (a QR code, an export) are written under DATA_DIR/outgoing first, since a
delivery names its file by path.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, methods
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, FSInputFile, InputFile, Message
from sqlalchemy.ext.asyncio import AsyncSession

from storage import outbox
from storage.files import FileStore
from storage.models import Delivery
from storage.outbox import is_placeholder, placeholder

log = logging.getLogger(__name__)

#: Calls that show something in a chat: deferred until the unit of work commits.
DEFERRED: tuple[type[TelegramMethod[Any]], ...] = (
    methods.SendMessage,
    methods.SendDocument,
    methods.SendPhoto,
    methods.SendLocation,
    methods.SendVenue,
    methods.SendContact,
    methods.SendMediaGroup,
    methods.SendVoice,
    methods.SendAudio,
    methods.SendVideo,
    methods.SendAnimation,
    methods.SendSticker,
    methods.CopyMessage,
    methods.ForwardMessage,
    methods.EditMessageText,
    methods.EditMessageCaption,
    methods.EditMessageReplyMarkup,
    methods.EditMessageMedia,
    methods.DeleteMessage,
    methods.PinChatMessage,
    methods.UnpinChatMessage,
)
#: Calls that show nothing stored (the spinner of a button, "typing…"): sent at once,
#: in the background, so that a handler never waits for Telegram.
AT_ONCE: tuple[type[TelegramMethod[Any]], ...] = (
    methods.AnswerCallbackQuery,
    methods.SendChatAction,
)
#: Bot API method name -> aiogram's class, to make a stored call again.
METHODS: dict[str, type[TelegramMethod[Any]]] = {cls.__api_method__: cls for cls in DEFERRED}
#: Calls whose answer is a message (the others answer True, or a message for edits).
SENDS = frozenset(
    cls.__api_method__
    for cls in DEFERRED
    if cls.__name__.startswith(("Send", "Copy", "Forward")) and cls is not methods.SendMediaGroup
)
#: Where files sent from memory are written before they are sent.
OUTGOING = "outgoing"


@dataclass
class Unit:
    """The unit of work an update is handled in: its session, where files go, the chat
    it belongs to, and the deliveries it produced, in order."""

    session: AsyncSession
    files: FileStore
    chat_id: int = 0

    def in_background(self, make: Callable[[], Awaitable[Any]], name: str) -> None:
        """Make a call without waiting for it. A network error, a 5xx or a short 429
        is tried again while the call still means something (ANSWER_WITHIN); then the
        failure is logged and left (a 429 has already held the chat back, see
        bot.requests)."""
        task = asyncio.ensure_future(_persist(make, name))
        _BACKGROUND.add(task)
        task.add_done_callback(_BACKGROUND.discard)
        task.add_done_callback(lambda done: _log_failure(done, name))


#: How long a call made in the background is tried again: a button press can be
#: answered for a short while only (then Telegram says "query is too old"), and a
#: "typing…" shown later than that is no use either.
ANSWER_WITHIN = 10.0
#: The first pause before trying again; it doubles each time.
FIRST_RETRY = 0.25


async def _persist(make: Callable[[], Awaitable[Any]], name: str) -> Any:
    """`make()`, tried again on Telegram's passing trouble until ANSWER_WITHIN is up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ANSWER_WITHIN
    delay = FIRST_RETRY
    while True:
        try:
            return await make()
        except TelegramRetryAfter as exc:
            wait, trouble = float(exc.retry_after), exc.message
        except (TelegramNetworkError, TelegramServerError) as exc:
            wait, trouble = delay, exc.message
            delay *= 2
        if loop.time() + wait > deadline:
            log.info("%s made in the background left: %s", name, trouble)
            return None
        await asyncio.sleep(wait)


#: Calls made in the background, kept until they end.
_BACKGROUND: set[asyncio.Future[Any]] = set()


def _log_failure(done: asyncio.Future[Any], name: str) -> None:
    if not done.cancelled() and done.exception() is not None:
        log.info("%s made in the background failed: %s", name, done.exception())


async def background_calls_done() -> None:
    """Wait for the calls made in the background (before the bot stops)."""
    if _BACKGROUND:
        await asyncio.gather(*list(_BACKGROUND), return_exceptions=True)


#: The unit of work whose replies are being written (set around each update's handling).
current_unit: ContextVar[Unit | None] = ContextVar("current_unit", default=None)


class DeferReplies(BaseRequestMiddleware):
    """Writes the calls of DEFERRED made during a unit of work as deliveries (see the
    module's docstring); every other call, and every call outside one, goes on."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        unit = current_unit.get()
        if unit is not None and isinstance(method, AT_ONCE):
            # Sent now, but not waited for: the handler may hold the database's write
            # lock, which no network round trip should keep busy.
            unit.in_background(lambda: make_request(bot, method), method.__api_method__)
            answered: Any = True
            return answered  # type: ignore[no-any-return]
        if unit is None or not isinstance(method, DEFERRED):
            return await make_request(bot, method)
        delivery = await record(unit, bot, method)
        result: Any = answer_for(method.__api_method__, delivery)
        return result  # type: ignore[no-any-return]


async def record(unit: Unit, bot: Bot, method: TelegramMethod[Any]) -> Delivery:
    """Write `method` as a delivery of `unit` (its files saved under DATA_DIR)."""
    files: dict[str, InputFile] = {}
    params: dict[str, Any] = {}
    for key, value in method.model_dump(warnings=False).items():
        prepared = bot.session.prepare_value(value, bot=bot, files=files, _dumps_json=False)
        if prepared is not None:
            params[key] = prepared
    saved: dict[str, dict[str, str]] = {}
    for key, upload in files.items():
        data = b"".join([chunk async for chunk in upload.read(bot)])
        suffix = "." + upload.filename.rsplit(".", 1)[-1] if upload.filename else ""
        stored = unit.files.save(OUTGOING, data, suffix.lower())
        saved[key] = {"path": stored.path, "name": upload.filename or key}
    delivery = outbox.call(
        unit.session,
        _chat(params.get("chat_id")),
        method.__api_method__,
        params,
        files=saved,
        ref=placeholder() if method.__api_method__ in SENDS else None,
    )
    return delivery


def _chat(value: object) -> int | None:
    """The chat a call goes to (None for a call that names none, or a @username)."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None


def answer_for(api_method: str, delivery: Delivery) -> Any:
    """What the handler is given back instead of Telegram's answer."""
    if api_method not in SENDS:
        return True
    params = (delivery.options or {}).get("params", {})
    chat_id = int(delivery.chat_id or 0)
    # Built without validation: every value here is ours and of the right type.
    chat = Chat.model_construct(id=chat_id, type="private" if chat_id > 0 else "supergroup")
    return Message.model_construct(
        message_id=int(delivery.ref or 0),
        date=dt.datetime.now(dt.UTC),
        chat=chat,
        text=params.get("text"),
        caption=params.get("caption"),
    )


def target_placeholder(delivery: Delivery) -> int | None:
    """The placeholder id of the message a stored edit or deletion names, if it names
    one: the sender must learn that message's real id first."""
    message_id = (delivery.options or {}).get("params", {}).get("message_id")
    return message_id if isinstance(message_id, int) and is_placeholder(message_id) else None


def rebuild(
    delivery: Delivery, files: FileStore, message_id: int | None = None
) -> TelegramMethod[Any]:
    """The Bot API call a stored delivery describes, its files opened from DATA_DIR and,
    for an edit of a message sent since, that message's real id. FileNotFoundError
    when a file is gone."""
    options = delivery.options or {}
    params = dict(options.get("params", {}))
    for key, spec in (options.get("files") or {}).items():
        path = files.absolute(spec["path"])
        if not path.is_file():
            raise FileNotFoundError(2, "file missing", spec["path"])
        upload = FSInputFile(path, filename=spec.get("name"))
        for name, value in params.items():
            if value == f"attach://{key}":
                params[name] = upload
    if message_id is not None:
        params["message_id"] = message_id
    # The parameters were checked when the handler made the call, and stored as the
    # JSON they are sent as: the call is rebuilt without checking them again.
    return METHODS[str(options["method"])].model_construct(**params)
