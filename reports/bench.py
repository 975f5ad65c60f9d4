"""`python -m reports bench`: how fast, how big and how hungry report rendering is here.

The targets of issue 4, on the 2-core reference machine:

- 20 Telegram-sized photos (1280 px): render under 0.5 s;
- 20 photos of 12 megapixels, first render including their preparation: under 4 s,
  PDF under 10 MB, peak memory under 300 MB;
- the same report again with the prepared photos cached: under 0.5 s.

The photos are generated first (`reports.sample.make_photo`, camera-like noise, and
EXIF with a GPS position on the 12 MP ones) and written to disk; each case then runs
in a fresh Python process that reads them from disk through loaders, as the bot
reads its file store, so cases do not share caches or memory. In each process the
modules are imported and one report without photos is rendered before the clock
starts (a running bot has done both long before); the peak memory (ru_maxrss) is
that of the whole process, imports included. Each case runs `--repeat` times and
the median is printed, with every run and the CPU time the render used (all
threads): the wall time depends on what else the machine is doing, the CPU time
much less. The load average is printed before and after for the same reason.
"""

from __future__ import annotations

import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

PHOTOS = 20


@dataclass(frozen=True)
class Case:
    """One measured situation."""

    name: str
    folder: str
    """Where its originals are, under the work folder."""
    cache: str
    """Its prepared-photo cache folder, under the work folder ("" for no cache)."""
    title: str
    target_seconds: float
    target_mb: float | None = None
    target_rss_mb: float | None = None


CASES = (
    Case(
        "telegram-first",
        "telegram",
        "cache-telegram-{run}",
        "20 Telegram photos, first render",
        0.5,
    ),
    Case("telegram-cached", "telegram", "cache-telegram-{run}", "20 Telegram photos, cached", 0.5),
    Case(
        "camera-first",
        "camera",
        "cache-camera-{run}",
        "20 x 12 MP photos, first render",
        4.0,
        target_mb=10,
        target_rss_mb=300,
    ),
    Case("camera-cached", "camera", "cache-camera-{run}", "20 x 12 MP photos, cached", 0.5),
)


def main(repeat: int = 3, keep: Path | None = None) -> int:
    """Generate the photos, run every case `repeat` times in its own process, print.

    The work folder (photos, caches) is a temporary one, or `keep` if given.
    """
    with tempfile.TemporaryDirectory(prefix="terrain-bench-") as scratch:
        workdir = keep or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        python = sys.version.split()[0]
        print(f"machine: {os.cpu_count()} cores, load average {_load()}, python {python}")
        started = time.perf_counter()
        _run_case("generate", workdir)
        print(
            f"generated {PHOTOS} Telegram-sized and {PHOTOS} 12 MP photos in "
            f"{time.perf_counter() - started:.1f} s ({_folder_mb(workdir / 'telegram'):.1f} MB "
            f"and {_folder_mb(workdir / 'camera'):.1f} MB of originals)"
        )
        startup = _run_case("startup", workdir)
        print(
            f"process start-up: imports {startup['imports']:.2f} s, first report without "
            f"photos {startup['first']:.2f} s, next one {startup['seconds']:.3f} s, "
            f"peak memory {startup['rss_mb']:.0f} MB"
        )
        print()
        results: dict[str, list[dict[str, float]]] = {case.name: [] for case in CASES}
        for run in range(repeat):
            # The cached case of a run reads the cache its first case filled.
            for case in CASES:
                if case.name.endswith("-first"):
                    # A first render starts from an empty cache, even in a kept folder.
                    shutil.rmtree(workdir / case.cache.format(run=run), ignore_errors=True)
                results[case.name].append(_run_case(case.name, workdir, run=run))
        failures = 0
        for case in CASES:
            failures += _print_case(case, results[case.name])
        print()
        print(f"load average after: {_load()}")
        missed = f"{failures} target missed" if failures == 1 else f"{failures} targets missed"
        print(missed if failures else "all targets met")
    return 0


def _print_case(case: Case, runs: list[dict[str, float]]) -> int:
    seconds = [run["seconds"] for run in runs]
    median = statistics.median(seconds)
    size = max(run["mb"] for run in runs)
    rss = max(run["rss_mb"] for run in runs)
    pages = int(runs[0]["pages"])
    checks = [_check(median <= case.target_seconds, f"< {case.target_seconds:g} s")]
    if case.target_mb is not None:
        checks.append(_check(size <= case.target_mb, f"PDF < {case.target_mb:g} MB"))
    if case.target_rss_mb is not None:
        checks.append(_check(rss <= case.target_rss_mb, f"peak < {case.target_rss_mb:g} MB"))
    cpu = statistics.median(run["cpu"] for run in runs)
    print(f"{case.title}: {median:.3f} s (runs {', '.join(f'{s:.3f}' for s in seconds)})")
    print(
        f"    CPU {cpu:.2f} s, PDF {size:.2f} MB, {pages} pages, peak memory {rss:.0f} MB  "
        + "  ".join(text for _, text in checks)
    )
    return sum(1 for ok, _ in checks if not ok)


def _check(ok: bool, target: str) -> tuple[bool, str]:
    return ok, f"[{'ok' if ok else 'MISSED'} {target}]"


def _run_case(name: str, workdir: Path, run: int = 0) -> dict[str, float]:
    """Run one case in a fresh interpreter and return what it measured."""
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "reports",
            "bench",
            "--case",
            f"{name}:{run}",
            "--workdir",
            str(workdir),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def run_case(spec: str, workdir: Path) -> int:
    """The child process: run case `name:run` and print its figures as one JSON line."""
    name, _, run = spec.partition(":")
    started = time.perf_counter()
    from pypdf import PdfReader

    from reports.images import PreparedCache
    from reports.pdf import build_report
    from reports.sample import CAMERA_SIZE, TELEGRAM_SIZE, photo_files, sample_photos, sample_report

    imports = time.perf_counter() - started
    if name == "generate":
        _generate(workdir, TELEGRAM_SIZE, CAMERA_SIZE)
        print(json.dumps({}))
        return 0
    started = time.perf_counter()
    build_report(sample_report("fr"))
    first = time.perf_counter() - started
    if name == "startup":
        started = time.perf_counter()
        build_report(sample_report("fr"))
        seconds = time.perf_counter() - started
        print(
            json.dumps(
                {"imports": imports, "first": first, "seconds": seconds, "rss_mb": _rss_mb()}
            )
        )
        return 0
    case = next(case for case in CASES if case.name == name)
    photos = sample_photos(PHOTOS, "fr", originals=photo_files(workdir / case.folder))
    cache = PreparedCache(workdir / case.cache.format(run=run))
    data = sample_report("fr", photos)
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    pdf = build_report(data, cache=cache)
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_before
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    figures = {
        "seconds": seconds,
        "cpu": cpu,
        "mb": len(pdf) / 1_000_000,
        "pages": pages,
        "rss_mb": _rss_mb(),
    }
    print(json.dumps(figures))
    return 0


def _generate(workdir: Path, telegram: tuple[int, int], camera: tuple[int, int]) -> None:
    from reports.sample import make_photo

    def write(folder: str, index: int, size: tuple[int, int], exif: bool) -> None:
        path = workdir / folder / f"photo-{index:02d}.jpg"
        if not path.exists():
            path.write_bytes(make_photo(index, size, exif=exif))

    for folder in ("telegram", "camera"):
        (workdir / folder).mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        jobs = [pool.submit(write, "telegram", i, telegram, False) for i in range(PHOTOS)]
        jobs += [pool.submit(write, "camera", i, camera, True) for i in range(PHOTOS)]
        for job in jobs:
            job.result()


def _cpu_seconds() -> float:
    """CPU time used so far by this process, all threads, user and system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux counts in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _folder_mb(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.iterdir()) / 1_000_000


def _load() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"
