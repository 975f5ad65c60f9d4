"""The outbox sender: the one place deliveries leave for Telegram.

It takes pending deliveries in order, keeps Telegram's limits (see ratelimit),
and records the outcome of each in its own short transaction:
- sent: marked sent with Telegram's message id;
- 429: waits `retry_after` for that chat, without counting an attempt;
- 5xx or network error: retried with growing delays, up to MAX_ATTEMPTS;
- 403 (the person blocked the bot), 400 and other refusals: marked failed with
  the reason, and the office is told.
A crash delays a delivery; it is sent when the bot starts again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import FSInputFile, Message
from sqlalchemy.exc import DBAPIError, OperationalError

from bot.ratelimit import RateLimiter
from handlers.i18n import gettext
from storage import outbox
from storage.db import Database
from storage.files import FileStore
from storage.models import Delivery, DeliveryState, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
IDLE_WAKEUP_SECONDS = 30.0


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next try after `attempts` failures: 2 s, 4 s, 8 s ... up to 15 min."""
    return dt.timedelta(seconds=min(2.0 ** max(attempts, 1), 900.0))


class OutboxSender:
    def __init__(
        self,
        bot: Bot,
        db: Database,
        files: FileStore,
        *,
        limiter: RateLimiter | None = None,
        office_chat_id: int | None = None,
        office_language: str = "fr",
    ) -> None:
        self.bot = bot
        self.db = db
        self.files = files
        self.limiter = limiter or RateLimiter()
        self.office_chat_id = office_chat_id
        self.office_language = office_language
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Something was committed to the outbox: look now rather than at the next tick."""
        self._wake.set()

    async def run(self) -> None:
        """Send forever, sleeping until woken or until the next delivery is due."""
        while True:
            self._wake.clear()
            try:
                pause = await self.send_due()
            except (OperationalError, DBAPIError, OSError) as exc:
                log.error("outbox: database unavailable (%s)", exc)
                pause = 5.0
            if pause > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=pause)

    async def send_due(self) -> float:
        """Send every delivery that is due and allowed now; return how long to sleep."""
        async with self.db.sessions() as session:
            batch = [(d.id, d.chat_id or 0) for d in await outbox.due(session, utcnow())]
        waiting: dict[int, float] = {}
        for delivery_id, chat_id in batch:
            if chat_id in waiting:
                continue  # an earlier delivery to this chat is waiting: keep the order
            wait = self.limiter.delay(chat_id, time.monotonic())
            if wait > 0:
                waiting[chat_id] = wait
                continue
            if not await self._send_one(delivery_id):
                waiting[chat_id] = 0.0  # not sent (retry later): keep the order behind it
        if waiting:
            return max(0.05, min(waiting.values()))
        if batch:
            return 0.0
        async with self.db.sessions() as session:
            next_due = await outbox.next_due_at(session)
        if next_due is None:
            return IDLE_WAKEUP_SECONDS
        return max(0.0, min((next_due - utcnow()).total_seconds(), IDLE_WAKEUP_SECONDS))

    async def _send_one(self, delivery_id: int) -> bool:
        """Try one delivery; True when it left the queue (sent or failed for good)."""
        async with self.db.sessions() as session:
            delivery = await session.get(Delivery, delivery_id)
            if delivery is None or delivery.state != DeliveryState.PENDING:
                return True
            session.expunge(delivery)
        chat_id = delivery.chat_id or 0
        self.limiter.record(chat_id, time.monotonic())
        try:
            sent = await self._call(delivery)
        except TelegramRetryAfter as exc:
            wait = exc.retry_after
            self.limiter.pause(chat_id, time.monotonic() + wait)
            at = utcnow() + dt.timedelta(seconds=wait)
            note = f"Telegram asked to wait {wait} s"
            await self._update(
                delivery_id, lambda d: outbox.mark_retry(d, at, note, count_attempt=False)
            )
            return False
        except TelegramMigrateToChat as exc:
            new_chat = exc.migrate_to_chat_id

            def move(d: Delivery) -> None:
                d.chat_id = new_chat

            await self._update(delivery_id, move)
            return False
        except (TelegramServerError, TelegramNetworkError) as exc:
            reason = f"{type(exc).__name__}: {exc.message}"
            if delivery.attempts + 1 >= MAX_ATTEMPTS:
                await self._fail(delivery, "unreachable", reason)
                return True
            at = utcnow() + backoff(delivery.attempts + 1)
            await self._update(delivery_id, lambda d: outbox.mark_retry(d, at, reason))
            return False
        except TelegramForbiddenError as exc:
            await self._fail(delivery, "blocked", f"the recipient blocked the bot ({exc.message})")
        except TelegramAPIError as exc:
            await self._fail(delivery, "refused", f"Telegram refused it: {exc.message}")
        except FileNotFoundError as exc:
            await self._fail(delivery, "missing", f"file missing: {exc.filename}")
        else:
            message_id = sent.message_id if isinstance(sent, Message) else None
            await self._update(delivery_id, lambda d: outbox.mark_sent(d, message_id))
        return True

    async def _call(self, delivery: Delivery) -> Any:
        # Keys starting with "_" are the outbox's own notes, not Bot API parameters.
        options = {k: v for k, v in (delivery.options or {}).items() if not k.startswith("_")}
        chat_id = delivery.chat_id
        if chat_id is None:
            raise TelegramAPIError(method=None, message="no chat to send to")  # type: ignore[arg-type]
        if delivery.kind == "message":
            return await self.bot.send_message(chat_id, delivery.text or "", **options)
        if delivery.kind in ("document", "photo"):
            path = self.files.absolute(delivery.file_path or "")
            if not path.is_file():
                raise FileNotFoundError(2, "file missing", delivery.file_path)
            upload = FSInputFile(path, filename=delivery.file_name)
            if delivery.kind == "photo":
                return await self.bot.send_photo(chat_id, upload, caption=delivery.text, **options)
            return await self.bot.send_document(chat_id, upload, caption=delivery.text, **options)
        raise TelegramAPIError(method=None, message=f"unknown kind {delivery.kind!r}")  # type: ignore[arg-type]

    async def _update(self, delivery_id: int, change: Any) -> None:
        async with self.db.transaction() as session:
            delivery = await session.get(Delivery, delivery_id)
            if delivery is not None:
                change(delivery)

    async def _fail(self, delivery: Delivery, why: str, reason: str) -> None:
        """Mark the delivery failed with `reason` (for the logs and the record) and,
        unless it was for the office, tell the office why in its language
        (`why` names the text: blocked, refused, unreachable or missing)."""
        log.warning("delivery %s to %s failed: %s", delivery.id, delivery.chat_id, reason)
        async with self.db.transaction() as session:
            row = await session.get(Delivery, delivery.id)
            if row is None:
                return
            outbox.mark_failed(row, reason)
            if self.office_chat_id is not None and row.chat_id != self.office_chat_id:
                outbox.message(
                    session,
                    self.office_chat_id,
                    gettext(
                        self.office_language,
                        "outbox.failed",
                        delivery_id=row.id,
                        chat_id=row.chat_id,
                        reason=gettext(self.office_language, f"outbox.why_{why}"),
                    ),
                    intervention_id=row.intervention_id,
                )
        self.wake()
