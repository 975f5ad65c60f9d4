"""Receiving updates: stored once, handled once, in order per chat, in parallel across chats."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest
from aiogram import Dispatcher, Router
from aiogram.types import Message
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot import ingest as ingest_module
from bot.app import build_bot
from bot.ingest import Ingest, chat_of
from storage.db import Database
from storage.models import Delivery, InboxUpdate, UpdateState
from tests.conftest import Harness
from tests.fakeapi import FakeBotAPI, FakeUser
from tests.helpers import fake_api_settings
from tests.mocked import Person, Updates, recording_bot

PAUL = Person(20, "Paul")
LEA = Person(21, "Léa", language_code="en")


def probe_dispatcher(
    seen: list[tuple[int, str]], active: list[int], peak: list[int], fail: set[str]
) -> Dispatcher:
    """A Dispatcher whose one handler records what it handles, slowly, and how many
    updates are being handled at the same time."""
    router = Router()

    @router.message()
    async def record(message: Message) -> None:
        active[0] += 1
        peak[0] = max(peak[0], active[0])
        try:
            await asyncio.sleep(random.uniform(0, 0.01))
            text = message.text or ""
            if text in fail:
                fail.discard(text)
                raise OperationalError("INSERT", {}, Exception("database is locked"))
            seen.append((message.chat.id, text))
        finally:
            active[0] -= 1

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    return dispatcher


def make_ingest(
    database: Database, fail: set[str] | None = None
) -> tuple[Ingest, list[tuple[int, str]], list[int]]:
    seen: list[tuple[int, str]] = []
    peak = [0]
    dispatcher = probe_dispatcher(seen, [0], peak, fail if fail is not None else set())
    bot, _ = recording_bot()
    return Ingest(bot, dispatcher, database, workers=8), seen, peak


async def states(database: Database) -> dict[int, str]:
    async with database.sessions() as session:
        rows = (await session.scalars(select(InboxUpdate))).all()
    return {row.update_id: row.state for row in rows}


async def test_updates_of_one_chat_are_handled_in_order_and_chats_in_parallel(
    database: Database,
) -> None:
    ingest, seen, peak = make_ingest(database)
    updates = Updates()
    people = [Person(100 + n, f"Tech {n}") for n in range(10)]
    batch = [updates.message(p, f"{p.id}-{i}") for i in range(8) for p in people]
    await ingest.store(batch)
    await ingest.wait_idle()
    assert len(seen) == 80
    for person in people:
        texts = [text for chat, text in seen if chat == person.id]
        assert texts == [f"{person.id}-{i}" for i in range(8)]
    assert peak[0] > 1, "different chats should be handled at the same time"
    assert set((await states(database)).values()) == {UpdateState.DONE}


async def test_an_update_delivered_twice_is_stored_once_and_handled_once(
    database: Database,
) -> None:
    ingest, seen, _ = make_ingest(database)
    update = Updates().message(PAUL, "photo 1")
    assert await ingest.store([update, update]) == [update["update_id"]]
    await ingest.wait_idle()
    assert await ingest.store([update]) == []
    await ingest.wait_idle()
    assert seen == [(PAUL.id, "photo 1")]


async def test_updates_of_a_chat_stored_out_of_order_are_handled_in_telegram_order(
    database: Database,
) -> None:
    """Telegram posts a webhook's updates side by side: a later one may be stored
    first. Behind the one being handled, a chat's updates go by their update_id."""
    seen: list[str] = []
    first_may_end = asyncio.Event()
    router = Router()

    @router.message()
    async def record(message: Message) -> None:
        if message.text == "message 0":
            await first_may_end.wait()
        seen.append(message.text or "")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    bot, _ = recording_bot()
    ingest = Ingest(bot, dispatcher, database)
    updates = Updates()
    first, second, third = (updates.message(PAUL, f"message {n}") for n in range(3))
    for payload in (first, third, second):
        assert await ingest.receive(payload)
    assert not await ingest.receive(third), "posted again: received before"
    first_may_end.set()
    await ingest.wait_idle()
    assert seen == [f"message {n}" for n in range(3)]


async def test_a_chats_turn_held_elsewhere_holds_its_updates_and_no_other_chats(
    database: Database,
) -> None:
    """The signature pad holds the technician's chat while it stores a drawing: that
    chat's updates wait for it, and wait for the turn in order; other chats go on."""
    ingest, seen, _ = make_ingest(database)
    updates = Updates()
    async with ingest.in_turn(PAUL.id):
        await ingest.store([updates.message(PAUL, "after the pad"), updates.message(LEA, "hi")])
        await asyncio.sleep(0.2)
        assert seen == [(LEA.id, "hi")]
    await ingest.wait_idle()
    assert seen == [(LEA.id, "hi"), (PAUL.id, "after the pad")]
    # And the other way round: the pad waits for the update being handled.
    order: list[str] = []

    async def pad() -> None:
        async with ingest.in_turn(PAUL.id):
            order.append("pad")

    async with ingest.in_turn(PAUL.id):
        waiting = asyncio.create_task(pad())
        await asyncio.sleep(0.05)
        order.append("update")
    await waiting
    assert order == ["update", "pad"]
    assert ingest._turns == {}, "a turn nobody holds is forgotten"


async def test_updates_stored_before_a_crash_are_handled_at_the_next_start(
    database: Database,
) -> None:
    updates = Updates()
    payloads = [updates.message(PAUL, f"answer {n}") for n in range(5)]
    async with database.transaction() as session:
        for payload in payloads:
            session.add(
                InboxUpdate(update_id=payload["update_id"], chat_id=PAUL.id, payload=payload)
            )
    ingest, seen, _ = make_ingest(database)
    assert await ingest.recover() == 5
    await ingest.wait_idle()
    assert [text for _, text in seen] == [f"answer {n}" for n in range(5)]


async def test_a_briefly_locked_database_delays_an_update_without_losing_it(
    database: Database,
) -> None:
    ingest, seen, _ = make_ingest(database, fail={"first"})
    updates = Updates()
    await ingest.store([updates.message(PAUL, "first"), updates.message(PAUL, "second")])
    await ingest.wait_idle()
    assert seen == [(PAUL.id, "first"), (PAUL.id, "second")]


async def test_a_handler_bug_rolls_back_its_changes_and_tells_the_person(
    harness: Harness, monkeypatch: Any
) -> None:
    """The update is marked failed (not retried forever), nothing it wrote is kept,
    and the person is told their earlier answers are safe."""
    from handlers import common

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("bug in a handler")

    await harness.say(PAUL, "/start")
    monkeypatch.setattr(common.invites, "claim", broken)
    calls = await harness.say(PAUL, "/start inv_whatever")
    assert calls == []
    sent = await harness.deliver()
    assert "un problème est survenu" in sent[0].text and sent[0].chat_id == PAUL.id
    async with harness.db.sessions() as session:
        failed = (
            await session.scalars(
                select(InboxUpdate).where(InboxUpdate.state == UpdateState.FAILED)
            )
        ).all()
        deliveries = (await session.scalars(select(Delivery))).all()
    assert len(failed) == 1 and "bug in a handler" in (failed[0].error or "")
    greeting, sorry = deliveries
    assert "Je ne vous connais pas" in (greeting.text or "") and SORRY_KEY in (sorry.text or "")


SORRY_KEY = "un problème est survenu"


def test_each_kind_of_update_is_queued_behind_its_chat() -> None:
    updates = Updates()
    assert chat_of(updates.message(PAUL, "hi", chat_id=-100)) == -100
    message = updates.message(PAUL, "hi")
    press: dict[str, Any] = {
        "update_id": 9,
        "callback_query": {
            "id": "1",
            "from": PAUL.to_dict(),
            "chat_instance": "x",
            "message": message["message"],
        },
    }
    assert chat_of(press) == PAUL.id
    inline = {"update_id": 10, "callback_query": {"id": "2", "from": LEA.to_dict()}}
    assert chat_of(inline) == LEA.id
    assert chat_of({"update_id": 11}) == 0


async def test_the_poller_keeps_polling_through_html_pages_and_a_failed_batch(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """getUpdates answered by nginx pages, a cut-short body, an empty one, and a batch
    whose storing fails with an error nobody expected: the poller backs off and asks
    again, and every message is stored and handled once."""
    monkeypatch.setattr(ingest_module, "POLL_RETRY_FIRST", 0.01)
    async with FakeBotAPI() as api:
        bot = build_bot(fake_api_settings(api, tmp_path))
        seen: list[tuple[int, str]] = []
        ingest = Ingest(bot, probe_dispatcher(seen, [0], [0], set()), database, polling_timeout=1)
        store = ingest.store
        unexpected = [RuntimeError("a bug while storing one batch")]

        async def store_failing_once(payloads: list[dict[str, Any]]) -> list[int]:
            if unexpected:
                raise unexpected.pop()
            return await store(payloads)

        monkeypatch.setattr(ingest, "store", store_failing_once)
        api.html_next("getUpdates", 502, times=2)
        api.html_next("getUpdates", 504)
        api.truncate_next("getUpdates")
        api.empty_next("getUpdates")
        fake_paul = FakeUser(PAUL.id, PAUL.first_name)
        texts = [f"message {n}" for n in range(3)]
        for text in texts:
            api.send_text(fake_paul, text)
        polling = asyncio.create_task(ingest.poll())
        try:
            await api.wait_for(lambda: len(seen) == 3 or polling.done(), 20, "3 messages handled")
            assert not polling.done(), polling.exception()
            api.send_text(fake_paul, "after the outage")
            await api.wait_for(lambda: len(seen) == 4 or polling.done(), 20, "the 4th handled")
            assert not polling.done(), polling.exception()
        finally:
            polling.cancel()
            await bot.session.close()
        await ingest.wait_idle()
    assert seen == [(PAUL.id, text) for text in [*texts, "after the outage"]]
    assert not unexpected
    assert list((await states(database)).values()) == [UpdateState.DONE] * 4
    faults = [r.fault for r in api.requests if r.method == "getUpdates" and r.fault]
    assert faults == ["html", "html", "html", "truncated", "empty"]
