"""Files kept with an intervention: photos, plans and other documents, voice notes,
signatures."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import VOICE_NOTE_KINDS, Attachment


async def by_unique_id(
    session: AsyncSession, intervention_id: int, file_unique_id: str
) -> Attachment | None:
    """The file already kept for this intervention under Telegram's unique id, if any."""
    return await session.scalar(
        select(Attachment).where(
            Attachment.intervention_id == intervention_id,
            Attachment.file_unique_id == file_unique_id,
        )
    )


async def count(session: AsyncSession, intervention_id: int, kind: str) -> int:
    query = select(func.count()).where(
        Attachment.intervention_id == intervention_id, Attachment.kind == kind
    )
    return int(await session.scalar(query) or 0)


async def voice_notes(session: AsyncSession, intervention_id: int) -> Sequence[Attachment]:
    """The voice notes kept for this intervention, in the order they were received."""
    query = (
        select(Attachment)
        .where(
            Attachment.intervention_id == intervention_id,
            Attachment.kind.in_(VOICE_NOTE_KINDS),
        )
        .order_by(Attachment.received_at, Attachment.id)
    )
    return (await session.scalars(query)).all()


async def count_voice_notes(session: AsyncSession, intervention_id: int) -> int:
    """How many voice notes are kept for this intervention."""
    query = select(func.count()).where(
        Attachment.intervention_id == intervention_id,
        Attachment.kind.in_(VOICE_NOTE_KINDS),
    )
    return int(await session.scalar(query) or 0)
