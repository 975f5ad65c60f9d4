"""`python -m tests.bench.startup`: how long the command line's commands take to run.

Each command runs `--rounds` times as its own process (`python -m bot ...`) against a
fresh SQLite database in a temporary folder: `migrate`, `users list`, `export` (a CSV
of this month) and `import` (a file that plans one intervention, whose technician and
the office are told through the outbox). Beside each, the same command started with
`bot.app` loaded first, which is what `export` and `import` loaded before they stopped
needing aiogram and matplotlib; and Python starting and doing nothing, the floor.
The figures are medians in seconds; on this shared machine read them as ratios.

    python -m tests.bench.startup [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Starts `python -m bot` with the Telegram side loaded first, as before.
WITH_BOT_APP = (
    "import runpy, sys; import bot.app; sys.argv[0] = 'bot'; "
    "runpy.run_module('bot', run_name='__main__')"
)
TECHNICIAN_ID = 4242
CSV = "client;type;scheduled;technician\nGarage Dupont;repair;{day} 14h30;{technician}\n"


def environment(folder: Path) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("BOT_", "DATABASE_", "OFFICE_", "DATA_"))
    }
    env.update(
        BOT_TOKEN="123456:bench-startup-token",
        DATA_DIR=str(folder / "data"),
        OFFICE_CHAT_ID="-100500",
        LOG_LEVEL="WARNING",
    )
    return env


def seconds(command: list[str], env: dict[str, str], cwd: Path, rounds: int) -> float:
    """The median wall time of `rounds` runs of `command`, checked to succeed."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    return statistics.median(times)


def prepare(folder: Path, env: dict[str, str]) -> Path:
    """A migrated database with one technician, and a CSV that plans a visit for them."""
    python = sys.executable
    subprocess.run([python, "-m", "bot", "migrate"], env=env, cwd=folder, check=True)
    paul = ["--telegram-id", str(TECHNICIAN_ID), "--role", "technician", "--name", "Paul"]
    subprocess.run(
        [python, "-m", "bot", "users", "add", *paul],
        env=env,
        cwd=folder,
        check=True,
        capture_output=True,
    )
    plan = folder / "plan.csv"
    plan.write_text(CSV.format(day="22/11/2099", technician=TECHNICIAN_ID), encoding="utf-8")
    return plan


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.startup", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    folder = Path(tempfile.mkdtemp(prefix="terrain-startup-"))
    env = environment(folder)
    plan = prepare(folder, env)
    commands = {
        "migrate": ["migrate"],
        "users list": ["users", "list"],
        "export": ["export", "--format", "csv", "--out", str(folder / "out.csv")],
        # The first run plans the visit; the next ones find it planned and skip it,
        # after reading and checking the file and looking it up, as the first did.
        "import": ["import", "interventions", str(plan)],
    }
    python = sys.executable
    floor = seconds([python, "-c", "pass"], env, folder, rounds)
    print(f"median of {rounds} runs, in seconds; Python doing nothing: {floor:.2f}")
    print(f"{'command':<12} {'now':>6} {'with bot.app loaded (before)':>30}")
    for name, arguments in commands.items():
        now = seconds([python, "-m", "bot", *arguments], env, folder, rounds)
        before = seconds([python, "-c", WITH_BOT_APP, *arguments], env, folder, rounds)
        print(f"{name:<12} {now:>6.2f} {before:>30.2f}")


if __name__ == "__main__":
    main()
