"""Receiving updates without ever losing one.

Telegram forgets an update once getUpdates is called with a higher offset. So the
poller writes each batch to the `inbox_updates` table and commits *before* it
asks for the next batch. Each stored update is then handled in its own unit of
work: the handlers' changes and the "done" mark on the update commit together,
so an update is handled exactly once even if the process is killed at any
instant (a killed unit of work rolls back and runs again at the next start).

Updates of one chat are handled one after the other, in order: a ten-photo
album never races with itself. Different chats are handled in parallel, up to
WORKERS at a time.

A reply sent by a handler whose unit of work is then killed before it commits
is sent again when the update is handled again: a message may be repeated after
a crash, but no data is lost or doubled.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    TelegramConflictError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods.base import TelegramMethod
from aiogram.types import Update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from bot.fsm import current_session
from bot.replies import Unit, current_unit
from handlers.i18n import gettext, pick_language
from storage import inbox, outbox, users
from storage.db import Database
from storage.files import FileStore
from storage.models import Delivery, InboxUpdate, UpdateState

log = logging.getLogger(__name__)

#: The poller's wait after a failed getUpdates, doubled at each failure up to the maximum.
POLL_RETRY_FIRST = 1.0
POLL_RETRY_MAX = 60.0

#: What the bot asks Telegram for. Handlers for other kinds are never written.
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]

#: Objects of an update that carry a chat or a sender, in the order looked at.
_CARRIERS = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_message",
    "callback_query",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "inline_query",
    "chosen_inline_result",
    "shipping_query",
    "pre_checkout_query",
    "poll_answer",
    "message_reaction",
)


class GetRawUpdates(TelegramMethod[list[dict[str, Any]]]):
    """getUpdates, returning the updates as the JSON Telegram sent, to store as is."""

    __returning__ = list[dict[str, Any]]
    __api_method__ = "getUpdates"

    offset: int | None = None
    limit: int | None = None
    timeout: int | None = None
    allowed_updates: list[str] | None = None


def chat_of(payload: dict[str, Any]) -> int:
    """The chat an update belongs to, which decides its queue (0 when it has none)."""
    for name in _CARRIERS:
        carrier = payload.get(name)
        if not isinstance(carrier, dict):
            continue
        if isinstance(carrier.get("chat"), dict):
            return int(carrier["chat"]["id"])
        message = carrier.get("message")
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            return int(message["chat"]["id"])
        for sender in ("from", "user"):
            if isinstance(carrier.get(sender), dict):
                return int(carrier[sender]["id"])
    return 0


def sender_of(payload: dict[str, Any]) -> dict[str, Any] | None:
    for name in _CARRIERS:
        carrier = payload.get(name)
        if isinstance(carrier, dict) and isinstance(carrier.get("from"), dict):
            return carrier["from"]  # type: ignore[no-any-return]
    return None


def _transient(exc: BaseException) -> bool:
    """Errors worth handling the same update again for: the network or the database
    was briefly unavailable, or Telegram asked to wait."""
    if isinstance(exc, TelegramNetworkError | TelegramServerError | TelegramRetryAfter):
        return True
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class AlreadyHandled(Exception):
    """The update was marked handled by someone else while it was being handled here:
    its unit of work is rolled back."""


@dataclass
class _Turn:
    """Who holds or waits for one chat's turn (see Ingest.in_turn)."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    holders: int = 0


class Ingest:
    """The poller and the per-chat workers."""

    def __init__(
        self,
        bot: Bot,
        dispatcher: Dispatcher,
        db: Database,
        *,
        workers: int = 16,
        polling_timeout: int = 30,
        default_language: str = "fr",
        after_commit: Callable[[Sequence[Delivery]], None] = lambda deliveries: None,
        handler_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.bot = bot
        self.dispatcher = dispatcher
        self.db = db
        self.polling_timeout = polling_timeout
        self.default_language = default_language
        self.after_commit = after_commit
        self.handler_kwargs = handler_kwargs or {}
        self._slots = asyncio.Semaphore(workers)
        self._queues: dict[int, deque[int]] = {}
        #: What each scheduled update says, kept from the moment it was stored so that
        #: handling it needs no read of its row.
        self._payloads: dict[int, dict[str, Any]] = {}
        self.files: FileStore | None = self.handler_kwargs.get("files")
        self._tasks: set[asyncio.Task[None]] = set()
        self._turns: dict[int, _Turn] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    # Receiving -----------------------------------------------------------------

    async def store(self, payloads: list[dict[str, Any]]) -> list[int]:
        """Write a batch of updates and commit; schedule the ones not seen before."""
        rows = [(int(p["update_id"]), chat_of(p), p) for p in payloads]
        unique = list({update_id: (update_id, chat, p) for update_id, chat, p in rows}.values())
        try:
            async with self.db.transaction() as session:
                fresh = await inbox.store_all(session, unique)
        except IntegrityError:
            # Telegram sent again updates stored before a restart: keep only the new ones.
            async with self.db.transaction() as session:
                fresh = await inbox.store_new(session, rows)
        by_id = {update_id: (chat, payload) for update_id, chat, payload in rows}
        for update_id in fresh:
            chat, payload = by_id[update_id]
            self._payloads[update_id] = payload
            self.schedule(update_id, chat)
        return fresh

    async def receive(self, payload: dict[str, Any]) -> bool:
        """Store one update Telegram posted to the webhook, commit, and schedule it;
        False when it was received before (it is then neither stored nor handled
        again). The database's errors are raised: the webhook answers with an error,
        and Telegram posts the update again later."""
        return bool(await self.store([payload]))

    async def recover(self) -> int:
        """Schedule every update stored but not handled before the last stop."""
        async with self.db.sessions() as session:
            rows = [
                (row.update_id, row.chat_id, row.payload) for row in await inbox.pending(session)
            ]
        for update_id, chat_id, payload in rows:
            self._payloads[update_id] = payload
            self.schedule(update_id, chat_id)
        if rows:
            log.info("resuming %d update(s) received before the last stop", len(rows))
        return len(rows)

    async def poll(self) -> None:
        """Long-poll Telegram until cancelled; only a rejected token ends it. An update
        is acknowledged (by the next call's offset) only after it is committed to the
        database, so a batch that fails in any way is asked for again."""
        offset: int | None = None
        delay = POLL_RETRY_FIRST
        webhook_removed = False
        while True:
            try:
                if not webhook_removed:
                    # Telegram refuses getUpdates while a webhook is set (left by a run in
                    # webhook mode); the updates it holds are then given to getUpdates.
                    await self.bot.delete_webhook(drop_pending_updates=False)
                    webhook_removed = True
                offset = await self._poll_once(offset)
            except TelegramUnauthorizedError:
                raise
            except TelegramRetryAfter as exc:
                log.warning("Telegram asks to wait %s s before polling again", exc.retry_after)
                await asyncio.sleep(exc.retry_after)
                continue
            except TelegramConflictError as exc:
                if "webhook" in exc.message:
                    log.error("a webhook was set meanwhile (another bot in webhook mode?)")
                    webhook_removed = False
                else:
                    log.error("another instance of this bot is polling with the same token")
            except (TelegramNetworkError, TelegramServerError) as exc:
                log.warning("cannot reach the Bot API (%s); trying again in %.0f s", exc, delay)
            except Exception:
                # One batch must not end the polling, or nothing more would be received.
                log.exception("polling failed unexpectedly; trying again in %.0f s", delay)
            else:
                delay = POLL_RETRY_FIRST
                continue
            await asyncio.sleep(delay)
            delay = min(delay * 2, POLL_RETRY_MAX)

    async def _poll_once(self, offset: int | None) -> int | None:
        """One getUpdates, its batch stored; the offset that acknowledges it."""
        method = GetRawUpdates(
            offset=offset, timeout=self.polling_timeout, allowed_updates=ALLOWED_UPDATES
        )
        payloads = await self.bot(method, request_timeout=self.polling_timeout + 15)
        if not payloads:
            return offset
        await self._store_until_done(payloads)
        return max(int(p["update_id"]) for p in payloads) + 1

    async def _store_until_done(self, payloads: list[dict[str, Any]]) -> None:
        """Store a batch, retrying while the database is unavailable: the offset must
        not move past updates that are not stored."""
        delay = 0.5
        while True:
            try:
                await self.store(payloads)
                return
            except (OperationalError, DBAPIError, OSError) as exc:
                log.error("cannot store updates yet (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    # Handling ------------------------------------------------------------------

    def schedule(self, update_id: int, chat_id: int) -> None:
        """Queue an update behind the others of its chat, in the order Telegram numbered
        them (a webhook's updates may be stored out of order when Telegram posts them
        side by side), starting the chat's worker."""
        queue = self._queues.get(chat_id)
        if queue is not None:
            # The first one is being handled: a later arrival goes after it, whatever its id.
            bisect.insort(queue, update_id, lo=1)
            return
        self._queues[chat_id] = deque([update_id])
        self._idle.clear()
        task = asyncio.create_task(self._drain(chat_id), name=f"chat-{chat_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @contextlib.asynccontextmanager
    async def in_turn(self, chat_id: int) -> AsyncIterator[None]:
        """Wait for the turn of chat `chat_id` and hold it: no update of that chat is
        handled meanwhile. A unit of work that comes through another door (the
        signature pad) about what the chat is doing takes it, so the two never race
        on the same report: each sees what the other committed."""
        turn = self._turns.setdefault(chat_id, _Turn())
        turn.holders += 1
        try:
            async with turn.lock:
                yield
        finally:
            turn.holders -= 1
            if not turn.holders:
                del self._turns[chat_id]

    async def _drain(self, chat_id: int) -> None:
        queue = self._queues[chat_id]
        try:
            while queue:
                async with self._slots, self.in_turn(chat_id):
                    await self.handle(queue[0])
                queue.popleft()
        finally:
            del self._queues[chat_id]
            if not self._queues:
                self._idle.set()

    async def wait_idle(self) -> None:
        """Wait until every scheduled update is handled (used by tests and shutdown)."""
        await self._idle.wait()

    async def handle(self, update_id: int) -> None:
        """Handle one stored update in its own unit of work, retrying transient failures."""
        delay = 0.5
        while True:
            try:
                handled = await self._handle_once(update_id)
            except AlreadyHandled:
                log.warning("update %s was handled elsewhere meanwhile; nothing kept", update_id)
                self._payloads.pop(update_id, None)
                return
            except Exception as exc:
                if _transient(exc):
                    wait = exc.retry_after if isinstance(exc, TelegramRetryAfter) else delay
                    log.warning("update %s: %s; handling it again in %.1f s", update_id, exc, wait)
                    await asyncio.sleep(wait)
                    delay = min(delay * 2, 30.0)
                    continue
                log.exception("update %s failed in its handler", update_id)
                await self._record_failure(update_id, exc)
                self._payloads.pop(update_id, None)
                return
            self._payloads.pop(update_id, None)
            self.after_commit(handled)
            return

    async def _handle_once(self, update_id: int) -> list[Delivery]:
        """Handle the update in one transaction, with the handlers' replies written as
        deliveries in it and its "done" mark; the deliveries it committed."""
        async with self.db.transaction() as session:
            payload = self._payloads.get(update_id)
            if payload is None:
                row = await inbox.get(session, update_id)
                if row is None or row.state != UpdateState.PENDING:
                    return []
                payload = row.payload
            update = Update.model_validate(payload, context={"bot": self.bot})
            files = self.files or FileStore(Path("data"))
            unit = current_unit.set(Unit(session, files, chat_of(payload)))
            token = current_session.set(session)
            try:
                await self.dispatcher.feed_update(
                    self.bot, update, session=session, **self.handler_kwargs
                )
            finally:
                current_session.reset(token)
                current_unit.reset(unit)
            if not await inbox.finish(session, update_id):
                raise AlreadyHandled(update_id)
            made = outbox.made_in(session)
        return made

    async def _record_failure(self, update_id: int, exc: Exception) -> None:
        """Mark the update failed (so it is not retried forever) and tell the sender
        that something went wrong, in their language, through the outbox."""
        try:
            async with self.db.transaction() as session:
                row = await session.get(InboxUpdate, update_id)
                if row is None:
                    return
                inbox.mark(row, UpdateState.FAILED, f"{type(exc).__name__}: {exc}"[:2000])
                sender = sender_of(row.payload)
                if sender is not None:
                    person = await users.by_telegram_id(session, int(sender["id"]))
                    language = pick_language(
                        person.language if person else None,
                        sender.get("language_code"),
                        self.default_language,
                    )
                    chat_id = row.chat_id or int(sender["id"])
                    outbox.message(session, chat_id, gettext(language, "errors.internal"))
                made = outbox.made_in(session)
        except (OperationalError, DBAPIError, OSError):
            log.exception("could not record the failure of update %s", update_id)
            return
        self.after_commit(made)
