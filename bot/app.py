"""Building and running the bot: Bot and Dispatcher, the poller (or the webhook),
the outbox sender, the scheduler and the web server, all in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import TelegramMethod
from aiogram.types import User

from bot import replies, requests
from bot.config import Settings
from bot.fsm import DatabaseStorage
from bot.ingest import Ingest
from bot.mailer import Mailer
from bot.middlewares import PersonMiddleware, ShowTyping
from bot.options import build_options
from bot.ratelimit import RateLimiter
from bot.reminders import Reminders
from bot.scheduler import build_scheduler
from bot.sender import OutboxSender
from bot.web import WebContext, WebFace
from handlers import menus
from handlers.routers import setup_routers
from reports import offload
from reports.rules.templates import load_templates
from storage import migrate
from storage.db import Database
from storage.files import FileStore

log = logging.getLogger(__name__)

#: How long a stop waits for the delivery under way to be answered and recorded.
SENDER_GRACE = 30.0


class TokenRejected(Exception):
    """The Bot API refused BOT_TOKEN."""


def build_bot(settings: Settings, limiter: RateLimiter | None = None) -> Bot:
    """A Bot talking to TELEGRAM_API_URL (methods and file downloads), HTML by default;
    a 429 on any call holds its chat back in `limiter`, the outbox sender's."""
    session = requests.TelegramSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    bot = Bot(
        settings.bot_token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
    return requests.install(bot, limiter)


def build_dispatcher() -> Dispatcher:
    """The Dispatcher with conversation state in the database and every router."""
    dispatcher = Dispatcher(storage=DatabaseStorage())
    dispatcher.update.outer_middleware(ShowTyping())
    dispatcher.update.outer_middleware(PersonMiddleware())
    dispatcher.include_routers(*setup_routers())
    return dispatcher


async def identify(bot: Bot) -> User:
    """getMe: who the token belongs to. Raises aiogram's errors as they come."""
    return await bot.get_me()


async def present(bot: Bot) -> None:
    """Everyone's command menu and the bot's description, in each language, set
    while the bot already works: Telegram's trouble delays each call, and a refusal
    costs only what that call sets."""
    for call in menus.everyones():
        what = f"{call.__api_method__} ({getattr(call, 'language_code', None) or 'any language'})"
        try:
            await _keep_trying(_making(call), bot, what)
        except TelegramAPIError as exc:
            log.warning("%s was not set: %s", what, exc)


async def run(settings: Settings, db: Database) -> None:
    """Run until SIGINT or SIGTERM: poll, handle, send, schedule."""
    await migrate.upgrade(db.engine)
    files = FileStore(settings.data_dir)
    limiter = RateLimiter(
        per_chat_interval=1.0 / settings.send_per_chat,
        group_per_minute=settings.send_per_group,
        total_per_second=settings.send_total,
    )
    bot = build_bot(settings, limiter)
    web_face: WebFace | None = None
    try:
        me = await _wait_for_api(bot)
        log.info("connected as @%s (id %s), database %s", me.username, me.id, db.engine.url)
        dispatcher = build_dispatcher()
        options = build_options(settings)
        sender = OutboxSender(
            bot,
            db,
            files,
            limiter=limiter,
            office_chat_id=settings.office_chat_id,
            office_language=settings.default_language,
            mailer=Mailer.from_settings(settings),
        )
        templates = load_templates(settings.templates_dir)
        ingest = Ingest(
            bot,
            dispatcher,
            db,
            workers=settings.workers,
            polling_timeout=settings.polling_timeout,
            default_language=settings.default_language,
            after_commit=sender.enqueue,
            handler_kwargs={
                "options": options,
                "files": files,
                "templates": templates,
            },
        )
        if settings.web_enabled:
            web_face = WebFace(
                WebContext(settings, db, bot, options, files, templates, ingest, sender.enqueue)
            )
            await web_face.start()
        async with db.transaction() as session:
            queued = await menus.bring_up_to_date(session, settings.office_chat_id)
        if queued:
            log.info("%d chat menu(s) to set", queued)
        menu = asyncio.create_task(present(bot), name="menu")
        scheduler = build_scheduler(
            db, options, after_commit=sender.enqueue, reminders=Reminders.from_settings(settings)
        )
        scheduler.start()
        outgoing = asyncio.create_task(sender.run(), name="outbox")
        await ingest.recover()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        receiving = _receive_updates(settings, ingest, web_face, bot)
        tasks = [asyncio.create_task(receiving, name="updates"), outgoing]
        stopper = asyncio.create_task(stop.wait(), name="stop")
        done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
        log.info("stopping")
        tasks[0].cancel()
        if web_face is not None:
            await web_face.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ingest.wait_idle(), timeout=10)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(replies.background_calls_done(), timeout=5)
        sender.stop()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(tasks[1]), timeout=SENDER_GRACE)
        for task in [*tasks, stopper, menu]:
            task.cancel()
        scheduler.shutdown(wait=False)
        for task in done:
            if task is not stopper and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        if web_face is not None:
            await web_face.stop()
        offload.shutdown()
        await bot.session.close()


async def _receive_updates(
    settings: Settings, ingest: Ingest, web_face: WebFace | None, bot: Bot
) -> None:
    """Until cancelled: long polling, or in webhook mode the webhook registered (its
    updates come through the web server meanwhile)."""
    if settings.updates == "polling" or web_face is None:
        await ingest.poll()
        return
    await _keep_trying(web_face.set_webhook, bot, "setWebhook")
    await asyncio.Event().wait()


async def _wait_for_api(bot: Bot) -> User:
    """getMe, waiting while the Bot API is unreachable (a server may start before
    its network) or asks to wait; a rejected token is raised at once."""
    return await _keep_trying(identify, bot, "getMe")


T = TypeVar("T")


async def _keep_trying(call: Callable[[Bot], Awaitable[T]], bot: Bot, what: str) -> T:
    """`call(bot)`, again and again while Telegram cannot be reached, answers with a
    5xx or asks to wait (its retry_after is kept); any other refusal is raised."""
    delay = 1.0
    while True:
        try:
            return await call(bot)
        except TelegramRetryAfter as exc:
            wait = float(exc.retry_after)
            log.warning("%s: Telegram asks to wait %.0f s", what, wait)
        except (TelegramNetworkError, TelegramServerError) as exc:
            wait = delay
            log.warning("cannot reach the Bot API (%s); trying again in %.0f s", exc, wait)
            delay = min(delay * 2, 60.0)
        await asyncio.sleep(wait)


def _making(call: TelegramMethod[T]) -> Callable[[Bot], Awaitable[T]]:
    """A function making `call` with the bot it is given (for `_keep_trying`)."""

    async def make(bot: Bot) -> T:
        return await bot(call)

    return make
