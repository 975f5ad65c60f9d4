"""The right menu for each person, the bot's description, groups and chat ids, and
the chat actions shown while work takes time (issue 11).

What a person sees in the menu is read from the Bot API calls the bot made, the
way Telegram picks a menu: the chat's own commands for the reader's language,
else for any language, else the default (tests.fakeapi.menu_seen).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.enums import ChatAction
from sqlalchemy import select, update

from bot import middlewares
from bot.app import build_bot, present
from bot.cli import main
from bot.config import Settings
from bot.sender import MAX_ATTEMPTS
from handlers import actions, exports, menus
from storage import invites, outbox, users
from storage.models import Client, Delivery, DeliveryState, Role
from tests.conftest import (
    ADMIN,
    OFFICE_CHAT,
    TECHNICIAN,
    Harness,
    deliveries,
    make_due,
    register,
    texts,
)
from tests.fakeapi import FakeBotAPI
from tests.helpers import fake_api_settings
from tests.mocked import Call, Person, recording_bot
from tests.test_exports import three_jobs
from tests.test_office_client import submitted

PAUL = Person(20, "Paul", "paul_tech", "fr")
KLAUS = Person(21, "Klaus", "klaus_m", "de")
SOPHIE = Person(30, "Sophie", "sophie_bureau", "fr")
EMMA = Person(40, "Emma", "emma_client", "en-GB")
STRANGER = Person(77, "Marc", "marc_b", "fr")

TECHNICIAN_MENU = ["today", "list", "new", "resume", "cancel", "verify", "help", "lang"]
CLIENT_MENU = ["reports", "visit", "verify", "cancel", "help", "lang"]
DISPATCHER_MENU = [
    "plan",
    "board",
    "change",
    "find",
    "client",
    "export",
    "stats",
    "invite",
    "verify",
    "cancel",
    "help",
    "lang",
]
OFFICE_MENU = ["plan", "board", "change", "find", "client", "export", "stats", "cancel", "help"]


def names(commands: list[dict[str, Any]]) -> list[str]:
    return [command["command"] for command in commands]


def described(commands: list[dict[str, Any]]) -> dict[str, str]:
    return {command["command"]: command["description"] for command in commands}


async def invite(harness: Harness, role: Role, client_id: int | None = None) -> str:
    async with harness.db.transaction() as session:
        made = await invites.create(session, role, None, dt.timedelta(days=1), client_id=client_id)
        return made.code


async def menu_deliveries(harness: Harness) -> list[Delivery]:
    return [d for d in await deliveries(harness, menus=True) if d.kind == outbox.MENU]


# Everyone's menu and the bot's description, set at start -----------------------------


@pytest.fixture
async def live_bot(api: FakeBotAPI, tmp_path: Path) -> Any:
    """The bot's own session (bot.app.build_bot) against the fake Bot API."""
    bot = build_bot(fake_api_settings(api, tmp_path))
    yield bot
    await bot.session.close()


async def test_everyone_sees_start_help_language_and_verify_and_other_languages_read_english(
    api: FakeBotAPI, live_bot: Bot
) -> None:
    await present(live_bot)
    french = api.menu_seen(STRANGER.id, "fr")
    assert names(french) == ["start", "help", "lang", "verify"]
    assert described(french)["verify"] == "Vérifier qu'un rapport PDF est authentique"
    english = described(api.menu_seen(STRANGER.id, "en"))
    assert english["lang"] == "Change language"
    for other in ("de", "es", None):
        assert described(api.menu_seen(STRANGER.id, other)) == english, other
    # The same in a group the bot is in (before it is the office).
    assert names(api.menu_seen(-100999, "de")) == ["start", "help", "lang", "verify"]


async def test_someone_opening_the_bot_reads_what_it_is_in_their_language(
    api: FakeBotAPI, live_bot: Bot
) -> None:
    await present(live_bot)
    assert api.description_seen("fr").startswith("Je suis l'assistant d'intervention")
    assert "appuyez sur Démarrer pour demander un accès" in api.description_seen("fr")
    english = api.description_seen("en")
    assert english.startswith("I am your company's field intervention assistant")
    assert api.description_seen("de") == english
    assert api.description_seen("fr", short=True).startswith("Le bon d'intervention dans Telegram")
    assert api.description_seen("it", short=True) == api.description_seen("en", short=True)
    assert api.description_seen("it", short=True).startswith("Work order reports in Telegram")


async def test_a_refused_text_at_start_costs_only_itself_and_trouble_is_waited_out(
    api: FakeBotAPI, live_bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    api.fail_next("setMyDescription", 400, "Bad Request: description is too long")
    api.html_next("setMyCommands", 502)
    with caplog.at_level(logging.WARNING):
        await present(live_bot)
    assert "setMyDescription (fr) was not set" in caplog.text
    assert ("description", "fr") not in api.descriptions
    assert api.description_seen("fr").startswith("I am your company's"), "the one for all"
    assert api.description_seen("fr", short=True).startswith("Le bon d'intervention")
    assert names(api.menu_seen(STRANGER.id, "fr")) == ["start", "help", "lang", "verify"]


# A person's menu follows their role, state and language ------------------------------


async def test_an_invited_technician_gets_the_technicians_menu_once_registered(
    harness: Harness,
) -> None:
    code = await invite(harness, Role.TECHNICIAN)
    calls = await harness.say(PAUL, f"/start {code}")
    assert "enregistré comme <b>Technicien</b>" in calls[-1].text
    assert not [c for c in calls if c.method == "setMyCommands"], "only after the commit"
    await harness.deliver()
    shown = harness.calls.menu_seen(PAUL.id, "fr")
    assert names(shown) == TECHNICIAN_MENU
    assert described(shown)["today"] == "Mes interventions du jour"
    # Their phone switched to English or German: the same menu, in English.
    assert described(harness.calls.menu_seen(PAUL.id, "en"))["today"] == "My interventions today"
    assert names(harness.calls.menu_seen(PAUL.id, "de")) == TECHNICIAN_MENU
    # Nobody else's chat changed.
    assert harness.calls.menu_seen(STRANGER.id, "fr") == []


async def test_a_client_sees_the_clients_commands_not_the_technicians(harness: Harness) -> None:
    async with harness.db.transaction() as session:
        client = Client(name="Garage Dupont")
        session.add(client)
        await session.flush()
        client_id = client.id
    code = await invite(harness, Role.CLIENT, client_id)
    await harness.say(EMMA, f"/start {code}")
    await harness.deliver()
    shown = harness.calls.menu_seen(EMMA.id, "en")
    assert names(shown) == CLIENT_MENU
    assert described(shown)["reports"] == "My intervention reports"
    assert "today" not in names(shown) and "new" not in names(shown)


async def test_an_admin_granting_access_gives_the_dispatcher_the_offices_commands(
    harness: Harness,
) -> None:
    greeting = (await harness.say(STRANGER, "/start"))[0]
    await harness.press(STRANGER, greeting, greeting.buttons()[0][1])
    request = (await harness.deliver())[0]
    dispatcher = next(data for text, data in request.buttons() if text == "Dispatcheur")
    await harness.press(ADMIN, request, dispatcher)
    await harness.deliver()
    assert names(harness.calls.menu_seen(STRANGER.id, "fr")) == DISPATCHER_MENU
    admin = names(harness.calls.menu_seen(ADMIN.id, "fr"))
    assert admin == [*DISPATCHER_MENU[:8], "chatid", *DISPATCHER_MENU[8:]]


async def test_a_new_role_changes_the_menu_and_the_same_role_again_changes_nothing(
    harness: Harness,
) -> None:
    await register(harness, PAUL, Role.TECHNICIAN)
    await harness.deliver()
    assert names(harness.calls.menu_seen(PAUL.id, "fr")) == TECHNICIAN_MENU
    await register(harness, PAUL, Role.DISPATCHER)
    await harness.deliver()
    assert names(harness.calls.menu_seen(PAUL.id, "fr")) == DISPATCHER_MENU
    before = len(await menu_deliveries(harness))
    await register(harness, PAUL, Role.DISPATCHER)
    assert len(await menu_deliveries(harness)) == before


async def test_choosing_english_turns_the_menu_english_whatever_the_phone_speaks(
    harness: Harness,
) -> None:
    await register(harness, PAUL, Role.TECHNICIAN)
    await harness.deliver()
    choice = (await harness.say(PAUL, "/lang"))[0]
    english = next(data for text, data in choice.buttons() if text == "English")
    await harness.press(PAUL, choice, english)
    await harness.deliver()
    for phone in ("fr", "en", "de"):
        shown = described(harness.calls.menu_seen(PAUL.id, phone))
        assert shown["resume"] == "Continue the report under way", phone


async def test_the_command_line_changes_the_menu_too_and_a_disabled_person_sees_everyones(
    harness: Harness,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOT_TOKEN", "1:abc")
    monkeypatch.setenv("DATABASE_URL", harness.db.url)

    async def cli(*args: str) -> None:
        assert await asyncio.to_thread(main, ["users", *args]) == 0, capsys.readouterr()

    await cli("add", "--telegram-id", str(KLAUS.id), "--role", "technician", "--name", "Klaus")
    await harness.deliver()
    shown = harness.calls.menu_seen(KLAUS.id, "de")
    assert names(shown) == TECHNICIAN_MENU
    assert described(shown)["new"] == "Create an intervention on the spot"

    await cli("disable", "--telegram-id", str(KLAUS.id))
    await harness.deliver()
    assert harness.calls.menu_seen(KLAUS.id, "de") == [], "back to everyone's menu"
    assert [c.method for c in harness.calls.calls[-3:]] == ["deleteMyCommands"] * 3

    await cli("enable", "--telegram-id", str(KLAUS.id))
    await harness.deliver()
    assert names(harness.calls.menu_seen(KLAUS.id, "de")) == TECHNICIAN_MENU


async def test_a_menu_telegram_refuses_alarms_nobody_and_the_persons_start_sets_it(
    harness: Harness,
) -> None:
    await register(harness, PAUL, Role.TECHNICIAN)
    harness.calls.fail_next("setMyCommands", 400, "Bad Request: chat not found")
    assert await harness.deliver() == [], "no notice to the office"
    (menu,) = await menu_deliveries(harness)
    assert menu.state == DeliveryState.FAILED
    assert harness.calls.menu_seen(PAUL.id, "fr") == []

    calls = await harness.say(PAUL, "/start")
    assert "Bonjour Paul" in calls[0].text
    await harness.deliver()
    assert names(harness.calls.menu_seen(PAUL.id, "fr")) == TECHNICIAN_MENU
    # Once it is set, /start does not set it again.
    before = len(await menu_deliveries(harness))
    await harness.say(PAUL, "/start")
    assert len(await menu_deliveries(harness)) == before


async def test_a_menu_is_tried_until_telegram_answers_however_long_the_outage(
    harness: Harness,
) -> None:
    await register(harness, PAUL, Role.TECHNICIAN)
    harness.calls.html_next("setMyCommands", 502, times=MAX_ATTEMPTS + 2)
    for _ in range(MAX_ATTEMPTS + 2):
        await make_due(harness)
        await harness.deliver()
    (menu,) = await menu_deliveries(harness)
    assert menu.state == DeliveryState.PENDING and menu.attempts == MAX_ATTEMPTS + 2
    await make_due(harness)
    await harness.deliver()
    assert names(harness.calls.menu_seen(PAUL.id, "fr")) == TECHNICIAN_MENU
    (menu,) = await menu_deliveries(harness)
    assert menu.state == DeliveryState.SENT


async def test_a_menu_waiting_for_telegram_holds_back_none_of_the_persons_messages(
    harness: Harness,
) -> None:
    await register(harness, PAUL, Role.TECHNICIAN)
    harness.calls.html_next("setMyCommands", 502, times=2)
    await harness.deliver()
    async with harness.db.transaction() as session:
        outbox.message(session, PAUL.id, "Votre intervention de demain est planifiée.")
    await make_due(harness)
    sent = await harness.deliver()
    assert [(c.chat_id, c.text) for c in sent] == [
        (PAUL.id, "Votre intervention de demain est planifiée.")
    ]
    (menu,) = await menu_deliveries(harness)
    assert menu.state == DeliveryState.PENDING, "still tried"


# At start: menus for people registered before, and after an upgrade ----------------


async def test_at_start_everyone_without_their_menu_gets_it_once(harness: Harness) -> None:
    await register(harness, PAUL, Role.TECHNICIAN)
    await register(harness, SOPHIE, Role.DISPATCHER)
    await register(harness, KLAUS, Role.TECHNICIAN)
    async with harness.db.transaction() as session:
        # As a database of a version before menus per person: no menu ever queued.
        for row in await session.scalars(select(Delivery).where(Delivery.kind == outbox.MENU)):
            await session.delete(row)
        klaus = await users.by_telegram_id(session, KLAUS.id)
        assert klaus is not None
        users.set_active(session, klaus, False)
    await harness.deliver()

    async with harness.db.transaction() as session:
        queued = await menus.bring_up_to_date(session, OFFICE_CHAT)
    assert queued == 3, "Paul, Sophie and the office group (Klaus is disabled)"
    await harness.deliver()
    assert names(harness.calls.menu_seen(PAUL.id, "fr")) == TECHNICIAN_MENU
    assert names(harness.calls.menu_seen(SOPHIE.id, "fr")) == DISPATCHER_MENU
    assert names(harness.calls.menu_seen(OFFICE_CHAT, "fr")) == OFFICE_MENU
    assert described(harness.calls.menu_seen(OFFICE_CHAT, "de"))["board"] == (
        "Today's board, by technician"
    )
    assert harness.calls.menu_seen(KLAUS.id, "de") == []

    async with harness.db.transaction() as session:
        assert await menus.bring_up_to_date(session, OFFICE_CHAT) == 0

    # An upgrade that changes a menu's texts: what was set no longer matches.
    async with harness.db.transaction() as session:
        latest = (await outbox.latest_menus(session, [PAUL.id]))[PAUL.id]
        await session.execute(
            update(Delivery)
            .where(Delivery.id == latest.id)
            .values(options={**latest.options, "set": "an older menu"})
        )
    async with harness.db.transaction() as session:
        assert await menus.bring_up_to_date(session, OFFICE_CHAT) == 1


async def test_at_start_a_person_telegram_refused_waits_for_their_start_but_the_office_is_tried(
    harness: Harness,
) -> None:
    await register(harness, PAUL, Role.TECHNICIAN)
    async with harness.db.transaction() as session:
        outbox.menu(session, OFFICE_CHAT, menus.OFFICE)
    harness.calls.fail_next("setMyCommands", 400, "Bad Request: chat not found")
    harness.calls.fail_next("setMyCommands", 400, "Bad Request: chat not found")
    await harness.deliver()
    assert {d.state for d in await menu_deliveries(harness)} == {DeliveryState.FAILED}
    async with harness.db.transaction() as session:
        assert await menus.bring_up_to_date(session, OFFICE_CHAT) == 1
    await harness.deliver()
    assert names(harness.calls.menu_seen(OFFICE_CHAT, "fr")) == OFFICE_MENU
    assert harness.calls.menu_seen(PAUL.id, "fr") == []


# Groups and chat ids -------------------------------------------------------------------


def bot_joins(harness: Harness, who: Person, chat_id: int, *, old: str, new: str) -> Any:
    return harness.updates.bot_member(who, chat_id, old=old, new=new)


async def test_added_to_a_group_the_bot_says_its_id_and_how_to_make_it_the_office(
    harness: Harness,
) -> None:
    calls = await harness.feed(bot_joins(harness, EMMA, -100777, old="left", new="member"))
    (said,) = [c for c in calls if c.method == "sendMessage"]
    assert said.chat_id == -100777
    assert "This group's id is <code>-100777</code>" in said.text
    assert "<code>OFFICE_CHAT_ID=-100777</code>" in said.text and ".env" in said.text

    french = Person(31, "Luc", None, "fr")
    calls = await harness.feed(
        bot_joins(harness, french, -100778, old="kicked", new="administrator")
    )
    assert "L'identifiant de ce groupe est <code>-100778</code>" in texts(calls)[0]


async def test_added_back_to_the_office_group_it_says_so_and_sets_the_offices_menu(
    harness: Harness,
) -> None:
    calls = await harness.feed(bot_joins(harness, EMMA, OFFICE_CHAT, old="left", new="member"))
    assert texts(calls) == [], "the office's notice goes with the office's other notices"
    told = await harness.deliver()
    assert [c.chat_id for c in told] == [OFFICE_CHAT]
    assert told[0].text.startswith("Bonjour 👋 Ce groupe est celui du bureau")
    assert "OFFICE_CHAT_ID" not in told[0].text
    assert names(harness.calls.menu_seen(OFFICE_CHAT, "fr")) == OFFICE_MENU


async def test_leaving_a_group_or_being_promoted_there_says_nothing(harness: Harness) -> None:
    for old, new in (("member", "left"), ("member", "kicked"), ("member", "administrator")):
        calls = await harness.feed(bot_joins(harness, EMMA, -100777, old=old, new=new))
        assert texts(calls) == [], (old, new)
    assert await harness.deliver() == []


async def test_chatid_answers_an_admin_anywhere_with_the_chats_id(harness: Harness) -> None:
    calls = await harness.say(ADMIN, "/chatid")
    assert texts(calls) == [
        f"L'identifiant de cette conversation est <code>{ADMIN.id}</code>"
        " (c'est aussi votre identifiant Telegram)."
    ]
    calls = await harness.say(ADMIN, "/chatid", chat_id=-100777)
    assert calls[0].chat_id == -100777
    assert "<code>OFFICE_CHAT_ID=-100777</code>" in calls[0].text
    calls = await harness.say(ADMIN, "/chatid", chat_id=OFFICE_CHAT)
    assert texts(calls) == [
        f"L'identifiant de ce groupe est <code>{OFFICE_CHAT}</code> : c'est le groupe du bureau."
    ]


async def test_chatid_is_refused_politely_to_anyone_but_an_admin(harness: Harness) -> None:
    await register(harness, PAUL, Role.TECHNICIAN)
    calls = await harness.say(PAUL, "/chatid")
    assert texts(calls) == [
        "Seul un administrateur peut demander l'identifiant d'une conversation."
    ]
    calls = await harness.say(PAUL, "/chatid", chat_id=OFFICE_CHAT)
    assert str(OFFICE_CHAT) not in calls[0].text
    # Someone unknown is offered to ask for access, as for anything else.
    calls = await harness.say(STRANGER, "/chatid")
    assert "Je ne vous connais pas encore" in calls[0].text
    assert str(STRANGER.id) not in calls[0].text


# Chat actions ----------------------------------------------------------------------------


def actions_in(calls: list[Call]) -> list[tuple[int | None, str]]:
    return [(c.chat_id, c.params["action"]) for c in calls if c.method == "sendChatAction"]


async def test_working_shows_the_action_at_once_and_again_while_the_work_lasts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(actions, "REPEAT", 0.05)
    bot, session = recording_bot()
    async with actions.working(bot, PAUL.id, ChatAction.UPLOAD_DOCUMENT):
        await asyncio.sleep(0.01)
        assert actions_in(session.calls) == [(PAUL.id, "upload_document")], "at once"
        assert actions.busy(PAUL.id)
        await asyncio.sleep(0.18)
    shown = len(actions_in(session.calls))
    assert shown >= 3
    assert not actions.busy(PAUL.id)
    await asyncio.sleep(0.15)
    assert len(actions_in(session.calls)) == shown, "stopped when the work ended"


async def test_working_never_fails_the_work_when_telegram_refuses_or_is_unreachable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bot, session = recording_bot()
    session.fail_next("sendChatAction", 400, "Bad Request: chat not found")
    with caplog.at_level(logging.INFO):
        async with actions.working(bot, PAUL.id, ChatAction.TYPING):
            await asyncio.sleep(0.01)
            done = "the work went on"
    assert done == "the work went on"
    assert "chat action typing in chat 20 not shown" in caplog.text
    session.html_next("sendChatAction", 502)
    async with actions.working(bot, PAUL.id, ChatAction.TYPING):
        await asyncio.sleep(0.01)
    assert [c.failed for c in session.calls] == [True, True], "both tried, both failed"


async def test_an_export_shows_sending_a_file_and_arrives_though_the_action_cannot_go(
    harness: Harness,
) -> None:
    await three_jobs(harness.db)
    await register(harness, SOPHIE, Role.DISPATCHER)
    harness.calls.fail_next("sendChatAction", 400, "Bad Request: not enough rights")
    calls = await harness.say(SOPHIE, "/export 2026-11")
    assert actions_in(calls) == [(SOPHIE.id, "upload_document")]
    assert calls[-1].method == "sendDocument" and calls[-1].chat_id == SOPHIE.id


async def test_an_answer_taking_more_than_a_moment_shows_typing(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await register(harness, PAUL, Role.TECHNICIAN)
    quick = await harness.say(PAUL, "/help")
    assert [c.method for c in quick] == ["sendMessage"], "a quick answer shows nothing"

    monkeypatch.setattr(middlewares, "TYPING_AFTER", 0.05)
    found = users.by_telegram_id

    async def slow(session: Any, telegram_id: int) -> Any:
        await asyncio.sleep(0.3)
        return await found(session, telegram_id)

    monkeypatch.setattr(middlewares.users, "by_telegram_id", slow)
    slowly = await harness.say(PAUL, "/help")
    assert [c.method for c in slowly] == ["sendChatAction", "sendMessage"]
    assert actions_in(slowly) == [(PAUL.id, "typing")]


async def test_typing_does_not_cover_sending_a_file(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await three_jobs(harness.db)
    await register(harness, SOPHIE, Role.DISPATCHER)
    monkeypatch.setattr(middlewares, "TYPING_AFTER", 0.0)
    monkeypatch.setattr(actions, "REPEAT", 0.05)
    render = exports.render

    def slow_render(*args: Any, **kwargs: Any) -> bytes:
        time.sleep(0.3)
        return render(*args, **kwargs)

    monkeypatch.setattr(exports, "render", slow_render)
    calls = await harness.say(SOPHIE, "/export 2026-11")
    shown = [action for _, action in actions_in(calls)]
    assert shown.count("upload_document") >= 3
    first = shown.index("upload_document")
    assert "typing" not in shown[first:], shown


async def test_submitting_a_report_shows_sending_a_file_while_its_pdf_is_made(
    short: Harness,
) -> None:
    await submitted(short)
    shown = actions_in(short.calls.calls)
    assert (TECHNICIAN.id, "upload_document") in shown, shown
    rendering = short.calls.calls.index(
        next(c for c in short.calls.calls if c.params.get("action") == "upload_document")
    )
    assert any(
        c.method == "sendDocument" and c.chat_id == OFFICE_CHAT
        for c in short.calls.calls[rendering:]
    ), "the PDF follows"
