"""The work that takes a whole core, done in a worker process of its own.

Rendering a report (fpdf2 is pure Python), preparing a photo for it and cleaning a
signature hold Python's interpreter lock for tens or hundreds of milliseconds. Run
in a thread of the bot's process, they slow every other chat; run here, in one
worker process started on first use, they take the machine's other core and the
bot's event loop keeps its own. The worker is started with "spawn": the bot's
process has threads and an event loop, which a forked copy must not inherit. It
imports only what it uses, so the bot's process never loads fpdf2 at all.

A worker that dies (killed, out of memory) is replaced, and the work asked again
once.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from reports.data import ReportData
from reports.images import PHOTO_QUALITY, PreparedCache

log = logging.getLogger(__name__)

T = TypeVar("T")

_pool: ProcessPoolExecutor | None = None


def _executor() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    return _pool


async def run(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`function(*args, **kwargs)` in the worker process (started on first use)."""
    global _pool
    loop = asyncio.get_running_loop()
    call = partial(function, *args, **kwargs)
    try:
        return await loop.run_in_executor(_executor(), call)
    except BrokenProcessPool:
        log.warning("the worker process died; starting another and asking again")
        _pool = None
        return await loop.run_in_executor(_executor(), call)


def shutdown() -> None:
    """Stop the worker process (at the bot's stop; a new one starts if asked again)."""
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
        _pool = None


# What the worker runs -------------------------------------------------------------


def render_report(data: ReportData, photo_cache: Path, max_photo_side: int) -> bytes:
    """The report's PDF, its photos taken from (or added to) the prepared-photo cache."""
    # Imported here, in the worker only: the bot's own process has no use for fpdf2.
    from reports.pdf import build_report

    return build_report(data, cache=PreparedCache(photo_cache), max_photo_side=max_photo_side)


def prepare_photo(photo_cache: Path, key: str, data: bytes, max_side: int) -> None:
    """Prepare a photo for the report now (EXIF orientation, size, no metadata) and
    keep it in the cache, so the report renders at once later."""
    PreparedCache(photo_cache).get(key, data, max_side, PHOTO_QUALITY)
