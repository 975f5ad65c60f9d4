"""The update path: what a handler says is sent only after its unit of work commits,
in order, through the one sender and its one rate limiter."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot import ingest as ingest_module
from bot.ratelimit import RateLimiter
from bot.sender import OutboxSender
from storage import outbox, users
from storage.models import DeliveryState, InboxUpdate, Role, UpdateState
from tests.conftest import OFFICE_CHAT, TECHNICIAN, Harness, deliveries, load_job
from tests.mocked import Person, button
from tests.test_wizard import started

DISPATCHER = Person(30, "Sophie", "sophie_bureau", "fr")


async def test_a_unit_of_work_that_fails_after_its_replies_sends_none_of_them(
    short: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = await started(short)
    finish = ingest_module.inbox.finish
    failures = [OperationalError("COMMIT", {}, Exception("disk I/O error"))]

    async def fails_once(session: object, update_id: int) -> bool:
        if failures:
            raise failures.pop()
        return await finish(session, update_id)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest_module.inbox, "finish", fails_once)
    before = len(await deliveries(short))
    calls = await short.say(TECHNICIAN, "Fuite au raccord du ballon")
    prompts = [c for c in calls if c.method == "sendMessage"]
    assert len(prompts) == 1 and "Étape 2/" in prompts[0].text, "the failed run said nothing"
    assert not failures
    made = (await deliveries(short))[before:]
    # What the run that committed said, once: the answered question's buttons removed,
    # and the next question.
    assert [(m.options or {}).get("method") for m in made] == [
        "editMessageReplyMarkup",
        "sendMessage",
    ]
    assert all(m.state == DeliveryState.SENT for m in made)
    assert (await load_job(short.db, job)).context == "Fuite au raccord du ballon"


async def test_a_handler_that_fails_for_good_after_replying_leaves_no_trace_in_the_chat(
    short: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = await started(short)

    async def broken(session: object, update_id: int) -> bool:
        raise RuntimeError("a bug after the replies")

    monkeypatch.setattr(ingest_module.inbox, "finish", broken)
    calls = await short.say(TECHNICIAN, "Fuite au raccord du ballon")
    assert [c for c in calls if c.method.startswith(("send", "edit"))] == []
    assert (await load_job(short.db, job)).context is None
    sent = [c for c in await short.deliver() if c.chat_id == TECHNICIAN.id]
    assert len(sent) == 1, [c.text for c in sent]
    assert "un problème est survenu" in sent[0].text, "only the apology reaches the person"
    async with short.db.sessions() as session:
        states = set(await session.scalars(select(InboxUpdate.state)))
    assert UpdateState.FAILED in states


async def test_a_burst_of_group_replies_stays_within_the_groups_limit(harness: Harness) -> None:
    async with harness.db.transaction() as session:
        await users.add(session, DISPATCHER.id, "Sophie", Role.DISPATCHER)
    commands = [
        harness.updates.message(DISPATCHER, f"/find OT-2026-{n:04d}", chat_id=OFFICE_CHAT)
        for n in range(1, 26)
    ]
    await harness.ingest.store(commands)
    await harness.ingest.wait_idle()
    async with harness.db.transaction() as session:
        outbox.message(session, OFFICE_CHAT, "Un avis du bureau")
    limited = OutboxSender(harness.bot, harness.db, harness.files, limiter=RateLimiter())
    pause = await limited.send_due()
    to_group = [c for c in harness.session.sent(chat_id=OFFICE_CHAT)]
    assert len(to_group) == 20, "Telegram's 20 messages a minute in a group"
    assert [f"OT-2026-{n:04d}" in c.text for n, c in enumerate(to_group, start=1)] == [True] * 20
    assert 55 < pause <= 60, pause
    waiting = [d for d in await deliveries(harness) if d.state == DeliveryState.PENDING]
    assert len(waiting) == 6 and waiting[-1].text == "Un avis du bureau"


async def test_a_press_whose_answer_meets_a_502_page_or_a_short_429_is_answered_again(
    short: Harness,
) -> None:
    await started(short)
    prompt = (await short.say(TECHNICIAN, "/resume"))[-1]
    short.session.html_next("answerCallbackQuery", 502)
    short.session.fail_next(
        "answerCallbackQuery", 429, "Too Many Requests: retry after 1", retry_after=1
    )
    calls = await short.press(TECHNICIAN, prompt, button(prompt, "Plus tard"))
    answers = [c for c in calls if c.method == "answerCallbackQuery"]
    assert [c.failed for c in answers] == [True, True, False], "the spinner stops"
    sent = [c for c in calls if c.chat_id == TECHNICIAN.id]
    assert len(sent) == 1 and "mis de côté" in sent[0].text, "and the reply goes once"


async def test_a_429_on_answering_a_press_holds_the_outbox_back_for_that_chat(
    short: Harness,
) -> None:
    await started(short)
    prompt = (await short.say(TECHNICIAN, "/resume"))[-1]
    short.session.fail_next(
        "answerCallbackQuery", 429, "Too Many Requests: retry after 30", retry_after=30
    )
    calls = await short.press(TECHNICIAN, prompt, button(prompt, "Plus tard"))
    assert [c.method for c in calls] == ["answerCallbackQuery"], "nothing sent during the ban"
    assert short.limiter.paused(TECHNICIAN.id, time.monotonic())
    assert [c for c in await short.deliver() if c.chat_id == TECHNICIAN.id] == []
    waiting = [d for d in await deliveries(short) if d.state == DeliveryState.PENDING]
    assert [d.chat_id for d in waiting if d.kind == "call"] == [TECHNICIAN.id]
    short.limiter._paused_until.clear()  # the ban is over
    sent = [c for c in await short.deliver() if c.chat_id == TECHNICIAN.id]
    assert len(sent) == 1 and "mis de côté" in sent[0].text
