"""Work done on a clock, one scheduler per deployment (APScheduler 3)."""

from __future__ import annotations

import datetime as dt
import html
import logging
from collections.abc import Callable, Sequence

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from handlers.context import Options
from handlers.i18n import Translator
from storage import inbox, interventions, outbox
from storage.db import Database
from storage.models import Delivery, utcnow

log = logging.getLogger(__name__)

#: A planned intervention not started this long after its time is reported to the office.
OVERDUE_AFTER = dt.timedelta(minutes=15)

#: Handled updates are kept this long (to recognise one Telegram sends twice), then forgotten.
KEEP_HANDLED_UPDATES = dt.timedelta(days=14)


async def forget_old_updates(db: Database) -> int:
    """Delete handled updates older than KEEP_HANDLED_UPDATES."""
    async with db.transaction() as session:
        count = await inbox.forget_handled_before(session, utcnow() - KEEP_HANDLED_UPDATES)
    if count:
        log.info("forgot %d handled update(s)", count)
    return count


async def tell_overdue(
    db: Database,
    options: Options,
    after_commit: Callable[[Sequence[Delivery]], None] = lambda deliveries: None,
) -> int:
    """Tell the office, once each, of planned interventions whose time passed
    OVERDUE_AFTER ago without a start (the notices handed to `after_commit`, the
    sender). Returns how many were told."""
    if options.office_chat_id is None:
        return 0
    t = Translator(options.default_language)
    told = 0
    async with db.transaction() as session:
        late = await interventions.overdue(session, utcnow() - OVERDUE_AFTER)
        for job in late:
            key = f"overdue:{job.id}"
            if await outbox.exists(session, key):
                continue
            technician = job.technician.name if job.technician else t("notices.nobody")
            notice = outbox.message(
                session,
                options.office_chat_id,
                t(
                    "notices.overdue",
                    number=job.number,
                    client=html.escape(job.client.name),
                    when=options.local(job.scheduled_at) if job.scheduled_at else "—",
                    technician=html.escape(technician),
                ),
                intervention_id=job.id,
            )
            notice.coalesce_key = key
            told += 1
        made = outbox.made_in(session)
    after_commit(made)
    return told


def build_scheduler(
    db: Database,
    options: Options | None = None,
    after_commit: Callable[[Sequence[Delivery]], None] = lambda deliveries: None,
) -> AsyncIOScheduler:
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
    if options is not None:
        scheduler.add_job(
            tell_overdue,
            "interval",
            minutes=5,
            args=[db, options, after_commit],
            id="tell-overdue",
            coalesce=True,
            max_instances=1,
        )
    return scheduler
