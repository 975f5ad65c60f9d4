"""Where each multi-step conversation stands, kept in the database so a restart
or another phone picks it up exactly where it stopped."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ConversationState


async def load(session: AsyncSession, key: str) -> ConversationState | None:
    return await session.get(ConversationState, key)


async def _row(session: AsyncSession, key: str) -> ConversationState:
    row = await session.get(ConversationState, key)
    if row is None:
        row = ConversationState(key=key, state=None, data={})
        session.add(row)
    return row


async def _tidy(session: AsyncSession, row: ConversationState) -> None:
    """A conversation with neither state nor data has ended: remove its row."""
    if row.state is None and not row.data:
        if row in session.new:
            session.expunge(row)
        else:
            await session.delete(row)
    await session.flush()


async def save_state(session: AsyncSession, key: str, state: str | None) -> None:
    row = await _row(session, key)
    row.state = state
    await _tidy(session, row)


async def save_data(session: AsyncSession, key: str, data: dict[str, Any]) -> None:
    row = await _row(session, key)
    row.data = dict(data)
    await _tidy(session, row)
