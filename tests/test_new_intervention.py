"""/new: a technician opens an intervention on the spot, for a client found by a few
letters of its name or created there, with the template of their choice."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from storage import interventions, users
from storage.interventions import format_number
from storage.models import Client, Intervention, Role, StatusChange
from storage.status import Status
from tests.conftest import TECHNICIAN, Harness, plan_job, register, texts
from tests.mocked import Call, Person, button

DISPATCHER = Person(30, "Sophie", None, "fr")
STICKER = {
    "file_id": "s",
    "file_unique_id": "su",
    "type": "regular",
    "width": 512,
    "height": 512,
    "is_animated": False,
    "is_video": False,
}


async def add_client(harness: Harness, name: str, address: str | None = None) -> None:
    async with harness.db.transaction() as session:
        session.add(Client(name=name, address=address))


async def only_intervention(harness: Harness) -> Intervention:
    async with harness.db.sessions() as session:
        found = (await session.scalars(select(Intervention))).all()
    assert len(found) == 1
    return found[0]


def this_year(harness: Harness) -> int:
    return dt.datetime.now(dt.UTC).astimezone(harness.options.tz).year


def labels(call: Call) -> list[str]:
    return [text for text, _ in call.buttons()]


async def search(harness: Harness, typed: str, person: Person = TECHNICIAN) -> Call:
    """/new, then type part of a name: the message with the results."""
    ask = (await harness.say(person, "/new"))[-1]
    assert "Tapez une partie du nom du client" in ask.text
    return (await harness.say(person, typed))[-1]


async def test_a_typo_in_the_name_still_finds_the_client_best_first(harness: Harness) -> None:
    await register(harness, TECHNICIAN, Role.TECHNICIAN)
    await add_client(harness, "Boulangerie Martin", "12 rue de la Paix, 75002 Paris")
    await add_client(harness, "Boulangerie Marty")
    await add_client(harness, "Garage Dupont")
    results = await search(harness, "boulangeri martn")
    assert "boulangeri martn" in results.text
    assert labels(results) == [
        "Boulangerie Martin · 12 rue de la Paix, 75002 Paris",
        "Boulangerie Marty",
        "➕ Nouveau client",
    ]


async def test_accents_and_case_are_ignored_in_the_search(harness: Harness) -> None:
    await register(harness, TECHNICIAN, Role.TECHNICIAN)
    await add_client(harness, "Pâtisserie Émile")
    results = await search(harness, "PATISSERIE emile")
    assert labels(results)[0] == "Pâtisserie Émile"


async def test_a_long_address_is_shortened_in_the_button(harness: Harness) -> None:
    await register(harness, TECHNICIAN, Role.TECHNICIAN)
    await add_client(harness, "Garage Dupont", "Zone artisanale des Quatre Chemins, 44000 Nantes")
    label = labels(await search(harness, "garage"))[0]
    assert label.startswith("Garage Dupont · Zone artisanale") and label.endswith("…")
    assert len(label) <= 60


async def test_no_result_offers_a_new_client_or_another_search(harness: Harness) -> None:
    await register(harness, TECHNICIAN, Role.TECHNICIAN)
    await add_client(harness, "Garage Dupont")
    results = await search(harness, "pharmacie")
    assert "Aucun client ne ressemble à « pharmacie »" in results.text
    assert labels(results) == ["➕ Nouveau client", "🔎 Chercher un autre nom"]
    again = (await harness.press(TECHNICIAN, results, button(results, "Chercher")))[-1]
    assert "Tapez une partie du nom du client" in again.text
    assert labels((await harness.say(TECHNICIAN, "garage"))[-1])[0] == "Garage Dupont"


async def test_a_single_letter_asks_for_more(harness: Harness) -> None:
    await register(harness, TECHNICIAN, Role.TECHNICIAN)
    answer = await search(harness, "b")
    assert "au moins 2 lettres" in answer.text


async def test_picking_a_client_and_a_template_starts_the_report_at_its_first_question(
    harness: Harness,
) -> None:
    await register(harness, TECHNICIAN, Role.TECHNICIAN)
    await add_client(harness, "Boulangerie Martin", "12 rue de la Paix, 75002 Paris")
    results = await search(harness, "boulangeri martn")
    ask = (await harness.press(TECHNICIAN, results, button(results, "Boulangerie Martin")))[-1]
    assert "Client : <b>Boulangerie Martin</b> · 12 rue de la Paix" in ask.text
    assert "Quel type d'intervention ?" in ask.text
    assert labels(ask) == ["Contrôle", "Dépannage", "Entretien", "Installation"]

    calls = await harness.press(TECHNICIAN, ask, button(ask, "Dépannage"))
    number = format_number(this_year(harness), 1)
    # The template question, answered, now says what was created (its buttons gone);
    # then the start with the location button, and the first question.
    (created,) = [c for c in calls if c.method == "editMessageText"]
    assert f"Intervention <b>{number}</b> créée pour Boulangerie Martin (Dépannage)" in created.text
    assert created.buttons() == []
    started, first = [c for c in calls if c.method == "sendMessage"]
    assert "commencée à" in started.text
    location = started.params["reply_markup"]["keyboard"][0][0]
    assert location["request_location"] is True
    assert f"<b>{number}</b> · Boulangerie Martin" in first.text
    assert "Étape 1/13 · Contexte" in first.text

    job = await only_intervention(harness)
    assert job.number == number and job.year == this_year(harness)
    assert job.status == Status.IN_PROGRESS and job.template == "repair" and job.kind == "repair"
    assert job.started_at is not None and job.scheduled_at is not None
    async with harness.db.sessions() as session:
        tech = await users.by_telegram_id(session, TECHNICIAN.id)
        moves = (await session.scalars(select(StatusChange).order_by(StatusChange.id))).all()
    assert tech is not None
    assert job.technician_id == tech.id and job.created_by_id == tech.id
    assert tech.current_intervention_id == job.id
    assert [(m.from_status, m.to_status) for m in moves] == [
        (None, Status.PLANNED),
        (Status.PLANNED, Status.IN_PROGRESS),
    ]

    answer = texts(await harness.say(TECHNICIAN, "Le four ne chauffe plus."))
    assert "Étape 2/13" in answer[-1]


async def test_the_new_number_follows_the_ones_already_given_this_year(harness: Harness) -> None:
    await register(harness, TECHNICIAN, Role.TECHNICIAN)
    async with harness.db.transaction() as session:
        client = Client(name="Garage Dupont")
        session.add(client)
        await session.flush()
        await interventions.create(
            session, year=this_year(harness), client_id=client.id, kind="repair", template="repair"
        )
    results = await search(harness, "garage")
    ask = (await harness.press(TECHNICIAN, results, button(results, "Garage Dupont")))[-1]
    calls = await harness.press(TECHNICIAN, ask, button(ask, "Entretien"))
    assert (
        f"<b>{format_number(this_year(harness), 2)}</b> créée pour Garage Dupont" in calls[1].text
    )


async def test_a_new_client_with_a_bad_email_then_a_good_one_is_created(harness: Harness) -> None:
    await register(harness, TECHNICIAN, Role.TECHNICIAN)
    results = await search(harness, "dupont plomberie")
    ask = (await harness.press(TECHNICIAN, results, button(results, "Nouveau client")))[-1]
    assert "Le nom du client" in ask.text
    assert labels(ask) == ["✅ « dupont plomberie »"]

    ask = (await harness.say(TECHNICIAN, "Dupont  Plomberie"))[-1]
    assert "<b>Nouveau client</b> Dupont Plomberie · 2/5" in ask.text
    assert labels(ask) == ["⏭ Passer"]
    ask = (await harness.say(TECHNICIAN, "M. Dupont"))[-1]
    assert "téléphone" in ask.text
    bad = (await harness.say(TECHNICIAN, "pas de téléphone"))[-1]
    assert "ne ressemble pas à un téléphone" in bad.text
    ask = (await harness.say(TECHNICIAN, "06 12 34 56 78"))[-1]
    assert "e-mail" in ask.text

    bad = (await harness.say(TECHNICIAN, "dupont at gmail"))[-1]
    assert "n'est pas valable" in bad.text and "nom@domaine.fr" in bad.text
    bad = (await harness.say(TECHNICIAN, "dupont@gmail"))[-1]
    assert "n'est pas valable" in bad.text
    ask = (await harness.say(TECHNICIAN, "contact@dupont-plomberie.fr"))[-1]
    assert "L'adresse de l'intervention" in ask.text

    ask = (await harness.say(TECHNICIAN, "3 place du Marché\n44000 Nantes"))[-1]
    assert "Nouveau client enregistré" in ask.text
    assert "Client : <b>Dupont Plomberie</b> · 3 place du Marché" in ask.text
    async with harness.db.sessions() as session:
        client = await session.scalar(select(Client))
    assert client is not None
    assert (client.name, client.contact_name, client.phone, client.email, client.address) == (
        "Dupont Plomberie",
        "M. Dupont",
        "06 12 34 56 78",
        "contact@dupont-plomberie.fr",
        "3 place du Marché\n44000 Nantes",
    )

    calls = await harness.press(TECHNICIAN, ask, button(ask, "Installation"))
    assert "créée pour Dupont Plomberie (Installation)" in calls[1].text
    job = await only_intervention(harness)
    assert job.client_id == client.id and job.template == "installation"


async def test_a_new_client_needs_only_a_name(harness: Harness) -> None:
    await register(harness, TECHNICIAN, Role.TECHNICIAN)
    ask = (await harness.say(TECHNICIAN, "/new"))[-1]
    ask = (await harness.press(TECHNICIAN, ask, button(ask, "Nouveau client")))[-1]
    assert labels(ask) == []  # the name cannot be skipped
    assert "obligatoire" in (await harness.say(TECHNICIAN, "/skip"))[-1].text
    ask = (await harness.say(TECHNICIAN, "Mme Leroy"))[-1]
    ask = (await harness.press(TECHNICIAN, ask, button(ask, "Passer")))[-1]
    ask = (await harness.press(TECHNICIAN, ask, button(ask, "Passer")))[-1]
    ask = (await harness.say(TECHNICIAN, "/skip"))[-1]
    ask = (await harness.press(TECHNICIAN, ask, button(ask, "Passer")))[-1]
    assert "Client : <b>Mme Leroy</b>\n" in ask.text
    async with harness.db.sessions() as session:
        client = await session.scalar(select(Client))
    assert client is not None and client.name == "Mme Leroy"
    assert (client.contact_name, client.phone, client.email, client.address) == (None,) * 4


async def test_the_searched_words_can_become_the_new_clients_name(harness: Harness) -> None:
    await register(harness, TECHNICIAN, Role.TECHNICIAN)
    results = await search(harness, "Café <b>du</b> Port")
    assert "« Café &lt;b&gt;du&lt;/b&gt; Port »" in results.text
    ask = (await harness.press(TECHNICIAN, results, button(results, "Nouveau client")))[-1]
    ask = (await harness.press(TECHNICIAN, ask, button(ask, "Café")))[-1]
    assert "<b>Nouveau client</b> Café &lt;b&gt;du&lt;/b&gt; Port · 2/5" in ask.text


async def test_the_new_conversation_resumes_after_a_restart(harness: Harness) -> None:
    await register(harness, TECHNICIAN, Role.TECHNICIAN)
    results = await search(harness, "leroy")
    await harness.press(TECHNICIAN, results, button(results, "Nouveau client"))
    await harness.say(TECHNICIAN, "Mme Leroy")

    restarted = Harness(harness.db, harness.files, harness.options)
    restarted.updates = harness.updates
    ask = (await restarted.say(TECHNICIAN, "Jeanne Leroy"))[-1]
    assert "<b>Nouveau client</b> Mme Leroy · 3/5" in ask.text
    ask = (await restarted.press(TECHNICIAN, ask, button(ask, "Passer")))[-1]
    ask = (await restarted.press(TECHNICIAN, ask, button(ask, "Passer")))[-1]
    ask = (await restarted.press(TECHNICIAN, ask, button(ask, "Passer")))[-1]
    calls = await restarted.press(TECHNICIAN, ask, button(ask, "Contrôle"))
    assert "créée pour Mme Leroy (Contrôle)" in calls[1].text
    assert "Étape 1/" in calls[-1].text
    await restarted.bot.session.close()


async def test_cancel_leaves_the_new_conversation_and_creates_nothing(harness: Harness) -> None:
    await register(harness, TECHNICIAN, Role.TECHNICIAN)
    await add_client(harness, "Garage Dupont")
    results = await search(harness, "garage")
    ask = (await harness.press(TECHNICIAN, results, button(results, "Garage Dupont")))[-1]
    assert "annulé" in (await harness.say(TECHNICIAN, "/cancel"))[0].text
    late = await harness.press(TECHNICIAN, ask, button(ask, "Entretien"))
    assert late[0].method == "answerCallbackQuery"
    assert "n'est plus actif" in late[0].params["text"]
    assert "Aucun rapport n'est ouvert" in (await harness.say(TECHNICIAN, "garage"))[0].text
    async with harness.db.sessions() as session:
        assert (await session.scalars(select(Intervention))).all() == []


async def test_a_sticker_where_text_is_expected_says_so_and_the_step_stays(
    harness: Harness,
) -> None:
    await register(harness, TECHNICIAN, Role.TECHNICIAN)
    ask = (await harness.say(TECHNICIAN, "/new"))[-1]
    ask = (await harness.press(TECHNICIAN, ask, button(ask, "Nouveau client")))[-1]
    answer = (await harness.say(TECHNICIAN, "", sticker=STICKER))[-1]
    assert "J'attends du texte" in answer.text and "Le nom du client" in answer.text
    voice = {"file_id": "v", "file_unique_id": "vu", "duration": 3}
    answer = (await harness.say(TECHNICIAN, "", voice=voice))[-1]
    assert "J'attends du texte" in answer.text
    assert "2/5" in (await harness.say(TECHNICIAN, "Mme Leroy"))[-1].text


async def test_text_while_the_template_is_expected_shows_the_buttons_again(
    harness: Harness,
) -> None:
    await register(harness, TECHNICIAN, Role.TECHNICIAN)
    await add_client(harness, "Garage Dupont")
    results = await search(harness, "garage")
    await harness.press(TECHNICIAN, results, button(results, "Garage Dupont"))
    again = (await harness.say(TECHNICIAN, "entretien"))[-1]
    assert "avec les boutons" in again.text
    assert "Entretien" in labels(again)


async def test_a_button_from_an_earlier_new_gets_a_polite_answer(harness: Harness) -> None:
    await register(harness, TECHNICIAN, Role.TECHNICIAN)
    await add_client(harness, "Garage Dupont")
    old = await search(harness, "garage")
    await search(harness, "garage")
    calls = await harness.press(TECHNICIAN, old, button(old, "Garage Dupont"))
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert "n'est plus actif" in calls[0].params["text"]


async def test_pressing_the_template_twice_creates_one_intervention(harness: Harness) -> None:
    await register(harness, TECHNICIAN, Role.TECHNICIAN)
    await add_client(harness, "Garage Dupont")
    results = await search(harness, "garage")
    ask = (await harness.press(TECHNICIAN, results, button(results, "Garage Dupont")))[-1]
    await harness.press(TECHNICIAN, ask, button(ask, "Entretien"))
    again = await harness.press(TECHNICIAN, ask, button(ask, "Entretien"))
    assert "n'est plus actif" in again[0].params["text"]
    await only_intervention(harness)


async def test_another_command_during_new_leaves_it(harness: Harness) -> None:
    job = await plan_job(harness.db)
    await search(harness, "boulangerie")
    calls = await harness.say(TECHNICIAN, "/today")
    # The search's question loses its buttons; the command says /new was left, and runs.
    assert calls[0].method == "editMessageReplyMarkup"
    said = [c for c in calls if c.method == "sendMessage"]
    assert "abandonnée" in said[0].text and job.number in said[1].text
    card = (await harness.press(TECHNICIAN, said[1], button(said[1], job.number)))[-1]
    started = await harness.press(TECHNICIAN, card, button(card, "Commencer"))
    assert "Étape 1/" in started[-1].text
    answer = await harness.say(TECHNICIAN, "Bruit dans la chaudière")
    assert "Étape 2/" in answer[-1].text  # the report got it, not a client search


async def test_a_report_button_during_new_leaves_it(harness: Harness) -> None:
    job = await plan_job(harness.db)
    listing = (await harness.say(TECHNICIAN, "/today"))[0]
    await harness.say(TECHNICIAN, "/new")
    calls = await harness.press(TECHNICIAN, listing, button(listing, job.number))
    assert "abandonnée" in texts(calls)[0] and job.number in texts(calls)[1]


async def test_only_technicians_open_interventions_with_new(harness: Harness) -> None:
    await register(harness, DISPATCHER, Role.DISPATCHER)
    assert "pas accès" in (await harness.say(DISPATCHER, "/new"))[0].text
    await register(harness, TECHNICIAN, Role.TECHNICIAN)
    ask = (await harness.say(TECHNICIAN, "/new"))[-1]
    calls = await harness.press(DISPATCHER, ask, button(ask, "Nouveau client"))
    assert "pas accès" in calls[0].params["text"]


async def test_new_speaks_english_to_an_english_technician(harness: Harness) -> None:
    tech = Person(21, "Ann", None, "en")
    await register(harness, tech, Role.TECHNICIAN)
    await add_client(harness, "Garage Dupont")
    ask = (await harness.say(tech, "/new"))[-1]
    assert "Type part of the client's name" in ask.text
    results = (await harness.say(tech, "garge"))[-1]
    assert labels(results) == ["Garage Dupont", "➕ New client"]
    ask = (await harness.press(tech, results, button(results, "Garage")))[-1]
    assert labels(ask) == ["Inspection", "Installation", "Maintenance", "Repair"]
    calls = await harness.press(tech, ask, button(ask, "Maintenance"))
    assert "created for Garage Dupont (Maintenance)" in calls[1].text
