"""Deliveries: sent once, in order, within Telegram's limits; retried or failed with a reason."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import pytest

from bot import sender as sender_module
from bot.ratelimit import RateLimiter
from bot.sender import MAX_ATTEMPTS, OutboxSender
from storage import outbox
from storage.models import Delivery, DeliveryState
from tests.conftest import OFFICE_CHAT, Harness, deliveries, make_due

TECH_CHAT = 20


async def queue(harness: Harness, *texts: str, chat_id: int = TECH_CHAT) -> None:
    async with harness.db.transaction() as session:
        for text in texts:
            outbox.message(session, chat_id, text)


async def _until_sent(harness: Harness, count: int) -> None:
    for _ in range(300):
        if len(harness.session.sent()) >= count:
            return
        await asyncio.sleep(0.01)


async def test_a_queued_message_is_sent_once_and_marked_sent(harness: Harness) -> None:
    await queue(harness, "Bonjour")
    calls = await harness.deliver()
    assert [(c.method, c.chat_id, c.text) for c in calls] == [("sendMessage", TECH_CHAT, "Bonjour")]
    assert calls[0].params["parse_mode"] == "HTML"
    (row,) = await deliveries(harness)
    assert row.state == DeliveryState.SENT and row.telegram_message_id is not None
    assert await harness.deliver() == []


async def test_messages_to_one_chat_leave_in_the_order_they_were_queued(harness: Harness) -> None:
    await queue(harness, *[f"n°{n}" for n in range(6)])
    calls = await harness.deliver()
    assert [c.text for c in calls] == [f"n°{n}" for n in range(6)]


async def test_a_429_waits_retry_after_without_counting_an_attempt(harness: Harness) -> None:
    await queue(harness, "premier", "second")
    harness.session.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    calls = await harness.deliver()
    assert [c.text for c in calls] == ["premier"], "the second must wait behind the first"
    first, second = await deliveries(harness)
    assert first.state == DeliveryState.PENDING and first.attempts == 0
    assert second.state == DeliveryState.PENDING and second.attempts == 0
    wait = (first.next_attempt_at - dt.datetime.now(dt.UTC)).total_seconds()
    assert 5 < wait <= 7
    await make_due(harness)
    harness.sender.limiter = RateLimiter(per_chat_interval=0)
    calls = await harness.deliver()
    assert [c.text for c in calls] == ["premier", "second"]


async def test_server_errors_are_retried_with_growing_delays_then_given_up(
    harness: Harness,
) -> None:
    await queue(harness, "rapport")
    delays = []
    for _ in range(MAX_ATTEMPTS - 1):
        harness.session.fail_next("sendMessage", 502, "Bad Gateway")
        await harness.deliver()
        (row,) = await deliveries(harness)
        assert row.state == DeliveryState.PENDING
        delays.append((row.next_attempt_at - dt.datetime.now(dt.UTC)).total_seconds())
        await make_due(harness)
    assert delays == sorted(delays) and delays[0] < delays[-1]
    harness.session.fail_next("sendMessage", 502, "Bad Gateway")
    await harness.deliver()
    rows = await deliveries(harness)
    assert rows[0].state == DeliveryState.FAILED and "Bad Gateway" in (rows[0].last_error or "")
    assert rows[0].attempts == MAX_ATTEMPTS


async def test_a_blocked_recipient_fails_the_delivery_and_the_office_is_told(
    harness: Harness,
) -> None:
    await queue(harness, "Votre rapport")
    harness.session.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    calls = await harness.deliver()
    assert [c.chat_id for c in calls] == [TECH_CHAT, OFFICE_CHAT]
    assert "le destinataire a bloqué le bot" in calls[1].text
    failed, notice = await deliveries(harness)
    assert failed.state == DeliveryState.FAILED and "blocked" in (failed.last_error or "")
    assert notice.state == DeliveryState.SENT


async def test_a_failed_delivery_to_the_office_does_not_notify_the_office_again(
    harness: Harness,
) -> None:
    await queue(harness, "Nouveau rapport", chat_id=OFFICE_CHAT)
    harness.session.fail_next("sendMessage", 400, "Bad Request: chat not found")
    calls = await harness.deliver()
    assert len(calls) == 1
    (row,) = await deliveries(harness)
    assert row.state == DeliveryState.FAILED and "chat not found" in (row.last_error or "")


async def test_a_document_is_uploaded_from_the_file_store(harness: Harness) -> None:
    stored = harness.files.save("reports", b"%PDF-1.7 test", ".pdf")
    async with harness.db.transaction() as session:
        outbox.document(session, TECH_CHAT, stored.path, "OT-2026-0001.pdf", caption="Rapport")
    calls = await harness.deliver()
    assert calls[0].method == "sendDocument" and calls[0].params["caption"] == "Rapport"
    (row,) = await deliveries(harness)
    assert row.state == DeliveryState.SENT


async def test_a_document_whose_file_is_missing_fails_with_that_reason(harness: Harness) -> None:
    async with harness.db.transaction() as session:
        outbox.document(session, TECH_CHAT, "reports/gone.pdf", "OT.pdf")
    await harness.deliver()
    rows = await deliveries(harness)
    assert rows[0].state == DeliveryState.FAILED and "missing" in (rows[0].last_error or "")


async def test_the_sender_waits_for_the_chat_limit(harness: Harness) -> None:
    sender = OutboxSender(harness.bot, harness.db, harness.files, limiter=RateLimiter())
    await queue(harness, "un", "deux", "trois", "quatre")
    pause = await sender.send_due()
    assert [c.text for c in harness.session.sent()] == ["un", "deux", "trois"]
    assert 0.5 < pause <= 1.0


def test_a_private_chat_gets_a_short_burst_then_one_message_a_second() -> None:
    limiter = RateLimiter()
    for _ in range(3):
        assert limiter.delay(5, now=100.0) == 0
        limiter.record(5, now=100.0)
    assert 0.99 < limiter.delay(5, now=100.0) <= 1.0
    assert limiter.delay(6, now=100.0) == 0, "another chat is not held back"
    assert limiter.delay(5, now=101.0) == 0
    limiter.record(5, now=101.0)
    assert 0.99 < limiter.delay(5, now=101.0) <= 1.0
    assert limiter.delay(5, now=110.0) == 0, "after a quiet while, a burst again"
    for _ in range(3):
        limiter.record(5, now=110.0)
    assert limiter.delay(5, now=110.0) > 0


def test_twenty_messages_a_minute_in_a_group() -> None:
    limiter = RateLimiter()
    for n in range(20):
        now = 1000.0 + n * 1.0
        assert limiter.delay(OFFICE_CHAT, now) == 0
        limiter.record(OFFICE_CHAT, now)
    assert limiter.delay(OFFICE_CHAT, 1020.0) == 40.0
    assert limiter.delay(OFFICE_CHAT, 1060.5) == 0


def test_the_bot_wide_limit_per_second() -> None:
    limiter = RateLimiter(total_per_second=25)
    for chat in range(25):
        limiter.record(chat + 1, now=50.0)
    assert 0.99 < limiter.delay(999, now=50.001) <= 1.0
    assert limiter.delay(999, now=51.0) == 0


def test_retry_after_pauses_only_that_chat() -> None:
    limiter = RateLimiter()
    limiter.pause(7, until=130.0)
    assert limiter.delay(7, now=100.0) == 30.0
    assert limiter.delay(8, now=100.0) == 0


# Telegram's front end answering with an HTML page, and errors the sender does not know.


async def retry_delays(harness: Harness, method: str, pages: int) -> list[float]:
    """Deliver while `method` gets `pages` nginx 502 pages; the wait before each retry."""
    harness.session.html_next(method, 502, times=pages)
    delays = []
    for attempt in range(1, pages + 1):
        assert await harness.deliver() != [], "each try reaches Telegram"
        (row,) = await deliveries(harness)
        assert (row.state, row.attempts) == (DeliveryState.PENDING, attempt)
        assert "502 Bad Gateway with an HTML page" in (row.last_error or "")
        delays.append((row.next_attempt_at - dt.datetime.now(dt.UTC)).total_seconds())
        assert await harness.deliver() == [], "nothing is tried before the delay"
        await make_due(harness)
    return delays


async def test_a_502_page_on_a_message_is_retried_later_then_sent_once(harness: Harness) -> None:
    await queue(harness, "Votre intervention est planifiée")
    delays = await retry_delays(harness, "sendMessage", pages=3)
    assert [round(d) for d in delays] == [2, 4, 8]
    calls = await harness.deliver()
    assert [c.text for c in calls] == ["Votre intervention est planifiée"]
    (row,) = await deliveries(harness)
    assert row.state == DeliveryState.SENT and row.attempts == 4  # three pages, then sent
    assert await harness.deliver() == []
    assert len(harness.session.sent("sendMessage", TECH_CHAT)) == 4


async def test_a_502_page_on_a_report_upload_is_retried_later_then_sent_once(
    harness: Harness,
) -> None:
    stored = harness.files.save("reports", b"%PDF-1.7 test", ".pdf")
    async with harness.db.transaction() as session:
        outbox.document(session, OFFICE_CHAT, stored.path, "OT-2026-0001.pdf", caption="Rapport")
    delays = await retry_delays(harness, "sendDocument", pages=2)
    assert delays[0] < delays[1]
    calls = await harness.deliver()
    assert [(c.method, c.params["caption"]) for c in calls] == [("sendDocument", "Rapport")]
    (row,) = await deliveries(harness)
    assert row.state == DeliveryState.SENT


async def test_an_error_the_sender_does_not_know_delays_only_that_delivery_then_fails_it(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Retried with the same backoff, given up after MAX_ATTEMPTS with the office told;
    the other deliveries leave meanwhile."""
    call = harness.sender._call

    async def broken_for_one(delivery: Delivery) -> Any:
        if delivery.text == "piégé":
            raise KeyError("latitude")
        return await call(delivery)

    monkeypatch.setattr(harness.sender, "_call", broken_for_one)
    await queue(harness, "piégé")
    await queue(harness, "pour un autre", chat_id=TECH_CHAT + 1)
    with caplog.at_level(logging.ERROR, logger="bot.sender"):
        calls = await harness.deliver()
    assert [c.text for c in calls] == ["pour un autre"]
    poisoned, other = await deliveries(harness)
    assert other.state == DeliveryState.SENT
    assert (poisoned.state, poisoned.attempts) == (DeliveryState.PENDING, 1)
    assert "unexpected KeyError" in (poisoned.last_error or "")
    assert f"delivery {poisoned.id}: unexpected error" in caplog.text
    for _ in range(MAX_ATTEMPTS - 1):
        await make_due(harness)
        calls = await harness.deliver()
    (notice,) = [c for c in calls if c.chat_id == OFFICE_CHAT]
    assert "une erreur inattendue du bot" in notice.text and str(poisoned.id) in notice.text
    poisoned, _, _ = await deliveries(harness)
    assert (poisoned.state, poisoned.attempts) == (DeliveryState.FAILED, MAX_ATTEMPTS)


async def test_the_sender_keeps_running_after_an_unexpected_error(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    look = harness.sender._look
    failures = [RuntimeError("a bug in one round")]

    async def fails_once() -> None:
        if failures:
            raise failures.pop()
        await look()

    monkeypatch.setattr(sender_module, "UNEXPECTED_PAUSE", 0.01)
    monkeypatch.setattr(harness.sender, "_look", fails_once)
    await queue(harness, "toujours là")
    running = asyncio.create_task(harness.sender.run())
    try:
        await _until_sent(harness, 1)
        assert [c.text for c in harness.session.sent()] == ["toujours là"]
        assert not failures and not running.done()
    finally:
        harness.sender.stop()
        await asyncio.wait_for(running, 5)


async def test_a_message_queued_as_its_chats_sender_ends_is_still_sent(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chat's worker ends right after its last message; a message committed in that
    very moment (before the loop has run the worker's end callbacks) still goes."""
    sender = harness.sender
    running = asyncio.create_task(sender.run())
    await asyncio.sleep(0)
    async with harness.db.transaction() as session:
        later = outbox.message(session, TECH_CHAT, "deuxième")
    send = harness.session.make_request

    async def send_then_commit_another(bot: Any, method: Any, timeout: int | None = None) -> Any:
        result = await send(bot, method, timeout)
        if method.text == "premier":
            asyncio.get_running_loop().call_soon(sender.enqueue, [later])
        return result

    monkeypatch.setattr(harness.session, "make_request", send_then_commit_another)
    try:
        async with harness.db.transaction() as session:
            first = outbox.message(session, TECH_CHAT, "premier")
        sender.enqueue([first])
        await _until_sent(harness, 2)
        assert [c.text for c in harness.session.sent()] == ["premier", "deuxième"]
    finally:
        sender.stop()
        await asyncio.wait_for(running, 5)


async def test_a_look_that_read_a_message_before_it_was_marked_sent_does_not_send_it_again(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sender's look in the database reads a message as pending; while it reads, the
    message is sent and its mark written. The look must not queue it again."""
    sender = harness.sender
    sender._running = True
    await queue(harness, "une fois")
    async with harness.db.sessions() as session:
        stale = list(await outbox.pending_all(session))
    (delivery,) = await deliveries(harness)
    sender.enqueue([delivery])
    await _until_sent(harness, 1)

    async def reads_then_the_mark_lands(session: Any, limit: int = 1000) -> list[Delivery]:
        await sender._flush_marks()  # the mark commits while the look is reading
        return stale

    monkeypatch.setattr(sender_module.outbox, "pending_all", reads_then_the_mark_lands)
    await sender._look()
    for _ in range(20):
        await asyncio.sleep(0.01)
    assert [c.text for c in harness.session.sent()] == ["une fois"]
    sender.stop()


# Edits of messages already there ---------------------------------------------------


async def queue_call(harness: Harness, method: str, **params: Any) -> None:
    async with harness.db.transaction() as session:
        outbox.call(session, TECH_CHAT, method, {"chat_id": TECH_CHAT, **params})


async def test_an_edit_that_changes_nothing_is_marked_sent_and_alarms_nobody(
    harness: Harness,
) -> None:
    await queue_call(harness, "editMessageReplyMarkup", message_id=5)
    harness.session.fail_next(
        "editMessageReplyMarkup",
        400,
        "Bad Request: message is not modified: specified new message content and reply "
        "markup are exactly the same as a current content and reply markup of the message",
    )
    calls = await harness.deliver()
    assert [c.method for c in calls] == ["editMessageReplyMarkup"]  # tried once, not again
    (row,) = await deliveries(harness)
    assert row.state == DeliveryState.SENT and row.last_error is None
    assert await harness.deliver() == []


async def test_a_question_whose_message_is_gone_is_sent_anew_and_later_edits_follow_it(
    harness: Harness,
) -> None:
    question = outbox.placeholder()
    async with harness.db.transaction() as session:
        outbox.message(session, TECH_CHAT, "Étape 1 : contexte ?", ref=question)
    assert len(await harness.deliver()) == 1
    # The person deleted it; the next question was to be shown in its place.
    await queue_call(harness, "editMessageText", message_id=question, text="Étape 2 : objectif ?")
    harness.session.fail_next("editMessageText", 400, "Bad Request: message to edit not found")
    calls = await harness.deliver()
    assert [c.method for c in calls] == ["editMessageText", "sendMessage"]
    assert calls[-1].text == "Étape 2 : objectif ?"
    # Its buttons removed later: the new message, not the one gone.
    await queue_call(harness, "editMessageReplyMarkup", message_id=question)
    (strip,) = await harness.deliver()
    rows = await deliveries(harness)
    assert all(row.state == DeliveryState.SENT for row in rows)
    assert strip.params["message_id"] == rows[1].telegram_message_id
    assert strip.params["message_id"] != rows[0].telegram_message_id
