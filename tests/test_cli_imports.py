"""The commands that do not talk to Telegram load neither aiogram nor matplotlib: each
runs as `python -X importtime -m bot ...`, and the modules it imported are read from
what Python printed. (Loading aiogram took 2.7 s of the 3.5 s an export took.)"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Settings

#: A guard against a hung command, not a timing assert.
GUARD_SECONDS = 120
HEAVY = ("aiogram", "matplotlib")
TECHNICIAN_ID = 4242
OFFICE = -100500


def imported(stderr: str) -> set[str]:
    """The modules named by `-X importtime`'s lines ("import time: 12 | 34 | name")."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


def heavy(modules: set[str]) -> list[str]:
    return sorted(name for name in modules if name.split(".")[0] in HEAVY)


@pytest.fixture
def deployment(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A folder with a database (migrated, one technician) and the settings to use it."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env.update(
        BOT_TOKEN="123456:not-used-by-these-commands",
        DATA_DIR=str(tmp_path / "data"),
        OFFICE_CHAT_ID=str(OFFICE),
        TIMEZONE="Europe/Paris",
    )
    paul = ["--telegram-id", str(TECHNICIAN_ID), "--role", "technician", "--name", "Paul"]
    for arguments in (["migrate"], ["users", "add", *paul]):
        done = run(tmp_path, env, *arguments)
        assert done.returncode == 0, done.stderr
    return tmp_path, env


def run(cwd: Path, env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bot", *arguments],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=GUARD_SECONDS,
        check=False,
    )


@pytest.mark.parametrize(
    "arguments",
    [
        ["migrate"],
        ["users", "list"],
        ["export", "--format", "csv", "--out", "out.csv"],
        ["export", "--format", "xlsx", "--out", "out.xlsx"],
    ],
    ids=["migrate", "users list", "export csv", "export xlsx"],
)
def test_a_command_without_telegram_loads_neither_aiogram_nor_matplotlib(
    deployment: tuple[Path, dict[str, str]], arguments: list[str]
) -> None:
    folder, env = deployment
    done = run(folder, env, *arguments)
    assert done.returncode == 0, done.stderr[-2000:]
    modules = imported(done.stderr)
    assert "bot.cli" in modules  # the listing is read right
    assert heavy(modules) == []


def test_an_import_tells_the_technician_and_the_office_without_loading_aiogram(
    deployment: tuple[Path, dict[str, str]],
) -> None:
    """The technician's notice keeps its Open button (as JSON in the outbox) and the
    office gets its summary, with neither aiogram nor matplotlib loaded."""
    folder, env = deployment
    plan = folder / "plan.csv"
    line = f"Garage Dupont;repair;22/11/2099 14h30;{TECHNICIAN_ID}"
    plan.write_text(f"client;type;scheduled;technician\n{line}\n", encoding="utf-8")
    done = run(folder, env, "import", "interventions", str(plan))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "1 intervention planned" in done.stdout
    assert heavy(imported(done.stderr)) == []

    database = sqlite3.connect(folder / "data" / "terrain.sqlite3")
    try:
        rows = database.execute(
            "SELECT chat_id, text, options, intervention_id FROM deliveries"
            " WHERE kind != 'menu' ORDER BY id"
        ).fetchall()
    finally:
        database.close()
    (to_paul,) = [row for row in rows if row[0] == TECHNICIAN_ID]
    (to_office,) = [row for row in rows if row[0] == OFFICE]
    assert "Nouvelle intervention" in to_paul[1] and "Garage Dupont" in to_paul[1]
    assert json.loads(to_paul[2])["reply_markup"] == {
        "inline_keyboard": [[{"text": "Ouvrir", "callback_data": f"job:{to_paul[3]}:open"}]]
    }
    assert "par import (plan.csv)" in to_office[1]
