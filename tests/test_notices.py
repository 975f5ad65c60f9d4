"""What the office group is told: starts with the pin, overdue interventions, and a
burst of events merged so the group's limit of about 20 messages a minute holds."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.scheduler import tell_overdue
from storage import outbox
from storage.models import Delivery, DeliveryState
from tests.conftest import OFFICE_CHAT, TECHNICIAN, Harness, plan_job, start_job


async def test_a_burst_of_fifty_office_events_arrives_in_few_messages_and_none_is_lost(
    harness: Harness,
) -> None:
    async with harness.db.transaction() as session:
        for n in range(50):
            outbox.message(session, OFFICE_CHAT, f"Événement n°{n:02d}")
    sent = [c for c in await harness.deliver() if c.chat_id == OFFICE_CHAT]
    assert 1 <= len(sent) <= 3, len(sent)
    text = "\n".join(c.text for c in sent)
    assert all(f"Événement n°{n:02d}" in text for n in range(50))
    assert text.index("n°00") < text.index("n°49"), "events keep their order"
    async with harness.db.sessions() as session:
        states = set((await session.scalars(select(Delivery.state))).all())
    assert states == {DeliveryState.SENT}


async def test_notices_with_buttons_are_never_merged(harness: Harness) -> None:
    markup = {"inline_keyboard": [[{"text": "Valider", "callback_data": "val:ok:1"}]]}
    async with harness.db.transaction() as session:
        outbox.message(session, OFFICE_CHAT, "À valider", options={"reply_markup": markup})
        outbox.message(session, OFFICE_CHAT, "Autre nouvelle")
        outbox.message(session, OFFICE_CHAT, "Encore une")
    sent = [c for c in await harness.deliver() if c.chat_id == OFFICE_CHAT]
    assert [c.text for c in sent] == ["À valider", "Autre nouvelle\n\nEncore une"]


async def test_the_office_learns_of_a_start_and_sees_the_pin(harness: Harness) -> None:
    job = await plan_job(harness.db)
    await start_job(harness, job)
    location = {"latitude": 45.75, "longitude": 4.86, "horizontal_accuracy": 8}
    await harness.say(TECHNICIAN, "", location=location)
    sent = [c for c in await harness.deliver() if c.chat_id == OFFICE_CHAT]
    assert "commencée par Paul" in sent[0].text and job.number in sent[0].text
    assert any(c.method == "sendLocation" and c.params["latitude"] == 45.75 for c in sent)


async def test_an_overdue_intervention_is_reported_once(harness: Harness) -> None:
    late = await plan_job(harness.db, scheduled=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    await plan_job(harness.db, scheduled=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    assert await tell_overdue(harness.db, harness.options) == 1
    assert await tell_overdue(harness.db, harness.options) == 0
    sent = [c for c in await harness.deliver() if c.chat_id == OFFICE_CHAT]
    assert len(sent) == 1 and late.number in sent[0].text and "n'a pas commencé" in sent[0].text
