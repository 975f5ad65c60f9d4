"""Smoke test of the load benchmark: three technicians, SQLite, Terrain and the bare bot.

No figure is checked against a target (the machine is shared): only that every walk
reaches its end, that the figures are printed and written, and that the clean run
found nothing lost, doubled or contradicted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: A guard against a hung run, not a timing assert.
GUARD_SECONDS = 180


@pytest.mark.e2e
def test_the_benchmark_walks_three_technicians_through_their_reports(tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    completed = subprocess.run(
        [sys.executable, "-m", "tests.bench", "--technicians", "3", "--json", str(figures)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=GUARD_SECONDS,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    for label in (
        "updates per second",
        "text reply p50/p95/p99",
        "button reply p50/p95/p99",
        "photo reply p50/p95/p99",
        "CPU per update",
        "peak memory (VmHWM)",
        "Bot API calls, Terrain: ",
        "Bot API calls, bare:    ",
    ):
        assert label in output, f"{label!r} is not printed:\n{output}"
    # The calls are listed most frequent first: Terrain's own messages may come after
    # its polls (it edits questions in place more than it sends new ones).
    called = [line for line in output.splitlines() if "Bot API calls, " in line]
    assert len(called) == 2 and all("sendMessage " in line for line in called), called

    (run,) = json.loads(figures.read_text())["runs"]
    terrain, bare = run["terrain"], run["bare"]
    assert (terrain["walks"], terrain["finished"]) == (3, 3), output
    assert (bare["walks"], bare["finished"]) == (3, 3), output
    assert terrain["updates"] == bare["updates"] > 60
    assert terrain["calls"]["sendDocument"] >= 1, "the submitting technician got no PDF"
    assert terrain["latency_ms"]["photo"]["count"] > 0
    checks = run["checks"]
    assert checks["inbox"] == {"done": terrain["updates"]}, checks
    assert (checks["lost_inputs"], checks["duplicated_deliveries"], checks["disagreements"]) == (
        0,
        0,
        0,
    ), checks
