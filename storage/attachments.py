"""Files kept with an intervention: photos, plans and other documents, signatures."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Attachment


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
