"""The office looks up a client's card (/client) and an intervention (/find)."""

from __future__ import annotations

import datetime as dt

import pytest

from handlers import lookup
from handlers.callbacks import ShowClient, ShowJob
from storage import interventions, users
from storage.models import Attachment, AttachmentKind, Intervention, Rating, Role, Site
from storage.status import Status
from tests.conftest import OFFICE_CHAT, TECHNICIAN, Harness, plan_job, texts
from tests.mocked import Person, button

DISPATCHER = Person(30, "Sophie", "sophie_bureau", "fr")
CLIENT = Person(40, "Élodie", "elodie_m", "fr")


@pytest.fixture
async def desk(harness: Harness) -> Harness:
    """The harness with a dispatcher registered."""
    async with harness.db.transaction() as session:
        await users.add(session, DISPATCHER.id, DISPATCHER.first_name, Role.DISPATCHER)
    return harness


def test_numbers_are_read_as_the_office_types_them() -> None:
    for typed in ("OT-2026-0042", "ot 2026 42", "2026-42", " OT2026/0042 ", "ot-2026-42"):
        assert lookup.parse_number(typed) == "OT-2026-0042", typed
    for typed in ("", "42", "OT-26-42", "demain", "2026"):
        assert lookup.parse_number(typed) is None, typed


async def test_client_card_shows_contact_sites_history_rating_and_a_button_per_intervention(
    desk: Harness,
) -> None:
    first = await plan_job(desk.db, scheduled=dt.datetime(2026, 11, 3, 9, tzinfo=dt.UTC))
    async with desk.db.transaction() as session:
        session.add(Site(client_id=first.client_id, name="Atelier <nord>", address="Rue B"))
        second = await interventions.create(
            session,
            year=2026,
            client_id=first.client_id,
            kind="repair",
            template="repair",
            scheduled_at=dt.datetime(2026, 11, 20, 13, tzinfo=dt.UTC),
        )
        job = await session.get(Intervention, first.id)
        assert job is not None
        job.status = Status.VALIDATED
        session.add(Rating(intervention_id=first.id, client_id=first.client_id, score=4))
    (card,) = await desk.say(DISPATCHER, "/client martin")
    text = card.text
    for expected in (
        "Boulangerie Martin",
        "Mme Martin",
        "01 23 45 67 89",
        "12 rue de la Paix",
        "Compte Telegram lié : non",
        "Atelier &lt;nord&gt; (Rue B)",
        "Dernières interventions (2)",
        "03/11/2026 · <b>OT-2026-0001</b> · Entretien · validée · Paul · ★★★★",
        "20/11/2026 · <b>OT-2026-0002</b> · Dépannage · planifiée · non assignée",
    ):
        assert expected in text, expected
    assert text.index("OT-2026-0002") < text.index("OT-2026-0001")  # newest first
    assert [label for label, _ in card.buttons()] == ["🔎 OT-2026-0002", "🔎 OT-2026-0001"]

    opened = await desk.press(DISPATCHER, card, button(card, second.number))
    assert any("🔎 <b>OT-2026-0002</b> · Dépannage" in t for t in texts(opened))


async def test_several_matching_clients_are_offered_as_buttons(desk: Harness) -> None:
    await plan_job(desk.db, client_name="Boulangerie Martin")
    await plan_job(desk.db, client_name="Boulangerie Émile")
    (choice,) = await desk.say(DISPATCHER, "/client boulangerie")
    assert "Plusieurs clients" in choice.text
    labels = sorted(label for label, _ in choice.buttons())
    assert labels == ["Boulangerie Martin", "Boulangerie Émile"]
    calls = await desk.press(DISPATCHER, choice, button(choice, "Émile"))
    assert any("<b>Boulangerie Émile</b>" in t for t in texts(calls))


async def test_unknown_client_or_no_name_says_what_to_type(desk: Harness) -> None:
    (calls,) = await desk.say(DISPATCHER, "/client zzzzqqq")
    assert "Aucun client ne ressemble à « zzzzqqq »" in calls.text
    (calls,) = await desk.say(DISPATCHER, "/client")
    assert "/client boulangerie" in calls.text


async def test_find_shows_the_card_the_audit_trail_and_sends_the_latest_pdf(
    desk: Harness,
) -> None:
    job = await plan_job(desk.db)
    stored = desk.files.save("reports", b"%PDF-1.4 fake", ".pdf")
    async with desk.db.transaction() as session:
        row = await session.get(Intervention, job.id)
        dispatcher = await users.by_telegram_id(session, DISPATCHER.id)
        assert row is not None and dispatcher is not None
        await interventions.change_status(
            session, row, Status.POSTPONED, dispatcher, "Client <absent>"
        )
        session.add(
            Attachment(
                intervention_id=job.id,
                kind=AttachmentKind.REPORT,
                path=stored.path,
                file_name=f"{job.number}.pdf",
            )
        )
    for typed in ("OT-2026-0001", "ot 2026 1", "2026-1"):
        (card,) = await desk.say(DISPATCHER, f"/find {typed}", chat_id=OFFICE_CHAT)
        assert card.chat_id == OFFICE_CHAT
        assert "🔎 <b>OT-2026-0001</b> · Entretien" in card.text
        assert "Statut : reportée" in card.text and "Client : Boulangerie Martin" in card.text
        assert "Technicien : Paul" in card.text
        trail = card.text.split("Historique :")[1]
        assert "planifiée · automatique" in trail
        assert "reportée · Sophie\n  <i>Client &lt;absent&gt;</i>" in trail
        sent = await desk.deliver()
        assert [(call.method, call.chat_id) for call in sent] == [("sendDocument", OFFICE_CHAT)]


async def test_find_without_pdf_or_with_an_unknown_number_says_so(desk: Harness) -> None:
    await plan_job(desk.db)
    calls = await desk.say(DISPATCHER, "/find 2026-1")
    assert texts(calls)[-1] == "Pas encore de rapport PDF pour cette intervention."
    assert await desk.deliver() == []
    (calls_unknown,) = await desk.say(DISPATCHER, "/find OT-2026-0099")
    assert calls_unknown.text == "Aucune intervention ne porte le numéro OT-2026-0099."
    (calls_bad,) = await desk.say(DISPATCHER, "/find hier")
    assert "/find OT-2026-0042" in calls_bad.text


async def test_client_and_find_are_refused_outside_the_office(desk: Harness) -> None:
    await plan_job(desk.db)  # registers TECHNICIAN
    async with desk.db.transaction() as session:
        await users.add(session, CLIENT.id, CLIENT.first_name, Role.CLIENT)
    (card,) = await desk.say(DISPATCHER, "/client martin")
    for person in (TECHNICIAN, CLIENT):
        for command in ("/client martin", "/find OT-2026-0001"):
            (answer,) = await desk.say(person, command)
            assert answer.text == "Cette commande est réservée au bureau."
        pressed = await desk.press(person, card, button(card, "OT-2026-0001"))
        assert [call.method for call in pressed] == ["answerCallbackQuery"]
        assert pressed[0].params["text"] == "Vous n'avez pas accès à cette action."
    assert await desk.deliver() == []


async def test_a_button_naming_a_vanished_intervention_gets_a_polite_answer(
    desk: Harness,
) -> None:
    await plan_job(desk.db)
    (card,) = await desk.say(DISPATCHER, "/client martin")
    for data in (ShowJob(intervention_id=9999).pack(), ShowClient(client_id=9999).pack()):
        pressed = await desk.press(DISPATCHER, card, data)
        assert [call.method for call in pressed] == ["answerCallbackQuery"]
        assert "plus actif" in pressed[0].params["text"]
