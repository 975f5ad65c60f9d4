"""Tests of the fake Bot API server, driven by a real aiogram Bot."""

from __future__ import annotations

import asyncio
import io
import json
import struct
import time
import zlib
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    MediaUnion,
    MenuButtonCommands,
    Message,
)
from aiohttp import web

from tests.fakeapi import FakeBotAPI, FakeUser, RandomFaults, parse_html

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALICE = FakeUser(id=1001, first_name="Alice", username="alice")


def png_bytes(width: int, height: int) -> bytes:
    """A valid, tiny grayscale PNG of the given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def make_bot(api: FakeBotAPI, token: str | None = None) -> Bot:
    """A real aiogram Bot talking to the fake server."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
    return Bot(token or api.token, session=session)


@pytest_asyncio.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    client = make_bot(api)
    yield client
    await client.session.close()


@pytest.mark.asyncio
async def test_get_me_parses(api: FakeBotAPI, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot
    assert me.id == 123456
    assert me.username == "terrain_test_bot"
    assert api.sent("getMe")[0].token == api.token


@pytest.mark.asyncio
async def test_text_update_with_command_and_offset(api: FakeBotAPI, bot: Bot) -> None:
    pushed = api.send_text(ALICE, "/start@terrain_test_bot hello")
    api.send_text(ALICE, "just text")

    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [pushed["update_id"], pushed["update_id"] + 1]
    message = updates[0].message
    assert message is not None
    assert message.text == "/start@terrain_test_bot hello"
    assert message.chat.type == "private"
    assert message.from_user is not None and message.from_user.username == "alice"
    assert message.entities is not None
    entity = message.entities[0]
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, 23)
    assert updates[1].message is not None and updates[1].message.entities is None

    # Confirming the first update leaves only the second one.
    rest = await bot.get_updates(offset=pushed["update_id"] + 1, timeout=0)
    assert [u.update_id for u in rest] == [pushed["update_id"] + 1]
    assert await bot.get_updates(offset=pushed["update_id"] + 2, timeout=0) == []
    assert api.confirmed_offset == pushed["update_id"] + 2
    assert len(api.updates) == 2


@pytest.mark.asyncio
async def test_long_poll_returns_early_on_push(api: FakeBotAPI, bot: Bot) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await api.wait_for(lambda: api.sent("getUpdates", include_failed=True))
    await asyncio.sleep(0.05)
    assert not poll.done()
    api.send_text(ALICE, "wake up")
    updates = await asyncio.wait_for(poll, 2)
    assert time.monotonic() - started < 1
    assert updates[0].message is not None and updates[0].message.text == "wake up"


@pytest.mark.asyncio
async def test_long_poll_times_out_with_json_body(api: FakeBotAPI) -> None:
    url = f"{api.base_url}/bot{api.token}/getUpdates"
    started = time.monotonic()
    async with aiohttp.ClientSession() as http, http.post(url, json={"timeout": 0.2}) as resp:
        body = await resp.json()
    assert body == {"ok": True, "result": []}
    assert 0.15 < time.monotonic() - started < 0.9


@pytest.mark.asyncio
async def test_urlencoded_and_unknown_method(api: FakeBotAPI) -> None:
    base = f"{api.base_url}/bot{api.token}"
    form = {"chat_id": "42", "text": "123", "reply_markup": '{"inline_keyboard": []}'}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/sendMessage", data=form) as resp:
            assert resp.status == 200
            result = (await resp.json())["result"]
        async with http.post(f"{base}/noSuchMethod") as resp:
            assert resp.status == 404
            assert await resp.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found",
            }
    record = api.sent("sendMessage")[0]
    assert record.params["chat_id"] == 42
    assert record.params["text"] == "123"
    assert record.params["reply_markup"] == {"inline_keyboard": []}
    assert result["chat"] == {"id": 42, "type": "private", "first_name": "User 42"}


@pytest.mark.asyncio
async def test_send_message_with_inline_keyboard(api: FakeBotAPI, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text="Oui", callback_data="answer:yes"),
                InlineKeyboardButton(text="Non", callback_data="answer:no"),
            ]
        ]
    )
    sent = await bot.send_message(
        ALICE.id, "<b>Valider</b> le relevé ?", parse_mode="HTML", reply_markup=keyboard
    )
    assert isinstance(sent, Message)
    assert sent.text == "Valider le relevé ?"
    assert sent.entities is not None and sent.entities[0].type == "bold"
    assert sent.from_user is not None and sent.from_user.id == api.bot_id
    assert sent.reply_markup is not None
    assert sent.reply_markup.model_dump() == keyboard.model_dump()

    record = (await api.wait_sent(1, chat_id=ALICE.id))[0]
    assert record.params["chat_id"] == ALICE.id
    assert record.params["parse_mode"] == "HTML"
    markup = record.params["reply_markup"]
    assert markup["inline_keyboard"][0][1]["callback_data"] == "answer:no"

    # The button can be pressed, and the bot sees the callback query.
    api.press_button(ALICE, record, "answer:yes")
    (update,) = await bot.get_updates(timeout=0)
    query = update.callback_query
    assert query is not None and query.data == "answer:yes"
    assert query.from_user.id == ALICE.id
    assert isinstance(query.message, Message)
    assert query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query.id, text="OK")
    with pytest.raises(AssertionError, match="no button"):
        api.press_button(ALICE, record, "answer:maybe")


@pytest.mark.asyncio
async def test_edit_and_delete_messages(api: FakeBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(ALICE.id, "Étape 1")
    edited = await bot.edit_message_text(
        text="Étape 2", chat_id=ALICE.id, message_id=sent.message_id
    )
    assert isinstance(edited, Message) and edited.text == "Étape 2"
    assert edited.edit_date is not None
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(text="Étape 2", chat_id=ALICE.id, message_id=sent.message_id)
    assert await bot.delete_message(ALICE.id, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(ALICE.id, sent.message_id)
    assert api.bot_messages(ALICE.id) == []


@pytest.mark.asyncio
async def test_bad_html_is_rejected(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(ALICE.id, "profondeur < 2 m", parse_mode="HTML")


def test_parse_html_entities() -> None:
    text, entities = parse_html(
        'a &lt;b&gt; <a href="https://x.org/?a=1&amp;b=2">lien</a> 🌍 <i>fin</i>'
    )
    assert text == "a <b> lien 🌍 fin"
    assert entities == [
        {"type": "text_link", "offset": 6, "length": 4, "url": "https://x.org/?a=1&b=2"},
        {"type": "italic", "offset": 14, "length": 3},  # the emoji counts 2 (UTF-16)
    ]


@pytest.mark.asyncio
async def test_send_document_records_bytes(api: FakeBotAPI, bot: Bot) -> None:
    data = b"%PDF-1.4 fake report"
    sent = await bot.send_document(
        ALICE.id, BufferedInputFile(data, filename="rapport.pdf"), caption="Rapport"
    )
    assert sent.document is not None
    assert sent.document.file_name == "rapport.pdf"
    assert sent.document.mime_type == "application/pdf"
    assert sent.document.file_size == len(data)
    assert sent.caption == "Rapport"

    record = api.sent("sendDocument", chat_id=ALICE.id)[0]
    upload = record.upload("document")
    assert upload is not None
    assert upload.filename == "rapport.pdf"
    assert upload.data == data
    buffer = await bot.download(sent.document)
    assert isinstance(buffer, io.BytesIO) and buffer.getvalue() == data


@pytest.mark.asyncio
async def test_send_media_group_and_location(api: FakeBotAPI, bot: Bot) -> None:
    media: list[MediaUnion] = [
        InputMediaPhoto(media=BufferedInputFile(png_bytes(4, 3), "a.png"), caption="A"),
        InputMediaPhoto(media=BufferedInputFile(png_bytes(3, 4), "b.png")),
    ]
    messages = await bot.send_media_group(ALICE.id, media)
    assert len(messages) == 2
    assert messages[0].media_group_id == messages[1].media_group_id
    assert messages[0].photo is not None and messages[0].photo[-1].width == 4
    assert messages[0].caption == "A"
    assert len(api.sent("sendMediaGroup")[0].files) == 2

    location = await bot.send_location(ALICE.id, latitude=45.75, longitude=4.85)
    assert location.location is not None and location.location.latitude == 45.75


@pytest.mark.asyncio
async def test_photo_get_file_download_round_trip(api: FakeBotAPI, bot: Bot) -> None:
    image = png_bytes(1000, 500)
    api.send_photo(ALICE, image, caption="Fissure au nord")
    (update,) = await bot.get_updates(timeout=0)
    message = update.message
    assert message is not None and message.photo is not None
    assert message.caption == "Fissure au nord"
    largest = message.photo[-1]
    assert (largest.width, largest.height) == (1000, 500)
    assert message.photo[0].width == 90

    file = await bot.get_file(largest.file_id)
    assert file.file_path is not None and file.file_size == len(image)
    buffer = await bot.download(largest)
    assert isinstance(buffer, io.BytesIO) and buffer.getvalue() == image
    assert api.sent("downloadFile")[0].params["file_path"] == file.file_path


@pytest.mark.asyncio
async def test_too_big_file(api: FakeBotAPI, bot: Bot) -> None:
    api.send_document(ALICE, b"x", "video.mp4", "video/mp4", file_size=25 * 1024 * 1024)
    (update,) = await bot.get_updates(timeout=0)
    assert update.message is not None and update.message.document is not None
    assert update.message.document.file_size == 25 * 1024 * 1024
    with pytest.raises(TelegramBadRequest, match="file is too big"):
        await bot.get_file(update.message.document.file_id)


@pytest.mark.asyncio
async def test_retry_after(api: FakeBotAPI, bot: Bot) -> None:
    api.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(ALICE.id, "trop vite")
    assert caught.value.retry_after == 7
    await bot.send_message(ALICE.id, "ça passe")
    assert len(api.sent("sendMessage")) == 1
    assert len(api.sent("sendMessage", include_failed=True)) == 2


@pytest.mark.asyncio
async def test_server_error(api: FakeBotAPI, bot: Bot) -> None:
    api.fail_next("sendMessage", 500)
    with pytest.raises(TelegramServerError):
        await bot.send_message(ALICE.id, "panne")


@pytest.mark.asyncio
async def test_forbidden(api: FakeBotAPI, bot: Bot) -> None:
    api.fail_next("sendMessage", 403)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(ALICE.id, "bloqué")
    api.block(ALICE.id)
    with pytest.raises(TelegramForbiddenError):
        await bot.send_chat_action(ALICE.id, "typing")


@pytest.mark.asyncio
async def test_wrong_token(api: FakeBotAPI) -> None:
    intruder = make_bot(api, token="654321:WRONG-token")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await intruder.get_me()
    finally:
        await intruder.session.close()
    assert api.requests[-1].status == 401


@pytest.mark.asyncio
async def test_drop_and_delay(api: FakeBotAPI, bot: Bot) -> None:
    api.drop_next("sendChatAction")
    with pytest.raises(TelegramNetworkError):
        await bot.send_chat_action(ALICE.id, "typing")

    api.delay("sendChatAction", 0.2, times=1)
    started = time.monotonic()
    assert await bot.send_chat_action(ALICE.id, "typing")
    assert time.monotonic() - started >= 0.2

    api.hang("getChat")
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(bot.get_chat(ALICE.id), 0.1)


async def _spoiled_calls(api: FakeBotAPI, bot: Bot, calls: int) -> list[str]:
    """Make `calls` sendMessage calls; what the bot saw of each ("ok" or the error)."""
    seen = []
    for n in range(calls):
        try:
            await bot.send_message(ALICE.id, f"message {n}")
            seen.append("ok")
        except TelegramRetryAfter as error:
            assert 1 <= error.retry_after <= 3
            seen.append("429")
        except TelegramNetworkError:
            seen.append("network")
        except Exception as error:  # an HTML page is not JSON: aiogram says so its own way
            seen.append(type(error).__name__)
    return seen


@pytest.mark.asyncio
async def test_random_faults_spoil_about_the_share_asked_with_every_kind(
    api: FakeBotAPI, bot: Bot
) -> None:
    api.random_faults = faults = RandomFaults(rate=0.5, seed=7)
    seen = await _spoiled_calls(api, bot, 200)
    assert set(faults.counts) == set(RandomFaults.KINDS), faults.counts
    spoiled = sum(faults.counts.values())
    assert 70 <= spoiled <= 130, faults.counts
    assert seen.count("ok") == 200 - spoiled
    assert seen.count("429") == faults.counts["429"]
    assert (
        seen.count("network") == faults.counts["dropped"] + faults.counts["dropped after handling"]
    )
    records = api.sent("sendMessage", include_failed=True)
    assert len(records) == 200
    assert sum(1 for r in records if faults.kind_of(r) is not None) == spoiled
    # A call dropped after handling was done: the message exists though the bot never heard.
    after = [r for r in records if faults.kind_of(r) == "dropped after handling"]
    assert all(r.ok and (ALICE.id, r.result["message_id"]) in api.messages for r in after)
    assert len(api.sent("sendMessage")) == seen.count("ok") + len(after)


@pytest.mark.asyncio
async def test_random_faults_are_the_same_for_the_same_seed() -> None:
    picks = []
    for _ in range(2):
        faults = RandomFaults(rate=0.3, seed=42)
        picks.append([faults.pick("sendMessage") for _ in range(500)])
    assert picks[0] == picks[1]
    assert picks[0] != [RandomFaults(rate=0.3, seed=43).pick("sendMessage") for _ in range(500)]


@pytest.mark.asyncio
async def test_random_server_errors_are_nginx_html_pages(api: FakeBotAPI) -> None:
    api.random_faults = RandomFaults(rate=1.0, kinds=("5xx",))
    async with aiohttp.ClientSession() as client:
        url = f"{api.base_url}/bot{api.token}/sendmessage"
        async with client.post(url, data={"chat_id": ALICE.id, "text": "hello"}) as response:
            body = await response.text()
            assert response.status in (500, 502, 503)
            assert response.content_type == "text/html"
    assert "<center>nginx</center>" in body and f"<title>{response.status} " in body
    (record,) = api.requests
    assert record.method == "sendMessage" and record.params["text"] == "hello"
    assert record.status == response.status and not api.messages


@pytest.mark.asyncio
async def test_random_faults_can_spare_methods_and_reach_downloads(
    api: FakeBotAPI, bot: Bot
) -> None:
    image = png_bytes(40, 30)
    api.send_photo(ALICE, image)
    (update,) = await bot.get_updates(timeout=0)
    assert update.message is not None and update.message.photo is not None
    api.random_faults = RandomFaults(
        rate=1.0, kinds=("dropped",), methods=frozenset({"downloadFile"})
    )
    file = await bot.get_file(update.message.photo[-1].file_id)  # spared
    with pytest.raises(aiohttp.ClientError):  # aiogram lets aiohttp's own error through
        await bot.download(file)
    # aiohttp tries once more on a kept-alive connection that was closed: both dropped.
    downloads = api.sent("downloadFile", include_failed=True)
    assert downloads and all(api.random_faults.kind_of(d) == "dropped" for d in downloads)
    api.random_faults = None
    buffer = await bot.download(file)
    assert isinstance(buffer, io.BytesIO) and buffer.getvalue() == image


@pytest.mark.asyncio
async def test_wait_sent_timeout_summarises(api: FakeBotAPI, bot: Bot) -> None:
    await bot.send_chat_action(ALICE.id, "typing")
    with pytest.raises(AssertionError, match="sendChatAction chat_id=1001 action='typing' -> ok"):
        await api.wait_sent(1, timeout=0.1)


@pytest.mark.asyncio
async def test_a_webhook_gets_each_update_until_it_answers_200(api: FakeBotAPI, bot: Bot) -> None:
    """Like Telegram: once setWebhook is called, updates are posted (with the secret
    token), the same one again while the answer is not 200, and getUpdates refuses."""
    received: list[tuple[int, str | None]] = []
    answers = [500, 200, 200]

    async def hook(request: web.Request) -> web.Response:
        update = await request.json()
        received.append((update["update_id"], request.headers.get(SECRET_HEADER)))
        return web.Response(status=answers.pop(0))

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    api.webhook_retry_delay = 0.01
    try:
        assert await bot.set_webhook(
            f"http://127.0.0.1:{port}/hook", secret_token="s3cret", allowed_updates=["message"]
        )
        assert api.webhook_allowed_updates == ["message"]
        first = api.send_text(ALICE, "un")
        second = api.send_text(ALICE, "deux")
        await api.wait_for(lambda: api.confirmed_offset > second["update_id"], 5, "both posted")
        with pytest.raises(TelegramConflictError, match="webhook is active"):
            await bot.get_updates()
    finally:
        await runner.cleanup()
    ids = (first["update_id"], second["update_id"])
    assert received == [(ids[0], "s3cret"), (ids[0], "s3cret"), (ids[1], "s3cret")]
    assert [(p.update_id, p.status) for p in api.webhook_posts] == [
        (ids[0], 500),
        (ids[0], 200),
        (ids[1], 200),
    ]
    assert await bot.delete_webhook()
    assert api.webhook_url == "" and api.webhook_secret_token is None


@pytest.mark.asyncio
async def test_setup_methods(api: FakeBotAPI, bot: Bot) -> None:
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.set_my_commands([BotCommand(command="releve", description="Relevé")])
    assert [c.command for c in await bot.get_my_commands()] == ["releve"]
    assert await bot.set_chat_menu_button(menu_button=MenuButtonCommands())
    chat = await bot.get_chat(-1001000000001)
    assert chat.type == "supergroup" and chat.title == "Test group"
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Releve", description="x")])


# Answers that are not JSON, as Telegram's nginx front end gives during an outage.


async def raw_send(api: FakeBotAPI, text: str = "bonjour") -> tuple[int, str, bytes]:
    """sendMessage with a plain HTTP client: (status, content type, body bytes)."""
    url = f"{api.base_url}/bot{api.token}/sendMessage"
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json={"chat_id": ALICE.id, "text": text}) as resp,
    ):
        return resp.status, resp.content_type, await resp.read()


async def raw_download(api: FakeBotAPI, file_path: str) -> tuple[int, str, bytes]:
    url = f"{api.base_url}/file/bot{api.token}/{file_path}"
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return resp.status, resp.content_type, await resp.read()


@pytest.mark.parametrize(
    ("status", "title"),
    [
        (502, "502 Bad Gateway"),
        (503, "503 Service Temporarily Unavailable"),
        (504, "504 Gateway Time-out"),
    ],
)
async def test_an_html_page_is_served_like_nginx_and_the_call_is_not_handled(
    api: FakeBotAPI, status: int, title: str
) -> None:
    api.html_next("sendMessage", status)
    code, content_type, body = await raw_send(api)
    assert (code, content_type) == (status, "text/html")
    page = body.decode()
    assert f"<title>{title}</title>" in page and "<center>nginx</center>" in page
    assert api.messages == {}, "an nginx page means the Bot API did not do it"
    (record,) = api.sent("sendMessage", include_failed=True)
    assert (record.fault, record.ok) == ("html", False)
    assert title in record.summary()
    assert (await raw_send(api))[0] == 200, "only the next call gets the page"


async def test_a_truncated_answer_is_cut_json_after_the_call_was_handled(api: FakeBotAPI) -> None:
    api.truncate_next("sendMessage")
    code, content_type, body = await raw_send(api, "réponse coupée")
    assert (code, content_type) == (200, "application/json")
    assert body.startswith(b'{"ok": true')
    with pytest.raises(ValueError):
        json.loads(body)
    (record,) = api.sent("sendMessage")
    assert record.fault == "truncated" and record.ok, "Telegram did send it"
    assert len(body) == len(json.dumps(record.response, ensure_ascii=False).encode()) // 2
    assert [m["text"] for m in api.bot_messages(ALICE.id)] == ["réponse coupée"]


async def test_a_truncated_answer_can_be_cut_inside_a_letter(api: FakeBotAPI) -> None:
    await raw_send(api, "été")
    whole = json.dumps(api.requests[-1].response, ensure_ascii=False).encode()
    inside = whole.index("é".encode()) + 1
    api.truncate_next("sendMessage", keep=inside)
    _, _, body = await raw_send(api, "été")
    with pytest.raises(UnicodeDecodeError):
        body.decode()


async def test_an_empty_answer_comes_after_the_call_was_handled(api: FakeBotAPI) -> None:
    api.empty_next("sendMessage")
    assert await raw_send(api) == (200, "application/json", b"")
    assert api.sent("sendMessage")[0].fault == "empty"
    assert len(api.bot_messages(ALICE.id)) == 1


async def test_a_connection_dropped_after_handling_leaves_the_message_sent(
    api: FakeBotAPI,
) -> None:
    api.drop_next("sendMessage", after_handling=True)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await raw_send(api)
    (record,) = api.sent("sendMessage")
    assert record.fault == "dropped after handling"
    assert len(api.bot_messages(ALICE.id)) == 1
    api.drop_next("sendMessage")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await raw_send(api)
    assert api.sent("sendMessage", include_failed=True)[-1].fault == "dropped"
    assert len(api.bot_messages(ALICE.id)) == 1, "dropped before: not sent"


async def test_a_flaky_method_gets_a_page_every_nth_call_until_cleared(api: FakeBotAPI) -> None:
    api.flaky("sendMessage", every=3, status=503)
    statuses = [(await raw_send(api))[0] for _ in range(7)]
    assert statuses == [200, 200, 503, 200, 200, 503, 200]
    api.clear_faults()
    assert [(await raw_send(api))[0] for _ in range(3)] == [200, 200, 200]


async def test_downloads_get_pages_cut_bodies_and_empty_bodies(api: FakeBotAPI, bot: Bot) -> None:
    image = png_bytes(300, 200)
    api.send_photo(ALICE, image)
    (update,) = await bot.get_updates(timeout=0)
    assert update.message is not None and update.message.photo is not None
    file = await bot.get_file(update.message.photo[-1].file_id)
    assert file.file_path is not None

    api.html_next("downloadFile", 502)
    code, content_type, body = await raw_download(api, file.file_path)
    assert (code, content_type) == (502, "text/html") and b"502 Bad Gateway" in body

    api.truncate_next("downloadFile")
    url = f"{api.base_url}/file/bot{api.token}/{file.file_path}"
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert resp.content_length == len(image), "the whole length is announced"
        with pytest.raises(aiohttp.ClientPayloadError):
            await resp.read()

    api.empty_next("downloadFile")
    assert (await raw_download(api, file.file_path))[::2] == (200, b"")
    assert [r.fault for r in api.sent("downloadFile")] == ["truncated", "empty"]
    assert (await raw_download(api, file.file_path))[::2] == (200, image)
