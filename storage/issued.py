"""Issued reports: the PDFs made of an intervention, newest last. The office decides on
the newest only; a client gets the newest again on request."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Attachment, AttachmentKind, IssuedReport


async def latest_report(session: AsyncSession, intervention_id: int) -> Attachment | None:
    """The newest PDF of the intervention, if one was made."""
    query = (
        select(Attachment)
        .where(
            Attachment.intervention_id == intervention_id,
            Attachment.kind == AttachmentKind.REPORT,
        )
        .order_by(Attachment.id.desc())
        .limit(1)
    )
    return await session.scalar(query)


async def latest_issue(session: AsyncSession, intervention_id: int) -> IssuedReport | None:
    """The newest issued version of the intervention's report (the one to decide on)."""
    query = (
        select(IssuedReport)
        .where(IssuedReport.intervention_id == intervention_id)
        .order_by(IssuedReport.id.desc())
        .limit(1)
    )
    return await session.scalar(query)
