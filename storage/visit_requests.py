"""Visit requests: a client asks for a new visit, and the office plans it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import VisitRequest


async def create(session: AsyncSession, client_id: int, user_id: int, text: str) -> VisitRequest:
    """The client's request for a new visit, as described by the login `user_id`
    (flushed, so it has its id)."""
    request = VisitRequest(client_id=client_id, user_id=user_id, text=text)
    session.add(request)
    await session.flush()
    return request


async def get(session: AsyncSession, request_id: int) -> VisitRequest | None:
    """The request: no query when this unit of work has it already."""
    return await session.get(VisitRequest, request_id)
