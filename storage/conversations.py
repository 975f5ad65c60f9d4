"""Where each multi-step conversation stands, kept in the database so a restart
or another phone picks it up exactly where it stopped.

Every update asks where its person's conversation stands, and nearly always it
stands nowhere (a technician in a report, a client). So what is committed is also
kept in memory, per database: a conversation is read from the table once, then
from memory; a change is written to the table in the unit of work that makes it
and reaches memory only once that unit commits (a unit rolled back changes
nothing). Only the running bot writes this table, and one chat's updates are
handled one after the other, so memory never falls behind the table.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ConversationState

#: Where a conversation stands: (state, data), or None when it stands nowhere.
Standing = tuple[str | None, dict[str, Any]] | None

#: What is committed, by database.
_COMMITTED: WeakKeyDictionary[Any, dict[str, Standing]] = WeakKeyDictionary()
#: Where a session keeps the changes of its unit of work until it commits.
_PENDING = "conversations.pending"


def _committed(session: AsyncSession) -> dict[str, Standing]:
    return _COMMITTED.setdefault(session.bind, {})


async def standing(session: AsyncSession, key: str) -> Standing:
    """Where the conversation `key` stands, as this unit of work sees it."""
    pending: dict[str, Standing] = session.info.get(_PENDING, {})
    if key in pending:
        return pending[key]
    known = _committed(session)
    if key not in known:
        row = await session.get(ConversationState, key)
        known[key] = (row.state, dict(row.data)) if row is not None else None
    return known[key]


def _remember(session: AsyncSession, key: str, value: Standing) -> None:
    """Note a change, to reach memory once the unit of work commits."""
    pending: dict[str, Standing] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = {}
        known = _committed(session)

        def committed(_session: Any) -> None:
            known.update(pending)
            pending.clear()

        def rolled_back(_session: Any) -> None:
            pending.clear()

        event.listen(session.sync_session, "after_commit", committed)
        event.listen(session.sync_session, "after_rollback", rolled_back)
    pending[key] = value


async def _row(session: AsyncSession, key: str) -> ConversationState:
    row = await session.get(ConversationState, key)
    if row is None:
        row = ConversationState(key=key, state=None, data={})
        session.add(row)
    return row


async def _save(session: AsyncSession, key: str, state: str | None, data: dict[str, Any]) -> None:
    """Write where the conversation stands; one with neither state nor data has
    ended, and its row is removed."""
    current = await standing(session, key)
    if current == (state, data) or (current is None and state is None and not data):
        return
    row = await _row(session, key)
    row.state, row.data = state, dict(data)
    if state is None and not data:
        if row in session.new:
            session.expunge(row)
        else:
            await session.delete(row)
        _remember(session, key, None)
    else:
        _remember(session, key, (state, dict(data)))
    await session.flush()


async def save_state(session: AsyncSession, key: str, state: str | None) -> None:
    current = await standing(session, key)
    await _save(session, key, state, dict(current[1]) if current else {})


async def save_data(session: AsyncSession, key: str, data: dict[str, Any]) -> None:
    current = await standing(session, key)
    await _save(session, key, current[0] if current else None, dict(data))
