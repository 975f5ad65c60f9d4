"""Work done on a clock, one scheduler per deployment (APScheduler 3)."""

from __future__ import annotations

import datetime as dt
import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from storage import inbox
from storage.db import Database
from storage.models import utcnow

log = logging.getLogger(__name__)

#: Handled updates are kept this long (to recognise one Telegram sends twice), then forgotten.
KEEP_HANDLED_UPDATES = dt.timedelta(days=14)


async def forget_old_updates(db: Database) -> int:
    """Delete handled updates older than KEEP_HANDLED_UPDATES."""
    async with db.transaction() as session:
        count = await inbox.forget_handled_before(session, utcnow() - KEEP_HANDLED_UPDATES)
    if count:
        log.info("forgot %d handled update(s)", count)
    return count


def build_scheduler(db: Database) -> AsyncIOScheduler:
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
    return scheduler
