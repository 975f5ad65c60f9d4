"""`GET /healthz`: whether the bot is doing its work, for a supervisor or a load balancer.

It answers JSON: whether the database answers, how many updates wait to be handled,
how many deliveries wait to be sent and how long the oldest has waited, and when
the last update arrived. The status is 503 when the bot is not healthy, 200
otherwise. Not healthy means:
- the database does not answer within DATABASE_TIMEOUT seconds, or
- a delivery has waited more than HEALTH_DELIVERY_MINUTES since it was written
  (Telegram or the mail server refusing or unreachable for that long, or the sender
  stuck). One held back on purpose and not tried yet (an album's confirmation
  gathering its photos, a rating's notice waiting for the client's comment) does
  not count until it is due.
A quiet night (no update for hours) is healthy: people do not write at night.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.web.context import CONTEXT
from storage import inbox, outbox
from storage.db import Database, describe_db_error
from storage.models import utcnow

log = logging.getLogger(__name__)

PATH = "/healthz"
#: How long the database may take to answer the health's questions.
DATABASE_TIMEOUT = 5.0


@dataclass
class Health:
    """What /healthz says."""

    database_reachable: bool
    updates: str
    updates_waiting: int | None = None
    deliveries_waiting: int | None = None
    oldest_delivery_waiting_seconds: int | None = None
    last_update_received: dt.datetime | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        received = self.last_update_received
        return {
            "healthy": self.healthy,
            "problems": self.problems,
            "database": "reachable" if self.database_reachable else "unreachable",
            "updates": self.updates,
            "updates_waiting": self.updates_waiting,
            "deliveries_waiting": self.deliveries_waiting,
            "oldest_delivery_waiting_seconds": self.oldest_delivery_waiting_seconds,
            "last_update_received": received.isoformat() if received else None,
        }


def setup(app: web.Application) -> None:
    app.router.add_get(PATH, healthz)


async def healthz(request: web.Request) -> web.Response:
    context = request.app[CONTEXT]
    settings = context.settings
    health = await examine(
        context.db,
        updates=settings.updates,
        delivery_limit=dt.timedelta(minutes=settings.health_delivery_minutes),
    )
    return web.json_response(
        health.as_json(),
        status=200 if health.healthy else 503,
        headers={"Cache-Control": "no-store"},
    )


async def examine(
    db: Database, *, updates: str, delivery_limit: dt.timedelta, now: dt.datetime | None = None
) -> Health:
    """The bot's health, read from the database."""
    now = now or utcnow()
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT), db.sessions() as session:
            waiting = await inbox.waiting_count(session)
            last = await inbox.last_received_at(session)
            deliveries, oldest = await outbox.waiting_summary(session, now)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        if isinstance(exc, TimeoutError):
            log.warning("health: the database did not answer within %.0f s", DATABASE_TIMEOUT)
        else:
            log.warning("health: %s", describe_db_error(db.url, exc))
        return Health(
            database_reachable=False,
            updates=updates,
            problems=["the database cannot be reached"],
        )
    health = Health(
        database_reachable=True,
        updates=updates,
        updates_waiting=waiting,
        deliveries_waiting=deliveries,
        last_update_received=last,
    )
    if oldest is not None:
        age = max(now - oldest, dt.timedelta(0))
        health.oldest_delivery_waiting_seconds = int(age.total_seconds())
        if age > delivery_limit:
            limit = int(delivery_limit.total_seconds() // 60)
            health.problems.append(f"a delivery has waited {_minutes(age)} (more than {limit})")
    return health


def _minutes(age: dt.timedelta) -> str:
    whole = int(age.total_seconds() // 60)
    return f"{whole} minute" if whole == 1 else f"{whole} minutes"
