"""Issued reports: the PDFs made of an intervention, newest last. The office decides on
the newest only; a client gets the newest again on request; a PDF sent back is found
by its fingerprint (unmodified) or by the code printed on it (modified)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.files import StoredFile
from storage.models import Attachment, AttachmentKind, IssuedReport, utcnow


async def issue(
    session: AsyncSession,
    intervention_id: int,
    pdf: StoredFile,
    *,
    file_name: str,
    code: str,
    language: str,
) -> IssuedReport:
    """Keep a rendered PDF as the intervention's newest report, with its fingerprint and
    the verification code printed on it (flushed: the office's buttons name it)."""
    kept = Attachment(
        intervention_id=intervention_id,
        kind=AttachmentKind.REPORT,
        path=pdf.path,
        file_name=file_name,
        mime_type="application/pdf",
        size=pdf.size,
        sha256=pdf.sha256,
        received_at=utcnow(),
    )
    session.add(kept)
    await session.flush()
    issued = IssuedReport(
        intervention_id=intervention_id,
        attachment_id=kept.id,
        code=code,
        sha256=pdf.sha256,
        language=language,
    )
    session.add(issued)
    await session.flush()
    return issued


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


async def by_fingerprint(session: AsyncSession, sha256: str) -> IssuedReport | None:
    """The issued report whose PDF has exactly this SHA-256: an unmodified copy."""
    return await session.scalar(select(IssuedReport).where(IssuedReport.sha256 == sha256))


async def by_code(session: AsyncSession, code: str) -> IssuedReport | None:
    """The issued report that printed this verification code."""
    return await session.scalar(select(IssuedReport).where(IssuedReport.code == code).limit(1))
