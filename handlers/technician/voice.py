"""Voice notes: a voice message (or an audio file) sent while a text section is asked
(context, objective, methods, work done, the comment on the results, remarks) is kept as a
voice note of that section. The report lists it in its annex with its length and
time, and the office plays it from /find; the report prints the typed text only,
which the technician is told in one line, the question staying where it was.

The file is downloaded and written under DATA_DIR in the unit of work that records
it, as a photo is, so an acknowledged voice note survives a kill; the same one sent
twice is kept once. Sent where no text section is asked, it is not kept and the
person is told what the step expects instead.
"""

from __future__ import annotations

import asyncio
import mimetypes
from dataclasses import dataclass

from aiogram.types import Message

from handlers import downloads
from handlers.technician.visit import Visit
from reports.formatting import recording_length
from reports.rules.templates import BY_KEY, Kind
from storage import attachments, interventions
from storage.models import Attachment, AttachmentKind

#: Voice notes are short; a long audio file over a poor connection needs time.
DOWNLOAD_TIMEOUT = 300
CAPTION_LIMIT = 1000
#: Telegram records voice messages as OGG (Opus).
VOICE_SUFFIX = ".ogg"


@dataclass(frozen=True)
class Spoken:
    """A voice message or audio file in a message: what Telegram says about it."""

    kind: AttachmentKind
    file_id: str
    file_unique_id: str
    duration: int
    size: int | None
    file_name: str | None
    mime_type: str | None


def spoken(message: Message) -> Spoken | None:
    """The voice message or audio file of `message`, if it carries one."""
    sound = message.voice or message.audio
    if sound is None:
        return None
    recorded = message.audio is None
    return Spoken(
        AttachmentKind.VOICE if recorded else AttachmentKind.AUDIO,
        sound.file_id,
        sound.file_unique_id,
        sound.duration,
        sound.file_size,
        message.audio.file_name if message.audio else None,
        sound.mime_type or ("audio/ogg" if recorded else None),
    )


def open_section(visit: Visit) -> str | None:
    """The key of the text section being asked, which a voice note would go with: a
    text step, the methods (whose checklist takes the tools and notes typed), or the
    comment on the results; None elsewhere."""
    step = visit.step
    if step.kind in (Kind.TEXT, Kind.CHECKLIST):
        return step.key
    if step.kind == Kind.RESULTS and visit.data.get("stage") == "comment":
        return step.key
    return None


def suffix(found: Spoken) -> str:
    """The stored file's suffix: a voice message's, or an audio file's from its name or
    type (the file store keeps only the ones it knows)."""
    if found.kind == AttachmentKind.VOICE:
        return VOICE_SUFFIX
    if found.file_name and "." in found.file_name:
        return "." + found.file_name.rsplit(".", 1)[1].lower()
    guessed = mimetypes.guess_extension(found.mime_type or "")
    return guessed or ""


async def keep(visit: Visit, message: Message, expected: str) -> bool:
    """Keeps the voice note of `message` with the text section being asked, and says so
    in one line; where none is asked, says it is not kept and what the step expects
    (`expected`, a catalog key). False when the message carries no voice note."""
    found = spoken(message)
    if found is None:
        return False
    t, job = visit.t, visit.job
    section = open_section(visit)
    if section is None:
        await message.answer(t("voice.not_here", expected=t(expected)))
        return True
    await interventions.load(job, "attachments")
    kept = await attachments.by_unique_id(visit.session, job.id, found.file_unique_id)
    if kept is not None:
        first = BY_KEY.get(kept.section or "", visit.step)
        await message.answer(t("voice.already", section=visit.title(first)))
        return True
    try:
        data = await downloads.fetch(
            visit.bot,
            found.file_id,
            size=found.size,
            timeout=DOWNLOAD_TIMEOUT,
            limit=visit.options.download_limit,
        )
    except downloads.TooBig as too_big:
        await message.answer(t("voice.too_big", megabytes=too_big.megabytes))
        return True
    except downloads.Gone:
        await message.answer(t("voice.gone"))
        return True
    stored = await asyncio.to_thread(
        visit.files.save, f"interventions/{job.number}", data, suffix(found)
    )
    job.attachments.append(
        Attachment(
            intervention_id=job.id,
            kind=found.kind,
            path=stored.path,
            file_id=found.file_id,
            file_unique_id=found.file_unique_id,
            file_name=(found.file_name or "")[:300] or None,
            mime_type=found.mime_type,
            size=stored.size,
            sha256=stored.sha256,
            caption=(message.caption or "").strip()[:CAPTION_LIMIT] or None,
            section=section,
            duration=max(found.duration, 0),
            received_at=message.date,
        )
    )
    await visit.session.flush()
    await message.answer(
        t("voice.kept", length=recording_length(found.duration), section=visit.title())
    )
    return True
