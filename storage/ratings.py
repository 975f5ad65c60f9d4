"""Ratings: a client rates each validated intervention once (1 to 5 stars), with an
optional comment."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Rating


async def of_intervention(session: AsyncSession, intervention_id: int) -> Rating | None:
    """The intervention's rating, once the client gave it."""
    return await session.scalar(select(Rating).where(Rating.intervention_id == intervention_id))


async def add(
    session: AsyncSession, intervention_id: int, client_id: int, score: int
) -> Rating | None:
    """The client's rating of the intervention; None when it was rated meanwhile (two
    presses at once: the first one counts)."""
    rating = Rating(intervention_id=intervention_id, client_id=client_id, score=score)
    try:
        async with session.begin_nested():
            session.add(rating)
    except IntegrityError:
        return None
    return rating


async def scores(session: AsyncSession, intervention_ids: Collection[int]) -> dict[int, int]:
    """The stars given to these interventions, by intervention id (those rated only)."""
    if not intervention_ids:
        return {}
    rows = await session.execute(
        select(Rating.intervention_id, Rating.score).where(
            Rating.intervention_id.in_(intervention_ids)
        )
    )
    return {intervention_id: score for intervention_id, score in rows}
