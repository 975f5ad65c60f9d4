"""/plan, /change and /board: the office plans interventions, changes them, and sees the
day by technician; technicians are told through the outbox."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from storage import interventions
from storage.models import Client, Intervention, Role, StatusChange
from storage.status import Status
from tests.conftest import OFFICE_CHAT, TECHNICIAN, Harness, plan_job, register
from tests.mocked import Call, Person, button

DISPATCHER = Person(30, "Sophie", None, "fr")
MARC = Person(21, "Marc", None, "fr")


async def staff(harness: Harness) -> None:
    await register(harness, DISPATCHER, Role.DISPATCHER)
    await register(harness, TECHNICIAN, Role.TECHNICIAN)
    await register(harness, MARC, Role.TECHNICIAN)


async def only_intervention(harness: Harness) -> Intervention:
    async with harness.db.sessions() as session:
        found = (await session.scalars(select(Intervention))).all()
        assert len(found) == 1
        loaded = await interventions.for_planning(session, found[0].id)
    assert loaded is not None
    return loaded


async def trail(harness: Harness) -> list[tuple[str | None, str, str | None]]:
    async with harness.db.sessions() as session:
        moves = (await session.scalars(select(StatusChange).order_by(StatusChange.id))).all()
    return [(m.from_status, m.to_status, m.note) for m in moves]


def tomorrow(harness: Harness, hour: int) -> dt.datetime:
    today = dt.datetime.now(harness.options.tz).date()
    moment = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(hour), harness.options.tz)
    return moment


async def plan_for_existing_client(harness: Harness) -> Call:
    """/plan for Boulangerie Martin tomorrow 9h with Paul: the confirmation."""
    async with harness.db.transaction() as session:
        session.add(Client(name="Boulangerie Martin", address="12 rue de la Paix, 75002 Paris"))
    await harness.say(DISPATCHER, "/plan")
    results = (await harness.say(DISPATCHER, "boulangeri martn"))[-1]
    site = (await harness.press(DISPATCHER, results, button(results, "Boulangerie Martin")))[-1]
    kinds = (await harness.press(DISPATCHER, site, button(site, "adresse du client")))[-1]
    (await harness.press(DISPATCHER, kinds, button(kinds, "Entretien")))[-1]
    await harness.say(DISPATCHER, "Entretien annuel de la chaudière")
    who = (await harness.say(DISPATCHER, "demain 9h"))[-1]
    return (await harness.press(DISPATCHER, who, button(who, "Paul")))[-1]


#: Thursday 14 May 2026 at 10:00 in Paris, the office's clock in the tests below.
THURSDAY_10 = dt.datetime(2026, 5, 14, 8, 0, tzinfo=dt.UTC)
SOPHIA = Person(31, "Sophia", None, "en")


def paris(month: int, day: int, hour: int) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=ZoneInfo("Europe/Paris"))


async def up_to_the_date(harness: Harness) -> None:
    """/plan for Garage Dupont, up to the question of the day and time."""
    async with harness.db.transaction() as session:
        session.add(Client(name="Garage Dupont"))
    await harness.say(DISPATCHER, "/plan")
    results = (await harness.say(DISPATCHER, "garag dupon"))[-1]
    site = (await harness.press(DISPATCHER, results, button(results, "Garage Dupont")))[-1]
    kinds = (await harness.press(DISPATCHER, site, button(site, "adresse du client")))[-1]
    await harness.press(DISPATCHER, kinds, button(kinds, "Contrôle"))
    ask = (await harness.say(DISPATCHER, "Contrôle annuel"))[-1]
    assert "« jeudi 14h »" in ask.text


async def test_plan_with_a_new_client_tells_the_technician_and_the_office(
    harness: Harness,
) -> None:
    await staff(harness)
    ask = (await harness.say(DISPATCHER, "/plan"))[-1]
    assert "Planifier une intervention" in ask.text
    name = (await harness.press(DISPATCHER, ask, button(ask, "Nouveau client")))[-1]
    assert "Le nom du client" in name.text
    await harness.say(DISPATCHER, "Garage Dupont")
    await harness.say(DISPATCHER, "M. Dupont")
    bad = (await harness.say(DISPATCHER, "pas un numéro"))[-1]
    assert "ne ressemble pas à un téléphone" in bad.text
    await harness.say(DISPATCHER, "01 23 45 67 89")
    await harness.say(DISPATCHER, "garage@dupont.fr")
    site = (await harness.say(DISPATCHER, "3 rue des Lilas, 69003 Lyon"))[-1]
    assert "Nouveau client enregistré" in site.text and "Où a lieu" in site.text
    where = (await harness.press(DISPATCHER, site, button(site, "Autre lieu")))[-1]
    assert "L'adresse du lieu" in where.text
    kinds = (await harness.say(DISPATCHER, "Atelier\n5 rue du Port, 69007 Lyon"))[-1]
    assert "Quel type d'intervention" in kinds.text
    request = (await harness.press(DISPATCHER, kinds, button(kinds, "Dépannage")))[-1]
    assert "Décrivez la demande" in request.text
    when = (await harness.say(DISPATCHER, "Le pont élévateur ne monte plus"))[-1]
    assert "Quel jour" in when.text
    who = (await harness.say(DISPATCHER, "demain 14h30"))[-1]
    assert [text for text, _ in who.buttons()] == ["Paul", "Marc"]
    done = (await harness.press(DISPATCHER, who, button(who, "Paul")))[-1]

    job = await only_intervention(harness)
    assert job.status == Status.PLANNED and job.kind == "repair"
    assert job.technician is not None and job.technician.name == "Paul"
    assert job.scheduled_at == tomorrow(harness, 14).replace(minute=30)
    assert job.site is not None and job.site.name == "Atelier"
    assert job.request == "Le pont élévateur ne monte plus"
    assert f"Intervention <b>{job.number}</b> planifiée" in done.text
    assert [text for text, _ in done.buttons()] == [
        "👷 Réassigner",
        "🗓 Replanifier",
        "⏸ Reporter",
        "✖️ Annuler",
    ]

    sent = await harness.deliver()
    to_paul = [call for call in sent if call.chat_id == TECHNICIAN.id]
    when_text = harness.options.local(job.scheduled_at)
    assert len(to_paul) == 1
    assert (
        f"Nouvelle intervention <b>{job.number}</b> le {when_text} chez Garage Dupont "
        "(Atelier\n5 rue du Port, 69007 Lyon)" in to_paul[0].text
    )
    card = (await harness.press(TECHNICIAN, to_paul[0], button(to_paul[0], "Ouvrir")))[-1]
    assert "Le pont élévateur ne monte plus" in card.text
    to_office = [call for call in sent if call.chat_id == OFFICE_CHAT]
    assert len(to_office) == 1 and f"{job.number}</b> assignée à Paul" in to_office[0].text


async def test_a_typo_finds_the_existing_client_and_plans_at_its_address(
    harness: Harness,
) -> None:
    await staff(harness)
    done = await plan_for_existing_client(harness)
    assert "planifiée" in done.text and "12 rue de la Paix" in done.text
    job = await only_intervention(harness)
    assert job.client.name == "Boulangerie Martin" and job.site is None
    assert job.scheduled_at == tomorrow(harness, 9)
    assert await trail(harness) == [(None, Status.PLANNED, None)]


async def test_no_client_found_offers_another_search_and_then_finds_the_client(
    harness: Harness,
) -> None:
    await staff(harness)
    async with harness.db.transaction() as session:
        session.add(Client(name="Boulangerie Martin", address="12 rue de la Paix, 75002 Paris"))
    await harness.say(DISPATCHER, "/plan")
    results = (await harness.say(DISPATCHER, "pharmacie"))[-1]
    assert "Aucun client ne ressemble à « pharmacie »" in results.text
    assert [text for text, _ in results.buttons()] == [
        "➕ Nouveau client",
        "🔎 Chercher un autre nom",
    ]
    again = (await harness.press(DISPATCHER, results, button(results, "Chercher")))[-1]
    assert "Planifier une intervention" in again.text
    found = (await harness.say(DISPATCHER, "boulangerie"))[-1]
    site = (await harness.press(DISPATCHER, found, button(found, "Boulangerie Martin")))[-1]
    assert "Où a lieu" in site.text
    async with harness.db.sessions() as session:
        assert (await session.scalars(select(Intervention))).all() == []
        assert len((await session.scalars(select(Client))).all()) == 1


async def test_a_bad_date_and_a_past_date_are_refused_and_the_step_stays(
    harness: Harness,
) -> None:
    await staff(harness)
    await up_to_the_date(harness)
    bad = (await harness.say(DISPATCHER, "la semaine prochaine"))[-1]
    assert "22/11/2026 14h30" in bad.text
    past = (await harness.say(DISPATCHER, "01/01/2020 10h"))[-1]
    assert "déjà passée" in past.text
    who = (await harness.say(DISPATCHER, "demain 8h"))[-1]
    assert "Quel technicien" in who.text


async def test_reassign_tells_both_technicians(harness: Harness) -> None:
    await staff(harness)
    done = await plan_for_existing_client(harness)
    await harness.deliver()
    pick = (await harness.press(DISPATCHER, done, button(done, "Réassigner")))[-1]
    assert [text for text, _ in pick.buttons()] == ["Marc"]
    after = (await harness.press(DISPATCHER, pick, button(pick, "Marc")))[-1]
    assert "confiée à Marc" in after.text and "Technicien : Marc" in after.text

    sent = await harness.deliver()
    job = await only_intervention(harness)
    paul = [call.text for call in sent if call.chat_id == TECHNICIAN.id]
    marc = [call for call in sent if call.chat_id == MARC.id]
    assert len(paul) == 1 and "confiée à un autre technicien" in paul[0]
    assert len(marc) == 1 and f"Nouvelle intervention <b>{job.number}</b>" in marc[0].text
    assert marc[0].buttons() and job.technician is not None and job.technician.name == "Marc"
    assert (await trail(harness))[-1] == (
        Status.PLANNED,
        Status.PLANNED,
        "Réassignée : Paul → Marc",
    )
    # A second press on the same button changes nothing.
    again = await harness.press(DISPATCHER, pick, button(pick, "Marc"))
    assert again[-1].method == "answerCallbackQuery"


async def test_reschedule_moves_the_date_and_tells_the_technician(harness: Harness) -> None:
    await staff(harness)
    done = await plan_for_existing_client(harness)
    await harness.deliver()
    ask = (await harness.press(DISPATCHER, done, button(done, "Replanifier")))[-1]
    assert "Nouvelle date" in ask.text
    past = (await harness.say(DISPATCHER, "01/01/2020 10h"))[-1]
    assert "déjà passée" in past.text
    after = (await harness.say(DISPATCHER, "demain 16h"))[-1]
    new_time = harness.options.local(tomorrow(harness, 16))
    assert f"replanifiée le {new_time}" in after.text

    job = await only_intervention(harness)
    assert job.scheduled_at == tomorrow(harness, 16) and job.status == Status.PLANNED
    old_time = harness.options.local(tomorrow(harness, 9))
    assert (await trail(harness))[-1] == (
        Status.PLANNED,
        Status.PLANNED,
        f"Replanifiée : {old_time} → {new_time}",
    )
    told = [c.text for c in await harness.deliver() if c.chat_id == TECHNICIAN.id]
    assert len(told) == 1 and f"déplacée du {old_time} au {new_time}" in told[0]


async def test_postpone_with_a_reason_then_the_technician_sees_it_postponed(
    harness: Harness,
) -> None:
    await staff(harness)
    done = await plan_for_existing_client(harness)
    await harness.deliver()
    ask = (await harness.press(DISPATCHER, done, button(done, "Reporter")))[-1]
    assert "Pourquoi reporter" in ask.text
    when = (await harness.say(DISPATCHER, "Pièce pas encore livrée"))[-1]
    assert "Reportée à quand" in when.text
    after = (await harness.say(DISPATCHER, "demain 17h"))[-1]
    assert "reportée au" in after.text and "Statut : reportée" in after.text
    assert [text for text, _ in after.buttons()] == ["👷 Réassigner", "🗓 Replanifier", "✖️ Annuler"]

    job = await only_intervention(harness)
    assert job.status == Status.POSTPONED and job.scheduled_at == tomorrow(harness, 17)
    new_time = harness.options.local(tomorrow(harness, 17))
    assert (await trail(harness))[-1] == (
        Status.PLANNED,
        Status.POSTPONED,
        f"Pièce pas encore livrée (reportée au {new_time})",
    )
    told = [c for c in await harness.deliver() if c.chat_id == TECHNICIAN.id]
    assert len(told) == 1
    assert f"<b>{job.number}</b> chez Boulangerie Martin est reportée au {new_time}" in told[0].text
    assert "Motif : Pièce pas encore livrée" in told[0].text
    card = (await harness.press(TECHNICIAN, told[0], button(told[0], "Ouvrir")))[-1]
    assert new_time in card.text


async def test_cancel_with_a_reason_is_recorded_and_told(harness: Harness) -> None:
    await staff(harness)
    done = await plan_for_existing_client(harness)
    await harness.deliver()
    await harness.press(DISPATCHER, done, button(done, "Annuler"))
    after = (await harness.say(DISPATCHER, "Le client a <b>résilié</b>"))[-1]
    assert "est annulée" in after.text and not after.buttons()

    job = await only_intervention(harness)
    assert job.status == Status.CANCELLED
    assert (await trail(harness))[-1] == (
        Status.PLANNED,
        Status.CANCELLED,
        "Le client a <b>résilié</b>",
    )
    told = [c.text for c in await harness.deliver() if c.chat_id == TECHNICIAN.id]
    assert (
        len(told) == 1 and "est annulée. Motif : Le client a &lt;b&gt;résilié&lt;/b&gt;" in told[0]
    )
    # The old confirmation's buttons no longer change anything.
    late = (await harness.press(DISPATCHER, done, button(done, "Reporter")))[-1]
    assert late.method == "answerCallbackQuery" and "annulée" in late.params["text"]


async def test_change_by_number_shows_the_card_with_its_buttons(harness: Harness) -> None:
    await register(harness, DISPATCHER, Role.DISPATCHER)
    job = await plan_job(harness.db)
    card = (await harness.say(DISPATCHER, f"/change {job.number.lower()}"))[-1]
    assert f"<b>{job.number}</b>" in card.text and "Statut : planifiée" in card.text
    assert len(card.buttons()) == 4
    unknown = (await harness.say(DISPATCHER, "/change OT-1999-0001"))[-1]
    assert "Aucune intervention" in unknown.text


async def test_a_technician_cannot_plan_or_change(harness: Harness) -> None:
    await register(harness, TECHNICIAN, Role.TECHNICIAN)
    job = await plan_job(harness.db)
    for command in ("/plan", f"/change {job.number}", "/board"):
        answer = (await harness.say(TECHNICIAN, command))[-1]
        assert answer.text == "Cette commande est réservée au bureau."


async def test_board_lists_today_by_technician_with_statuses(harness: Harness) -> None:
    await register(harness, DISPATCHER, Role.DISPATCHER)
    now = dt.datetime.now(dt.UTC)
    today = now.astimezone(harness.options.tz).date()
    noon = dt.datetime.combine(today, dt.time(12), harness.options.tz)
    first = await plan_job(harness.db, scheduled=noon, client_name="Boulangerie Martin")
    await plan_job(harness.db, scheduled=noon + dt.timedelta(hours=1), technician=MARC)
    await plan_job(harness.db, scheduled=noon + dt.timedelta(days=2), client_name="Plus tard")
    async with harness.db.transaction() as session:
        job = await session.get(Intervention, first.id)
        assert job is not None
        await interventions.change_status(session, job, Status.IN_PROGRESS, None)
    board = (await harness.say(DISPATCHER, "/today"))[-1]
    lines = board.text.split("\n")
    assert today.strftime("%d/%m/%Y") in lines[0]
    marc, paul = lines.index("<b>Marc</b>"), lines.index("<b>Paul</b>")
    assert marc < paul
    assert lines[marc + 1].startswith("• 13:00 <b>OT-2026-") and "planifiée" in lines[marc + 1]
    assert "Boulangerie Martin · en cours" in lines[paul + 1]
    assert "Plus tard" not in board.text


async def test_a_day_without_an_hour_is_kept_and_the_hour_alone_then_plans_it(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("handlers.planner.utcnow", lambda: THURSDAY_10)
    await staff(harness)
    await up_to_the_date(harness)
    ask = (await harness.say(DISPATCHER, "dans 2 jours"))[-1]
    assert ask.text.startswith("Le samedi 16 mai 2026, à quelle heure ?"), ask.text
    assert ask.buttons() == []
    ambiguous = (await harness.say(DISPATCHER, "3"))[-1]
    assert ambiguous.text.startswith("« 3 » : 3 h du matin ou 15 h ?"), ambiguous.text
    who = (await harness.say(DISPATCHER, "15h"))[-1]
    assert who.text.startswith("🗓 Prévue le samedi 16 mai 2026 à 15:00.\n\nQuel technicien ?")
    await harness.press(DISPATCHER, who, button(who, "Paul"))
    job = await only_intervention(harness)
    assert job.scheduled_at == paris(5, 16, 15)


async def test_a_weekday_of_today_is_today_while_its_hour_is_ahead(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("handlers.planner.utcnow", lambda: THURSDAY_10)
    await staff(harness)
    await up_to_the_date(harness)
    who = (await harness.say(DISPATCHER, "jeudi 14h"))[-1]
    assert who.text.startswith("🗓 Prévue le jeudi 14 mai 2026 à 14:00.")
    await harness.press(DISPATCHER, who, button(who, "Marc"))
    assert (await only_intervention(harness)).scheduled_at == paris(5, 14, 14)


async def test_a_date_that_cannot_be_planned_is_asked_again_and_nothing_is_planned(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("handlers.planner.utcnow", lambda: THURSDAY_10)
    await staff(harness)
    await up_to_the_date(harness)
    for typed, said in (
        ("9h", "Cette date est déjà passée : jeudi 14 mai 2026 à 09:00."),
        ("12/25 14h", "« 12/25 » : les dates s'écrivent le jour d'abord"),
        ("vendredi 16 mai 14h", "Le samedi 16 mai 2026 n'est pas un vendredi."),
        ("demain 25h", "Je n'ai pas compris cette heure."),
    ):
        answer = (await harness.say(DISPATCHER, typed))[-1]
        assert answer.text.startswith(said), answer.text
        assert answer.buttons() == []
    async with harness.db.sessions() as session:
        assert (await session.scalars(select(Intervention))).all() == []
    # "demain 25h" kept the day: the hour alone is tomorrow.
    who = (await harness.say(DISPATCHER, "10h"))[-1]
    assert who.text.startswith("🗓 Prévue le vendredi 15 mai 2026 à 10:00.")


async def test_an_english_dispatcher_reschedules_in_english_words(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await staff(harness)
    await register(harness, SOPHIA, Role.DISPATCHER)
    await plan_for_existing_client(harness)
    monkeypatch.setattr("handlers.planner.utcnow", lambda: THURSDAY_10)
    job = await only_intervention(harness)
    card = (await harness.say(SOPHIA, f"/change {job.number}"))[-1]
    ask = (await harness.press(SOPHIA, card, button(card, "Reschedule")))[-1]
    assert "thursday 2pm" in ask.text
    past = (await harness.say(SOPHIA, "yesterday 9am"))[-1]
    assert past.text.startswith("That date has already passed: Wednesday 13 May 2026 at 09:00.")
    ambiguous = (await harness.say(SOPHIA, "next monday at 2"))[-1]
    assert ambiguous.text.startswith('"2": 2 at night or 14:00? Answer "2am" or "2pm".')
    assert (await only_intervention(harness)).scheduled_at == job.scheduled_at
    after = (await harness.say(SOPHIA, "2pm"))[-1]
    assert "is rescheduled for 18/05/2026 14:00" in after.text, after.text
    assert (await only_intervention(harness)).scheduled_at == paris(5, 18, 14)
