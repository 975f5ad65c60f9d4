"""The figures of a load, computed from what the fake server answered, and their print.

Reply latency is measured on the fake server's clock, per update: from the moment
getUpdates handed the update to the bot to the moment the server received the
bot's first message (or edit) in that chat afterwards. The press of a button is
also measured to its answerCallbackQuery. A photo is answered, in Terrain, by a
confirmation that waits 2 s in the outbox for more photos of the same album: its
latency includes that wait.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.bench.load import Load
from tests.fakeapi import Recorded

CATEGORIES = (
    ("text", "text reply"),
    ("button", "button reply"),
    ("callback", "button press answered"),
    ("photo", "photo reply"),
)


@dataclass
class Latency:
    """Percentiles of one kind of reply, in milliseconds."""

    count: int
    p50: float | None
    p95: float | None
    p99: float | None

    @classmethod
    def of(cls, samples: list[float]) -> Latency:
        ordered = sorted(samples)
        return cls(
            len(ordered),
            percentile(ordered, 50),
            percentile(ordered, 95),
            percentile(ordered, 99),
        )


@dataclass
class Figures:
    """What one bot did under one load."""

    bot: str
    walks: int
    finished: int
    updates: int
    wall_s: float
    updates_per_s: float
    latency_ms: dict[str, Latency]
    cpu_ms_per_update: float | None
    peak_mb: float | None
    start_s: float
    helpers_peak_mb: float = 0.0
    """Peak memory of the largest process the bot started (Terrain's worker)."""
    harness_cpu_share: float = 0.0
    """CPU time of the driver and the fake server ÷ wall time: near 1.0, they are the
    bottleneck (one core, the GIL), not the bot."""
    calls: dict[str, int] = field(default_factory=dict)


def percentile(ordered: list[float], rank: float) -> float | None:
    """The nearest-rank percentile of sorted samples (None when there are none)."""
    if not ordered:
        return None
    index = max(0, math.ceil(rank / 100 * len(ordered)) - 1)
    return ordered[index]


def served_at(load: Load, spoiled: Callable[[Recorded], str | None]) -> dict[int, float]:
    """When each update was first handed to the bot (a getUpdates answer it received)."""
    served: dict[int, float] = {}
    for record, answered_at in load.answers:
        if record.method != "getUpdates" or not record.ok or spoiled(record):
            continue
        for update in record.result or []:
            served.setdefault(int(update["update_id"]), answered_at)
    return served


def latencies(load: Load, spoiled: Callable[[Recorded], str | None]) -> dict[str, list[float]]:
    """Reply latencies in ms, by kind of update (and "callback" for press answers)."""
    served = served_at(load, spoiled)
    answered: dict[str, float] = {}
    for record, _ in load.answers:
        if record.method == "answerCallbackQuery" and record.ok:
            answered.setdefault(str(record.params.get("callback_query_id")), record.time)
    samples: dict[str, list[float]] = {name: [] for name, _ in CATEGORIES}
    for technician in load.technicians:
        times = sorted(reply.time for reply in technician.replies if reply.delivered)
        for sent in technician.sent:
            start = served.get(sent.update_id)
            if start is None:
                continue
            reply = next((at for at in times if at >= start), None)
            if reply is not None:
                samples[sent.kind].append((reply - start) * 1000)
            if sent.callback_id is not None and sent.callback_id in answered:
                samples["callback"].append(max(0.0, answered[sent.callback_id] - start) * 1000)
    return samples


def compute(
    load: Load,
    bot: str,
    *,
    cpu_ms: float | None,
    peak_mb: float | None,
    start_s: float,
    spoiled: Callable[[Recorded], str | None] = lambda record: None,
    helpers_peak_mb: float = 0.0,
) -> Figures:
    """The figures of a finished load; `cpu_ms` is the CPU time of the bot and of the
    processes it started during it."""
    wall = max(load.ended - load.started, 1e-9)
    calls = Counter(
        record.method for record, _ in load.answers if load.started <= record.time <= load.ended
    )
    return Figures(
        bot=bot,
        walks=len(load.technicians),
        finished=sum(1 for t in load.technicians if t.finished),
        updates=load.pushed,
        wall_s=wall,
        updates_per_s=load.pushed / wall,
        latency_ms={
            name: Latency.of(samples) for name, samples in latencies(load, spoiled).items()
        },
        cpu_ms_per_update=cpu_ms / load.pushed if cpu_ms is not None and load.pushed else None,
        peak_mb=peak_mb,
        start_s=start_s,
        helpers_peak_mb=helpers_peak_mb,
        harness_cpu_share=load.harness_cpu_ms / 1000 / wall,
        calls=dict(calls.most_common()),
    )


# Printing -------------------------------------------------------------------------

WIDTH = 34
COLUMN = 22


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _times(ours: float | None, theirs: float | None) -> str:
    if ours is None or theirs is None or theirs <= 0:
        return "-"
    ratio = ours / theirs
    return f"{ratio:.2f}×" if ratio < 10 else f"{ratio:.0f}×"


def _row(label: str, *cells: str) -> str:
    return f"  {label:<{WIDTH}}" + "".join(f"{cell:<{COLUMN}}" for cell in cells).rstrip()


def _percentiles(latency: Latency) -> str:
    if not latency.count:
        return "-"
    return f"{_ms(latency.p50)}/{_ms(latency.p95)}/{_ms(latency.p99)} ms"


def _ratios(ours: Latency, theirs: Latency) -> str:
    if not ours.count or not theirs.count:
        return "-"
    pairs = ((ours.p50, theirs.p50), (ours.p95, theirs.p95), (ours.p99, theirs.p99))
    return "/".join(_times(a, b) for a, b in pairs)


def calls_line(calls: dict[str, int]) -> str:
    return ", ".join(f"{method} {count}" for method, count in calls.items()) or "none"


def comparison(terrain: Figures, bare: Figures | None) -> list[str]:
    """Terrain's figures beside the bare bot's, with the ratios."""
    empty = Figures("", 0, 0, 0, 0.0, 0.0, {}, None, None, 0.0)
    other = bare or empty
    lines = [_row("", "Terrain", "bare aiogram" if bare else "", "Terrain ÷ bare" if bare else "")]

    def add(label: str, ours: str, theirs: str, ratio: str) -> None:
        lines.append(_row(label, ours, theirs if bare else "", ratio if bare else ""))

    add(
        "walks finished",
        f"{terrain.finished}/{terrain.walks}",
        f"{other.finished}/{other.walks}",
        "",
    )
    add("updates handled", str(terrain.updates), str(other.updates), "")
    add("wall time of the load", f"{terrain.wall_s:.1f} s", f"{other.wall_s:.1f} s", "")
    add(
        "updates per second",
        f"{terrain.updates_per_s:.1f}",
        f"{other.updates_per_s:.1f}",
        _times(terrain.updates_per_s, other.updates_per_s),
    )
    for name, label in CATEGORIES:
        ours = terrain.latency_ms.get(name, Latency(0, None, None, None))
        theirs = other.latency_ms.get(name, Latency(0, None, None, None))
        add(f"{label} p50/p95/p99", _percentiles(ours), _percentiles(theirs), _ratios(ours, theirs))
    add(
        "CPU per update (with workers)",
        "-" if terrain.cpu_ms_per_update is None else f"{terrain.cpu_ms_per_update:.1f} ms",
        "-" if other.cpu_ms_per_update is None else f"{other.cpu_ms_per_update:.1f} ms",
        _times(terrain.cpu_ms_per_update, other.cpu_ms_per_update),
    )
    add(
        "peak memory (VmHWM)",
        "-" if terrain.peak_mb is None else f"{terrain.peak_mb:.0f} MB",
        "-" if other.peak_mb is None else f"{other.peak_mb:.0f} MB",
        _times(terrain.peak_mb, other.peak_mb),
    )
    if terrain.helpers_peak_mb:
        add("its worker process's peak", f"{terrain.helpers_peak_mb:.0f} MB", "", "")
    add("start until polling", f"{terrain.start_s:.1f} s", f"{other.start_s:.1f} s", "")
    add(
        "driver + fake server CPU",
        f"{terrain.harness_cpu_share:.0%} of a core",
        f"{other.harness_cpu_share:.0%} of a core",
        "",
    )
    lines.append(f"  Bot API calls, Terrain: {calls_line(terrain.calls)}")
    if bare:
        lines.append(f"  Bot API calls, bare:    {calls_line(bare.calls)}")
    return lines
