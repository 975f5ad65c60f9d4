"""`python -m bot users ...`: what the operator reads after each change, on both databases.

The command runs in a worker thread (it starts its own event loop, as from a shell),
against the test's migrated database.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.config import Settings
from storage.db import Database
from storage.models import Client, User


@pytest.fixture
def shell(
    database: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> pytest.MonkeyPatch:
    """An operator's shell: a fresh folder, the test's database, nothing else set."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOT_TOKEN", "1:abc")
    monkeypatch.setenv("DATABASE_URL", database.url)
    return monkeypatch


async def users(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`python -m bot users ARGS`: (exit status, stdout, stderr)."""
    code = await asyncio.to_thread(main, ["users", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def add_clients(database: Database, *names: str) -> None:
    async with database.transaction() as session:
        session.add_all(Client(name=name) for name in names)


def add(telegram_id: str, role: str, name: str, *more: str) -> list[str]:
    return ["add", "--telegram-id", telegram_id, "--role", role, "--name", name, *more]


async def test_adding_a_disabled_person_says_it_enables_them_again(
    shell: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await users(capsys, *add("42", "technician", "Zoé Lefèvre")) == (
        0,
        "Zoé Lefèvre (Telegram id 42) is registered as technician\n",
        "",
    )
    assert await users(capsys, "disable", "--telegram-id", "42") == (
        0,
        "Zoé Lefèvre (Telegram id 42) is disabled\n",
        "",
    )
    assert await users(capsys, *add("42", "technician", "Zoé Lefèvre")) == (
        0,
        "Zoé Lefèvre (Telegram id 42) was disabled and is enabled again, as technician\n",
        "",
    )
    assert await users(capsys, *add("42", "technician", "Zoé Lefèvre")) == (
        0,
        "Zoé Lefèvre (Telegram id 42) was already registered as technician\n",
        "",
    )
    assert await users(capsys, *add("42", "dispatcher", "Zoé Lefèvre")) == (
        0,
        "Zoé Lefèvre (Telegram id 42) is now dispatcher (was technician)\n",
        "",
    )


async def test_enable_lets_a_disabled_person_back_in(
    shell: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], database: Database
) -> None:
    await users(capsys, *add("42", "technician", "Zoé Lefèvre"))
    await users(capsys, "disable", "--telegram-id", "42")
    assert await users(capsys, "disable", "--telegram-id", "42") == (
        0,
        "Zoé Lefèvre (Telegram id 42) is already disabled\n",
        "",
    )
    assert await users(capsys, "enable", "--telegram-id", "42") == (
        0,
        "Zoé Lefèvre (Telegram id 42) is enabled again, as technician\n",
        "",
    )
    assert await users(capsys, "enable", "--telegram-id", "42") == (
        0,
        "Zoé Lefèvre (Telegram id 42) is already enabled\n",
        "",
    )
    async with database.sessions() as session:
        zoe = await session.scalar(select(User).where(User.telegram_id == 42))
    assert zoe is not None and zoe.active
    assert await users(capsys, "enable", "--telegram-id", "43") == (
        2,
        "",
        "terrain: nobody is registered with Telegram id 43; register them with users add\n",
    )


async def test_a_client_login_is_linked_to_its_client_found_by_name(
    shell: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], database: Database
) -> None:
    await add_clients(database, "Boulangerie Émile", "Café de la Gare")
    code, out, err = await users(
        capsys, *add("77", "client", "Mme Émile", "--client", "  boulangerie EMILE ")
    )
    assert (code, err) == (0, "")
    assert out == (
        "Mme Émile (Telegram id 77) is registered as client, "
        "and receives the reports of Boulangerie Émile\n"
    )
    async with database.sessions() as session:
        person = await session.scalar(select(User).where(User.telegram_id == 77))
        bakery = await session.scalar(select(Client).where(Client.name == "Boulangerie Émile"))
    assert person is not None and bakery is not None and bakery.user_id == person.id

    code, out, _ = await users(
        capsys, *add("77", "client", "Mme Émile", "--client", "café de la gare")
    )
    assert out == (
        "Mme Émile (Telegram id 77) was already registered as client, and receives the "
        "reports of Café de la Gare (no longer for Boulangerie Émile)\n"
    )
    code, out, _ = await users(capsys, "list")
    assert code == 0
    assert out.splitlines() == [
        "        Telegram id  role        state     name",
        "                 77  client      active    Mme Émile (client: Café de la Gare)",
        "1 person, 1 active",
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            add("77", "client", "Mme X", "--client", "Boulangerie Emil"),
            "--client 'Boulangerie Emil': no client has that name; "
            "did you mean 'Boulangerie Émile'?",
        ),
        (
            add("77", "client", "Mme X", "--client", "Plomberie"),
            "--client 'Plomberie': no client has that name",
        ),
        (
            add("77", "client", "Mme X", "--client", "cafe dupont"),
            "--client 'cafe dupont' is ambiguous: 2 clients have that name (Café Dupont "
            "(client 3); Cafe Dupont (client 4)); give the name exactly as written",
        ),
        (
            add("77", "client", "Mme X"),
            "--role client needs --client NAME: the client whose reports this login receives",
        ),
        (
            add("77", "technician", "Paul", "--client", "Garage"),
            "--client is for --role client only (not technician)",
        ),
        (
            add("alice", "technician", "Alice"),
            "--telegram-id 'alice' is not a Telegram user id (a whole number)",
        ),
        (
            add("9223372036854775808", "technician", "Paul"),
            "--telegram-id '9223372036854775808' is not a Telegram user id "
            "(a whole number from 1 to 9223372036854775807)",
        ),
        (
            ["disable", "--telegram-id", "-5"],
            "--telegram-id '-5' is not a Telegram user id (a whole number)",
        ),
        (
            ["enable", "--telegram-id", "0"],
            "--telegram-id '0' is not a Telegram user id "
            "(a whole number from 1 to 9223372036854775807)",
        ),
        (add("77", "technician", "  "), "--name must not be empty"),
        (add("77", "technician", "x" * 201), "--name is 201 characters long; 200 at most"),
    ],
)
async def test_a_wrong_users_command_is_one_line_and_changes_nothing(
    shell: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    database: Database,
    arguments: list[str],
    message: str,
) -> None:
    await add_clients(database, "Boulangerie Émile", "Café de la Gare", "Café Dupont")
    await add_clients(database, "Cafe Dupont")
    assert await users(capsys, *arguments) == (2, "", f"terrain: {message}\n")
    async with database.sessions() as session:
        assert (await session.scalars(select(User))).all() == []
        linked = await session.scalars(select(Client).where(Client.user_id.is_not(None)))
        assert linked.all() == []


async def test_an_exact_name_settles_two_clients_that_differ_by_accents(
    shell: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], database: Database
) -> None:
    await add_clients(database, "Café Dupont", "Cafe Dupont")
    code, out, _ = await users(capsys, *add("77", "client", "M. Dupont", "--client", "Cafe Dupont"))
    assert code == 0 and out.endswith("receives the reports of Cafe Dupont\n")


async def test_users_list_has_a_heading_and_says_when_nobody_is_there(
    shell: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await users(capsys, "list") == (
        0,
        "nobody is registered yet (add someone with: python -m bot users add ...)\n",
        "",
    )
    await users(capsys, *add("42", "technician", "Zoé Lefèvre"))
    await users(capsys, *add("9007199254740993", "admin", "Alice"))
    await users(capsys, "disable", "--telegram-id", "42")
    assert (await users(capsys, "list"))[1].splitlines() == [
        "        Telegram id  role        state     name",
        "   9007199254740993  admin       active    Alice",
        "                 42  technician  disabled  Zoé Lefèvre",
        "2 people, 1 active",
    ]
