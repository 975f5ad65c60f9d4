"""The command line of the load benchmark: runs, prints, writes JSON."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import aiogram
import sqlalchemy
from sqlalchemy.engine import make_url

from tests.bench.deploy import (
    BotDied,
    BotProcess,
    Usage,
    bare_env,
    empty_postgres,
    prepare,
    terrain_env,
    unplanned,
)
from tests.bench.figures import Figures, calls_line, comparison, compute
from tests.bench.findings import Findings, Stored, analyse, states
from tests.bench.load import Load, Stuck
from tests.bench.server import FakeServer
from tests.bench.walk import Walk, plan_all
from tests.fakeapi import RandomFaults

T = TypeVar("T")

LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
SETTLE_TIMEOUT = 120.0
MAX_RESTARTS = 30
SAMPLE_EVERY = 0.25
#: The last line of a traceback: "aiogram.exceptions.TelegramRetryAfter: ...", "OSError: ...".
EXCEPTION_LINE = re.compile(r"^(?:[a-z_]\w*\.)+[A-Z]\w*(?::|$)|^[A-Z]\w*(?:Error|Exception)\b")
OUR_FRAME = re.compile(
    r'File ".*?/((?:bot|handlers|storage|reports)/[\w/]+\.py)", line (\d+), in (\w+)'
)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench",
        description="Load and fault benchmark: simulated technicians fill in reports through "
        "`python -m bot` against the fake Bot API, beside a bare aiogram bot.",
    )
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TEST_DATABASE_URL", ""),
        help="PostgreSQL URL (default: TEST_DATABASE_URL); the database is emptied first",
    )
    parser.add_argument("--technicians", type=int, default=50)
    parser.add_argument("--submit-share", type=float, default=0.2, help="share who submit")
    parser.add_argument("--faults", action="store_true", help="a fault run after the clean one")
    parser.add_argument("--fault-rate", type=float, default=0.2, help="share of calls spoiled")
    parser.add_argument(
        "--fault-kinds",
        default=",".join(RandomFaults.KINDS),
        help="comma-separated, among: " + ", ".join(RandomFaults.KINDS),
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (logs...)")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare aiogram bot")
    parser.add_argument("--step-timeout", type=float, default=60.0, help="seconds per answer")
    parser.add_argument("--fault-timeout", type=float, default=120.0, help="same, fault run")
    parser.add_argument("--examples", type=int, default=5, help="examples of each finding")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.technicians < 1 or not 0 <= args.submit_share <= 1:
        parser().error("--technicians must be at least 1 and --submit-share within 0..1")
    if args.database in ("postgresql", "both") and not args.postgres_url:
        parser().error("PostgreSQL needs --postgres-url or TEST_DATABASE_URL")
    try:
        return asyncio.run(run(args))
    except (Stuck, BotDied) as failure:
        print(f"\nFAILED: {failure}", file=sys.stderr)
        return 1


async def run(args: argparse.Namespace) -> int:
    """Every run asked for, printed as it ends; the JSON file at the end."""
    databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    machine = _machine()
    print(
        f"Terrain load benchmark: {args.technicians} technicians, {args.submit_share:.0%} submit,"
        f" seed {args.seed}; {machine['cores']} cores, load average {machine['load']},"
        f" Python {machine['python']}, aiogram {machine['aiogram']}, commit {machine['commit']}",
        flush=True,
    )
    report: dict[str, Any] = {"machine": machine, "settings": _jsonable(vars(args)), "runs": []}
    with _workdir(args.keep) as root:
        for database in databases:
            label = LABELS[database]
            print(f"\n== {label}: clean run ==", flush=True)
            bare = None
            if not args.no_bare:
                bare = await bare_run(args, root / f"{database}-bare")
            terrain, checks = await clean_run(args, database, root / f"{database}-clean")
            for line in comparison(terrain, bare):
                print(line)
            print(f"  checks: {checks['line']}", flush=True)
            report["runs"].append(
                {
                    "database": database,
                    "run": "clean",
                    "terrain": dataclasses.asdict(terrain),
                    "bare": dataclasses.asdict(bare) if bare else None,
                    "checks": checks,
                }
            )
            if args.faults:
                print(f"\n== {label}: fault run ==", flush=True)
                faulted = await fault_run(
                    args, database, root / f"{database}-faults", halfway_s=terrain.wall_s / 2
                )
                report["runs"].append({"database": database, "run": "faults", **faulted})
        print(f"\nload average after: {_machine()['load']}")
        if args.keep:
            print(f"work folder kept: {root}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        print(f"figures written to {args.json}")
    return 0


# The runs ---------------------------------------------------------------------------


async def database_url(args: argparse.Namespace, database: str, folder: Path) -> str:
    """A fresh, empty database for one run."""
    if database == "sqlite":
        return f"sqlite+aiosqlite:///{folder / 'db' / 'terrain.sqlite3'}"
    await empty_postgres(args.postgres_url)
    return str(args.postgres_url)


async def bare_run(args: argparse.Namespace, folder: Path) -> Figures:
    """The same people against the bare aiogram bot."""
    walks = plan_all(unplanned(args.technicians), submit_share=args.submit_share, seed=args.seed)
    server = FakeServer()
    await server.start()
    bot = BotProcess.bare(bare_env(server), folder)
    try:
        start_s = await bot.start(server)
        load = Load(server, walks, bare=True, timeout=args.step_timeout)
        before = _usage(bot)
        await _while_alive(bot, load.run(stop_at_first_stuck=True))
        after = _usage(bot)
        return compute(
            load,
            bot.name,
            cpu_ms=after.cpu_ms - before.cpu_ms,
            peak_mb=after.peak_mb,
            start_s=start_s,
        )
    finally:
        await bot.stop()
        await server.stop()


async def clean_run(
    args: argparse.Namespace, database: str, folder: Path
) -> tuple[Figures, dict[str, Any]]:
    """Terrain under the load, no faults: its figures, and what the database says after."""
    url = await database_url(args, database, folder)
    people = await prepare(url, args.technicians)
    walks = plan_all(people, submit_share=args.submit_share, seed=args.seed)
    server = FakeServer()
    await server.start()
    bot = BotProcess.terrain(terrain_env(server, folder / "data", url), folder)
    try:
        start_s = await bot.start(server)
        load = Load(server, walks, bare=False, timeout=args.step_timeout)
        _announce(bot, start_s, walks)
        before = _usage(bot)
        await _while_alive(bot, load.run(stop_at_first_stuck=True))
        after = _usage(bot)
        await bot.stop()
    finally:
        await bot.stop()
        await server.stop()
    figures = compute(
        load,
        bot.name,
        cpu_ms=after.cpu_ms - before.cpu_ms,
        peak_mb=after.peak_mb,
        start_s=start_s,
        helpers_peak_mb=after.helpers_peak_mb,
    )
    inbox, outbox = await states(url)
    found = analyse(load, await Stored.read(url), lambda record: None)
    checks = {
        "inbox": inbox,
        "outbox": outbox,
        **found.summary(),
        "line": f"inbox {_states(inbox)}; outbox {_states(outbox)};"
        f" {len(found.lost)} lost input(s) of {found.inputs},"
        f" {len(found.duplicates)} duplicated deliveries,"
        f" {len(found.disagreements)} disagreement(s) with storage",
    }
    for line in (found.lost + found.duplicates + found.disagreements)[: args.examples]:
        print(f"  ! {line}")
    return figures, checks


async def fault_run(
    args: argparse.Namespace, database: str, folder: Path, *, halfway_s: float
) -> dict[str, Any]:
    """Terrain under the load with a share of the calls spoiled and one SIGKILL halfway:
    once half of the updates are sent, or after half the clean run's time, if sooner
    (walks that get stuck send no more)."""
    kinds = tuple(kind.strip() for kind in args.fault_kinds.split(",") if kind.strip())
    faults = RandomFaults(rate=args.fault_rate, seed=args.seed, kinds=kinds)
    url = await database_url(args, database, folder)
    people = await prepare(url, args.technicians)
    walks = plan_all(people, submit_share=args.submit_share, seed=args.seed)
    server = FakeServer()
    await server.start()
    bot = BotProcess.terrain(terrain_env(server, folder / "data", url), folder)
    try:
        start_s = await bot.start(server)
        load = Load(server, walks, bare=False, timeout=args.fault_timeout)
        _announce(bot, start_s, walks)
        meter = Meter(bot)
        supervisor = Supervisor(bot, server, meter)
        await server.call(setattr, server.api, "random_faults", faults)
        tasks = [
            asyncio.create_task(meter.run()),
            asyncio.create_task(supervisor.run()),
            asyncio.create_task(supervisor.kill_halfway(load, halfway_s)),
        ]
        try:
            stuck = await load.run(stop_at_first_stuck=False)
            await server.call(setattr, server.api, "random_faults", None)
            settled = await _settle(url, bot)
        finally:
            meter.sample()
            supervisor.stopping = True
            await bot.stop()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await bot.stop()
        await server.stop()
    figures = compute(
        load,
        bot.name,
        cpu_ms=meter.cpu_ms(),
        peak_mb=meter.peak_mb(),
        start_s=start_s,
        spoiled=faults.kind_of,
    )
    inbox, outbox = await states(url)
    found = analyse(load, await Stored.read(url), faults.kind_of)
    _print_faults(args, faults, supervisor, figures, stuck, inbox, outbox, settled, found)
    return {
        "terrain": dataclasses.asdict(figures),
        "faults": dict(faults.counts),
        "kill": supervisor.kill_note,
        "exits": supervisor.exits,
        "stuck": [f"{s.technician.walk.planned.name}: {s.action.what}: {s.why}" for s in stuck],
        "inbox": inbox,
        "outbox": outbox,
        "settled": settled,
        **found.summary(),
    }


def _print_faults(
    args: argparse.Namespace,
    faults: RandomFaults,
    supervisor: Supervisor,
    figures: Figures,
    stuck: list[Stuck],
    inbox: dict[str, int],
    outbox: dict[str, int],
    settled: bool,
    found: Findings,
) -> None:
    examples = args.examples
    spoiled = ", ".join(f"{kind} {count}" for kind, count in sorted(faults.counts.items()))
    print(f"  faults injected ({faults.rate:.0%} of the calls, seed {faults.seed}): {spoiled}")
    print(f"  {supervisor.kill_note or 'no SIGKILL (the load ended first)'}")
    if supervisor.exits:
        print(f"  the bot exited by itself {len(supervisor.exits)} time(s) and was started again:")
        for line in supervisor.exits[:examples]:
            print(f"    {line}")
    print(f"  walks finished {figures.finished}/{figures.walks}; stuck {len(stuck)}")
    for failure in stuck[:examples]:
        planned = failure.technician.walk.planned
        print(f"    {planned.name} ({planned.number}) at {failure.action.what!r}: {failure.why}")
    cpu = figures.cpu_ms_per_update
    print(
        f"  {figures.updates} updates in {figures.wall_s:.1f} s: {figures.updates_per_s:.1f} per"
        f" second; CPU per update {'-' if cpu is None else f'{cpu:.1f} ms'};"
        f" peak memory {figures.peak_mb or 0:.0f} MB"
    )
    latency = ", ".join(
        f"{name} {lat.p50 or 0:.0f}/{lat.p95 or 0:.0f}/{lat.p99 or 0:.0f} ms"
        for name, lat in figures.latency_ms.items()
        if lat.count
    )
    print(f"  reply p50/p95/p99: {latency}")
    print(f"  Bot API calls: {calls_line(figures.calls)}")
    note = "" if settled else f" (still busy {SETTLE_TIMEOUT:.0f} s after the load)"
    print(f"  after the load{note}: inbox {_states(inbox)}; outbox {_states(outbox)}")
    if found.failed_reasons:
        reasons = ", ".join(f"{reason} {count}" for reason, count in found.failed_reasons.items())
        print(f"  updates that failed in their handler: {reasons}")
    print(f"  lost inputs: {len(found.lost)} of {found.inputs} sent ({found.lost_photos} photos)")
    for line in found.lost[:examples]:
        print(f"    {line}")
    print(
        f"  duplicated deliveries: {len(found.duplicates)}, of which"
        f" {found.duplicates_after_drop} after an answer dropped once handled"
        " (which Telegram gives no way to detect)"
    )
    for line in _spread(found.duplicates, examples):
        print(f"    {line}")
    print(
        f"  button presses whose spinner Telegram's app had to stop itself:"
        f" {found.presses_unanswered} of {found.presses}"
    )
    print(f"  messages that disagree with storage: {len(found.disagreements)}")
    for line in found.disagreements[:examples]:
        print(f"    {line}")


# Keeping the bot alive and measured ------------------------------------------------


class Meter:
    """Samples a bot's CPU time and peak memory, across its restarts."""

    def __init__(self, bot: BotProcess) -> None:
        self.bot = bot
        first = _usage(bot)
        self._first: dict[int, float] = {bot.pid: first.cpu_ms}
        self._last: dict[int, Usage] = {bot.pid: first}

    def sample(self) -> None:
        if not self.bot.running:
            return
        now = self.bot.usage()
        if now is not None:
            self._first.setdefault(self.bot.pid, 0.0)  # a restart's start-up counts too
            self._last[self.bot.pid] = now

    async def run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(SAMPLE_EVERY)

    def cpu_ms(self) -> float:
        return sum(self._last[pid].cpu_ms - first for pid, first in self._first.items())

    def peak_mb(self) -> float:
        return max(usage.peak_mb for usage in self._last.values())


class Supervisor:
    """Kills the bot once halfway through the load, and starts it again after that and
    after any exit of its own (noted: a bot that exits on a fault is a finding)."""

    def __init__(self, bot: BotProcess, server: FakeServer, meter: Meter) -> None:
        self.bot = bot
        self.server = server
        self.meter = meter
        self.exits: list[str] = []
        self.kill_note = ""
        self.stopping = False
        self._killing = False
        self._up = asyncio.Event()
        self._up.set()

    async def run(self) -> None:
        while not self.stopping:
            assert self.bot.proc is not None
            code = await self.bot.proc.wait()
            if self.stopping:
                return
            self._up.clear()
            killed, self._killing = self._killing, False
            if not killed:
                self.exits.append(f"exit status {code}: {_last_line(self.bot)}")
            began = time.monotonic()
            await self._restart()
            self._up.set()
            if killed:
                self.kill_note += f"; polling again {time.monotonic() - began:.1f} s later"

    async def _restart(self) -> None:
        while not self.stopping:
            try:
                await self.bot.start(self.server)
                return
            except BotDied:
                self.exits.append(
                    f"at start, exit status {_exit(self.bot)}: {_last_line(self.bot)}"
                )
                if len(self.exits) >= MAX_RESTARTS:
                    raise

    async def kill_halfway(self, load: Load, seconds: float) -> None:
        """SIGKILL once half of the load's updates are sent or after `seconds`, whichever
        comes first."""
        halfway = load.when_pushed(load.planned_updates // 2)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(halfway.wait(), seconds)
        await self._up.wait()
        self.meter.sample()
        self._killing = True
        self.bot.kill()
        self.kill_note = f"SIGKILL after {load.pushed} of {load.planned_updates} updates sent"


async def _settle(url: str, bot: BotProcess) -> bool:
    """Wait until no update and no delivery is pending (or SETTLE_TIMEOUT)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while time.monotonic() < deadline:
        inbox, outbox = await states(url)
        if not inbox.get("pending") and not outbox.get("pending"):
            return True
        await asyncio.sleep(1.0)
    return False


# Helpers ------------------------------------------------------------------------------


async def _while_alive(bot: BotProcess, work: Awaitable[T]) -> T:
    """Await `work`, failing at once if the bot exits meanwhile."""
    assert bot.proc is not None
    task = asyncio.ensure_future(work)
    died = asyncio.ensure_future(bot.proc.wait())
    done, _ = await asyncio.wait({task, died}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        died.cancel()
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Stuck):
        await task
    raise BotDied(bot, f"exited with status {bot.proc.returncode} during the load")


def _usage(bot: BotProcess) -> Usage:
    usage = bot.usage()
    if usage is None:
        raise BotDied(bot, "is gone (no /proc entry)")
    return usage


def _announce(bot: BotProcess, start_s: float, walks: list[Walk]) -> None:
    updates = sum(walk.updates for walk in walks)
    submitting = sum(walk.submits for walk in walks)
    print(
        f"  {bot.name} polls (pid {bot.pid}, {start_s:.1f} s after its start);"
        f" {len(walks)} technicians go, {submitting} of them to the submission:"
        f" {updates} updates",
        flush=True,
    )


def _states(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {state}" for state, count in sorted(counts.items())) or "empty"


def _spread(lines: list[str], count: int) -> list[str]:
    """Up to `count` examples, taken in turn from each kind (the end of the line says
    which: after a dropped answer, or not)."""
    kinds: dict[str, list[str]] = {}
    for line in lines:
        kinds.setdefault(line.rsplit(", ", 1)[-1], []).append(line)
    picked: list[str] = []
    for row in itertools.zip_longest(*kinds.values()):
        picked.extend(line for line in row if line is not None)
    return picked[:count]


def _last_line(bot: BotProcess) -> str:
    """The exception that ended the bot, and where in Terrain's code it went through."""
    if not bot.logs or not bot.logs[-1].exists():
        return "(no log)"
    lines = bot.logs[-1].read_text(errors="replace").splitlines()
    for index in range(len(lines) - 1, -1, -1):
        if EXCEPTION_LINE.match(lines[index]):
            begin = max((n for n in range(index) if lines[n].startswith("Traceback")), default=0)
            frames = [m for m in map(OUR_FRAME.search, lines[begin:index]) if m]
            ours = [m for m in frames if m.group(1) != "bot/requests.py"]  # the middleware
            where = f" (from {ours[-1].group(1)}:{ours[-1].group(2)} in {ours[-1].group(3)})"
            return lines[index][:160] + (where if ours else "")
    kept = [line for line in lines if line.strip()]
    return kept[-1][:160] if kept else "(empty log)"


def _exit(bot: BotProcess) -> int | None:
    return bot.proc.returncode if bot.proc is not None else None


def _machine() -> dict[str, Any]:
    try:
        load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        load = "unknown"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "cores": os.cpu_count(),
        "load": load,
        "python": sys.version.split()[0],
        "aiogram": aiogram.__version__,
        "sqlalchemy": sqlalchemy.__version__,
        "commit": commit,
    }


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    """The settings as JSON values, without a database password."""
    kept = {key: str(value) if isinstance(value, Path) else value for key, value in values.items()}
    if kept.get("postgres_url"):
        kept["postgres_url"] = make_url(kept["postgres_url"]).render_as_string(hide_password=True)
    return kept


@contextlib.contextmanager
def _workdir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="terrain-load-") as folder:
        yield Path(folder)
