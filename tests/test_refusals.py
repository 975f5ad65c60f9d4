"""Forged and repeated button presses: every button checks who may act on what it
names and whether that has already happened; a number no database row could have is
answered politely, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from storage import invites, users
from storage.models import (
    AccessRequest,
    Client,
    Delivery,
    InboxUpdate,
    Rating,
    Role,
    UpdateState,
    User,
)
from tests.conftest import OFFICE_CHAT, TECHNICIAN, Harness, load_job, plan_job, start_job
from tests.mocked import Call, Person, button
from tests.test_office_client import (
    CLIENT,
    DISPATCHER,
    STRANGER_CLIENT,
    link_client,
    resubmit,
    submitted,
    validated,
)
from tests.test_wizard import at_times

ADMIN = Person(1, "Alice", "alice_admin", "fr")
HUGE = "99999999999999999999"
#: One more than PostgreSQL's integer columns hold: SQLite would take it, PostgreSQL not.
PAST_INT4 = str(2**31)
POLITE = "Ce bouton n'est plus actif. Envoyez /help pour reprendre."


def forged(on_chat: int) -> Call:
    """A message of the bot in `on_chat`, under which a forged button is pressed."""
    return Call("sendMessage", {"chat_id": on_chat, "text": "…"})


def alert_text(calls: list[Call]) -> str:
    answers = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answers, [c.method for c in calls]
    return str(answers[-1].params.get("text", ""))


async def states(harness: Harness) -> list[str]:
    async with harness.db.sessions() as session:
        return list(await session.scalars(select(InboxUpdate.state)))


async def count(harness: Harness, model: type, *where: object) -> int:
    async with harness.db.sessions() as session:
        query = select(func.count()).select_from(model)
        for condition in where:
            query = query.where(condition)  # type: ignore[arg-type]
        return int(await session.scalar(query) or 0)


async def office_notices(harness: Harness, words: str) -> list[Delivery]:
    async with harness.db.sessions() as session:
        rows = await session.scalars(select(Delivery).where(Delivery.chat_id == OFFICE_CHAT))
        return [row for row in rows if words in (row.text or "")]


# Numbers too large for any row --------------------------------------------------


@pytest.mark.parametrize(
    ("role", "payload"),
    [
        (Role.TECHNICIAN, f"w:{HUGE}:objective:skip"),
        (Role.TECHNICIAN, f"w:{HUGE}:objective:skip:"),
        (Role.TECHNICIAN, f"w:{PAST_INT4}:context:skip:"),
        (Role.TECHNICIAN, "w:-1:context:skip:"),
        (Role.TECHNICIAN, f"job:{HUGE}:open"),
        (Role.TECHNICIAN, f"job:{PAST_INT4}:start"),
        (Role.TECHNICIAN, "job:1:explode"),
        (Role.DISPATCHER, f"val:ok:{HUGE}:1"),
        (Role.DISPATCHER, f"val:back:1:{PAST_INT4}"),
        (Role.DISPATCHER, f"lkc:{HUGE}"),
        (Role.DISPATCHER, f"lkf:{PAST_INT4}"),
        (Role.DISPATCHER, f"chg:reassign:{HUGE}:0"),
        (Role.DISPATCHER, f"chg:to:1:{PAST_INT4}"),
        (Role.ADMIN, f"dec:{HUGE}:technician"),
        (Role.CLIENT, f"rate:{HUGE}:3"),
        (Role.CLIENT, "rate:1:9"),
        (Role.CLIENT, f"pdf:{PAST_INT4}"),
    ],
)
async def test_a_number_too_large_for_the_database_gets_a_polite_answer(
    harness: Harness, role: Role, payload: str
) -> None:
    person = ADMIN if role == Role.ADMIN else Person(60, "Zoé", None, "fr")
    async with harness.db.transaction() as session:
        await users.add(session, person.id, person.first_name, role)
    calls = await harness.press(person, forged(person.id), payload)
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert calls[0].params["text"] == POLITE
    assert await states(harness) == [UpdateState.DONE]
    assert await harness.deliver() == []


async def test_a_client_or_site_or_technician_too_large_in_a_planning_button_is_refused(
    harness: Harness,
) -> None:
    async with harness.db.transaction() as session:
        await users.add(session, DISPATCHER.id, "Sophie", Role.DISPATCHER)
        session.add(Client(name="Garage Dupont", address="3 rue du Port"))
    await harness.say(DISPATCHER, "/plan")
    results = (await harness.say(DISPATCHER, "garage"))[0]
    real = button(results, "Garage Dupont")
    token = real.split(":")[1]
    for value in (HUGE, PAST_INT4, "abc", "-3"):
        calls = await harness.press(DISPATCHER, results, f"pl:{token}:client:pick:{value}")
        assert [c.method for c in calls] == ["answerCallbackQuery"]
        assert "plus actif" in calls[0].params["text"]
    calls = await harness.press(DISPATCHER, results, real)
    sites = [c for c in calls if c.method == "sendMessage"][-1]
    for value in (HUGE, PAST_INT4):
        calls = await harness.press(DISPATCHER, sites, f"pl:{token}:site:site:{value}")
        assert "plus actif" in calls[0].params["text"]
    assert all(state == UpdateState.DONE for state in await states(harness))


async def test_a_client_too_large_in_a_new_intervention_button_is_refused(
    harness: Harness,
) -> None:
    async with harness.db.transaction() as session:
        await users.add(session, TECHNICIAN.id, "Paul", Role.TECHNICIAN)
        session.add(Client(name="Garage Dupont"))
    await harness.say(TECHNICIAN, "/new")
    results = (await harness.say(TECHNICIAN, "garage"))[-1]
    token = button(results, "Garage Dupont").split(":")[1]
    for value in (HUGE, PAST_INT4):
        calls = await harness.press(TECHNICIAN, results, f"nw:{token}:client:pick:{value}")
        assert [c.method for c in calls] == ["answerCallbackQuery"]
        assert "plus actif" in calls[0].params["text"]
    assert all(state == UpdateState.DONE for state in await states(harness))


async def test_telegram_ids_of_64_bits_are_stored_whole(harness: Harness) -> None:
    supergroup, person_id = -1001234567890123, 7_999_999_999_999
    async with harness.db.transaction() as session:
        session.add(User(telegram_id=person_id, name="Grand", role=Role.TECHNICIAN))
        session.add(AccessRequest(telegram_id=person_id, name="Grand"))
        session.add(Delivery(chat_id=supergroup, kind="message", text="bonjour", options={}))
    await harness.feed(harness.updates.message(Person(person_id, "Grand", None, "fr"), "/help"))
    async with harness.db.sessions() as session:
        assert await session.scalar(select(User.telegram_id)) == person_id
        assert await session.scalar(select(AccessRequest.telegram_id)) == person_id
        assert await session.scalar(select(InboxUpdate.chat_id)) == person_id
        chats = set(await session.scalars(select(Delivery.chat_id)))
    assert supergroup in chats


# The rating --------------------------------------------------------------------------


async def test_a_client_cannot_make_the_office_repost_another_clients_rating(
    short: Harness,
) -> None:
    job, prompt = await validated(short)
    await short.press(CLIENT, prompt, button(prompt, "★★★★"))
    await short.say(CLIENT, "Très bien")
    await short.deliver()
    async with short.db.transaction() as session:
        other = await users.add(session, STRANGER_CLIENT.id, "Marc", Role.CLIENT)
        session.add(Client(name="Autre SA", user_id=other.id))
    for _ in range(3):
        calls = await short.press(STRANGER_CLIENT, forged(STRANGER_CLIENT.id), f"rate:{job.id}:0")
        assert alert_text(calls) == "Vous n'avez pas accès à cette action."
    assert await short.deliver() == []
    assert len(await office_notices(short, "Note du client")) == 1


async def test_a_double_tap_on_no_comment_tells_the_office_once(short: Harness) -> None:
    _, prompt = await validated(short)
    calls = await short.press(CLIENT, prompt, button(prompt, "★★★★"))
    ask = [c for c in calls if c.method == "sendMessage"][-1]
    no_comment = button(ask, "Pas de commentaire")
    await short.feed(
        short.updates.press(CLIENT, ask, no_comment), short.updates.press(CLIENT, ask, no_comment)
    )
    told = [c for c in await short.deliver() if c.chat_id == OFFICE_CHAT]
    assert len([c for c in told if "Note du client" in c.text]) == 1
    calls = await short.press(CLIENT, ask, no_comment)
    assert "déjà noté" in alert_text(calls)
    assert await short.deliver() == []


async def test_a_rating_left_without_comment_still_reaches_the_office(short: Harness) -> None:
    _, prompt = await validated(short)
    await short.press(CLIENT, prompt, button(prompt, "★★★★★"))
    assert [c for c in await short.deliver() if c.chat_id == OFFICE_CHAT] == []
    told = [c for c in await short.deliver(now=True) if c.chat_id == OFFICE_CHAT]
    assert len(told) == 1 and "★★★★★" in told[0].text


async def test_a_comment_after_the_rating_went_alone_follows_it(short: Harness) -> None:
    _, prompt = await validated(short)
    await short.press(CLIENT, prompt, button(prompt, "★★★"))
    await short.deliver(now=True)
    await short.say(CLIENT, "Un peu en retard")
    told = [c for c in await short.deliver() if c.chat_id == OFFICE_CHAT]
    assert len(told) == 1 and "Un peu en retard" in told[0].text
    async with short.db.sessions() as session:
        rating = await session.scalar(select(Rating))
    assert rating is not None and (rating.score, rating.comment) == (3, "Un peu en retard")


async def test_asking_for_the_same_report_twice_sends_it_once(short: Harness) -> None:
    job, _ = await validated(short)
    listing = (await short.say(CLIENT, "/reports"))[0]
    again = button(listing, job.number)
    await short.press(CLIENT, listing, again)
    calls = await short.press(CLIENT, listing, again)
    assert "déjà en route" in alert_text(calls)
    sent = await short.deliver()
    assert [(c.method, c.chat_id) for c in sent] == [("sendDocument", CLIENT.id)]


# The office's decision -------------------------------------------------------------


async def test_after_return_the_old_pdf_loses_its_buttons_and_says_who_and_why(
    short: Harness,
) -> None:
    _, first = await submitted(short)
    await short.press(DISPATCHER, first, button(first, "Renvoyer"))
    calls = await short.say(DISPATCHER, "Photo floue, à refaire", chat_id=OFFICE_CHAT)
    marks = [c for c in calls if c.method in ("editMessageText", "editMessageCaption")]
    assert len(marks) == 1
    mark = marks[0]
    shown = str(mark.params.get("text") or mark.params.get("caption"))
    assert "Renvoyé par Sophie" in shown and "Photo floue" in shown
    assert "inline_keyboard" not in str(mark.params.get("reply_markup") or "")


async def test_a_validate_under_an_older_version_is_refused(short: Harness) -> None:
    job, first = await submitted(short)
    await link_client(short, job)
    await short.press(DISPATCHER, first, button(first, "Renvoyer"))
    await short.say(DISPATCHER, "Photo floue, à refaire", chat_id=OFFICE_CHAT)
    told = [c for c in await short.deliver() if c.chat_id == TECHNICIAN.id]
    await short.press(TECHNICIAN, told[0], button(told[0], "Corriger"))
    await resubmit(short)
    (second,) = [
        c for c in await short.deliver() if c.method == "sendDocument" and c.chat_id == OFFICE_CHAT
    ]
    for label in ("Valider", "Renvoyer"):
        calls = await short.press(DISPATCHER, first, button(first, label))
        assert "version plus récente" in alert_text(calls)
    assert (await load_job(short.db, job)).status == "awaiting_validation"
    assert [c for c in await short.deliver() if c.chat_id == CLIENT.id] == []
    await short.press(DISPATCHER, second, button(second, "Valider"))
    assert (await load_job(short.db, job)).status == "validated"
    documents = [c for c in await short.deliver() if c.chat_id == CLIENT.id]
    assert [c.method for c in documents] == ["sendDocument", "sendMessage"]


# The technician's buttons ------------------------------------------------------------


async def test_a_second_tap_on_start_starts_nothing_again(short: Harness) -> None:
    job = await plan_job(short.db, template="short")
    listing = (await short.say(TECHNICIAN, "/today"))[0]
    card = (await short.press(TECHNICIAN, listing, button(listing, job.number)))[-1]
    start = button(card, "Commencer")
    await short.press(TECHNICIAN, card, start)
    started_at = (await load_job(short.db, job)).started_at
    calls = await short.press(TECHNICIAN, card, start)
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert "déjà commencée" in alert_text(calls)
    assert (await load_job(short.db, job)).started_at == started_at
    assert len(await office_notices(short, "commencée par")) == 1


async def test_end_now_pressed_again_on_the_older_question_changes_nothing(
    short: Harness,
) -> None:
    job = await at_times(short)
    prompt = (await short.say(TECHNICIAN, "/resume"))[-1]
    await short.press(TECHNICIAN, prompt, button(prompt, "Maintenant"))
    ended = (await load_job(short.db, job)).ended_at
    calls = await short.press(TECHNICIAN, prompt, button(prompt, "Maintenant"))
    assert "plus actif" in alert_text(calls)
    saved = await load_job(short.db, job)
    assert saved.ended_at == ended and saved.wizard_data.get("stage") == "hours"
    # The question of the hours is in the chat already: it is not asked again.
    assert [c.method for c in calls] == ["answerCallbackQuery"]


async def test_an_older_acceptance_button_does_not_undo_the_reservations(
    short: Harness,
) -> None:
    from tests.test_wizard import at_review, last_message

    job = await at_review(short)
    review = (await short.say(TECHNICIAN, "/resume"))[-1]
    calls = await short.press(TECHNICIAN, review, button(review, "Continuer"))
    prompt = last_message(calls)
    calls = await short.press(TECHNICIAN, prompt, button(prompt, "Mme Martin"))
    reserve = last_message(calls)
    await short.press(TECHNICIAN, reserve, button(reserve, "Avec réserves"))
    await short.say(TECHNICIAN, "Peinture à reprendre")
    calls = await short.press(TECHNICIAN, reserve, button(reserve, "Sans réserve"))
    assert "plus actif" in alert_text(calls)
    saved = await load_job(short.db, job)
    assert saved.accepted_with_reservations and saved.reservations == "Peinture à reprendre"


async def test_a_location_sent_during_the_report_is_not_a_new_arrival(short: Harness) -> None:
    job = await plan_job(short.db, template="short")
    await start_job(short, job)
    first = {"latitude": 48.8686, "longitude": 2.3319, "horizontal_accuracy": 12.5}
    await short.say(TECHNICIAN, "", location=first)
    await short.say(TECHNICIAN, "Fuite sur le circuit")
    later = {"latitude": 45.0, "longitude": 4.0, "horizontal_accuracy": 5.0}
    calls = await short.say(TECHNICIAN, "", location=later)
    assert [c.method for c in calls] == ["sendMessage"]
    assert "déjà enregistrée" in calls[0].text
    saved = await load_job(short.db, job)
    assert (saved.location_lat, saved.location_lon) == pytest.approx((48.8686, 2.3319))
    assert len(await office_notices(short, "sur place")) == 1
    sent = await short.deliver()
    assert [c for c in sent if c.method == "sendLocation"] == [
        c for c in sent if c.method == "sendLocation" and c.params["latitude"] == 48.8686
    ]


# A client linking after the fact -----------------------------------------------------


async def test_a_client_linking_after_validation_gets_the_report_and_can_rate_it(
    short: Harness,
) -> None:
    job, to_office = await submitted(short)
    await short.press(DISPATCHER, to_office, button(to_office, "Valider"))
    await short.deliver()
    async with short.db.transaction() as session:
        link = await invites.client_link(session, job.client_id, None, dt.timedelta(days=30))
        code = link.code
    calls = await short.say(CLIENT, f"/start {code}")
    assert "arrive juste après ce message" in calls[0].text
    sent = await short.deliver()
    to_client = [c for c in sent if c.chat_id == CLIENT.id]
    assert [c.method for c in to_client] == ["sendDocument", "sendMessage"]
    assert job.number in to_client[0].params["caption"]
    prompt = to_client[1]
    await short.press(CLIENT, prompt, button(prompt, "★★★★★"))
    assert await count(short, Rating) == 1

    async with short.db.transaction() as session:
        again = await invites.client_link(session, job.client_id, None, dt.timedelta(days=30))
        code = again.code
    calls = await short.say(CLIENT, f"/start {code}")
    assert "arrive juste après" not in calls[0].text
    assert [c for c in await short.deliver() if c.method == "sendDocument"] == []


# Someone else's button ----------------------------------------------------------------

NOT_ALLOWED = "Vous n'avez pas accès à cette action."
OFFICE_ONLY = "Cette commande est réservée au bureau."


@pytest.mark.parametrize(
    ("role", "payload", "reply"),
    [
        (Role.TECHNICIAN, "val:ok:{job}:1", NOT_ALLOWED),
        (Role.TECHNICIAN, "val:back:{job}:1", NOT_ALLOWED),
        (Role.CLIENT, "chg:cancel:{job}:0", OFFICE_ONLY),
        (Role.TECHNICIAN, "chg:to:{job}:1", OFFICE_ONLY),
        (Role.TECHNICIAN, "job:{job}:start", NOT_ALLOWED),
        (Role.CLIENT, "job:{job}:start", POLITE),
        (Role.DISPATCHER, "w:{job}:context:skip:", NOT_ALLOWED),
        (Role.TECHNICIAN, "w:{job}:context:skip:", NOT_ALLOWED),
        (Role.CLIENT, "rate:{job}:5", NOT_ALLOWED),
        (Role.CLIENT, "pdf:{job}", NOT_ALLOWED),
        (Role.TECHNICIAN, "lkf:{job}", NOT_ALLOWED),
        (Role.TECHNICIAN, "dec:1:technician", NOT_ALLOWED),
        (Role.DISPATCHER, "dec:1:dispatcher", NOT_ALLOWED),
    ],
)
async def test_a_button_of_someone_elses_work_is_refused_and_changes_nothing(
    harness: Harness, role: Role, payload: str, reply: str
) -> None:
    job = await plan_job(harness.db)
    async with harness.db.transaction() as session:
        session.add(AccessRequest(telegram_id=77, name="Marc"))
    other = Person(61, "Intrus", None, "fr")
    async with harness.db.transaction() as session:
        await users.add(session, other.id, other.first_name, role)
    calls = await harness.press(other, forged(other.id), payload.format(job=job.id))
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert calls[0].params["text"] == reply
    saved = await load_job(harness.db, job)
    assert (saved.status, saved.technician_id, saved.started_at) == ("planned", 1, None)
    assert await count(harness, Rating) == 0
    assert await count(harness, User, User.telegram_id == 77) == 0
    assert await harness.deliver() == []
