"""Incoming Telegram updates, kept until they are handled.

The poller stores a batch here and commits before it asks Telegram for the next
batch (which is what tells Telegram the previous one was received).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboxUpdate, UpdateState, utcnow


async def store_new(
    session: AsyncSession, updates: Sequence[tuple[int, int, dict[str, Any]]]
) -> list[int]:
    """Store (update_id, chat_id, payload) triples not seen before; return the new ids."""
    if not updates:
        return []
    ids = [update_id for update_id, _, _ in updates]
    known = set(
        await session.scalars(select(InboxUpdate.update_id).where(InboxUpdate.update_id.in_(ids)))
    )
    fresh: list[int] = []
    for update_id, chat_id, payload in updates:
        if update_id in known or update_id in fresh:
            continue
        session.add(InboxUpdate(update_id=update_id, chat_id=chat_id, payload=payload))
        fresh.append(update_id)
    await session.flush()
    return fresh


async def store_all(
    session: AsyncSession, updates: Sequence[tuple[int, int, dict[str, Any]]]
) -> list[int]:
    """Store (update_id, chat_id, payload) triples in one statement, all of them new
    (IntegrityError when one was stored already: use `store_new` then); their ids."""
    if not updates:
        return []
    table = cast(Table, InboxUpdate.__table__)
    now = utcnow()
    await session.execute(
        insert(table),
        [
            {
                "update_id": update_id,
                "chat_id": chat_id,
                "payload": payload,
                "state": UpdateState.PENDING,
                "received_at": now,
            }
            for update_id, chat_id, payload in updates
        ],
    )
    return [update_id for update_id, _, _ in updates]


async def pending(session: AsyncSession) -> Sequence[InboxUpdate]:
    """Updates stored but not yet handled, oldest first."""
    query = select(InboxUpdate).where(InboxUpdate.state == UpdateState.PENDING)
    return (await session.scalars(query.order_by(InboxUpdate.update_id))).all()


async def get(session: AsyncSession, update_id: int) -> InboxUpdate | None:
    return await session.get(InboxUpdate, update_id)


async def finish(session: AsyncSession, update_id: int) -> bool:
    """Mark a pending update handled, in the unit of work that handled it; False when
    it was not pending any more (handled elsewhere meanwhile)."""
    table = cast(Table, InboxUpdate.__table__)
    # A plain table UPDATE: the ORM's bulk-update machinery costs more than the statement.
    result = await session.execute(
        update(table)
        .where(table.c.update_id == update_id, table.c.state == UpdateState.PENDING)
        .values(state=UpdateState.DONE, handled_at=utcnow(), error=None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark(row: InboxUpdate, state: UpdateState, error: str | None = None) -> None:
    row.state = state
    row.handled_at = utcnow()
    row.error = error


async def forget_handled_before(session: AsyncSession, before: Any) -> int:
    """Delete handled updates received before `before`; pending ones are kept."""
    result = await session.execute(
        delete(InboxUpdate).where(
            InboxUpdate.state != UpdateState.PENDING, InboxUpdate.received_at < before
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def waiting_count(session: AsyncSession) -> int:
    """How many updates are stored and not handled yet."""
    query = select(func.count()).where(InboxUpdate.state == UpdateState.PENDING)
    return int(await session.scalar(query) or 0)


async def last_received_at(session: AsyncSession) -> dt.datetime | None:
    """When the latest update was stored (Telegram numbers them in order), in UTC."""
    query = select(InboxUpdate.received_at).order_by(InboxUpdate.update_id.desc()).limit(1)
    received: dt.datetime | None = await session.scalar(query)
    return received
