"""End to end: the web face of `python -m bot` (webhook mode, /healthz, its pages).

The bot runs as a real process against the fake Bot API, as in tests/test_e2e.py,
with PUBLIC_URL pointing straight at its own web server on a free port of
127.0.0.1 (no reverse proxy in between). Once the bot has called setWebhook, the
fake posts each update to it as Telegram does, again and again until it is
answered 200; a test also posts by hand, as a stranger would, or as Telegram does
when it never heard the answer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import signal
import socket
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.ingest import ALLOWED_UPDATES
from tests.fakeapi import FakeBotAPI, FakeUser
from tests.test_e2e import Deployment, shows_bot_log

ROOT = Path(__file__).resolve().parent.parent
GREETING = "Je ne vous connais pas encore"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PATH = "/telegram/webhook"


def free_port() -> int:
    """A port of 127.0.0.1 nobody listens on (the system's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_web(deployment: Deployment, updates: str) -> str:
    """Give the deployment a web face on a free port; its PUBLIC_URL."""
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    deployment.env.update(PUBLIC_URL=public_url, WEB_PORT=str(port), UPDATES=updates)
    return public_url


async def start_by_webhook(deployment: Deployment, module: str = "bot") -> None:
    """Start the bot in webhook mode: ready once it has registered its webhook."""
    await deployment.bot.start(deployment.api, module=module, ready="setWebhook")


async def request(
    method: str, url: str, *, data: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes, str]:
    """One HTTP request: (status, body, content type)."""
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, data=data, headers=headers) as response,
    ):
        return response.status, await response.read(), response.content_type


async def health(public_url: str) -> tuple[int, dict[str, Any]]:
    status, body, kind = await request("GET", f"{public_url}/healthz")
    assert kind == "application/json", (status, body)
    return status, json.loads(body)


def write(deployment: Deployment, sql: str, *params: Any) -> None:
    """Change the bot's database behind its back, with the stdlib sqlite3 module."""
    connection = sqlite3.connect(deployment.db_path, timeout=30)
    try:
        with connection:
            connection.execute(sql, params)
    finally:
        connection.close()


def stored_time(moment: dt.datetime) -> str:
    """A moment as the bot's SQLite database holds it (UTC, no zone)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def update_states(deployment: Deployment) -> list[tuple[int, str]]:
    return deployment.query("SELECT update_id, state FROM inbox_updates ORDER BY update_id")


def greetings_to(deployment: Deployment, person: FakeUser) -> list[str]:
    return [
        r.text or ""
        for r in deployment.api.sent("sendMessage", person.id)
        if GREETING in (r.text or "")
    ]


def runs(api: FakeBotAPI) -> list[str]:
    """The fake's webhook posts in words, a run of alike ones as one."""
    words = [
        str(post.status) if post.status is not None else post.error.split(":")[0]
        for post in api.webhook_posts
    ]
    grouped: list[list[Any]] = []
    for word in words:
        if grouped and grouped[-1][0] == word:
            grouped[-1][1] += 1
        else:
            grouped.append([word, 1])
    return [f"{word} x{count}" if count > 1 else word for word, count in grouped]


async def chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    """A body sent in pieces, without Content-Length (chunked)."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


# Webhook mode ---------------------------------------------------------------------


@pytest.mark.e2e
@shows_bot_log
async def test_webhook_mode_registers_a_secret_and_refuses_whoever_lacks_it(
    api: FakeBotAPI, deployment: Deployment
) -> None:
    """A post without the secret token, with a wrong one, or that is not one update
    is refused before anything is stored; Telegram's own posts are stored, handled
    and answered."""
    public_url = serve_web(deployment, "webhook")
    await start_by_webhook(deployment)

    url = f"{public_url}{WEBHOOK_PATH}"
    secret = api.webhook_secret_token
    assert api.webhook_url == url
    assert secret is not None and re.fullmatch(r"[A-Za-z0-9_-]{64}", secret), secret
    assert api.webhook_allowed_updates == ALLOWED_UPDATES
    assert not api.sent("getUpdates", include_failed=True), "webhook mode must not poll"
    assert not api.sent("deleteWebhook", include_failed=True)

    stranger = FakeUser(555_101, "Inconnu")
    forged = json.dumps(
        {
            "update_id": 9_000,
            "message": {
                "message_id": 1,
                "date": 1,
                "chat": {"id": stranger.id, "type": "private", "first_name": "Inconnu"},
                "from": {"id": stranger.id, "is_bot": False, "first_name": "Inconnu"},
                "text": "/start",
            },
        }
    ).encode()
    json_type = {"Content-Type": "application/json"}
    refused: list[tuple[str, int]] = []
    for what, headers, body in [
        ("no secret", json_type, forged),
        ("a wrong secret", {**json_type, SECRET_HEADER: "not-the-secret"}, forged),
        ("the secret cut short", {**json_type, SECRET_HEADER: secret[:-1]}, forged),
        ("an empty secret", {**json_type, SECRET_HEADER: ""}, forged),
    ]:
        status, answer, _ = await request("POST", url, data=body, headers=headers)
        refused.append((what, status))
        assert status == 401, (what, status, answer)
    good = {**json_type, SECRET_HEADER: secret}
    too_large = b'{"update_id": 9001, "padding": "' + b"x" * (1024 * 1024) + b'"}'
    for what, body, expected in [
        ("a body that is not JSON", b"update_id=9002", 400),
        ("a cut JSON body", forged[:-3], 400),
        ("a JSON list", b"[1, 2]", 400),
        ("an object without update_id", b'{"message": {"text": "hi"}}', 400),
        ("a text update_id", b'{"update_id": "9003"}', 400),
        ("a negative update_id", b'{"update_id": -4}', 400),
        ("a chat without its id", b'{"update_id": 9004, "message": {"chat": {}}}', 400),
        ("a body over 1 MiB", too_large, 413),
        ("a body over 1 MiB, in chunks", chunks(too_large, 65_536), 413),
    ]:
        status, answer, _ = await request("POST", url, data=body, headers=good)
        refused.append((what, status))
        assert status == expected, (what, status, answer)
    status, _, _ = await request("GET", url, headers=good)
    assert status == 405
    assert deployment.query("SELECT count(*) FROM inbox_updates") == [(0,)]
    assert not api.sent("sendMessage", include_failed=True)

    # Telegram's own posts (the fake's) carry the secret.
    update = api.send_text(stranger, "/start")
    await deployment.message_to(stranger.id, GREETING)
    assert update_states(deployment) == [(update["update_id"], "done")]
    posts = [(p.update_id, p.status, p.secret_token == secret) for p in api.webhook_posts]
    assert posts == [(update["update_id"], 200, True)], posts
    status, report = await health(public_url)
    assert status == 200 and report["updates"] == "webhook", report
    await deployment.bot.stop_cleanly()
    # Stopping leaves the webhook: Telegram keeps the updates until the bot is back.
    assert api.webhook_url == url
    print(f"\nwebhook refusals: {refused}; Telegram's post: {posts}")


@pytest.mark.e2e
@shows_bot_log
async def test_an_update_posted_twice_is_handled_once_and_sigterm_finishes_the_work_in_hand(
    api: FakeBotAPI, deployment: Deployment
) -> None:
    """Telegram posts again an update whose 200 it did not hear: it is answered 200
    and neither stored nor handled again. SIGTERM closes the web server at once, then
    finishes what was received (the reply under way is sent) and ends with status 0.
    The next start registers a new secret token: the old one is refused."""
    public_url = serve_web(deployment, "webhook")
    url = f"{public_url}{WEBHOOK_PATH}"
    await start_by_webhook(deployment)
    bot = deployment.bot
    assert bot.proc is not None
    marc = FakeUser(555_102, "Marc")

    first = api.send_text(marc, "/start")
    await deployment.message_to(marc.id, GREETING)
    secret = api.webhook_secret_token
    assert secret is not None
    headers = {"Content-Type": "application/json", SECRET_HEADER: secret}
    status, _, _ = await request("POST", url, data=json.dumps(first), headers=headers)
    assert status == 200
    second = api.send_text(marc, "bonjour ?")
    await deployment.until(
        lambda: len(greetings_to(deployment, marc)) == 2, what="the second message answered"
    )
    assert update_states(deployment) == [
        (first["update_id"], "done"),
        (second["update_id"], "done"),
    ]
    assert len(greetings_to(deployment, marc)) == 2, "the update posted twice was handled twice"
    assert deployment.query("SELECT count(*) FROM deliveries WHERE chat_id = ?", marc.id) == [(2,)]

    # SIGTERM while a reply is on its way (Telegram takes 3 s to answer it).
    api.delay("sendMessage", 3.0, times=1)
    third = api.send_text(marc, "il y a quelqu'un ?")

    def reply_under_way() -> bool:
        return any(
            r.method == "sendMessage" and r.chat_id == marc.id and not r.answered
            for r in api.requests
        )

    await deployment.until(reply_under_way, what="the third reply on its way")
    bot.proc.send_signal(signal.SIGTERM)
    closed_while_running = None
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", int(deployment.env["WEB_PORT"]))
        except ConnectionRefusedError:
            closed_while_running = bot.proc.returncode is None
            break
        writer.close()
        await writer.wait_closed()
        await asyncio.sleep(0.02)
    assert closed_while_running, "the web server should stop accepting before the bot ends"
    assert await asyncio.wait_for(bot.proc.wait(), 15) == 0
    assert len(greetings_to(deployment, marc)) == 3, "the reply under way was not finished"
    assert deployment.query(
        "SELECT state FROM inbox_updates WHERE update_id = ?", third["update_id"]
    ) == [("done",)]
    assert deployment.query(
        "SELECT state, count(*) FROM deliveries WHERE chat_id = ? GROUP BY state", marc.id
    ) == [("sent", 3)]

    await start_by_webhook(deployment)
    assert api.webhook_secret_token not in (None, secret)
    stale = {"Content-Type": "application/json", SECRET_HEADER: secret}
    status, _, _ = await request("POST", url, data=json.dumps(first), headers=stale)
    assert status == 401, "the secret token of the previous run must not be accepted"
    await bot.stop_cleanly()


@pytest.mark.e2e
@pytest.mark.parametrize("at_the_kill", ["handled", "pending"])
@shows_bot_log
async def test_a_bot_killed_after_storing_an_update_and_before_answering_handles_it_once(
    api: FakeBotAPI, deployment: Deployment, at_the_kill: str
) -> None:
    """The bot stores an update Telegram posted, then is killed (SIGKILL) before its
    200 leaves, the update already handled and answered, or still waiting to be.
    Telegram never heard the 200 and posts the update again to the restarted bot,
    which answers 200 and handles it once in all: one stored row, one reply."""
    serve_web(deployment, "webhook")
    deployment.env["TERRAIN_TEST_STALL"] = at_the_kill
    # The bot starts in a folder of its own: `tests` is found from the checkout.
    deployment.env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), deployment.env.get("PYTHONPATH")])
    )
    bot = deployment.bot
    await start_by_webhook(deployment, module="tests.stalled_webhook")
    zoe = FakeUser(555_103, "Zoé")
    update = api.send_text(zoe, "/start")
    update_id = update["update_id"]

    def stored() -> bool:
        return update_states(deployment) == [(update_id, "pending")]

    def handled_and_sent() -> bool:
        return update_states(deployment) == [(update_id, "done")] and deployment.query(
            "SELECT state FROM deliveries WHERE chat_id = ?", zoe.id
        ) == [("sent",)]

    if at_the_kill == "handled":
        await deployment.until(handled_and_sent, what="the update handled, its reply sent")
    else:
        await deployment.until(stored, what="the update stored")
    assert all(post.status is None for post in api.webhook_posts), "the 200 must not leave"
    bot.kill()
    assert bot.proc is not None
    assert await asyncio.wait_for(bot.proc.wait(), 10) == -signal.SIGKILL
    await deployment.until(
        lambda: api.webhook_posts and api.webhook_posts[-1].error, what="the post cut off"
    )
    assert api.confirmed_offset <= update_id, "Telegram must still hold the update"

    del deployment.env["TERRAIN_TEST_STALL"]
    await start_by_webhook(deployment)
    await deployment.until(
        lambda: api.confirmed_offset > update_id, what="Telegram's post answered 200"
    )
    await deployment.until(handled_and_sent, what="the update handled once, its reply sent")
    await bot.stop_cleanly()

    assert update_states(deployment) == [(update_id, "done")]
    assert len(greetings_to(deployment, zoe)) == 1, greetings_to(deployment, zoe)
    assert deployment.query("SELECT count(*) FROM deliveries") == [(1,)]
    posts = [(p.update_id, p.status) for p in api.webhook_posts]
    assert posts[0] == (update_id, None) and posts[-1] == (update_id, 200), posts
    assert [status for _, status in posts].count(200) == 1, posts
    print(f"\nkilled with the update {at_the_kill}; Telegram's posts of it: {runs(api)}")


# Polling with a web face, and /healthz ------------------------------------------------


@pytest.mark.e2e
@shows_bot_log
async def test_polling_removes_a_webhook_and_healthz_says_what_waits(
    api: FakeBotAPI, deployment: Deployment
) -> None:
    """In polling mode with PUBLIC_URL, the bot first removes the webhook an earlier
    run left (Telegram refuses getUpdates while one is set) and serves /healthz and
    its pages; /healthz turns 503 once a delivery has waited past its limit."""
    api.webhook_url = "https://old.example.fr/telegram/webhook"
    public_url = serve_web(deployment, "polling")
    bot = deployment.bot
    await bot.start(api)
    names = [r.method for r in api.requests if r.method in ("deleteWebhook", "getUpdates")]
    assert names[:2] == ["deleteWebhook", "getUpdates"], names
    assert api.webhook_url == ""
    assert not [r for r in api.sent("getUpdates", include_failed=True) if r.status == 409]

    luc = FakeUser(555_104, "Luc")
    api.send_text(luc, "/start")
    await deployment.message_to(luc.id, GREETING)
    await deployment.until(
        lambda: deployment.query("SELECT state FROM deliveries") == [("sent",)],
        what="the reply marked sent",
    )
    status, report = await health(public_url)
    assert status == 200, report
    healthy = dict(report)
    received = dt.datetime.fromisoformat(healthy.pop("last_update_received"))
    assert dt.timedelta(0) <= dt.datetime.now(dt.UTC) - received < dt.timedelta(minutes=1)
    assert healthy == {
        "healthy": True,
        "problems": [],
        "database": "reachable",
        "updates": "polling",
        "updates_waiting": 0,
        "deliveries_waiting": 0,
        "oldest_delivery_waiting_seconds": None,
    }

    status, page, kind = await request("GET", f"{public_url}/")
    assert (status, kind) == (200, "text/html") and b"<h1>Terrain</h1>" in page
    status, _, kind = await request("GET", f"{public_url}/static/terrain.css")
    assert (status, kind) == (200, "text/css")
    status, _, _ = await request("GET", f"{public_url}/static/../../config.py")
    assert status in (403, 404)
    status, _, _ = await request("POST", f"{public_url}{WEBHOOK_PATH}", data=b"{}")
    assert status == 404, "polling mode leaves no webhook door open"

    # A reply Telegram keeps refusing with 502 for 20 minutes, tried again later; an
    # update stored and not handled yet.
    now = dt.datetime.now(dt.UTC)
    write(
        deployment,
        "INSERT INTO deliveries (channel, chat_id, kind, text, options, state, attempts,"
        " next_attempt_at, last_error, created_at) VALUES ('telegram', ?, 'message',"
        " 'Bonjour', '{}', 'pending', 6, ?, '502 Bad Gateway', ?)",
        luc.id,
        stored_time(now + dt.timedelta(minutes=10)),
        stored_time(now - dt.timedelta(minutes=20)),
    )
    write(
        deployment,
        "INSERT INTO inbox_updates (update_id, chat_id, payload, state, received_at)"
        " VALUES (999999, ?, '{}', 'pending', ?)",
        luc.id,
        stored_time(now),
    )
    status, stuck = await health(public_url)
    assert status == 503, stuck
    assert stuck["healthy"] is False and stuck["database"] == "reachable"
    assert stuck["problems"] == ["a delivery has waited 20 minutes (more than 15)"], stuck
    assert (stuck["updates_waiting"], stuck["deliveries_waiting"]) == (1, 1), stuck
    assert 20 * 60 <= stuck["oldest_delivery_waiting_seconds"] < 21 * 60, stuck
    await bot.stop_cleanly()
    print(f"\n/healthz healthy: 200 {report}\n/healthz stuck: 503 {stuck}")


@pytest.mark.e2e
async def test_a_web_face_that_cannot_run_stops_the_bot_with_one_line(
    api: FakeBotAPI, deployment: Deployment, tmp_path: Path
) -> None:
    """A WEB_PORT another program holds, or a webhook Telegram refuses (once it has
    waited through a 502), ends `python -m bot` with one line and status 2."""

    def web_face(name: str, port: int) -> dict[str, str]:
        return {
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
            "WEB_PORT": str(port),
            "UPDATES": "webhook",
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / name / 'terrain.sqlite3'}",
        }

    taken_port, refused_port = free_port(), free_port()
    refusal = "Bad Request: bad webhook: Failed to resolve host: Name or service not known"
    api.fail_next("setWebhook", 502)
    api.fail_next("setWebhook", 400, refusal)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", taken_port))
        taken.listen()
        (code, out, err), (refused_code, refused_out, refused_err) = await asyncio.gather(
            deployment.cli(**web_face("taken", taken_port)),
            deployment.cli(**web_face("refused", refused_port)),
        )
    assert (code, out) == (2, ""), (code, out, err)
    assert "Traceback" not in err, err
    assert err.splitlines()[-1] == (
        f"terrain: the web server cannot listen on 127.0.0.1:{taken_port} (address already in"
        " use); change WEB_HOST or WEB_PORT in .env"
    ), err
    assert (refused_code, refused_out) == (2, ""), (refused_code, refused_out, refused_err)
    assert "Traceback" not in refused_err, refused_err
    assert refused_err.splitlines()[-1] == (
        f"terrain: Telegram refused the webhook http://127.0.0.1:{refused_port}/telegram/webhook"
        f" ({refusal}); check PUBLIC_URL in .env"
    ), refused_err
    assert [r.status for r in api.sent("setWebhook", include_failed=True)] == [502, 400]
