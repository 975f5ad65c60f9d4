"""Work done on a clock, one scheduler per deployment (APScheduler 3).

The reminder jobs (bot.reminders) run every minute and once at start, each asked
with the clock's time: what is due is decided from that time and the database, not
from the scheduler's memory, so a restart neither repeats a notice nor forgets one
that is still useful.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.reminders import (
    Reminders,
    nudge_idle,
    remind_before,
    remind_evening,
    send_digest,
    tell_overdue,
)
from handlers.context import Options
from storage import inbox
from storage.db import Database
from storage.models import Delivery, utcnow

log = logging.getLogger(__name__)

#: Handled updates are kept this long (to recognise one Telegram sends twice), then forgotten.
KEEP_HANDLED_UPDATES = dt.timedelta(days=14)

#: The reminder jobs, by their id in the scheduler.
REMINDER_JOBS = {
    "remind-evening": remind_evening,
    "remind-before": remind_before,
    "nudge-idle": nudge_idle,
    "send-digest": send_digest,
}

Clock = Callable[[], dt.datetime]


async def forget_old_updates(db: Database) -> int:
    """Delete handled updates older than KEEP_HANDLED_UPDATES."""
    async with db.transaction() as session:
        count = await inbox.forget_handled_before(session, utcnow() - KEEP_HANDLED_UPDATES)
    if count:
        log.info("forgot %d handled update(s)", count)
    return count


async def _on_clock(
    job: Callable[..., Awaitable[int]], clock: Clock, *args: Any, **kwargs: Any
) -> int:
    """Runs `job` with the clock's time."""
    return await job(*args, now=clock(), **kwargs)


def build_scheduler(
    db: Database,
    options: Options | None = None,
    after_commit: Callable[[Sequence[Delivery]], None] = lambda deliveries: None,
    reminders: Reminders | None = None,
    clock: Clock = utcnow,
) -> AsyncIOScheduler:
    """The scheduler's jobs: forgetting old updates; with `options`, the overdue
    warnings (at start, then every five minutes); with `reminders` too, the reminders
    and the digest (at start, then every minute)."""
    scheduler = AsyncIOScheduler(timezone=dt.UTC)
    scheduler.add_job(
        forget_old_updates,
        "interval",
        hours=6,
        args=[db],
        id="forget-old-updates",
        coalesce=True,
        max_instances=1,
    )
    if options is None:
        return scheduler
    scheduler.add_job(
        _on_clock,
        "interval",
        minutes=5,
        args=[tell_overdue, clock, db, options],
        kwargs={"after_commit": after_commit},
        id="tell-overdue",
        coalesce=True,
        max_instances=1,
        next_run_time=dt.datetime.now(dt.UTC),
    )
    if reminders is None:
        return scheduler
    for job_id, job in REMINDER_JOBS.items():
        scheduler.add_job(
            _on_clock,
            "interval",
            minutes=1,
            args=[job, clock, db, options, reminders],
            kwargs={"after_commit": after_commit},
            id=job_id,
            coalesce=True,
            max_instances=1,
            next_run_time=dt.datetime.now(dt.UTC),
        )
    return scheduler
