"""Reminders to technicians and the office's digest: each at its time on a moved
clock (never by waiting), to the right people in their language, once across a
restart and across schedulers racing on one database, and what becomes of one
missed while the bot was down."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot import reminders as reminders_module
from bot.config import ConfigError, load_settings
from bot.reminders import (
    Reminders,
    nudge_idle,
    remind_before,
    remind_evening,
    send_digest,
    tell_overdue,
)
from bot.scheduler import REMINDER_JOBS, build_scheduler
from handlers.context import Options
from reports.rules import reminders as due
from storage import migrate, outbox, users
from storage import reminders as store
from storage.db import Database
from storage.models import (
    Answer,
    Attachment,
    Delivery,
    DeliveryState,
    Intervention,
    Role,
    SentNotice,
    StatusChange,
)
from storage.status import Status
from tests.conftest import (
    OFFICE_CHAT,
    TECHNICIAN,
    Harness,
    Job,
    deliveries,
    plan_job,
    start_job,
)
from tests.conftest import test_options as options_with
from tests.helpers import PARIS, paris
from tests.mocked import Call, Person, button

JANE = Person(21, "Jane", "jane_tech", "en")
LUC = Person(22, "Luc", "luc_tech", "fr")
DEFAULTS = Reminders()

Reminder = Callable[..., Awaitable[int]]


async def register(db: Database, person: Person, *, language: str | None = None) -> None:
    async with db.transaction() as session:
        await users.add(session, person.id, person.first_name, Role.TECHNICIAN, language=language)


async def disable(db: Database, person: Person) -> None:
    async with db.transaction() as session:
        found = await users.by_telegram_id(session, person.id)
        assert found is not None
        found.active = False


async def change(db: Database, job: Job, **values: Any) -> None:
    """Set columns of the intervention as the story of a test needs them."""
    async with db.transaction() as session:
        await session.execute(
            update(Intervention).where(Intervention.id == job.id).values(**values)
        )


async def submit(db: Database, job: Job, at: dt.datetime, status: Status) -> None:
    """The report was submitted at `at`, and the intervention is now `status`."""
    async with db.transaction() as session:
        session.add(
            StatusChange(
                intervention_id=job.id,
                at=at,
                from_status=Status.IN_PROGRESS,
                to_status=Status.AWAITING_VALIDATION,
            )
        )
    await change(db, job, status=status, updated_at=at)


async def sent_to(harness: Harness, chat_id: int) -> list[Call]:
    return [call for call in await harness.deliver() if call.chat_id == chat_id]


async def claims(db: Database) -> list[tuple[str, str]]:
    async with db.sessions() as session:
        rows = await session.execute(
            select(SentNotice.kind, SentNotice.key).order_by(SentNotice.id)
        )
        return [(kind, key) for kind, key in rows]


# The evening before ------------------------------------------------------------------------


async def test_the_evening_before_each_technician_gets_tomorrows_planned_interventions(
    harness: Harness,
) -> None:
    db = harness.db
    await register(db, JANE, language="en")
    morning = await plan_job(db, scheduled=paris(2026, 11, 26, 9, 0))
    afternoon = await plan_job(
        db, client_name="Garage Dupont", scheduled=paris(2026, 11, 26, 14, 30)
    )
    cancelled = await plan_job(db, client_name="Annulé SA", scheduled=paris(2026, 11, 26, 10, 0))
    await change(db, cancelled, status=Status.CANCELLED)
    started = await plan_job(db, client_name="Déjà Là", scheduled=paris(2026, 11, 26, 8, 0))
    await change(db, started, status=Status.IN_PROGRESS)
    later = await plan_job(db, client_name="Plus Tard", scheduled=paris(2026, 11, 27, 9, 0))
    janes = await plan_job(
        db, technician=JANE, client_name="Hotel Bristol", scheduled=paris(2026, 11, 26, 11, 0)
    )
    nobodys = await plan_job(db, client_name="Sans Technicien", scheduled=paris(2026, 11, 26, 9, 0))
    await change(db, nobodys, technician_id=None)
    await register(db, LUC)
    await plan_job(db, technician=LUC, client_name="Parti", scheduled=paris(2026, 11, 26, 9, 0))
    await disable(db, LUC)

    assert await remind_evening(db, harness.options, DEFAULTS, now=paris(2026, 11, 25, 17, 59)) == 0
    assert await remind_evening(db, harness.options, DEFAULTS, now=paris(2026, 11, 25, 18, 0)) == 2
    calls = await harness.deliver()
    assert sorted(call.chat_id or 0 for call in calls) == [TECHNICIAN.id, JANE.id]
    (pauls,) = [call.text for call in calls if call.chat_id == TECHNICIAN.id]
    assert pauls.startswith("🗓 Demain, jeudi 26 novembre :")
    assert "09:00 · <b>" + morning.number in pauls and "14:30 · <b>" + afternoon.number in pauls
    assert pauls.index(morning.number) < pauls.index(afternoon.number)
    assert "12 rue de la Paix, 75002 Paris" in pauls and "Entretien" in pauls
    for left_out in (cancelled, started, later, nobodys):
        assert left_out.number not in pauls
    (janes_text,) = [call.text for call in calls if call.chat_id == JANE.id]
    assert janes_text.startswith("🗓 Tomorrow, Thursday 26 November:") and janes.number in janes_text
    assert "/today shows them" in janes_text
    assert not any(call.chat_id == LUC.id for call in calls), "a disabled technician is not told"

    assert await remind_evening(db, harness.options, DEFAULTS, now=paris(2026, 11, 25, 18, 1)) == 0
    assert await remind_evening(db, harness.options, DEFAULTS, now=paris(2026, 11, 25, 23, 0)) == 0
    assert await harness.deliver() == []


async def test_nobody_is_told_the_evening_before_a_day_without_planned_work(
    harness: Harness,
) -> None:
    await plan_job(harness.db, scheduled=paris(2026, 11, 28, 9, 0))
    assert (
        await remind_evening(harness.db, harness.options, DEFAULTS, now=paris(2026, 11, 25, 18))
        == 0
    )
    assert await harness.deliver() == []


async def test_an_evening_reminder_missed_while_down_comes_until_midnight_then_is_skipped(
    harness: Harness,
) -> None:
    db, options = harness.db, harness.options
    thursday = await plan_job(db, scheduled=paris(2026, 11, 26, 9, 0))
    friday = await plan_job(db, client_name="Garage Dupont", scheduled=paris(2026, 11, 27, 9, 0))
    # Down from before 18:00 on Wednesday until five past midnight: Thursday's list is skipped.
    assert await remind_evening(db, options, DEFAULTS, now=paris(2026, 11, 26, 0, 5)) == 0
    assert await harness.deliver() == []
    # Thursday evening, Friday's list comes as usual (and Thursday's never).
    assert await remind_evening(db, options, DEFAULTS, now=paris(2026, 11, 26, 18, 0)) == 1
    (told,) = await sent_to(harness, TECHNICIAN.id)
    assert friday.number in told.text and thursday.number not in told.text
    # Down at 18:00 on Friday, back at 23:59: Saturday's list still comes.
    saturday = await plan_job(db, client_name="Hotel Bristol", scheduled=paris(2026, 11, 28, 8, 0))
    assert await remind_evening(db, options, DEFAULTS, now=paris(2026, 11, 27, 23, 59)) == 1
    (told,) = await sent_to(harness, TECHNICIAN.id)
    assert told.text.startswith("🗓 Demain, samedi 28 novembre :") and saturday.number in told.text


# Before each intervention ------------------------------------------------------------------


async def test_an_hour_before_the_technician_is_reminded_with_a_button_to_open_the_card(
    harness: Harness,
) -> None:
    db, options = harness.db, harness.options
    job = await plan_job(db, scheduled=paris(2026, 11, 25, 14, 30))
    assert await remind_before(db, options, DEFAULTS, now=paris(2026, 11, 25, 13, 29)) == 0
    assert await remind_before(db, options, DEFAULTS, now=paris(2026, 11, 25, 13, 30)) == 1
    (told,) = await sent_to(harness, TECHNICIAN.id)
    assert told.text == (
        f"⏰ <b>{job.number}</b> est prévue à 14:30 : Boulangerie Martin, "
        "12 rue de la Paix, 75002 Paris."
    )
    assert [label for label, _ in told.buttons()] == ["Ouvrir la fiche"]
    assert await remind_before(db, options, DEFAULTS, now=paris(2026, 11, 25, 13, 45)) == 0
    assert await harness.deliver() == []

    card = await harness.press(TECHNICIAN, told, button(told, "Ouvrir"))
    assert "Boulangerie Martin" in card[-1].text
    assert any("Commencer" in label for label, _ in card[-1].buttons())


async def test_the_reminder_before_speaks_english_to_an_english_technician(
    harness: Harness,
) -> None:
    await register(harness.db, JANE, language="en")
    job = await plan_job(harness.db, technician=JANE, scheduled=paris(2026, 11, 25, 9, 0))
    assert (
        await remind_before(harness.db, harness.options, DEFAULTS, now=paris(2026, 11, 25, 8)) == 1
    )
    (told,) = await sent_to(harness, JANE.id)
    assert told.text.startswith(f"⏰ <b>{job.number}</b> is planned at 09:00: Boulangerie Martin")
    assert [label for label, _ in told.buttons()] == ["Open the card"]


async def test_no_reminder_before_an_intervention_cancelled_started_or_without_technician(
    harness: Harness,
) -> None:
    db = harness.db
    cancelled = await plan_job(db, scheduled=paris(2026, 11, 25, 14, 30))
    await change(db, cancelled, status=Status.CANCELLED)
    started = await plan_job(db, scheduled=paris(2026, 11, 25, 14, 30))
    await change(db, started, status=Status.IN_PROGRESS)
    postponed = await plan_job(db, scheduled=paris(2026, 11, 25, 14, 30))
    await change(db, postponed, status=Status.POSTPONED)
    nobodys = await plan_job(db, scheduled=paris(2026, 11, 25, 14, 30))
    await change(db, nobodys, technician_id=None)
    await register(db, LUC)
    await plan_job(db, technician=LUC, scheduled=paris(2026, 11, 25, 14, 30))
    await disable(db, LUC)
    assert await remind_before(db, harness.options, DEFAULTS, now=paris(2026, 11, 25, 13, 45)) == 0
    assert await harness.deliver() == []
    assert await claims(db) == []


async def test_a_moved_or_reassigned_intervention_is_reminded_again_for_its_new_time(
    harness: Harness,
) -> None:
    db, options = harness.db, harness.options
    job = await plan_job(db, scheduled=paris(2026, 11, 25, 14, 30))
    assert await remind_before(db, options, DEFAULTS, now=paris(2026, 11, 25, 13, 30)) == 1
    await harness.deliver()
    await change(db, job, scheduled_at=paris(2026, 11, 25, 17, 0))
    assert await remind_before(db, options, DEFAULTS, now=paris(2026, 11, 25, 15, 0)) == 0
    assert await remind_before(db, options, DEFAULTS, now=paris(2026, 11, 25, 16, 0)) == 1
    (told,) = await sent_to(harness, TECHNICIAN.id)
    assert "est prévue à 17:00" in told.text
    await register(db, JANE, language="en")
    async with db.sessions() as session:
        jane = await users.by_telegram_id(session, JANE.id)
        assert jane is not None
    await change(db, job, technician_id=jane.id)
    assert await remind_before(db, options, DEFAULTS, now=paris(2026, 11, 25, 16, 10)) == 1
    (told,) = await sent_to(harness, JANE.id)
    assert "is planned at 17:00" in told.text


async def test_a_reminder_before_missed_while_down_comes_at_start_while_the_time_is_ahead(
    harness: Harness,
) -> None:
    db, options = harness.db, harness.options
    ahead = await plan_job(db, scheduled=paris(2026, 11, 25, 14, 30))
    past = await plan_job(db, client_name="Garage Dupont", scheduled=paris(2026, 11, 25, 14, 0))
    # Down from 12:00 to 14:20: the 14:30 one is still ahead, the 14:00 one is not.
    assert await remind_before(db, options, DEFAULTS, now=paris(2026, 11, 25, 14, 20)) == 1
    (told,) = await sent_to(harness, TECHNICIAN.id)
    assert ahead.number in told.text and past.number not in told.text


async def test_a_lead_longer_than_the_day_names_the_date(harness: Harness) -> None:
    job = await plan_job(harness.db, scheduled=paris(2026, 11, 26, 8, 0))
    early = Reminders(before=dt.timedelta(hours=12))
    assert await remind_before(harness.db, harness.options, early, now=paris(2026, 11, 25, 20)) == 1
    (told,) = await sent_to(harness, TECHNICIAN.id)
    assert f"<b>{job.number}</b> est prévue le 26/11/2026 08:00 :" in told.text


# An idle report ----------------------------------------------------------------------------


async def test_a_report_idle_for_hours_gets_one_nudge_per_idle_period(harness: Harness) -> None:
    db, options = harness.db, harness.options
    job = await plan_job(db, scheduled=paris(2026, 11, 25, 9, 0))
    await start_job(harness, job)
    await harness.deliver()
    await change(db, job, started_at=paris(2026, 11, 25, 9, 5), updated_at=paris(2026, 11, 25, 10))

    assert await nudge_idle(db, options, DEFAULTS, now=paris(2026, 11, 25, 12, 59)) == 0
    assert await nudge_idle(db, options, DEFAULTS, now=paris(2026, 11, 25, 13, 0)) == 1
    (told,) = await sent_to(harness, TECHNICIAN.id)
    assert told.text == (
        f"✏️ Le rapport <b>{job.number}</b> (Boulangerie Martin) n'a pas avancé depuis 10:00. "
        "Tout ce que vous avez envoyé est gardé : reprenez-le quand vous pourrez."
    )
    assert [label for label, _ in told.buttons()] == ["Reprendre le rapport"]
    for later in (13, 14, 17, 20):
        assert await nudge_idle(db, options, DEFAULTS, now=paris(2026, 11, 25, later)) == 0
    assert await harness.deliver() == []

    # The technician answers at 14:30 and sends a photo at 15:00: a new idle period.
    async with db.transaction() as session:
        session.add(
            Answer(
                chat_id=TECHNICIAN.id,
                message_id=1,
                intervention_id=job.id,
                step="context",
                target="field:context",
                created_at=paris(2026, 11, 25, 14, 30),
            )
        )
        session.add(
            Attachment(
                intervention_id=job.id,
                kind="photo",
                path="photos/x.jpg",
                received_at=paris(2026, 11, 25, 15, 0),
            )
        )
    assert await nudge_idle(db, options, DEFAULTS, now=paris(2026, 11, 25, 17, 59)) == 0
    assert await nudge_idle(db, options, DEFAULTS, now=paris(2026, 11, 25, 18, 0)) == 1
    (told,) = await sent_to(harness, TECHNICIAN.id)
    assert "n'a pas avancé depuis 15:00" in told.text

    resumed = await harness.press(TECHNICIAN, told, button(told, "Reprendre"))
    assert any(job.number in call.text for call in resumed)


async def test_an_idle_nudge_waits_for_the_morning(harness: Harness) -> None:
    db, options = harness.db, harness.options
    job = await plan_job(db, scheduled=paris(2026, 11, 25, 17, 0))
    await change(db, job, status=Status.IN_PROGRESS, updated_at=paris(2026, 11, 25, 18, 30))
    for night in (paris(2026, 11, 25, 21, 30), paris(2026, 11, 26, 3), paris(2026, 11, 26, 6, 59)):
        assert await nudge_idle(db, options, DEFAULTS, now=night) == 0
    assert await nudge_idle(db, options, DEFAULTS, now=paris(2026, 11, 26, 7, 0)) == 1
    (told,) = await sent_to(harness, TECHNICIAN.id)
    assert "n'a pas avancé depuis le 25/11/2026 18:30" in told.text


async def test_a_returned_report_left_idle_is_pointed_out_in_the_technicians_language(
    harness: Harness,
) -> None:
    db = harness.db
    await register(db, JANE, language="en")
    job = await plan_job(db, technician=JANE, scheduled=paris(2026, 11, 24, 9, 0))
    await change(db, job, status=Status.RETURNED, updated_at=paris(2026, 11, 25, 9, 0))
    assert await nudge_idle(db, harness.options, DEFAULTS, now=paris(2026, 11, 25, 12)) == 1
    (told,) = await sent_to(harness, JANE.id)
    assert told.text == (
        f"✏️ The report <b>{job.number}</b> (Boulangerie Martin), returned by the office, "
        "has been waiting for your correction since 09:00. Pick it up when you can."
    )
    assert [label for label, _ in told.buttons()] == ["Resume the report"]


async def test_no_nudge_for_reports_not_under_way_or_of_a_disabled_technician(
    harness: Harness,
) -> None:
    db = harness.db
    long_ago = paris(2026, 11, 20, 9, 0)
    for status in (Status.PLANNED, Status.AWAITING_VALIDATION, Status.VALIDATED, Status.CANCELLED):
        job = await plan_job(db, scheduled=long_ago)
        await change(db, job, status=status, updated_at=long_ago)
    await register(db, LUC)
    lucs = await plan_job(db, technician=LUC, scheduled=long_ago)
    await change(db, lucs, status=Status.IN_PROGRESS, updated_at=long_ago)
    await disable(db, LUC)
    assert await nudge_idle(db, harness.options, DEFAULTS, now=paris(2026, 11, 25, 12)) == 0
    assert await harness.deliver() == []


# The office's digest -----------------------------------------------------------------------


async def _office_story(harness: Harness) -> dict[str, Job]:
    """A day at the office, Wednesday 25 November 2026, for the digest at 18:00."""
    db = harness.db
    today = await plan_job(db, client_name="Garage Dupont", scheduled=paris(2026, 11, 25, 9))
    await submit(db, today, paris(2026, 11, 25, 11, 0), Status.AWAITING_VALIDATION)
    validated = await plan_job(db, client_name="Hotel Bristol", scheduled=paris(2026, 11, 25, 8))
    await submit(db, validated, paris(2026, 11, 25, 9, 30), Status.VALIDATED)
    waiting = await plan_job(db, client_name="Pharmacie Centrale", scheduled=paris(2026, 11, 23, 9))
    await submit(db, waiting, paris(2026, 11, 23, 16, 10), Status.AWAITING_VALIDATION)
    late = await plan_job(db, client_name="Mairie", scheduled=paris(2026, 11, 25, 8, 0))
    await plan_job(db, client_name="Ce Soir", scheduled=paris(2026, 11, 25, 19, 0))
    async with db.transaction() as session:
        blocked = outbox.message(session, TECHNICIAN.id, "…", intervention_id=late.id)
        blocked.state = DeliveryState.FAILED
        blocked.next_attempt_at = paris(2026, 11, 25, 10, 0)
        blocked.last_error = "Forbidden: bot was blocked by the user"
        older = outbox.message(session, 999, "…")
        older.state = DeliveryState.FAILED
        older.next_attempt_at = paris(2026, 11, 23, 10, 0)
        older.last_error = "Bad Request: chat not found"
        edit = outbox.call(session, TECHNICIAN.id, "editMessageText", {"text": "…"})
        edit.state = DeliveryState.FAILED
        edit.next_attempt_at = paris(2026, 11, 25, 12, 0)
        edit.last_error = "Bad Request: message to edit not found"
        mail = outbox.email(session, "compta@example.fr", "Rapport", "…")
        mail.state = DeliveryState.FAILED
        mail.next_attempt_at = paris(2026, 11, 25, 15, 0)
        mail.last_error = "550 mailbox unavailable"
    return {"today": today, "validated": validated, "waiting": waiting, "late": late}


async def test_the_office_gets_its_digest_once_at_its_time(harness: Harness) -> None:
    db, options = harness.db, harness.options
    story = await _office_story(harness)
    assert await send_digest(db, options, DEFAULTS, now=paris(2026, 11, 25, 17, 59)) == 0
    assert await send_digest(db, options, DEFAULTS, now=paris(2026, 11, 25, 18, 0)) == 1
    (digest,) = await sent_to(harness, OFFICE_CHAT)
    text = digest.text
    done, awaiting, overdue, failed = text.split("\n\n")[1:]
    assert text.startswith("📋 <b>Point du mercredi 25 novembre</b>")
    assert done.splitlines() == [
        "✅ Rapports envoyés depuis le 24/11/2026 18:00 : 2",
        f"• <b>{story['validated'].number}</b> · Hotel Bristol · Paul",
        f"• <b>{story['today'].number}</b> · Garage Dupont · Paul",
    ]
    assert awaiting.splitlines() == [
        "⏳ En attente de validation : 2",
        f"• ❗ <b>{story['waiting'].number}</b> · Pharmacie Centrale · Paul · envoyé le "
        "23/11/2026 16:10, en attente depuis plus d'un jour",
        f"• <b>{story['today'].number}</b> · Garage Dupont · Paul · envoyé le 25/11/2026 11:00",
    ]
    assert overdue.splitlines() == [
        "⏰ En retard : 1",
        f"• <b>{story['late'].number}</b> · Mairie · Paul · prévue le 25/11/2026 08:00",
    ]
    assert failed.splitlines() == [
        "⚠️ Envois échoués depuis le 24/11/2026 18:00 : 2",
        f"• Paul ({story['late'].number}) : Forbidden: bot was blocked by the user",
        "• compta@example.fr : 550 mailbox unavailable",
    ]
    assert digest.buttons() == []
    for later in (paris(2026, 11, 25, 18, 1), paris(2026, 11, 25, 20, 0)):
        assert await send_digest(db, options, DEFAULTS, now=later) == 0
    assert await harness.deliver() == []


async def test_the_digest_speaks_the_companys_language(harness: Harness) -> None:
    options = options_with(default_language="en")
    story = await _office_story(harness)
    assert await send_digest(harness.db, options, DEFAULTS, now=paris(2026, 11, 25, 18)) == 1
    (digest,) = await sent_to(harness, OFFICE_CHAT)
    assert digest.text.startswith("📋 <b>Summary for Wednesday 25 November</b>")
    assert "✅ Reports submitted since 24 Nov 2026, 18:00: 2" in digest.text
    assert (
        f"• ❗ <b>{story['waiting'].number}</b> · Pharmacie Centrale · Paul · submitted "
        "23 Nov 2026, 16:10, waiting for more than a day"
    ) in digest.text
    assert "⏰ Overdue: 1" in digest.text and "⚠️ Failed deliveries since" in digest.text


async def test_a_quiet_day_gets_a_digest_that_says_so(harness: Harness) -> None:
    assert (
        await send_digest(harness.db, harness.options, DEFAULTS, now=paris(2026, 11, 25, 18)) == 1
    )
    (digest,) = await sent_to(harness, OFFICE_CHAT)
    assert digest.text == (
        "📋 <b>Point du mercredi 25 novembre</b>\n\nRien à signaler : aucun rapport envoyé, "
        "rien à valider, rien en retard, aucun envoi échoué."
    )


async def test_no_digest_without_an_office_group_or_when_turned_off(harness: Harness) -> None:
    lonely = options_with(office_chat_id=None)
    assert await send_digest(harness.db, lonely, DEFAULTS, now=paris(2026, 11, 25, 18)) == 0
    off = Reminders(digest=None)
    assert await send_digest(harness.db, harness.options, off, now=paris(2026, 11, 25, 18)) == 0
    assert await harness.deliver() == [] and await claims(harness.db) == []


async def test_a_long_digest_lists_what_fits_then_how_many_more(harness: Harness) -> None:
    db = harness.db
    for n in range(60):
        await plan_job(db, client_name=f"Client n°{n:02d}", scheduled=paris(2026, 11, 25, 8, 0))
    assert await send_digest(db, harness.options, DEFAULTS, now=paris(2026, 11, 25, 18)) == 1
    (digest,) = await sent_to(harness, OFFICE_CHAT)
    assert "⏰ En retard : 60" in digest.text and "Client n°00" in digest.text
    shown = digest.text.count("• <b>")
    assert 5 < shown < 60 and digest.text.endswith(f"… et {60 - shown} autres")
    assert len(digest.text) < 4096


@pytest.mark.parametrize(
    ("back_at", "sent"),
    [(paris(2026, 11, 25, 20, 59), True), (paris(2026, 11, 25, 21, 0), False)],
)
async def test_a_digest_missed_while_down_comes_if_less_than_three_hours_late(
    harness: Harness, back_at: dt.datetime, sent: bool
) -> None:
    db, options = harness.db, harness.options
    assert await send_digest(db, options, DEFAULTS, now=back_at) == int(sent)
    digests = await sent_to(harness, OFFICE_CHAT)
    assert [d.text.splitlines()[0] for d in digests] == (
        ["📋 <b>Point du mercredi 25 novembre</b>"] if sent else []
    )
    # The next day's comes at its time whatever became of this one.
    assert await send_digest(db, options, DEFAULTS, now=paris(2026, 11, 26, 18, 0)) == 1
    (digest,) = await sent_to(harness, OFFICE_CHAT)
    assert digest.text.startswith("📋 <b>Point du jeudi 26 novembre</b>")


async def test_a_late_evening_digest_still_comes_after_midnight(harness: Harness) -> None:
    late = Reminders(digest=dt.time(23, 0))
    assert await send_digest(harness.db, harness.options, late, now=paris(2026, 11, 26, 1, 0)) == 1
    (digest,) = await sent_to(harness, OFFICE_CHAT)
    assert digest.text.startswith("📋 <b>Point du mercredi 25 novembre</b>")


async def test_an_overdue_intervention_is_told_once_at_its_time(harness: Harness) -> None:
    db, options = harness.db, harness.options
    job = await plan_job(db, scheduled=paris(2026, 11, 25, 9, 0))
    assert await tell_overdue(db, options, now=paris(2026, 11, 25, 9, 14)) == 0
    assert await tell_overdue(db, options, now=paris(2026, 11, 25, 9, 16)) == 1
    assert await tell_overdue(db, options, now=paris(2026, 11, 25, 11)) == 0
    (told,) = await sent_to(harness, OFFICE_CHAT)
    assert told.text == (
        f"⏰ {job.number} (Boulangerie Martin) était prévue le 25/11/2026 09:00 avec Paul "
        "et n'a pas commencé."
    )


# Once, whatever happens --------------------------------------------------------------------


async def _everything_due(db: Database) -> dt.datetime:
    """One of each reminder due at 18:00 on 25 November 2026, which it returns."""
    await plan_job(db, scheduled=paris(2026, 11, 26, 9, 0))  # tomorrow: the evening reminder
    await plan_job(db, client_name="Ce Soir", scheduled=paris(2026, 11, 25, 18, 30))  # soon
    idle = await plan_job(db, client_name="En Cours", scheduled=paris(2026, 11, 25, 13, 0))
    await change(db, idle, status=Status.IN_PROGRESS, updated_at=paris(2026, 11, 25, 14, 0))
    return paris(2026, 11, 25, 18, 0)


ALL: list[Reminder] = [remind_evening, remind_before, nudge_idle, send_digest]


async def _run_all(db: Database, options: Options, now: dt.datetime) -> list[int]:
    return [await job(db, options, DEFAULTS, now=now) for job in ALL]


async def _sent_rows(db: Database) -> list[tuple[int | None, str]]:
    async with db.sessions() as session:
        rows = await session.execute(
            select(Delivery.chat_id, Delivery.text)
            .where(Delivery.kind != outbox.MENU)
            .order_by(Delivery.id)
        )
        return [(chat_id, text or "") for chat_id, text in rows]


async def test_each_reminder_fires_once_across_a_restart(harness: Harness) -> None:
    now = await _everything_due(harness.db)
    assert await _run_all(harness.db, harness.options, now) == [1, 1, 1, 1]
    before = await _sent_rows(harness.db)
    assert len(before) == 4
    restarted = Database(harness.db.url)
    try:
        assert await _run_all(restarted, harness.options, now) == [0, 0, 0, 0]
        later = now + dt.timedelta(minutes=1)
        assert await _run_all(restarted, harness.options, later) == [0, 0, 0, 0]
    finally:
        await restarted.close()
    assert await _sent_rows(harness.db) == before


def _scheduler_in_its_own_thread(
    url: str, options: Options, now: dt.datetime, start: threading.Barrier
) -> list[int]:
    """A second bot process, as near as a test gets: its own thread, event loop and
    database engine (SQLite's calls block their thread while another holds the lock)."""

    async def run() -> list[int]:
        db = Database(url)
        try:
            start.wait()
            return await _run_all(db, options, now)
        finally:
            await db.close()

    return asyncio.run(run())


async def test_schedulers_racing_on_one_database_send_each_reminder_once(
    harness: Harness,
) -> None:
    now = await _everything_due(harness.db)
    racers = 3
    start = threading.Barrier(racers)
    counts = await asyncio.gather(
        *(
            asyncio.to_thread(
                _scheduler_in_its_own_thread, harness.db.url, harness.options, now, start
            )
            for _ in range(racers)
        )
    )
    assert [sum(column) for column in zip(*counts, strict=True)] == [1, 1, 1, 1], counts
    rows = await _sent_rows(harness.db)
    assert len(rows) == 4 and len(await claims(harness.db)) == 4
    assert sorted(chat for chat, _ in rows) == sorted([TECHNICIAN.id] * 3 + [OFFICE_CHAT])


async def test_a_claim_taken_by_another_scheduler_after_this_one_looked_is_not_sent_twice(
    database: Database,
) -> None:
    """Scheduler B looks before A commits its claim, then claims after: B loses."""
    other = Database(database.url)
    now = paris(2026, 11, 25, 18)
    try:
        async with other.sessions() as b:
            async with database.transaction() as a:
                assert await store.claim(a, "before", "42:1:202611251730", now)
                outbox.message(a, 20, "rappel")
                assert await store.sent(b, "before", ["42:1:202611251730"]) == set()
            assert not await store.claim(b, "before", "42:1:202611251730", now)
            await b.commit()
    finally:
        await other.close()
    async with database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Delivery)) == 1
        assert await session.scalar(select(func.count()).select_from(SentNotice)) == 1


async def test_a_reminder_whose_unit_of_work_fails_leaves_no_claim_and_comes_next_time(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, options = harness.db, harness.options
    await plan_job(db, scheduled=paris(2026, 11, 25, 14, 30))

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the disk is full")

    with monkeypatch.context() as patched:
        patched.setattr(reminders_module, "tell_person", broken)
        with pytest.raises(RuntimeError):
            await remind_before(db, options, DEFAULTS, now=paris(2026, 11, 25, 13, 30))
    assert await claims(db) == [] and await deliveries(harness) == []
    assert await remind_before(db, options, DEFAULTS, now=paris(2026, 11, 25, 13, 31)) == 1
    assert len(await sent_to(harness, TECHNICIAN.id)) == 1


# The scheduler, the settings and the rules -------------------------------------------------


async def test_the_scheduler_runs_each_reminder_at_start_with_its_clock(harness: Harness) -> None:
    now = await _everything_due(harness.db)
    handed: list[Delivery] = []
    scheduler = build_scheduler(
        harness.db, harness.options, handed.extend, reminders=DEFAULTS, clock=lambda: now
    )
    started = dt.datetime.now(dt.UTC)
    for job_id in REMINDER_JOBS:
        job = scheduler.get_job(job_id)
        assert job is not None and job.next_run_time <= started + dt.timedelta(seconds=1)
        assert await job.func(*job.args, **job.kwargs) == 1
    assert len(handed) == 4 and all(d.id is not None for d in handed)
    overdue = scheduler.get_job("tell-overdue")
    assert overdue is not None and await overdue.func(*overdue.args, **overdue.kwargs) == 0


def test_reminder_times_are_read_from_the_settings(
    clean_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "1:abc")
    settings = load_settings()
    assert Reminders.from_settings(settings) == Reminders()
    monkeypatch.setenv("REMIND_EVENING", "19h30")
    monkeypatch.setenv("REMIND_BEFORE_MINUTES", "0")
    monkeypatch.setenv("REMIND_IDLE_HOURS", "5")
    monkeypatch.setenv("DIGEST_AT", "")
    assert Reminders.from_settings(load_settings()) == Reminders(
        evening=dt.time(19, 30), before=None, idle=dt.timedelta(hours=5), digest=None
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "REMIND_EVENING=25:00",
            "REMIND_EVENING is invalid: '25:00' is not a time of day (write it as 18:00, "
            "or leave it empty to turn it off)",
        ),
        (
            "DIGEST_AT=le soir",
            "DIGEST_AT is invalid: 'le soir' is not a time of day (write it as 18:00, "
            "or leave it empty to turn it off)",
        ),
        (
            "REMIND_IDLE_HOURS=100",
            "REMIND_IDLE_HOURS is invalid: '100' is out of range (from 0 to 72)",
        ),
        (
            "REMIND_BEFORE_MINUTES=une heure",
            "REMIND_BEFORE_MINUTES is invalid: 'une heure' is not a whole number",
        ),
    ],
)
def test_a_malformed_reminder_setting_is_named_in_plain_words(
    clean_env: Any, line: str, message: str
) -> None:
    (clean_env / ".env").write_text(f"BOT_TOKEN=1:abc\n{line}\n")
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert str(raised.value) == f"{message}; edit .env"


def test_the_rules_follow_the_companys_clock_across_a_change_of_time() -> None:
    # Clocks go back at 03:00 on 25 October 2026 in Paris: 18:00 is 17:00 UTC that day.
    assert due.moment(dt.date(2026, 10, 25), dt.time(18), PARIS) == dt.datetime(
        2026, 10, 25, 17, 0, tzinfo=dt.UTC
    )
    start, end = due.day_span(dt.date(2026, 10, 25), PARIS)
    assert end - start == dt.timedelta(hours=25)
    assert due.evening_due(paris(2026, 10, 25, 17, 59), PARIS, dt.time(18)) is None
    assert due.evening_due(paris(2026, 10, 25, 18, 0), PARIS, dt.time(18)) == dt.date(2026, 10, 26)
    assert due.at_night(paris(2026, 10, 25, 21, 0), PARIS)
    assert not due.at_night(paris(2026, 10, 25, 7, 0), PARIS)


async def test_overdue_warnings_sent_before_the_claims_existed_are_not_sent_again(
    database: Database,
) -> None:
    job = await plan_job(database, scheduled=paris(2026, 11, 25, 9, 0))
    await migrate.downgrade(database.engine, "0005")
    async with database.engine.begin() as connection:
        await connection.execute(
            Delivery.__table__.insert().values(  # type: ignore[attr-defined]
                channel="telegram",
                chat_id=OFFICE_CHAT,
                kind="message",
                text="⏰ …",
                options={},
                state=DeliveryState.SENT,
                attempts=1,
                next_attempt_at=paris(2026, 11, 25, 9, 20),
                created_at=paris(2026, 11, 25, 9, 20),
                coalesce_key=f"overdue:{job.id}",
            )
        )
    await migrate.upgrade(database.engine)
    assert await claims(database) == [("overdue", str(job.id))]
    assert await tell_overdue(database, options_with(), now=paris(2026, 11, 25, 12)) == 0
