"""Who may use the bot: unknown people, access requests, invites, languages."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from storage import users
from storage.models import AccessRequest, Invite, Role, User
from tests.conftest import ADMIN, OFFICE_CHAT, Harness, register, texts
from tests.mocked import Person, button

STRANGER = Person(77, "Marc", "marc_b", "fr")
TOURIST = Person(78, "John", None, "en-GB")
TECH = Person(20, "Paul", "paul_tech", "fr")


async def test_unknown_person_gets_a_polite_answer_and_a_request_button(harness: Harness) -> None:
    calls = await harness.say(STRANGER, "/start")
    assert [c.method for c in calls] == ["sendMessage"]
    assert "Je ne vous connais pas encore" in calls[0].text
    assert button(calls[0], "Demander un accès")
    calls = await harness.say(STRANGER, "montre-moi les interventions")
    assert "Je ne vous connais pas encore" in calls[0].text


async def test_unknown_person_is_answered_in_their_telegram_language(harness: Harness) -> None:
    calls = await harness.say(TOURIST, "hello")
    assert "I don't know you yet" in calls[0].text
    assert button(calls[0], "Request access")


async def test_access_request_reaches_admins_and_a_tap_registers_a_technician(
    harness: Harness,
) -> None:
    greeting = (await harness.say(STRANGER, "/start"))[0]
    calls = await harness.press(STRANGER, greeting, button(greeting, "Demander"))
    assert calls[0].method == "answerCallbackQuery"
    assert "transmise aux administrateurs" in calls[1].text
    to_admin = await harness.deliver()
    assert [c.chat_id for c in to_admin] == [ADMIN.id]
    assert "Marc (@marc_b)" in to_admin[0].text and "77" in to_admin[0].text

    calls = await harness.press(ADMIN, to_admin[0], button(to_admin[0], "Technicien"))
    assert "Marc est enregistré comme <b>Technicien</b>" in calls[-1].text
    told = await harness.deliver()
    assert told[0].chat_id == STRANGER.id and "Votre accès est ouvert" in told[0].text
    async with harness.db.sessions() as session:
        person = await users.by_telegram_id(session, STRANGER.id)
    assert person is not None and person.role == Role.TECHNICIAN

    again = await harness.press(ADMIN, to_admin[0], button(to_admin[0], "Client"))
    assert again[0].method == "answerCallbackQuery"
    assert "déjà été traitée" in again[0].params["text"]


async def test_asking_twice_while_waiting_is_answered_without_a_second_request(
    harness: Harness,
) -> None:
    greeting = (await harness.say(STRANGER, "/start"))[0]
    await harness.press(STRANGER, greeting, button(greeting, "Demander"))
    calls = await harness.press(STRANGER, greeting, button(greeting, "Demander"))
    assert "déjà en attente" in calls[0].params["text"]
    async with harness.db.sessions() as session:
        count = len((await session.scalars(select(AccessRequest))).all())
    assert count == 1


async def test_only_admins_decide_access_requests(harness: Harness) -> None:
    await register(harness, TECH, Role.TECHNICIAN)
    greeting = (await harness.say(STRANGER, "/start"))[0]
    await harness.press(STRANGER, greeting, button(greeting, "Demander"))
    to_admin = (await harness.deliver())[0]
    calls = await harness.press(TECH, to_admin, button(to_admin, "Dispatcheur"))
    assert "pas accès" in calls[0].params["text"]
    async with harness.db.sessions() as session:
        assert await users.by_telegram_id(session, STRANGER.id) is None


async def test_refused_access_tells_the_person_and_registers_nobody(harness: Harness) -> None:
    greeting = (await harness.say(TOURIST, "/start"))[0]
    await harness.press(TOURIST, greeting, button(greeting, "Request"))
    to_admin = (await harness.deliver())[0]
    await harness.press(ADMIN, to_admin, button(to_admin, "Refuser"))
    told = await harness.deliver()
    assert "was not accepted" in told[0].text
    async with harness.db.sessions() as session:
        assert await users.by_telegram_id(session, TOURIST.id) is None


async def invite_link(harness: Harness, inviter: Person, role_button: str, name: str) -> str:
    ask = (await harness.say(inviter, "/invite"))[0]
    await harness.press(inviter, ask, button(ask, role_button))
    answer = (await harness.say(inviter, name))[-1]
    assert "?start=inv_" in answer.text, answer.text
    return answer.text.split("?start=")[1].split()[0]


async def test_an_invite_link_registers_the_person_with_its_role(harness: Harness) -> None:
    code = await invite_link(harness, ADMIN, "Technicien", "Paul Martin")
    calls = await harness.say(TECH, f"/start {code}")
    assert "Bienvenue Paul Martin" in calls[0].text and "Technicien" in calls[0].text
    notice = await harness.deliver()
    assert notice[0].chat_id == ADMIN.id and "a utilisé votre invitation" in notice[0].text
    async with harness.db.sessions() as session:
        person = await users.by_telegram_id(session, TECH.id)
    assert person is not None and person.role == Role.TECHNICIAN and person.name == "Paul Martin"


async def test_an_invite_link_works_only_once(harness: Harness) -> None:
    code = await invite_link(harness, ADMIN, "Technicien", "/skip")
    await harness.say(TECH, f"/start {code}")
    calls = await harness.say(STRANGER, f"/start {code}")
    assert "déjà été utilisé" in calls[0].text
    async with harness.db.sessions() as session:
        assert await users.by_telegram_id(session, STRANGER.id) is None


async def test_an_expired_invite_link_is_refused(harness: Harness) -> None:
    code = await invite_link(harness, ADMIN, "Client", "Durand SA")
    async with harness.db.transaction() as session:
        past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        await session.execute(update(Invite).values(expires_at=past))
    calls = await harness.say(STRANGER, f"/start {code}")
    assert "a expiré" in calls[0].text


async def test_a_made_up_invite_code_is_refused(harness: Harness) -> None:
    calls = await harness.say(STRANGER, "/start inv_doesnotexist")
    assert "n'est pas valable" in calls[0].text


async def test_dispatchers_invite_technicians_and_clients_only(harness: Harness) -> None:
    boss = Person(30, "Sophie", None, "fr")
    await register(harness, boss, Role.DISPATCHER)
    ask = (await harness.say(boss, "/invite"))[0]
    labels = [text for text, _ in ask.buttons()]
    assert labels == ["Technicien", "Client"]
    forged = ask.buttons()[0][1].replace("technician", "admin")
    calls = await harness.press(boss, ask, forged)
    assert "pas accès" in calls[0].params["text"]


async def test_technicians_cannot_invite(harness: Harness) -> None:
    await register(harness, TECH, Role.TECHNICIAN)
    calls = await harness.say(TECH, "/invite")
    assert "réservée au bureau" in calls[0].text


async def test_the_invite_conversation_resumes_after_a_restart(harness: Harness) -> None:
    ask = (await harness.say(ADMIN, "/invite"))[0]
    await harness.press(ADMIN, ask, button(ask, "Dispatcheur"))
    restarted = Harness(harness.db, harness.files, harness.options)
    restarted.updates = harness.updates
    answer = (await restarted.say(ADMIN, "Sophie Leroy"))[-1]
    assert "Dispatcheur" in answer.text and "Sophie Leroy" in answer.text
    await restarted.bot.session.close()


async def test_a_photo_while_a_name_is_expected_says_what_is_expected(harness: Harness) -> None:
    ask = (await harness.say(ADMIN, "/invite"))[0]
    await harness.press(ADMIN, ask, button(ask, "Technicien"))
    photo = [{"file_id": "p", "file_unique_id": "pu", "width": 90, "height": 90}]
    calls = await harness.say(ADMIN, "", photo=photo)
    assert "J'attends le nom" in calls[0].text
    answer = (await harness.say(ADMIN, "Luc"))[-1]
    assert "?start=inv_" in answer.text


async def test_cancel_leaves_the_invite_conversation(harness: Harness) -> None:
    ask = (await harness.say(ADMIN, "/invite"))[0]
    await harness.press(ADMIN, ask, button(ask, "Technicien"))
    assert "annulé" in (await harness.say(ADMIN, "/cancel"))[0].text
    assert "rien à annuler" in (await harness.say(ADMIN, "/cancel"))[0].text
    assert "pas compris" in (await harness.say(ADMIN, "Luc"))[0].text


async def test_lang_switches_the_conversation_to_english(harness: Harness) -> None:
    await register(harness, TECH, Role.TECHNICIAN)
    menu = (await harness.say(TECH, "/lang"))[0]
    await harness.press(TECH, menu, button(menu, "English"))
    calls = await harness.say(TECH, "/help")
    assert "What you can do" in calls[0].text
    async with harness.db.sessions() as session:
        person = await session.scalar(select(User).where(User.telegram_id == TECH.id))
    assert person is not None and person.language == "en"


async def test_a_button_from_an_old_message_gets_a_polite_answer(harness: Harness) -> None:
    await register(harness, TECH, Role.TECHNICIAN)
    menu = (await harness.say(TECH, "/help"))[0]
    calls = await harness.press(TECH, menu, "something:from:an:old:version")
    assert calls[0].method == "answerCallbackQuery"
    assert "n'est plus actif" in calls[0].params["text"]


async def test_admins_from_settings_are_registered_when_they_first_write(
    harness: Harness,
) -> None:
    calls = await harness.say(ADMIN, "/help")
    assert "/invite" in texts(calls)[0]
    async with harness.db.sessions() as session:
        person = await users.by_telegram_id(session, ADMIN.id)
    assert person is not None and person.role == Role.ADMIN


async def test_a_disabled_person_is_treated_as_unknown(harness: Harness) -> None:
    await register(harness, TECH, Role.TECHNICIAN)
    async with harness.db.transaction() as session:
        await session.execute(update(User).values(active=False).where(User.telegram_id == TECH.id))
    calls = await harness.say(TECH, "/help")
    assert "Je ne vous connais pas encore" in calls[0].text


async def test_people_talking_in_the_office_group_are_not_answered(harness: Harness) -> None:
    await register(harness, TECH, Role.TECHNICIAN)
    assert await harness.say(STRANGER, "on déjeune où ?", chat_id=OFFICE_CHAT) == []
    assert await harness.say(TECH, "à la brasserie", chat_id=OFFICE_CHAT) == []
    calls = await harness.say(TECH, "/help", chat_id=OFFICE_CHAT)
    assert calls[0].chat_id == OFFICE_CHAT and "/lang" in calls[0].text


async def test_two_people_opening_one_invite_at_the_same_instant_register_once(
    harness: Harness,
) -> None:
    import asyncio

    from storage import invites

    async with harness.db.transaction() as session:
        invite = await invites.create(session, Role.TECHNICIAN, None, dt.timedelta(days=1))
        code = invite.code

    async def open_link(telegram_id: int) -> bool:
        try:
            async with harness.db.transaction() as session:
                taken = await invites.claim(session, code)
                await asyncio.sleep(0.05)  # the welcome message on its way
                person = await users.add(session, telegram_id, "X", Role.TECHNICIAN)
                invites.mark_used(taken, person)
            return True
        except invites.InviteRefused:
            return False

    outcomes = await asyncio.gather(open_link(501), open_link(502))
    assert sorted(outcomes) == [False, True]
