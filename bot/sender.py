"""The outbox sender: the one place messages leave, for Telegram or by email.

Everything the bot says is a delivery first: handlers' replies (bot.replies),
notices to the office, reports to clients, emails. The sender is handed the
deliveries of each unit of work right after it commits (`enqueue`), so it needs
no query to find them; it also looks in the database at start, when woken
(`wake`, for deliveries written elsewhere: the scheduler, the command line) and
every IDLE_RESCAN seconds, and finds whatever is pending and not known yet.

Each chat (or email address) has its own queue, sent strictly in order; different
chats are sent side by side, up to `concurrency` calls at once, all within one
rate limiter (see ratelimit). A delivery's outcome:
- sent: marked sent with Telegram's message id (marks are written a few at a
  time, in one short transaction);
- 429: the chat waits `retry_after`, whatever call was answered so, without
  counting an attempt;
- 5xx or network error (an HTML error page or an answer cut short included,
  see bot.requests): retried with growing delays, up to MAX_ATTEMPTS, holding
  the chat's later deliveries behind it;
- an error the sender does not know: logged with the delivery's id and retried
  the same way, so that one delivery never stops the others;
- 403 (the person blocked the bot), 400 and other refusals: marked failed with
  the reason, and the office is told (not for an edit, a deletion or a menu,
  whose failure changes nothing anyone must act on). An edit Telegram answers with
  "message is not modified" is marked sent (the message already reads so); a text
  edit of a message gone is sent as a new message, which later edits then reach.
A chat's command menu (handlers.menus) waits in a queue of its own beside the
chat's messages, so that it never holds them back, and Telegram's trouble is
waited out however long it lasts: a menu is never given up but for a refusal.
Notices waiting in a row for the same group (plain texts, no buttons) are merged
into one message, in order, so a burst of events keeps within the group's limit.
Emails go through the mailer, in order per address: a temporary failure (server
down, 4xx) is retried with the same delays and holds the other emails back, the
server being the same; a refusal (5xx, login) fails with the reason and the
office is told; with no SMTP_HOST every email fails as "email is not configured".

A crash delays a delivery; it is sent when the bot starts again. One sent just
before a crash and not yet marked is sent again then: Telegram gives no way to
know it arrived.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import datetime as dt
import html
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
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
from bot.replies import SENDS, rebuild, target_placeholder
from handlers import menus
from handlers.i18n import gettext
from storage import outbox
from storage.db import Database
from storage.files import FileStore
from storage.models import Delivery, DeliveryState, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
#: A merged group notice stays under Telegram's 4096-character limit.
MERGED_LIMIT = 4000
#: How often the database is looked at for deliveries nobody handed over.
IDLE_RESCAN = 30.0
#: How long the sender waits after an error it does not know before looking again.
UNEXPECTED_PAUSE = 5.0
#: Telegram's words when a message can no longer be edited.
EDIT_GONE = ("message to edit not found", "message can't be edited", "message_id_invalid")
#: Telegram's words when an edit would leave a message as it is.
EDIT_UNCHANGED = "message is not modified"
#: Real message ids of this many recent messages are kept in memory.
REFS_KEPT = 10_000
EMAIL = "email"
EMAIL_OFF = "email is not configured"

Queue = tuple[str, int | str]


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
        concurrency: int = 8,
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
        self._queues: dict[Queue, list[Delivery]] = {}
        self._known: set[int] = set()
        #: Looks in the database under way, and the deliveries that left the pending
        #: state meanwhile: such a look may still have read them as pending.
        self._looks = 0
        self._left_during_look: set[int] = set()
        self._workers: dict[Queue, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(concurrency)
        #: Real message ids of messages sent lately, by the placeholder handed out for them.
        self._sent_refs: dict[int, int] = {}
        #: Messages gone from a chat, by (chat, message id), and the one sent instead
        #: (a text edited in place that Telegram could not find): later edits go there.
        self._replaced: dict[tuple[int, int], int] = {}
        self._marks: list[tuple[int, int | None, dt.datetime]] = []
        self._marks_waiting = asyncio.Event()
        self._rescan = asyncio.Event()
        #: Set when a napping chat's queue changed (a delivery added or brought forward).
        self._nudges: dict[Queue, asyncio.Event] = {}
        self._stop = asyncio.Event()
        self._stopping = False
        self._running = False

    # Being handed work ----------------------------------------------------------------

    def enqueue(self, deliveries: Iterable[Delivery]) -> None:
        """Deliveries just committed: send them (in order per chat) as soon as allowed."""
        for delivery in sorted(deliveries, key=lambda d: d.id):
            self._add(delivery)

    def wake(self) -> None:
        """Deliveries were written elsewhere: look in the database now."""
        self._rescan.set()

    def stop(self) -> None:
        """Finish the deliveries under way, then stop: one cancelled in the middle would
        be on Telegram but not marked sent, and go again at the next start."""
        self._stopping = True
        self._stop.set()
        self._rescan.set()
        self._marks_waiting.set()

    def _add(self, delivery: Delivery) -> None:
        """Queue a pending delivery behind the earlier ones of its chat; a newer copy of
        one already queued (its text or time changed since) takes its place."""
        if not self._running or self._stopping:
            return
        key = _queue_of(delivery)
        queue = self._queues.setdefault(key, [])
        if delivery.id in self._known:
            if delivery.state != DeliveryState.PENDING:
                return
            for index, queued in enumerate(queue):
                if queued.id == delivery.id and queued is not delivery:
                    queue[index] = delivery
                    self._nudge(key)
            return
        if delivery.state != DeliveryState.PENDING:
            return
        self._known.add(delivery.id)
        bisect.insort(queue, delivery, key=lambda d: d.id)
        self._nudge(key)
        if key not in self._workers:
            task = asyncio.get_running_loop().create_task(self._work(key), name=f"out-{key[1]}")
            self._workers[key] = task

    def _nudge(self, key: Queue) -> None:
        event = self._nudges.get(key)
        if event is not None:
            event.set()

    # Running ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Send until stopped: every chat's queue in its own worker, the database looked
        at when woken and every IDLE_RESCAN seconds."""
        self._running = True
        marker = asyncio.create_task(self._write_marks(), name="outbox-marks")
        try:
            while not self._stopping:
                self._rescan.clear()
                try:
                    await self._look()
                    pause = IDLE_RESCAN
                except (OperationalError, DBAPIError, OSError) as exc:
                    log.error("outbox: database unavailable (%s)", exc)
                    pause = 5.0
                except Exception:
                    # The sender is the only way out for every delivery: it must outlive a bug.
                    log.exception("outbox: unexpected error; going on in %.0f s", UNEXPECTED_PAUSE)
                    pause = UNEXPECTED_PAUSE
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._rescan.wait(), timeout=pause)
            workers = list(self._workers.values())
            if workers:
                await asyncio.gather(*workers, return_exceptions=True)
        finally:
            self._running = False
            self._marks_waiting.set()
            await marker
            await self._flush_marks()

    async def _look(self) -> None:
        """Queue every pending delivery the database holds and the sender does not know
        (nor sent, merged or failed while the look was reading)."""
        self._looks += 1
        try:
            async with self.db.sessions() as session:
                pending = await outbox.pending_all(session)
        finally:
            self._looks -= 1
        gone = self._left_during_look
        if not self._looks:
            self._left_during_look = set()
        self.enqueue(d for d in pending if d.id not in self._known and d.id not in gone)

    def _forget(self, delivery_ids: Iterable[int]) -> None:
        """These deliveries are no longer pending in the database: no longer known, and
        kept from a look that read them before they changed."""
        ids = set(delivery_ids)
        self._known.difference_update(ids)
        if self._looks:
            self._left_during_look.update(ids)

    async def _work(self, key: Queue) -> None:
        """Send one chat's queue in order, waiting for its limits and retry times."""
        queue = self._queues[key]
        nudge = self._nudges.setdefault(key, asyncio.Event())
        try:
            while queue and not self._stopping:
                head = queue[0]
                wait = self._wait_for(key, head)
                if wait > 0:
                    nudge.clear()
                    await self._nap(nudge, wait)
                    continue
                async with self._slots:
                    if self._stopping:
                        return
                    done = await self._attempt(head, queue)
                if done:
                    queue[:] = [d for d in queue if d.id != head.id]
                    if head.state != DeliveryState.SENT:
                        self._forget([head.id])  # a sent one is forgotten once marked
        finally:
            # At once, not in a done callback: a delivery added in between would
            # otherwise find a worker that has already ended, and wait for ever.
            if self._workers.get(key) is asyncio.current_task():
                del self._workers[key]
            if not queue or not self._stopping:
                # Left behind only by a bug: the next look in the database queues them.
                self._known.difference_update(d.id for d in queue)
                self._queues.pop(key, None)
                self._nudges.pop(key, None)

    async def _nap(self, nudge: asyncio.Event, seconds: float) -> None:
        """Sleep up to `seconds`, waking early when the queue changes or the sender stops."""
        stop = asyncio.ensure_future(self._stop.wait())
        changed = asyncio.ensure_future(nudge.wait())
        try:
            await asyncio.wait(
                {stop, changed}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            stop.cancel()
            changed.cancel()

    def _wait_for(self, key: Queue, head: Delivery) -> float:
        """Seconds before `head` may be tried: its retry time, and the chat's limits."""
        due = (head.next_attempt_at - utcnow()).total_seconds() if head.next_attempt_at else 0.0
        channel, recipient = key
        if channel == EMAIL:
            limit = self.email_paused_until - time.monotonic()
        else:
            limit = self.limiter.delay(int(recipient), time.monotonic())
        return max(due, limit, 0.0)

    async def send_due(self) -> float:
        """Send, one after the other, every pending delivery that is due and allowed now
        (for tests and one-off use; the running bot uses `run`); returns 0 when it sent
        something, else how long until the next one could go."""
        async with self.db.sessions() as session:
            pending = await outbox.pending_all(session)
        sent_any = False
        blocked: dict[Queue, float] = {}
        by_queue: dict[Queue, list[Delivery]] = {}
        for delivery in pending:
            by_queue.setdefault(_queue_of(delivery), []).append(delivery)
        for key, deliveries in by_queue.items():
            for delivery in deliveries:
                if delivery.state != DeliveryState.PENDING:
                    continue  # merged into an earlier one
                wait = self._wait_for(key, delivery)
                if wait > 0:
                    blocked[key] = wait
                    break
                if not await self._attempt(delivery, waiting=deliveries):
                    blocked[key] = 0.05
                    break
                sent_any = True
        await self._flush_marks()
        if blocked:
            return max(0.05, min(blocked.values()))
        return 0.0 if sent_any else IDLE_RESCAN

    async def send_now(self, deliveries: Sequence[Delivery]) -> None:
        """Send these deliveries now, in order, one after the other (tests use it to hear
        a unit of work's replies as the running bot sends them)."""
        held: set[Queue] = set()
        for delivery in sorted(deliveries, key=lambda d: d.id):
            key = _queue_of(delivery)
            if delivery.state != DeliveryState.PENDING or delivery.id in self._known:
                continue
            if key in held or self._wait_for(key, delivery) > 0:
                held.add(key)  # the chat is held back: this and what follows wait
                continue
            if not await self._attempt(delivery):
                held.add(key)
        await self._flush_marks()

    # One delivery --------------------------------------------------------------------

    async def _attempt(self, delivery: Delivery, waiting: Sequence[Delivery] = ()) -> bool:
        """Try one delivery; True when it left the queue (sent, merged or failed for good)."""
        if delivery.channel == EMAIL:
            return await self._send_email(delivery)
        if _mergeable(delivery):
            await self._merge(delivery, waiting or self._queues.get(_queue_of(delivery), []))
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
                delivery, lambda d: outbox.mark_retry(d, at, note, count_attempt=False)
            )
            return False
        except TelegramMigrateToChat as exc:
            new_chat = exc.migrate_to_chat_id

            def move(d: Delivery) -> None:
                d.chat_id = new_chat

            await self._update(delivery, move)
            self._known.discard(delivery.id)
            self._add(delivery)
            return True
        except (TelegramServerError, TelegramNetworkError) as exc:
            return await self._retry_later(
                delivery, "unreachable", f"{type(exc).__name__}: {exc.message}"
            )
        except TelegramForbiddenError as exc:
            await self._fail(delivery, "blocked", f"the recipient blocked the bot ({exc.message})")
        except TelegramBadRequest as exc:
            if changes_only(delivery) and EDIT_UNCHANGED in exc.message.lower():
                # The message already reads so (an edit made twice, a tap on a choice
                # already chosen): what the edit wanted is there.
                self._mark_sent(delivery, None)
            elif not await self._send_instead(delivery, exc):
                await self._fail(delivery, "refused", f"Telegram refused it: {exc.message}")
        except TelegramAPIError as exc:
            await self._fail(delivery, "refused", f"Telegram refused it: {exc.message}")
        except FileNotFoundError as exc:
            await self._fail(delivery, "missing", f"file missing: {exc.filename}")
        except UnknownMessage as exc:
            await self._fail(delivery, "refused", str(exc))
        except Exception as exc:
            log.exception("delivery %s: unexpected error while sending it", delivery.id)
            return await self._retry_later(
                delivery, "unexpected", f"unexpected {type(exc).__name__}: {exc}"
            )
        else:
            message_id = sent.message_id if isinstance(sent, Message) else None
            if delivery.ref is not None and message_id is not None:
                self._remember_ref(delivery.ref, message_id)
            if delivery.kind == outbox.MENU:
                await self._update(delivery, _note_menu_set)
            self._mark_sent(delivery, message_id)
        return True

    async def _call(self, delivery: Delivery) -> Any:
        chat_id = delivery.chat_id
        if delivery.kind == outbox.MENU:
            options = delivery.options or {}
            for call in menus.calls(chat_id or 0, options.get("menu"), options.get("language")):
                await self.bot(call)
            return True
        if delivery.kind == "call":
            target = target_placeholder(delivery)
            message_id = await self._real_id(target) if target is not None else None
            named = (delivery.options or {}).get("params", {}).get("message_id")
            changed = message_id if message_id is not None else named
            if isinstance(changed, int) and (chat_id or 0, changed) in self._replaced:
                message_id = self._replaced[(chat_id or 0, changed)]
            return await self.bot(rebuild(delivery, self.files, message_id))
        # Keys starting with "_" are the outbox's own notes, not Bot API parameters.
        options = {k: v for k, v in (delivery.options or {}).items() if not k.startswith("_")}
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

    async def _send_instead(self, delivery: Delivery, refusal: TelegramBadRequest) -> bool:
        """A message's text edited in place, when Telegram cannot edit it any more (it
        was deleted, or is too old), is sent as a new message instead, so the person
        still reads it; True when that new message went."""
        options = delivery.options or {}
        if options.get("method") != "editMessageText" or not any(
            reason in refusal.message.lower() for reason in EDIT_GONE
        ):
            return False
        params = dict(options.get("params", {}))
        log.info("delivery %s: %s; sent as a new message", delivery.id, refusal.message)
        sent = await self.bot.send_message(
            params["chat_id"],
            params.get("text", ""),
            parse_mode=params.get("parse_mode"),
            reply_markup=params.get("reply_markup"),
        )
        # Later edits of that message (its buttons removed...) go to this one.
        target = target_placeholder(delivery)
        gone = self._sent_refs.get(target) if target is not None else params.get("message_id")
        if target is not None:
            self._remember_ref(target, sent.message_id)
        if isinstance(gone, int):
            self._replaced[(int(params["chat_id"]), gone)] = sent.message_id
            if len(self._replaced) > REFS_KEPT:
                for old in list(self._replaced)[: REFS_KEPT // 2]:
                    del self._replaced[old]
        self._mark_sent(delivery, sent.message_id)
        return True

    async def _real_id(self, placeholder: int) -> int:
        """The message id Telegram gave the message a handler knew by `placeholder`
        (sent earlier in the same chat's queue); UnknownMessage when it never went."""
        if placeholder in self._sent_refs:
            return self._sent_refs[placeholder]
        await self._flush_marks()
        async with self.db.sessions() as session:
            found = await outbox.message_id_of(session, placeholder)
        if found is None:
            raise UnknownMessage(f"the message it changes was never sent ({placeholder})")
        self._remember_ref(placeholder, found)
        return found

    def _remember_ref(self, placeholder: int, message_id: int) -> None:
        """Keep the real ids of the latest messages at hand (the database has them all)."""
        self._sent_refs[placeholder] = message_id
        if len(self._sent_refs) > REFS_KEPT:
            for old in list(self._sent_refs)[: REFS_KEPT // 2]:
                del self._sent_refs[old]

    async def _merge(self, head: Delivery, queue: Sequence[Delivery]) -> None:
        """Telegram allows about 20 messages a minute in a group: the plain notices
        waiting right behind `head` for the same group go with it, in order, as one
        message, so a burst of events arrives at once and none is dropped."""
        start = next((n for n, d in enumerate(queue) if d.id == head.id), None)
        if start is None:
            return
        text, merged = head.text or "", []
        for other in queue[start + 1 :]:
            if not _mergeable(other) or not self._due(other):
                break
            addition = "\n\n" + (other.text or "")
            if len(text) + len(addition) > MERGED_LIMIT:
                break
            text += addition
            merged.append(other)
        if not merged:
            return
        async with self.db.transaction() as session:
            await outbox.merge(session, head.id, text, [other.id for other in merged])
        head.text = text
        for other in merged:
            other.state = DeliveryState.SENT
            if other in self._queues.get(_queue_of(other), []):
                self._queues[_queue_of(other)].remove(other)
            self._forget([other.id])

    @staticmethod
    def _due(delivery: Delivery) -> bool:
        return delivery.next_attempt_at is None or delivery.next_attempt_at <= utcnow()

    async def _retry_later(self, delivery: Delivery, why: str, reason: str) -> bool:
        """Count a failed attempt and try again after a growing delay, or fail the
        delivery (`why` names the office's text) after MAX_ATTEMPTS; True when failed."""
        if delivery.attempts + 1 >= MAX_ATTEMPTS and delivery.kind != outbox.MENU:
            await self._fail(delivery, why, reason)
            return True
        delay = backoff(delivery.attempts + 1)
        at = utcnow() + delay
        log.info("delivery %s: %s; trying again in %s", delivery.id, reason, delay)
        await self._update(delivery, lambda d: outbox.mark_retry(d, at, reason))
        return False

    # Email -----------------------------------------------------------------------------

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
            await self._update(delivery, lambda d: outbox.mark_retry(d, at, reason))
            return False
        except FileNotFoundError as exc:
            await self._fail(delivery, "missing", f"file missing: {exc.filename}")
        else:
            self._mark_sent(delivery, None)
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

    # Recording outcomes ------------------------------------------------------------------

    def _mark_sent(self, delivery: Delivery, message_id: int | None) -> None:
        """Note the delivery sent; the marks are written a few at a time."""
        delivery.state = DeliveryState.SENT
        delivery.telegram_message_id = message_id
        self._marks.append((delivery.id, message_id, utcnow()))
        self._marks_waiting.set()

    async def _write_marks(self) -> None:
        """Write the sent marks as soon as there are some: the ones noted while a write
        is under way go together in the next one. A message sent and not yet marked
        when the process dies is sent again at the restart, so this stays short."""
        while not self._stopping:
            await self._marks_waiting.wait()
            self._marks_waiting.clear()
            try:
                await self._flush_marks()
            except (OperationalError, DBAPIError, OSError) as exc:
                log.error("outbox: cannot mark deliveries sent yet (%s)", exc)
                self._marks_waiting.set()
                await asyncio.sleep(1.0)

    async def _flush_marks(self) -> None:
        if not self._marks:
            return
        marks, self._marks = self._marks, []
        try:
            async with self.db.transaction() as session:
                await outbox.mark_all_sent(session, marks)
        except BaseException:
            self._marks = marks + self._marks
            raise
        # Marked in the database: a look there can no longer take them for pending.
        self._forget(delivery_id for delivery_id, _, _ in marks)

    async def _update(self, delivery: Delivery, change: Callable[[Delivery], None]) -> None:
        """Apply `change` to the delivery, in memory and in the database."""
        change(delivery)
        async with self.db.transaction() as session:
            row = await session.get(Delivery, delivery.id)
            if row is not None:
                change(row)

    async def _fail(self, delivery: Delivery, why: str, reason: str) -> None:
        """Mark the delivery failed with `reason` (for the logs and the record) and,
        unless it was for the office or only changed a message already there, tell the
        office why in its language (`why` names the text: blocked, refused,
        unreachable, unexpected, missing or email_*)."""
        recipient = _recipient(delivery)
        log.warning("delivery %s to %s failed: %s", delivery.id, recipient, reason)
        delivery.state = DeliveryState.FAILED
        made: list[Delivery] = []
        async with self.db.transaction() as session:
            row = await session.get(Delivery, delivery.id)
            if row is None:
                return
            outbox.mark_failed(row, reason)
            if (
                self.office_chat_id is not None
                and row.chat_id != self.office_chat_id
                and not changes_only(row)
            ):
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
            made = outbox.made_in(session)
        self.enqueue(made)


class UnknownMessage(Exception):
    """An edit or a deletion names a message that was never sent."""


def _mergeable(delivery: Delivery) -> bool:
    """A plain notice to a group, which may travel with the ones queued behind it."""
    return (
        delivery.channel == "telegram"
        and delivery.kind == "message"
        and (delivery.chat_id or 0) < 0
        and "reply_markup" not in (delivery.options or {})
    )


def changes_only(delivery: Delivery) -> bool:
    """An edit or a deletion of a message already there, or a menu (its failure
    alarms nobody)."""
    if delivery.kind == outbox.MENU:
        return True
    return delivery.kind == "call" and (delivery.options or {}).get("method") not in SENDS


def _note_menu_set(delivery: Delivery) -> None:
    """Note on a menu delivery the fingerprint of the menu it set."""
    delivery.options = {**(delivery.options or {}), "set": menus.fingerprint_of(delivery)}


def _queue_of(delivery: Delivery) -> Queue:
    """The queue a delivery waits in, in order: its Telegram chat or its email address."""
    if delivery.channel == EMAIL:
        return (EMAIL, (delivery.email or "").strip().lower())
    if delivery.kind == outbox.MENU:
        return (outbox.MENU, delivery.chat_id or 0)
    return ("telegram", delivery.chat_id or 0)


def _recipient(delivery: Delivery) -> int | str | None:
    return delivery.email if delivery.channel == EMAIL else delivery.chat_id
