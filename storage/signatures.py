"""Signatures: the client's on one report, and a technician's own, captured once and
reused on every report they sign (each report keeps the one it was signed with).

A signature is kept as two files: its evidence as it arrived (the photo as taken,
or the strokes drawn on the screen with their times) and the transparent image the
report prints (the photo cleaned, or the drawing)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.files import StoredFile
from storage.models import Attachment, AttachmentKind, Signature, SignatureMethod, User, utcnow

CLIENT = "client"
TECHNICIAN = "technician"

#: What the two files of a signature are, by how it was given (their captions).
EVIDENCE = {
    SignatureMethod.PHOTO: ("original photo", "cleaned"),
    SignatureMethod.SCREEN: ("strokes drawn on the screen", "drawn on the screen"),
}


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
    method: SignatureMethod = SignatureMethod.PHOTO,
) -> Signature:
    """A new signature of `signer` ("client" or "technician") given by `method`: its
    evidence (`original`: the photo, or the strokes drawn) and the PNG the report
    prints (`cleaned`), both kept as attachments (flushed)."""
    evidence, image = EVIDENCE[method]
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
            (original, original_mime, evidence),
            (cleaned, "image/png", image),
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
        method=method,
        evidence_id=kept[0].id,
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
        method=own.method,
        evidence_id=own.evidence_id,
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


async def first_given(session: AsyncSession, signature: Signature) -> Signature:
    """The signature as it was first given: for a report signed with a technician's
    kept signature, the one captured then (its time is when the ink was given)."""
    query = (
        select(Signature)
        .where(Signature.attachment_id == signature.attachment_id)
        .order_by(Signature.id)
        .limit(1)
    )
    return await session.scalar(query) or signature


async def with_evidence(
    session: AsyncSession, intervention_id: int, signer: str, sha256: str
) -> Signature | None:
    """The signature of `signer` on the report whose evidence has this fingerprint
    (the same drawing sent twice), if any."""
    query = (
        select(Signature)
        .join(Attachment, Attachment.id == Signature.evidence_id)
        .where(
            Signature.intervention_id == intervention_id,
            Signature.signer == signer,
            Attachment.sha256 == sha256,
        )
        .order_by(Signature.id.desc())
        .limit(1)
    )
    return await session.scalar(query)
