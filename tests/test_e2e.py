"""End to end: `python -m bot` runs as a real process against the fake Bot API.

Each test starts the bot with `[sys.executable, "-m", "bot"]`, from a fresh folder
without `.env`, configured only by environment variables pointing at a
`FakeBotAPI` served by the test process and at a SQLite file in a tmp folder.
The bot's log goes to a file whose tail is shown when an assertion fails. The bot
is always stopped at the end (SIGTERM, then SIGKILL after 10 s); a test that
stops it on purpose asserts that SIGTERM ends it with exit status 0.

Subprocesses are driven with asyncio, never with blocking calls: the fake server
answers in this very event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import re
import signal
import socket
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bot.config import Settings
from storage.db import Database
from tests.fakeapi import FakeBotAPI, FakeUser, Recorded, inline_buttons

T = TypeVar("T")

ADMIN = FakeUser(900_001, "Alice", username="alice_admin")
STOP_GRACE = 10.0
#: Seconds a start or a command may take: importing aiogram alone takes seconds on a
#: busy 2-core machine, and the command-line test runs four at once.
START_TIMEOUT = 60
COMMAND_TIMEOUT = 90
WORKERS = 16  # the default of the WORKERS setting: at most this many updates in flight
OUTBOX_IN_FLIGHT = 8  # the outbox sender's calls under way at once
SETTING_NAMES = {name.upper() for name in Settings.model_fields}
LOG_MARK = "--- bot log "


# Running the bot ---------------------------------------------------------------


class BotProcess:
    """`python -m bot` as a child process, its output in a log file per start."""

    def __init__(self, env: dict[str, str], cwd: Path, logs: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.logs = logs
        self.runs: list[Path] = []
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def start(
        self, api: FakeBotAPI, *, module: str = "bot", ready: str = "getUpdates"
    ) -> None:
        """Start the bot (`python -m MODULE`) and wait until it long-polls the fake API
        (or makes its first call of the method `ready`, such as setWebhook)."""
        assert not self.running, "the bot is already running"
        log = self.logs / f"bot-run-{len(self.runs) + 1}.log"
        self.runs.append(log)
        calls_before = len(api.sent(ready, include_failed=True))
        with log.open("wb") as output:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                module,
                cwd=self.cwd,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=output,
            )
        await until(
            api,
            self,
            lambda: len(api.sent(ready, include_failed=True)) > calls_before,
            timeout=START_TIMEOUT,
            what=f"the bot to start (its first {ready})",
        )

    def kill(self) -> None:
        """SIGKILL, at once (safe to call from a fake API listener)."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)

    async def stop(self) -> int | None:
        """SIGTERM, then SIGKILL if it is still there after 10 s; the exit status
        (None when it had to be killed)."""
        proc = self.proc
        if proc is None:
            return None
        if proc.returncode is not None:
            return proc.returncode
        proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(proc.wait(), STOP_GRACE)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return None

    async def stop_cleanly(self) -> None:
        code = await self.stop()
        assert code == 0, f"SIGTERM should end the bot with status 0, got {code}{self.tail()}"

    @contextlib.contextmanager
    def explained(self) -> Iterator[None]:
        """Add the tail of the bot's log to any assertion failing inside."""
        try:
            yield
        except AssertionError as exc:
            if self.runs and LOG_MARK not in str(exc):
                exc.args = (f"{exc}{self.tail()}",)
            raise

    def tail(self, lines: int = 30) -> str:
        """The end of each run's log, for assertion messages."""
        parts = []
        for log in self.runs:
            text = log.read_text(errors="replace") if log.exists() else ""
            kept = "\n".join(text.splitlines()[-lines:])
            parts.append(f"\n{LOG_MARK}{log.name}, last {lines} lines ---\n{kept}")
        return "".join(parts)


async def until(
    api: FakeBotAPI,
    bot: BotProcess,
    predicate: Callable[[], T],
    *,
    timeout: float = 10.0,
    what: str,
) -> T:
    """Wait for `predicate()` to be truthy; fail early if the bot died, and show
    the fake's last requests and the bot's log on failure."""

    def check() -> T:
        value = predicate()
        if not value and bot.proc is not None and bot.proc.returncode is not None:
            raise AssertionError(f"the bot exited with status {bot.proc.returncode}")
        return value

    with bot.explained():
        return await api.wait_for(check, timeout, what)


async def run_cli(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str, str]:
    """`python -m bot ARGS`, to completion: (exit status, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), COMMAND_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        command = " ".join(args)
        raise AssertionError(f"`python -m bot {command}` took over {COMMAND_TIMEOUT} s") from None
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


class Deployment:
    """One installation: a working folder without .env, a data folder, a SQLite
    file, the environment that points the bot at the fake API."""

    def __init__(self, api: FakeBotAPI, root: Path) -> None:
        self.api = api
        self.cwd = root / "cwd"
        self.cwd.mkdir()
        self.db_path = root / "db" / "terrain.sqlite3"
        self.env = {k: v for k, v in os.environ.items() if k.upper() not in SETTING_NAMES}
        self.env.update(
            BOT_TOKEN=api.token,
            TELEGRAM_API_URL=api.base_url,
            DATA_DIR=str(root / "data"),
            DATABASE_URL=f"sqlite+aiosqlite:///{self.db_path}",
            ADMIN_IDS=str(ADMIN.id),
            POLLING_TIMEOUT="1",
            LOG_LEVEL="INFO",
            # Reminders and the digest come at hours of the day: a test about something
            # else must not read differently at 18:00 (tests/test_reminders.py moves
            # the clock instead).
            REMIND_EVENING="",
            DIGEST_AT="",
            REMIND_BEFORE_MINUTES="0",
            REMIND_IDLE_HOURS="0",
        )
        self.bot = BotProcess(self.env, self.cwd, root)

    def with_env(self, **changes: str | None) -> dict[str, str]:
        """The environment with some variables changed (None: removed)."""
        env = dict(self.env)
        for name, value in changes.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    async def cli(self, *args: str, **env_changes: str | None) -> tuple[int, str, str]:
        return await run_cli(self.with_env(**env_changes), self.cwd, *args)

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read the bot's database with the stdlib sqlite3 module."""
        connection = sqlite3.connect(f"file:{self.db_path}?mode=rw", uri=True, timeout=30)
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()

    async def until(self, predicate: Callable[[], T], *, timeout: float = 10.0, what: str) -> T:
        return await until(self.api, self.bot, predicate, timeout=timeout, what=what)

    async def message_to(
        self, chat_id: int, containing: str, *, method: str = "sendMessage", timeout: float = 10
    ) -> Recorded:
        """The first successful `method` to `chat_id` whose text contains `containing`."""

        def found() -> Recorded | None:
            for record in self.api.sent(method, chat_id):
                if containing in (record.text or ""):
                    return record
            return None

        return await self.until(
            found, timeout=timeout, what=f"{method} to {chat_id} containing {containing!r}"
        )


def shows_bot_log(test: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """Decorates a test taking `deployment`: a failed assertion shows the bot's log."""

    @functools.wraps(test)
    async def run(*args: Any, **kwargs: Any) -> None:
        with kwargs["deployment"].bot.explained():
            await test(*args, **kwargs)

    return run


def button(message: Recorded | dict[str, Any], label: str) -> str:
    """The callback_data of the button whose text contains `label`."""
    result = message.result if isinstance(message, Recorded) else message
    assert isinstance(result, dict), f"not a message: {message!r}"
    buttons = inline_buttons(result)
    for candidate in buttons:
        if label in candidate.get("text", ""):
            return str(candidate["callback_data"])
    raise AssertionError(f"no button {label!r} among {[b.get('text') for b in buttons]}")


# 1. Unknown people -------------------------------------------------------------


@pytest.mark.e2e
@shows_bot_log
async def test_an_unknown_person_asks_for_access_and_an_admin_makes_them_a_technician(
    api: FakeBotAPI, deployment: Deployment
) -> None:
    bot = deployment.bot
    marc = FakeUser(555_001, "Marc", username="marc_b")
    await bot.start(api)

    api.send_text(marc, "/start")
    greeting = await deployment.message_to(marc.id, "Je ne vous connais pas encore")
    api.press_button(marc, greeting, button(greeting, "Demander un accès"))
    await deployment.message_to(marc.id, "transmise aux administrateurs", method="editMessageText")

    request = await deployment.message_to(ADMIN.id, "Demande d'accès")
    assert "Marc (@marc_b)" in (request.text or "") and str(marc.id) in (request.text or "")
    roles = [b["text"] for b in inline_buttons(request.result)]
    assert roles == ["Technicien", "Dispatcheur", "Client", "Refuser"], roles
    # It went through the outbox: a delivery row, marked sent with the message's id.
    await deployment.until(
        lambda: (
            deployment.query(
                "SELECT state, telegram_message_id FROM deliveries WHERE chat_id = ?", ADMIN.id
            )
            == [("sent", request.result["message_id"])]
        ),
        what="the access request's delivery marked sent",
    )

    api.press_button(ADMIN, request, button(request, "Technicien"))
    decided = await deployment.message_to(
        ADMIN.id, "Marc est enregistré comme Technicien", method="editMessageText"
    )
    assert decided.params["message_id"] == request.result["message_id"]
    # Told through the outbox, so only once the decision is committed.
    await deployment.message_to(marc.id, "Votre accès est ouvert")

    code, out, err = await deployment.cli("users", "list")
    assert code == 0, f"users list exited {code}: {err}"
    lines = [line.split() for line in out.splitlines()]
    assert [str(marc.id), "technician", "active", "Marc"] in lines, out
    assert [str(ADMIN.id), "admin", "active", "Alice"] in lines, out

    await bot.stop_cleanly()


# 2. Invitations ----------------------------------------------------------------


@pytest.mark.e2e
@shows_bot_log
async def test_an_admin_invites_a_technician_with_a_link_that_registers_them(
    api: FakeBotAPI, deployment: Deployment
) -> None:
    bot = deployment.bot
    await bot.start(api)

    api.send_text(ADMIN, "/invite")
    menu = await deployment.message_to(ADMIN.id, "Quel rôle")
    api.press_button(ADMIN, menu, button(menu, "Technicien"))
    await deployment.message_to(ADMIN.id, "Envoyez le nom", method="editMessageText")
    api.send_text(ADMIN, "Bernard Dupuis")
    created = await deployment.message_to(ADMIN.id, "Lien d'invitation")
    found = re.search(
        rf"https://t\.me/{api.username}\?start=(inv_[A-Za-z0-9_-]+)", created.text or ""
    )
    assert found, f"no invite link in {created.text!r}"

    bernard = FakeUser(555_002, "Bernard", username="bdupuis")
    api.send_text(bernard, f"/start {found.group(1)}")
    welcome = await deployment.message_to(bernard.id, "Bienvenue")
    assert "Bernard Dupuis" in (welcome.text or "")
    assert "enregistré comme Technicien" in (welcome.text or ""), welcome.text
    used = await deployment.message_to(ADMIN.id, "a utilisé votre invitation")
    assert "Bernard Dupuis" in (used.text or "") and "Technicien" in (used.text or "")
    assert deployment.query("SELECT role FROM users WHERE telegram_id = ?", bernard.id) == [
        ("technician",)
    ]

    await bot.stop_cleanly()


# 3. Durability -----------------------------------------------------------------

PEOPLE = 40
REPLIES_PER_PERSON = 3  # the greeting, the answer to the press, the edited greeting
KILL_AFTER = PEOPLE * REPLIES_PER_PERSON // 3


@pytest.mark.e2e
@shows_bot_log
async def test_a_bot_killed_mid_burst_loses_nothing_and_handles_nothing_twice(
    api: FakeBotAPI, deployment: Deployment
) -> None:
    """40 strangers each send /start and press "Demander un accès" on the bot's
    answer as soon as it arrives. The bot is killed with SIGKILL once a third of
    the expected replies were sent, then started again."""
    bot = deployment.bot
    people = {
        700_000 + i: FakeUser(700_000 + i, f"Personne{i}", username=f"p_{i}") for i in range(PEOPLE)
    }
    pressed: dict[int, str] = {}  # person -> callback query id
    queries: dict[str, int] = {}  # callback query id -> person
    replies: list[Recorded] = []
    kill: dict[str, Any] = {}

    def person_of(record: Recorded) -> int | None:
        if record.method == "answerCallbackQuery":
            return queries.get(str(record.params.get("callback_query_id")))
        chat = record.chat_id
        return int(chat) if chat is not None and int(chat) in people else None

    def on_answer(record: Recorded) -> None:
        """Runs in the fake server as each request is answered, before the bot
        reads the answer."""
        if not record.ok or record.method not in (
            "sendMessage",
            "answerCallbackQuery",
            "editMessageText",
        ):
            return
        who = person_of(record)
        if who is None:
            return
        replies.append(record)
        if record.method == "sendMessage" and who not in pressed:
            # The person presses the button of the first answer they get.
            update = api.press_button(people[who], record, button(record, "Demander un accès"))
            pressed[who] = update["callback_query"]["id"]
            queries[pressed[who]] = who
        if not kill and len(replies) >= KILL_AFTER and record.method == "answerCallbackQuery":
            # The handler that made this call has not seen the answer, nor
            # committed: SIGKILL lands in the middle of its unit of work, and of
            # the units of other chats under way (greetings sent, not committed).
            # Killing at a press's first reply, while it holds SQLite's write
            # lock, keeps the kill out of the window between another press's
            # edit and its commit.
            bot.kill()
            kill.update(replies=len(replies), pushed=len(api.updates), method=record.method)

    api.listeners.append(on_answer)
    await bot.start(api)
    started = time.monotonic()
    for person in people.values():
        api.send_text(person, "/start")

    await deployment.until(lambda: kill, timeout=30, what="a third of the replies (the kill)")
    assert bot.proc is not None
    assert await asyncio.wait_for(bot.proc.wait(), 10) == -signal.SIGKILL
    states = Counter(dict(deployment.query("SELECT state, count(*) FROM inbox_updates GROUP BY 1")))
    handled_before = states["done"]
    pending_at_restart = states["pending"]
    total = 2 * PEOPLE
    assert 0 < handled_before < total, states  # killed mid-burst
    assert kill["replies"] < PEOPLE * REPLIES_PER_PERSON, kill
    assert states["failed"] == 0, states

    replies_before = len(replies)
    await bot.start(api)

    def pushed_ids() -> list[int]:
        return [int(u["update_id"]) for u in api.updates]

    def everything_handled() -> bool:
        if len(pressed) < PEOPLE:
            return False
        done = {
            row[0]
            for row in deployment.query("SELECT update_id FROM inbox_updates WHERE state = 'done'")
        }
        ids = pushed_ids()
        return set(ids) <= done and api.confirmed_offset > max(ids)

    await deployment.until(everything_handled, timeout=40, what="every update handled")
    elapsed = time.monotonic() - started
    await bot.stop_cleanly()

    ids = pushed_ids()
    assert len(ids) == total == len(set(ids))
    rows = deployment.query("SELECT update_id, state FROM inbox_updates")
    stored = Counter(update_id for update_id, _ in rows)
    assert all(stored[i] == 1 for i in ids), f"missing or doubled: {sorted(set(ids) - set(stored))}"
    not_done = {update_id: state for update_id, state in rows if state != "done"}
    assert not not_done, f"updates not done: {not_done}"
    assert api.confirmed_offset == max(ids) + 1, (api.confirmed_offset, max(ids))

    requests = deployment.query("SELECT telegram_id FROM access_requests")
    assert sorted(r[0] for r in requests) == sorted(people), f"access requests: {requests}"
    to_admin = deployment.query("SELECT count(*) FROM deliveries WHERE chat_id = ?", ADMIN.id)
    assert to_admin == [(PEOPLE,)], to_admin
    # Each person's two replies (the greeting, then its edit) are deliveries too, once each.
    to_people = deployment.query(
        "SELECT chat_id, count(*) FROM deliveries WHERE chat_id != ? GROUP BY chat_id", ADMIN.id
    )
    assert sorted(to_people) == [(person, 2) for person in sorted(people)], to_people

    twice = [
        r.summary() for r in api.requests if "déjà en attente" in str(r.params.get("text", ""))
    ]
    assert not twice, f"a press was handled twice: {twice}"

    # What repeats: a message Telegram handled whose answer the bot had not yet read or
    # marked at the kill (at most the sender's calls in flight, Telegram gives no way to
    # know), and the button answer of a press whose unit of work was killed.
    keys = Counter(
        (r.method, person_of(r), r.params.get("callback_query_id"), r.params.get("message_id"))
        for r in replies
    )
    repeated = sum(n - 1 for n in keys.values())
    assert repeated <= OUTBOX_IN_FLIGHT + min(WORKERS, pending_at_restart), keys
    admin_sent = api.sent("sendMessage", ADMIN.id)
    admin_repeated = len(admin_sent) - len({r.text for r in admin_sent})
    failed_calls = [
        r.summary() for r in api.requests if r.answered and not r.ok and r.method != "getUpdates"
    ]

    print(
        f"\ndurability: {len(ids)} updates pushed ({PEOPLE} /start, {PEOPLE} presses);"
        f" killed after {kill['replies']} replies (at a {kill['method']} answer),"
        f" {kill['pushed']} updates pushed by then;"
        f" handled before the kill {handled_before},"
        f" pending at restart {pending_at_restart},"
        f" not yet stored at the kill {kill['pushed'] - handled_before - pending_at_restart};"
        f" handled after restart {total - handled_before};"
        f" replies sent {len(replies)} ({replies_before} before the kill),"
        f" repeated because of the kill {repeated};"
        f" admin notifications sent so far {len(admin_sent)} of {PEOPLE}"
        f" (repeated {admin_repeated});"
        f" failed Bot API calls {len(failed_calls)} {failed_calls[:5]};"
        f" {elapsed:.1f} s from the first /start to everything handled"
    )


# 4. Command line ---------------------------------------------------------------


@pytest.mark.e2e
async def test_the_command_line_names_what_is_wrong_in_one_line(
    api: FakeBotAPI, deployment: Deployment, tmp_path: Path
) -> None:
    def own_database(name: str) -> str:
        return f"sqlite+aiosqlite:///{tmp_path / name / 'terrain.sqlite3'}"

    # Four runs at once (each ~5 s, mostly importing aiogram), each on its own database.
    check_ok, check_wrong, no_token, wrong_token = await asyncio.gather(
        deployment.cli("check", DATABASE_URL=own_database("check-ok")),
        deployment.cli("check", BOT_TOKEN="123456:wrong", DATABASE_URL=own_database("check-wrong")),
        deployment.cli(BOT_TOKEN=None, DATABASE_URL=own_database("no-token")),
        deployment.cli(BOT_TOKEN="123456:wrong", DATABASE_URL=own_database("wrong-token")),
    )

    code, out, err = check_ok
    assert code == 0, f"check exited {code}\n{out}\n{err}"
    assert f"token: ok, this is @{api.username}" in out, out
    fresh = own_database("check-ok")
    assert (
        f"database: ok ({fresh}, schema not created yet: it will be when the bot starts "
        "(or by migrate))" in out.splitlines()
    ), out
    assert "bot: none running on this database" in out.splitlines(), out
    assert (
        "payment terms (en, default): Payment on receipt of the invoice, within 30 days."
        in out.splitlines()
    ), out

    code, out, err = check_wrong
    assert code == 2, f"check exited {code}\n{out}\n{err}"
    token_lines = [line for line in out.splitlines() if line.startswith("token:")]
    assert token_lines == ["token: FAILED, BOT_TOKEN was rejected by the Bot API"], out

    code, out, err = no_token
    assert code == 2, f"exited {code}\n{out}\n{err}"
    assert len(err.strip().splitlines()) == 1 and "BOT_TOKEN" in err, err
    assert "Traceback" not in err + out

    code, out, err = wrong_token
    assert code == 2, f"exited {code}\n{out}\n{err}"
    assert "Traceback" not in err + out, err
    rejected = [line for line in err.splitlines() if "rejected" in line]
    assert len(rejected) == 1 and "BOT_TOKEN" in rejected[0], err
    assert err.strip().splitlines()[-1] == rejected[0], err
    assert [r.token for r in api.sent("getMe", include_failed=True)].count("123456:wrong") == 2


@pytest.mark.e2e
@shows_bot_log
async def test_a_second_bot_on_the_same_database_refuses_to_start_until_the_first_is_gone(
    api: FakeBotAPI, deployment: Deployment, database: Database
) -> None:
    """Two bots on one database would fight over getUpdates with 409s forever: the
    second stops at once with one line; once the first is killed (-9), a bot starts."""
    deployment.env["DATABASE_URL"] = database.url
    first = deployment.bot
    await first.start(api)
    assert first.proc is not None
    identified = len(api.sent("getMe", include_failed=True))
    (code, out, err), (checked, report, _) = await asyncio.gather(
        deployment.cli(), deployment.cli("check")
    )
    where = database.engine.url.render_as_string(hide_password=True)
    holder = f"pid {first.proc.pid}"
    if not database.url.startswith("sqlite"):
        holder += f" on host {socket.gethostname()}"
    assert (code, out) == (2, ""), f"exited {code}\n{out}\n{err}"
    assert err == (
        f"terrain: another Terrain bot ({holder}) is already running on the database "
        f"{where}; stop it first (two bots on one database fight over Telegram's updates)\n"
    )
    assert checked == 0, report
    assert f"bot: one is running on this database ({holder})" in report.splitlines()
    # The refused bot never reached Telegram (getMe came from `check` only).
    assert len(api.sent("getMe", include_failed=True)) == identified + 1
    assert not [r for r in api.sent("getUpdates", include_failed=True) if r.status == 409]

    first.kill()
    await first.proc.wait()
    await first.start(api)  # the lock died with its process
    await first.stop_cleanly()


@pytest.mark.e2e
@shows_bot_log
async def test_a_press_killed_after_its_edit_reached_telegram_is_handled_after_restart(
    api: FakeBotAPI, deployment: Deployment
) -> None:
    """The bot dies after Telegram applied the edit of "Demander un accès" (sent after
    the press's unit of work committed) but before the edit was marked sent: at the
    restart the edit goes again, Telegram finds nothing to change, and nothing fails
    or is asked twice."""
    bot = deployment.bot
    zoe = FakeUser(555_003, "Zoé", username="zoe")
    killed: list[Recorded] = []

    def kill_at_the_edit(record: Recorded) -> None:
        if record.method == "editMessageText" and record.chat_id == zoe.id and not killed:
            killed.append(record)
            bot.kill()

    await bot.start(api)
    api.send_text(zoe, "/start")
    greeting = await deployment.message_to(zoe.id, "Je ne vous connais pas encore")
    api.listeners.append(kill_at_the_edit)
    press = api.press_button(zoe, greeting, button(greeting, "Demander un accès"))
    assert bot.proc is not None
    assert await asyncio.wait_for(bot.proc.wait(), 15) == -signal.SIGKILL
    assert killed and killed[0].ok
    assert deployment.query(
        "SELECT state FROM inbox_updates WHERE update_id = ?", press["update_id"]
    ) == [("done",)], "the edit leaves only after the press is stored"

    await bot.start(api)
    await deployment.until(
        lambda: (
            not deployment.query(
                "SELECT id FROM deliveries WHERE chat_id = ? AND state = 'pending'", zoe.id
            )
        ),
        what="the edit marked sent after the restart",
    )
    await bot.stop_cleanly()
    edits = [r for r in api.sent("editMessageText", include_failed=True) if r.chat_id == zoe.id]
    assert len(edits) == 2, [r.summary() for r in edits]
    assert deployment.query("SELECT state FROM deliveries WHERE chat_id = ?", zoe.id) == [
        ("sent",),
        ("sent",),
    ]
    assert deployment.query("SELECT telegram_id FROM access_requests") == [(zoe.id,)]
    assert deployment.query("SELECT count(*) FROM deliveries WHERE chat_id = ?", ADMIN.id) == [(1,)]


@pytest.mark.e2e
@shows_bot_log
async def test_a_reply_committed_but_not_sent_at_a_kill_is_sent_once_after_the_restart(
    api: FakeBotAPI, deployment: Deployment
) -> None:
    """The bot is killed after the unit of work of /start committed its reply and
    before Telegram handled the sendMessage (it hangs): the reply goes at the restart,
    once, and the update is not handled again."""
    bot = deployment.bot
    max_ = FakeUser(555_004, "Max", username="max")
    await bot.start(api)
    api.hang("sendMessage")
    update = api.send_text(max_, "/start")

    def committed_and_on_its_way() -> bool:
        done = deployment.query(
            "SELECT state FROM inbox_updates WHERE update_id = ?", update["update_id"]
        ) == [("done",)]
        return done and any(
            r.chat_id == max_.id for r in api.sent("sendMessage", include_failed=True)
        )

    await deployment.until(committed_and_on_its_way, what="the reply committed, on its way")
    bot.kill()
    assert bot.proc is not None
    assert await asyncio.wait_for(bot.proc.wait(), 10) == -signal.SIGKILL
    assert deployment.query("SELECT state FROM deliveries WHERE chat_id = ?", max_.id) == [
        ("pending",)
    ]
    api.clear_faults()
    await bot.start(api)
    await deployment.message_to(max_.id, "Je ne vous connais pas encore")
    await deployment.until(
        lambda: (
            deployment.query("SELECT state FROM deliveries WHERE chat_id = ?", max_.id)
            == [("sent",)]
        ),
        what="the reply marked sent",
    )
    await bot.stop_cleanly()
    received = [r for r in api.sent("sendMessage") if r.chat_id == max_.id]
    assert len(received) == 1, [r.summary() for r in received]
    assert deployment.query("SELECT count(*) FROM inbox_updates") == [(1,)]
