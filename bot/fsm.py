"""Conversation state kept in the database, inside the unit of work of the update
being handled: a step taken is committed with the data it stored, or not at all."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey
from sqlalchemy.ext.asyncio import AsyncSession

from storage import conversations

#: The session of the update being handled, set by the ingest worker around the dispatch.
current_session: ContextVar[AsyncSession] = ContextVar("current_session")


def _session() -> AsyncSession:
    try:
        return current_session.get()
    except LookupError:
        raise RuntimeError(
            "conversation state is only reachable while an update is handled"
        ) from None


def key_text(key: StorageKey) -> str:
    parts = [
        str(key.bot_id),
        str(key.chat_id),
        str(key.user_id),
        str(key.thread_id or ""),
        key.business_connection_id or "",
        key.destiny,
    ]
    return ":".join(parts)


class DatabaseStorage(BaseStorage):
    """aiogram's FSM storage, backed by the `conversation_states` table."""

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await conversations.save_state(_session(), key_text(key), value)

    async def get_state(self, key: StorageKey) -> str | None:
        found = await conversations.standing(_session(), key_text(key))
        return found[0] if found else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await conversations.save_data(_session(), key_text(key), dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        found = await conversations.standing(_session(), key_text(key))
        return dict(found[1]) if found else {}

    async def close(self) -> None:
        return None
