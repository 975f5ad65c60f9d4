"""The outbox sender: the one place deliveries leave, for Telegram or by email.

It takes pending deliveries in order, keeps Telegram's limits (see ratelimit),
and records the outcome of each in its own short transaction:
- sent: marked sent with Telegram's message id;
- 429: waits `retry_after` for that chat, without counting an attempt;
- 5xx or network error (an HTML error page or an answer cut short included,
  see bot.requests): retried with growing delays, up to MAX_ATTEMPTS;
- an error the sender does not know: logged with the delivery's id and retried
  the same way, so that one delivery never stops the others;
- 403 (the person blocked the bot), 400 and other refusals: marked failed with
  the reason, and the office is told.
Emails (channel "email") go through the mailer, outside Telegram's limits, in
order per address: a temporary failure (server down, 4xx) is retried with the
same delays, and holds the other emails back until then, since the server is
the same; a refusal (5xx, login) fails with the reason and the office is told;
with no SMTP_HOST every email fails as "email is not configured".
A crash delays a delivery; it is sent when the bot starts again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import html
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

from bot.mailer import Mail, Mailer, MailError
from bot.ratelimit import RateLimiter
from handlers.i18n import gettext
from storage import outbox
from storage.db import Database
from storage.files import FileStore
from storage.models import Delivery, DeliveryState, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
#: A merged group notice stays under Telegram's 4096-character limit.
MERGED_LIMIT = 4000
IDLE_WAKEUP_SECONDS = 30.0
#: How long the sender waits after an error it does not know before looking again.
UNEXPECTED_PAUSE = 5.0
EMAIL = "email"
EMAIL_OFF = "email is not configured"


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
        mailer: Mailer | None = None,
    ) -> None:
        self.bot = bot
        self.db = db
        self.files = files
        self.limiter = limiter or RateLimiter()
        self.office_chat_id = office_chat_id
        self.office_language = office_language
        self.mailer = mailer
        #: No email is tried before this (monotonic) time: after a temporary failure the
        #: mail server is likely down for every address, not only one.
        self.email_paused_until = 0.0
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        """Something was committed to the outbox: look now rather than at the next tick."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the delivery under way, then stop: one cancelled in the middle would
        be on Telegram but not marked sent, and go again at the next start."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Send until stopped, sleeping until woken or until the next delivery is due."""
        while not self._stopping:
            self._wake.clear()
            try:
                pause = await self.send_due()
            except (OperationalError, DBAPIError, OSError) as exc:
                log.error("outbox: database unavailable (%s)", exc)
                pause = 5.0
            except Exception:
                # The sender is the only way out for every delivery: it must outlive a bug.
                log.exception("outbox: unexpected error; going on in %.0f s", UNEXPECTED_PAUSE)
                pause = UNEXPECTED_PAUSE
            if pause > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=pause)

    async def send_due(self) -> float:
        """Send every delivery that is due and allowed now; return how long to sleep."""
        await self._merge_group_notices()
        async with self.db.sessions() as session:
            batch = [(d.id, _queue_of(d)) for d in await outbox.due(session, utcnow())]
        waiting: dict[tuple[str, int | str], float] = {}
        for delivery_id, queue in batch:
            if self._stopping:
                return 0.0
            if queue in waiting:
                continue  # an earlier delivery to this chat is waiting: keep the order
            channel, recipient = queue
            if channel == EMAIL:
                wait = self.email_paused_until - time.monotonic()
            else:
                wait = self.limiter.delay(int(recipient), time.monotonic())
            if wait > 0:
                waiting[queue] = wait
                continue
            if not await self._send_one(delivery_id):
                waiting[queue] = 0.0  # not sent (retry later): keep the order behind it
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
        if delivery.channel == EMAIL:
            return await self._send_email(delivery)
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
            return await self._retry_later(
                delivery, "unreachable", f"{type(exc).__name__}: {exc.message}"
            )
        except TelegramForbiddenError as exc:
            await self._fail(delivery, "blocked", f"the recipient blocked the bot ({exc.message})")
        except TelegramAPIError as exc:
            await self._fail(delivery, "refused", f"Telegram refused it: {exc.message}")
        except FileNotFoundError as exc:
            await self._fail(delivery, "missing", f"file missing: {exc.filename}")
        except Exception as exc:
            log.exception("delivery %s: unexpected error while sending it", delivery_id)
            return await self._retry_later(
                delivery, "unexpected", f"unexpected {type(exc).__name__}: {exc}"
            )
        else:
            message_id = sent.message_id if isinstance(sent, Message) else None
            await self._update(delivery_id, lambda d: outbox.mark_sent(d, message_id))
        return True

    async def _retry_later(self, delivery: Delivery, why: str, reason: str) -> bool:
        """Count a failed attempt and try again after a growing delay, or fail the
        delivery (`why` names the office's text) after MAX_ATTEMPTS; True when failed."""
        if delivery.attempts + 1 >= MAX_ATTEMPTS:
            await self._fail(delivery, why, reason)
            return True
        delay = backoff(delivery.attempts + 1)
        at = utcnow() + delay
        log.info("delivery %s: %s; trying again in %s", delivery.id, reason, delay)
        await self._update(delivery.id, lambda d: outbox.mark_retry(d, at, reason))
        return False

    async def _merge_group_notices(self) -> None:
        """Telegram allows about 20 messages a minute in a group: notices waiting for the
        same group (plain texts, no buttons) are merged into one message, in order, so a
        burst of events arrives at once instead of over minutes, and none is dropped."""
        async with self.db.transaction() as session:
            waiting = await outbox.due(session, utcnow(), limit=500)
            by_group: dict[int, list[Delivery]] = {}
            for delivery in waiting:
                if (
                    delivery.channel == "telegram"
                    and delivery.kind == "message"
                    and (delivery.chat_id or 0) < 0
                    and "reply_markup" not in (delivery.options or {})
                ):
                    by_group.setdefault(delivery.chat_id or 0, []).append(delivery)
            for notices in by_group.values():
                while len(notices) > 1:
                    head, text = notices[0], notices[0].text or ""
                    merged = 0
                    for other in notices[1:]:
                        addition = "\n\n" + (other.text or "")
                        if len(text) + len(addition) > MERGED_LIMIT:
                            break
                        text += addition
                        outbox.mark_merged(other, head)
                        merged += 1
                    head.text = text
                    notices = notices[1 + merged :]
                    if merged == 0:
                        notices = notices[1:]

    async def _call(self, delivery: Delivery) -> Any:
        # Keys starting with "_" are the outbox's own notes, not Bot API parameters.
        options = {k: v for k, v in (delivery.options or {}).items() if not k.startswith("_")}
        chat_id = delivery.chat_id
        if chat_id is None:
            raise TelegramAPIError(method=None, message="no chat to send to")  # type: ignore[arg-type]
        if delivery.kind == "message":
            return await self.bot.send_message(chat_id, delivery.text or "", **options)
        if delivery.kind == "location":
            latitude, longitude = options.pop("latitude"), options.pop("longitude")
            options.pop("parse_mode", None)
            return await self.bot.send_location(chat_id, latitude, longitude, **options)
        if delivery.kind in ("document", "photo"):
            path = self.files.absolute(delivery.file_path or "")
            if not path.is_file():
                raise FileNotFoundError(2, "file missing", delivery.file_path)
            upload = FSInputFile(path, filename=delivery.file_name)
            if delivery.kind == "photo":
                return await self.bot.send_photo(chat_id, upload, caption=delivery.text, **options)
            return await self.bot.send_document(chat_id, upload, caption=delivery.text, **options)
        raise TelegramAPIError(method=None, message=f"unknown kind {delivery.kind!r}")  # type: ignore[arg-type]

    async def _send_email(self, delivery: Delivery) -> bool:
        """Try one email; True when it left the queue (sent or failed for good)."""
        if self.mailer is None:
            await self._fail(delivery, "email_off", EMAIL_OFF)
            return True
        try:
            await self.mailer.send(self._mail(delivery))
        except MailError as exc:
            if not exc.temporary:
                await self._fail(delivery, exc.why, exc.reason)
                return True
            if delivery.attempts + 1 >= MAX_ATTEMPTS:
                await self._fail(delivery, exc.why, exc.reason)
                return True
            delay = backoff(delivery.attempts + 1)
            self.email_paused_until = time.monotonic() + delay.total_seconds()
            at, reason = utcnow() + delay, exc.reason
            log.info("email delivery %s: %s; trying again in %s", delivery.id, reason, delay)
            await self._update(delivery.id, lambda d: outbox.mark_retry(d, at, reason))
            return False
        except FileNotFoundError as exc:
            await self._fail(delivery, "missing", f"file missing: {exc.filename}")
        else:
            await self._update(delivery.id, lambda d: outbox.mark_sent(d, None))
        return True

    def _mail(self, delivery: Delivery) -> Mail:
        """The email a delivery describes; FileNotFoundError when its file is gone."""
        attachment = None
        if delivery.file_path:
            attachment = self.files.absolute(delivery.file_path)
            if not attachment.is_file():
                raise FileNotFoundError(2, "file missing", delivery.file_path)
        created = delivery.created_at.timestamp() if delivery.created_at else 0
        domain = self.mailer.config.envelope_sender.rpartition("@")[2] if self.mailer else ""
        return Mail(
            to=delivery.email or "",
            subject=str((delivery.options or {}).get("_subject") or ""),
            body=delivery.text or "",
            attachment=attachment,
            file_name=delivery.file_name,
            message_id=f"<terrain.{delivery.id}.{int(created)}@{domain or 'terrain'}>",
        )

    async def _update(self, delivery_id: int, change: Any) -> None:
        async with self.db.transaction() as session:
            delivery = await session.get(Delivery, delivery_id)
            if delivery is not None:
                change(delivery)

    async def _fail(self, delivery: Delivery, why: str, reason: str) -> None:
        """Mark the delivery failed with `reason` (for the logs and the record) and,
        unless it was for the office, tell the office why in its language
        (`why` names the text: blocked, refused, unreachable, unexpected, missing or
        email_*)."""
        recipient = _recipient(delivery)
        log.warning("delivery %s to %s failed: %s", delivery.id, recipient, reason)
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
                        chat_id=html.escape(str(recipient)),
                        reason=gettext(self.office_language, f"outbox.why_{why}"),
                    ),
                    intervention_id=row.intervention_id,
                )
        self.wake()


def _queue_of(delivery: Delivery) -> tuple[str, int | str]:
    """The queue a delivery waits in, in order: its Telegram chat or its email address."""
    if delivery.channel == EMAIL:
        return (EMAIL, (delivery.email or "").strip().lower())
    return ("telegram", delivery.chat_id or 0)


def _recipient(delivery: Delivery) -> int | str | None:
    return delivery.email if delivery.channel == EMAIL else delivery.chat_id
