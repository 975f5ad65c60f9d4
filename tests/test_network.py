"""What the bot makes of answers it cannot read: the bot's own session (bot.app.build_bot)
against the fake Bot API, each way an outage spoils an answer turned into the network
error every retry path already takes, with a message that names the status and never
the token."""

from __future__ import annotations

import argparse
import io
import json
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramServerError,
)
from aiogram.methods import GetMe

from bot import cli
from bot.app import build_bot
from bot.config import Settings
from bot.logs import HideToken
from bot.requests import NetworkTrouble
from tests.fakeapi import FakeBotAPI, FakeUser
from tests.helpers import fake_api_settings

ALICE = FakeUser(1001, "Alice")


@pytest.fixture
def settings(api: FakeBotAPI, tmp_path: Path) -> Settings:
    return fake_api_settings(api, tmp_path)


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[Bot]:
    built = build_bot(settings)
    yield built
    await built.session.close()


def cut_inside_a_letter(api: FakeBotAPI) -> None:
    """Cut the next answer inside the "é" of the text, as the previous answer shows it."""
    whole = json.dumps(api.requests[-1].response, ensure_ascii=False).encode()
    api.truncate_next("sendMessage", keep=whole.index("é".encode()) + 1)


SPOILED: dict[str, tuple[Callable[[FakeBotAPI], None], type[TelegramAPIError], str]] = {
    "502 page": (
        lambda api: api.html_next("sendMessage", 502),
        TelegramServerError,
        "sendMessage: the Bot API answered 502 Bad Gateway with an HTML page",
    ),
    "503 page": (
        lambda api: api.html_next("sendMessage", 503),
        TelegramServerError,
        "sendMessage: the Bot API answered 503 Service Unavailable with an HTML page",
    ),
    "504 page": (
        lambda api: api.html_next("sendMessage", 504),
        TelegramServerError,
        "sendMessage: the Bot API answered 504 Gateway Timeout with an HTML page",
    ),
    "truncated": (
        lambda api: api.truncate_next("sendMessage"),
        TelegramNetworkError,
        "sendMessage: the Bot API answered 200 OK with JSON cut short",
    ),
    "cut inside a letter": (
        cut_inside_a_letter,
        TelegramNetworkError,
        "sendMessage: the Bot API answered bytes that are not text",
    ),
    "empty": (
        lambda api: api.empty_next("sendMessage"),
        TelegramNetworkError,
        "sendMessage: the Bot API answered 200 OK with an empty body",
    ),
    "wrong shape": (
        lambda api: api.set_result("sendMessage", {"not": "a message"}),
        TelegramNetworkError,
        "sendMessage: the Bot API answered 200 OK with JSON of an unexpected shape",
    ),
    "dropped after handling": (
        lambda api: api.drop_next("sendMessage", after_handling=True),
        TelegramNetworkError,
        "ServerDisconnectedError",
    ),
}


@pytest.mark.parametrize("spoil", list(SPOILED))
async def test_an_answer_spoiled_on_the_way_is_a_network_error_naming_it(
    api: FakeBotAPI, bot: Bot, spoil: str
) -> None:
    await bot.send_message(ALICE.id, "été")
    make, error, words = SPOILED[spoil]
    make(api)
    with pytest.raises(TelegramAPIError) as caught:
        await bot.send_message(ALICE.id, "été")
    assert type(caught.value) is error
    assert words in caught.value.message
    assert api.token not in str(caught.value)


async def test_an_html_page_on_get_me_is_a_server_error(api: FakeBotAPI, bot: Bot) -> None:
    api.html_next("getMe", 502)
    with pytest.raises(TelegramServerError, match="getMe: the Bot API answered 502 Bad Gateway"):
        await bot.get_me()
    assert (await bot.get_me()).username == api.username


async def test_check_says_the_bot_api_cannot_be_reached_through_a_502_page(
    api: FakeBotAPI, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    api.html_next("getMe", 502)
    assert await cli._check(settings, argparse.Namespace()) == cli.EXIT_PROBLEM
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("token:")]
    assert lines == [
        "token: FAILED, the Bot API cannot be reached"
        " (getMe: the Bot API answered 502 Bad Gateway with an HTML page)"
    ]


async def test_a_call_or_a_download_that_times_out_is_a_network_error(
    api: FakeBotAPI, bot: Bot
) -> None:
    api.delay("sendMessage", 3, times=1)
    with pytest.raises(TelegramNetworkError, match="Request timeout error"):
        await bot.send_message(ALICE.id, "lent", request_timeout=1)
    file_id = await photo_of_alice(api, bot, b"\xff\xd8 photo")
    api.delay("downloadFile", 3, times=1)
    with pytest.raises(TelegramNetworkError, match="file download: TimeoutError"):
        await bot.download(file_id, timeout=1)


async def photo_of_alice(api: FakeBotAPI, bot: Bot, data: bytes) -> str:
    api.send_photo(ALICE, data)
    (update,) = await bot.get_updates(timeout=0)
    assert update.message is not None and update.message.photo is not None
    return update.message.photo[-1].file_id


async def test_a_download_spoiled_on_the_way_is_a_network_error(api: FakeBotAPI, bot: Bot) -> None:
    data = bytes(range(256)) * 400
    file_id = await photo_of_alice(api, bot, data)

    api.html_next("downloadFile", 502)
    with pytest.raises(TelegramServerError) as server:
        await bot.download(file_id)
    assert server.value.message == "file download: Telegram's file server answered 502 Bad Gateway"

    api.truncate_next("downloadFile")
    with pytest.raises(TelegramNetworkError) as cut:
        await bot.download(file_id)
    assert "closed before the whole file arrived" in cut.value.message

    api.drop_next("downloadFile", times=2)  # aiohttp tries a dropped GET once more by itself
    with pytest.raises(TelegramNetworkError, match="file download: ServerDisconnectedError"):
        await bot.download(file_id)

    for error in (server.value, cut.value):
        assert api.token not in str(error)
    whole = await bot.download(file_id)
    assert isinstance(whole, io.BytesIO) and whole.getvalue() == data


async def test_a_file_telegram_no_longer_has_is_a_refusal_not_a_retry(
    api: FakeBotAPI, bot: Bot
) -> None:
    file_id = await photo_of_alice(api, bot, b"\xff\xd8 photo")
    api.fail_next("downloadFile", 404)
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.download(file_id)
    assert "404 Not Found: it no longer has the file" in caught.value.message
    assert api.token not in str(caught.value)


async def test_a_network_error_carrying_the_token_loses_it() -> None:
    bot = Bot("123456:SECRET-token")

    async def fails(bot: Bot, method: GetMe) -> None:
        raise TelegramNetworkError(method, f"InvalidURL: http://x/bot{bot.token}/getMe")

    with pytest.raises(TelegramNetworkError) as caught:
        await NetworkTrouble()(fails, bot, GetMe())  # type: ignore[arg-type]
    assert caught.value.message == "InvalidURL: http://x/bot<BOT_TOKEN>/getMe"
    await bot.session.close()


def test_the_token_is_hidden_in_a_logged_traceback_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = "123456:SECRET-token"
    handler = logging.StreamHandler(stream := io.StringIO())
    handler.addFilter(HideToken(token))
    log = logging.getLogger("tests.network.hidden")
    log.addHandler(handler)
    try:
        try:
            raise RuntimeError(
                f"500, message='x', url='https://api.telegram.org/file/bot{token}/a'"
            )
        except RuntimeError:
            log.exception("download of %s failed", f"bot{token}/a")
    finally:
        log.removeHandler(handler)
    written = stream.getvalue()
    assert "RuntimeError" in written and "Traceback" in written
    assert token not in written
    assert written.count("<BOT_TOKEN>") == 2
