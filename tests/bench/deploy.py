"""Setting the scene: an empty database with N technicians and their planned
interventions, and the bots (Terrain and the bare one) as child processes.

A bot is configured by its environment only and started from a folder without
`.env`. Its CPU time and peak memory are read from /proc while it runs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import Settings
from storage import interventions, migrate, users
from storage.db import Database
from storage.models import Client, Role
from tests.bench.server import FakeServer

#: Telegram ids: technician n is TECHNICIAN_IDS + n.
TECHNICIAN_IDS = 710_000
ADMIN_ID = 900_001
OFFICE_CHAT = -100_777
START_TIMEOUT = 90.0
STOP_GRACE = 40.0
BARE_BOT = Path(__file__).resolve().parent.parent / "bench_bare.py"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Planned:
    """One technician and the intervention planned for them."""

    index: int
    telegram_id: int
    name: str
    number: str
    contact: str


async def empty_postgres(url: str) -> None:
    """Drop everything in the database: the bot migrates it again at start."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


async def prepare(url: str, count: int) -> list[Planned]:
    """Migrate, then register `count` technicians, each with a client and a maintenance
    planned for now, through the storage layer."""
    db = Database(url)
    planned = []
    try:
        await migrate.upgrade(db.engine)
        now = dt.datetime.now(dt.UTC)
        async with db.transaction() as session:
            for index in range(count):
                name = f"Technicien {index + 1:02d}"
                person = await users.add(
                    session,
                    TECHNICIAN_IDS + index,
                    name,
                    Role.TECHNICIAN,
                    username=f"tech{index + 1:02d}",
                    language="fr",
                )
                client = Client(
                    name=f"Client {index + 1:02d}",
                    contact_name=f"M. Contact {index + 1:02d}",
                    phone="01 23 45 67 89",
                    address=f"{index + 1} rue du Banc d'Essai, 69000 Lyon",
                )
                session.add(client)
                await session.flush()
                job = await interventions.create(
                    session,
                    year=now.year,
                    client_id=client.id,
                    kind="maintenance",
                    template="maintenance",
                    technician=person,
                    scheduled_at=now,
                    request="Entretien annuel de la chaudière.",
                )
                planned.append(
                    Planned(index, person.telegram_id, name, job.number, client.contact_name or "")
                )
    finally:
        await db.close()
    return planned


def unplanned(count: int) -> list[Planned]:
    """The same people for the bare bot, which keeps no data."""
    year = dt.datetime.now(dt.UTC).year
    return [
        Planned(
            index,
            TECHNICIAN_IDS + index,
            f"Technicien {index + 1:02d}",
            f"OT-{year}-{index + 1:04d}",
            f"M. Contact {index + 1:02d}",
        )
        for index in range(count)
    ]


def terrain_env(server: FakeServer, data_dir: Path, database_url: str) -> dict[str, str]:
    """The environment of `python -m bot`: inherited minus any Terrain setting, plus ours."""
    names = {name.upper() for name in Settings.model_fields}
    env = {key: value for key, value in os.environ.items() if key.upper() not in names}
    env.update(
        BOT_TOKEN=server.api.token,
        TELEGRAM_API_URL=server.base_url,
        DATA_DIR=str(data_dir),
        DATABASE_URL=database_url,
        OFFICE_CHAT_ID=str(OFFICE_CHAT),
        ADMIN_IDS=str(ADMIN_ID),
        POLLING_TIMEOUT="1",
        LOG_LEVEL="WARNING",
        # The fake server imposes no sending limits, and neither does the bare bot:
        # Telegram's own (1/s per chat, 30/s in all) would measure Telegram, not us.
        SEND_PER_CHAT="1000",
        SEND_TOTAL="100000",
    )
    return env


def bare_env(server: FakeServer) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        BOT_TOKEN=server.api.token,
        TELEGRAM_API_URL=server.base_url,
        POLLING_TIMEOUT="1",
        LOG_LEVEL="WARNING",
    )
    return env


@dataclass
class Usage:
    """CPU time (ms, user + system, all threads) of a process and of the processes it
    started (Terrain's worker process, which renders reports and prepares photos),
    the peak memory (MB) of the process itself and that of the largest of those."""

    cpu_ms: float
    peak_mb: float
    helpers_peak_mb: float = 0.0


def _stat(pid: int) -> tuple[int, int, int] | None:
    """(parent pid, CPU ticks, peak memory in kB) of a live process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime and stime, fields 14 and 15
    peak_kb = 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            peak_kb = int(line.split()[1])
    return int(fields[1]), ticks, peak_kb


def _descendants(pid: int) -> list[int]:
    """The processes started by `pid`, and by those, and so on."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            found = _stat(int(entry.name))
            if found is not None:
                parents[int(entry.name)] = found[0]
    family, todo = [], [pid]
    while todo:
        current = todo.pop()
        children = [child for child, parent in parents.items() if parent == current]
        family += children
        todo += children
    return family


def usage(pid: int) -> Usage | None:
    """Read /proc: CPU of the process and its descendants, peak memory of each; None
    once the process is gone."""
    own = _stat(pid)
    if own is None:
        return None
    ticks, helpers_peak = own[1], 0
    for child in _descendants(pid):
        found = _stat(child)
        if found is not None:
            ticks += found[1]
            helpers_peak = max(helpers_peak, found[2])
    return Usage(
        cpu_ms=ticks * 1000 / CLOCK_TICKS,
        peak_mb=own[2] / 1024,
        helpers_peak_mb=helpers_peak / 1024,
    )


class BotProcess:
    """A bot as a child process, its output in one log file per start."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], folder: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.folder = folder
        self.cwd = folder / "cwd"
        self.cwd.mkdir(parents=True, exist_ok=True)
        self.logs: list[Path] = []
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    @classmethod
    def terrain(cls, env: dict[str, str], folder: Path) -> BotProcess:
        return cls("Terrain", [sys.executable, "-m", "bot"], env, folder)

    @classmethod
    def bare(cls, env: dict[str, str], folder: Path) -> BotProcess:
        return cls("bare aiogram", [sys.executable, str(BARE_BOT)], env, folder)

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} is not started"
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def start(self, server: FakeServer) -> float:
        """Start the bot and wait until it long-polls; the seconds that took."""
        started = time.monotonic()
        mark = await server.call(lambda: len(server.api.requests))
        log = self.folder / f"{self.name.split()[0].lower()}-run-{len(self.logs) + 1}.log"
        self.logs.append(log)
        self.starts += 1
        with log.open("wb") as output:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=output,
            )

        def polled() -> bool:
            return any(r.method == "getUpdates" for r in server.api.requests[mark:])

        while not await server.call(polled):
            if self.proc.returncode is not None:
                raise BotDied(self, f"exited with status {self.proc.returncode} at start")
            if time.monotonic() - started > START_TIMEOUT:
                raise BotDied(self, f"did not poll within {START_TIMEOUT:.0f} s")
            await asyncio.sleep(0.05)
        return time.monotonic() - started

    def usage(self) -> Usage | None:
        return usage(self.pid) if self.running else None

    def kill(self) -> None:
        """SIGKILL, at once."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)

    async def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after a grace period; the exit status (None if killed)."""
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return None if proc is None else proc.returncode
        proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(proc.wait(), STOP_GRACE)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return None

    def tail(self, lines: int = 25) -> str:
        """The end of the latest log, for failure messages."""
        if not self.logs or not self.logs[-1].exists():
            return "(no log)"
        kept = self.logs[-1].read_text(errors="replace").splitlines()[-lines:]
        return f"--- {self.logs[-1]} (last {lines} lines) ---\n" + "\n".join(kept)


class BotDied(Exception):
    """The bot stopped or never started; the message ends with its log."""

    def __init__(self, bot: BotProcess, what: str) -> None:
        super().__init__(f"{bot.name} {what}\n{bot.tail()}")
        self.bot = bot
