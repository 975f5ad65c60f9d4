"""Keeping a file a technician sends for the report: a photo (its largest size) or a
document, downloaded at once, checked, and written under DATA_DIR with a generated
name in the same unit of work that records it, so an acknowledged file is never lost;
the same file sent twice is kept once. The photo step (handlers.technician.photos)
and the signatures (handlers.technician.acceptance) take their files through here.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
from dataclasses import dataclass

from aiogram.types import Message

from handlers import downloads
from handlers.technician.visit import Visit
from reports import offload
from reports.images import ImageRejected, PreparedCache, inspect_image
from storage import attachments
from storage.models import Attachment, AttachmentKind, utcnow

log = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT = 300
CAPTION_LIMIT = 1000


@dataclass(frozen=True)
class Incoming:
    """A file in a message: what Telegram says about it."""

    file_id: str
    file_unique_id: str
    size: int | None
    file_name: str | None
    mime_type: str | None
    as_photo: bool


def incoming_file(message: Message) -> Incoming | None:
    """The file of a photo (its largest size) or document message, if it has one."""
    if message.photo:
        largest = max(
            message.photo, key=lambda size: (size.width * size.height, size.file_size or 0)
        )
        return Incoming(
            largest.file_id, largest.file_unique_id, largest.file_size, None, "image/jpeg", True
        )
    if message.document:
        doc = message.document
        return Incoming(
            doc.file_id, doc.file_unique_id, doc.file_size, doc.file_name, doc.mime_type, False
        )
    return None


class Refused(Exception):
    """A file that cannot be kept; `key` names the message that says why."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def read_caption(message: Message) -> str | None:
    """The caption of a photo or file as the report keeps it."""
    return (message.caption or "").strip()[:CAPTION_LIMIT] or None


def _suffix(incoming: Incoming, image_format: str | None) -> str:
    if image_format:
        return {
            "JPEG": ".jpg",
            "PNG": ".png",
            "WEBP": ".webp",
            "HEIF": ".heic",
            "GIF": ".gif",
            "TIFF": ".tiff",
        }.get(image_format, ".bin")
    guessed = mimetypes.guess_extension(incoming.mime_type or "") or ""
    if incoming.file_name and "." in incoming.file_name:
        guessed = "." + incoming.file_name.rsplit(".", 1)[1]
    return guessed.lower()


async def download(visit: Visit, incoming: Incoming) -> bytes:
    """The file's bytes from the Bot API, or Refused("photos.too_big") past its limit, or
    Refused("photos.gone") when Telegram no longer has it. A download that fails on the
    way raises a network error: the update is handled again (see handlers.downloads)."""
    try:
        return await downloads.fetch(
            visit.bot,
            incoming.file_id,
            size=incoming.size,
            timeout=DOWNLOAD_TIMEOUT,
            limit=visit.options.download_limit,
        )
    except downloads.TooBig as too_big:
        raise Refused("photos.too_big", megabytes=too_big.megabytes) from None
    except downloads.Gone:
        raise Refused("photos.gone") from None


async def keep_file(visit: Visit, message: Message, incoming: Incoming) -> Attachment | None:
    """Download, check and store one file; None when it was already kept."""
    job = visit.job
    if await attachments.by_unique_id(visit.session, job.id, incoming.file_unique_id):
        return None
    data = await download(visit, incoming)
    image_format: str | None = None
    mime_type = incoming.mime_type
    looks_like_image = (
        incoming.as_photo
        or (mime_type or "").startswith("image/")
        or (
            (incoming.file_name or "")
            .lower()
            .endswith((".heic", ".heif", ".jpg", ".jpeg", ".png", ".webp"))
        )
    )
    kind = AttachmentKind.DOCUMENT
    try:
        info = await offload.run(inspect_image, data)
        image_format, mime_type, kind = info.format, info.mime_type, AttachmentKind.PHOTO
    except ImageRejected as rejected:
        if looks_like_image or rejected.reason != "not_an_image":
            raise Refused(f"photos.rejected_{rejected.reason}") from None
    stored = await asyncio.to_thread(
        visit.files.save, f"interventions/{job.number}", data, _suffix(incoming, image_format)
    )
    if kind == AttachmentKind.PHOTO:
        # Prepared now, while the technician is busy, so the report renders at once.
        max_side = visit.options.photo_max_side
        await offload.run(
            offload.prepare_photo, photo_cache(visit).folder, stored.sha256, data, max_side
        )
    caption = read_caption(message)
    attachment = Attachment(
        intervention_id=job.id,
        kind=kind,
        path=stored.path,
        file_id=incoming.file_id,
        file_unique_id=incoming.file_unique_id,
        file_name=(incoming.file_name or "")[:300] or None,
        mime_type=mime_type,
        size=stored.size,
        sha256=stored.sha256,
        caption=caption,
        tag=visit.data.get("tag") if kind == AttachmentKind.PHOTO else None,
        received_at=utcnow(),
    )
    job.attachments.append(attachment)
    await visit.session.flush()
    await visit.note(message.message_id, f"caption:{attachment.id}", caption or "", step="photos")
    return attachment


def photo_cache(visit: Visit) -> PreparedCache:
    """Where prepared photos are kept between the photo's arrival and the report."""
    return PreparedCache(visit.files.root / "cache" / "photos")
