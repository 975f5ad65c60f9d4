"""Building and running the bot: Bot and Dispatcher, the poller (or the webhook),
the outbox sender, the scheduler and the web server, all in one process."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
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
from aiogram.types import BotCommand, User

from bot import replies, requests
from bot.config import Settings
from bot.fsm import DatabaseStorage
from bot.ingest import Ingest
from bot.mailer import Mailer
from bot.middlewares import PersonMiddleware
from bot.ratelimit import RateLimiter
from bot.reminders import Reminders
from bot.scheduler import build_scheduler
from bot.sender import OutboxSender
from bot.web import WebContext, WebFace
from handlers import setup_routers
from handlers.context import Options
from handlers.i18n import gettext
from reports import offload
from reports.data import Company
from reports.rules.pricing import CompanyPricing
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
    dispatcher.update.outer_middleware(PersonMiddleware())
    dispatcher.include_routers(*setup_routers())
    return dispatcher


def build_options(settings: Settings) -> Options:
    logo = settings.company_logo.read_bytes() if settings.company_logo else None
    return Options(
        admin_ids=frozenset(settings.admin_ids),
        office_chat_id=settings.office_chat_id,
        tz=settings.tz,
        invite_valid_for=dt.timedelta(days=settings.invite_days),
        default_language=settings.default_language,
        pricing=CompanyPricing(
            labour_rate=settings.labour_rate,
            vat_percent=settings.vat_rate,
            travel_mode=settings.travel_mode,
            travel_flat=settings.travel_flat,
            travel_km_rate=settings.travel_km_rate,
            payment_terms=settings.company_texts("payment_terms"),
        ),
        company=Company(
            name=settings.company_name,
            address=settings.company_address,
            phone=settings.company_phone,
            email=settings.company_email,
            siret=settings.company_siret,
            vat_number=settings.company_vat_number,
            logo=logo,
        ),
        download_limit=20 * 1024 * 1024 if settings.public_bot_api else None,
        photo_max_side=settings.photo_max_side,
        email_enabled=settings.email_enabled,
    )


async def identify(bot: Bot) -> User:
    """getMe: who the token belongs to. Raises aiogram's errors as they come."""
    return await bot.get_me()


async def set_commands(bot: Bot) -> None:
    """The command menu in each language (the office's extra commands are listed by /help)."""
    for language in ("fr", "en"):
        commands = [
            BotCommand(command=name, description=gettext(language, f"menu.{name}"))
            for name in ("today", "list", "new", "resume", "help", "lang", "cancel", "start")
        ]
        await bot.set_my_commands(commands, language_code=language)


async def _set_menu(bot: Bot) -> None:
    """The command menu, set while the bot already works: Telegram's trouble delays
    it, and a refusal only costs the menu."""
    try:
        await _keep_trying(set_commands, bot, "the command menu")
    except TelegramAPIError as exc:
        log.warning("the command menu was not set: %s", exc)


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
        menu = asyncio.create_task(_set_menu(bot), name="menu")
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
