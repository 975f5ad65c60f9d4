"""A Telegram outage in the middle of a conversation: a reply met by nginx's 502 page.
The update is handled again once Telegram answers, what the person sent is kept once,
and they never read the "something went wrong" text."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Delivery, InboxUpdate, UpdateState
from tests.conftest import TECHNICIAN, Harness, load_job
from tests.mocked import Call
from tests.test_wizard import started

SORRY = "un problème est survenu"


async def update_states(harness: Harness) -> list[str]:
    async with harness.db.sessions() as session:
        rows = (await session.scalars(select(InboxUpdate).order_by(InboxUpdate.update_id))).all()
    return [row.state for row in rows]


async def everything_said(harness: Harness, calls: list[Call]) -> list[str]:
    """The texts that reached the person: direct replies, then the outbox's."""
    direct = [c.text for c in calls if c.method == "sendMessage" and not c.failed]
    later = [c.text for c in await harness.deliver(now=True) if c.chat_id == TECHNICIAN.id]
    async with harness.db.sessions() as session:
        queued = [d.text or "" for d in (await session.scalars(select(Delivery))).all()]
    assert not any(SORRY in text for text in [*direct, *later, *queued])
    return direct + later


async def test_an_answer_whose_reply_meets_502_pages_is_handled_again_and_kept(
    short: Harness,
) -> None:
    job = await started(short)
    short.session.html_next("sendMessage", 502, times=2)
    calls = await short.say(TECHNICIAN, "Chaudière en panne depuis lundi")
    replies = [c for c in calls if c.method == "sendMessage"]
    assert [c.failed for c in replies] == [True, True, False]
    assert len({c.text for c in replies}) == 1, "the same reply, sent again"
    said = await everything_said(short, calls)
    assert "Étape 2/" in said[0]
    assert (await load_job(short.db, job)).context == "Chaudière en panne depuis lundi"
    assert set(await update_states(short)) == {UpdateState.DONE}
