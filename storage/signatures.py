"""Signatures: the client's on one report, and a technician's own, captured once and
reused on every report they sign (each report keeps the one it was signed with).

A signature is kept as two files: the photo as taken, and the cleaned transparent
image the report prints."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.files import StoredFile
from storage.models import Attachment, AttachmentKind, Signature, User, utcnow

CLIENT = "client"
TECHNICIAN = "technician"


async def keep(
    session: AsyncSession,
    *,
    signer: str,
    signer_name: str,
    original: StoredFile,
    original_mime: str | None,
    cleaned: StoredFile,
    intervention_id: int | None,
    user_id: int | None,
) -> Signature:
    """A new signature of `signer` ("client" or "technician") from the photo and its
    cleaned PNG, both kept as attachments (flushed)."""
    kept = [
        Attachment(
            intervention_id=intervention_id,
            kind=AttachmentKind.SIGNATURE,
            path=stored.path,
            mime_type=mime,
            size=stored.size,
            sha256=stored.sha256,
            caption=f"{signer} signature, {what}",
            received_at=utcnow(),
        )
        for stored, mime, what in (
            (original, original_mime, "original photo"),
            (cleaned, "image/png", "cleaned"),
        )
    ]
    session.add_all(kept)
    await session.flush()
    signature = Signature(
        intervention_id=intervention_id,
        user_id=user_id,
        signer=signer,
        signer_name=signer_name,
        attachment_id=kept[1].id,
        signed_at=utcnow(),
    )
    session.add(signature)
    await session.flush()
    return signature


def sign_report_with(
    session: AsyncSession, intervention_id: int, technician: User, own: Signature
) -> Signature:
    """The report of `intervention_id` keeps the technician's own signature it was
    signed with (a later new signature does not change it)."""
    signature = Signature(
        intervention_id=intervention_id,
        user_id=technician.id,
        signer=TECHNICIAN,
        signer_name=technician.name,
        attachment_id=own.attachment_id,
        signed_at=utcnow(),
    )
    session.add(signature)
    return signature


async def own(session: AsyncSession, user_id: int) -> Signature | None:
    """The technician's reusable signature (the latest captured), if any."""
    query = (
        select(Signature)
        .where(Signature.user_id == user_id, Signature.intervention_id.is_(None))
        .order_by(Signature.id.desc())
        .limit(1)
    )
    return await session.scalar(query)


async def of_report(session: AsyncSession, intervention_id: int, signer: str) -> Signature | None:
    """The signature of `signer` on the report (the latest, if signed again)."""
    query = (
        select(Signature)
        .where(Signature.intervention_id == intervention_id, Signature.signer == signer)
        .order_by(Signature.id.desc())
        .limit(1)
    )
    return await session.scalar(query)


async def image(session: AsyncSession, signature: Signature) -> Attachment | None:
    """The cleaned image the report prints for this signature."""
    return await session.get(Attachment, signature.attachment_id)
