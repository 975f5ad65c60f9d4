"""The photo section: photos sent one by one or as albums, as photos or as files
(HEIC included), each with its caption and a before/after tag; other documents
(a PDF plan...) are kept as attachments listed in the report.

Every file is downloaded at once, checked and stored in the same unit of work
that records it (handlers.technician.files), so an acknowledged photo is never
lost; the same photo sent twice is kept once. One confirmation answers a whole
album: it waits a moment in the outbox and later photos of the same burst are
merged into it. Each file kept is remembered as the answer of its message
("caption:45"), so that editing the caption changes the caption in the report.

In the photo step, the count is the step's question (with the tags and Done): it
is edited in place by the burst of photos that comes just below it (an album, or
photos sent together, its edit waiting a moment for the rest of the burst), and
sent anew at the bottom by the next burst, the earlier count losing its buttons.
"""

from __future__ import annotations

import datetime as dt
import logging

from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from handlers.callbacks import WizardAction, Wz
from handlers.technician import voice
from handlers.technician.files import Refused, incoming_file, keep_file, read_caption
from handlers.technician.visit import StepKind, Visit, gist
from reports.rules.templates import Kind
from storage import outbox
from storage.models import Answer, AttachmentKind, Delivery, utcnow

log = logging.getLogger(__name__)

#: How long a confirmation waits for more photos of the same burst.
MERGE_WINDOW = dt.timedelta(seconds=2)
#: A confirmation this close to being sent is left alone and a new one started.
MERGE_MARGIN = dt.timedelta(milliseconds=500)
TAGS = ("before", "after")
DONE_WORDS = frozenset({"terminé", "termine", "fini", "fin", "done", "finished", "ok"})
#: The count is edited in place while at most this many bursts of files (an album,
#: or photos sent together) came below it.
NEAR = 1


async def receive(visit: Visit, message: Message) -> bool:
    """Keep the file of `message` for the report. False when the message has none."""
    incoming = incoming_file(message)
    if incoming is None:
        return False
    try:
        kept = await keep_file(visit, message, incoming)
    except Refused as refused:
        await message.answer(visit.t(refused.key, **refused.values))
        return True
    await confirm(
        visit,
        message,
        duplicate=kept is None,
        document=kept is not None and kept.kind == AttachmentKind.DOCUMENT,
    )
    return True


def _counts(visit: Visit) -> tuple[int, int]:
    photos = sum(1 for a in visit.job.attachments if a.kind == AttachmentKind.PHOTO)
    documents = sum(1 for a in visit.job.attachments if a.kind == AttachmentKind.DOCUMENT)
    return photos, documents


def _total(visit: Visit) -> str:
    """ "In all: 4 photos, 1 document"."""
    t = visit.t
    photos, documents = _counts(visit)
    return t(
        "photos.total",
        photos=t("counts.photos", count=photos),
        documents=t("counts.documents", count=documents),
    )


Batch = dict[str, int]


def _saved(visit: Visit, batch: Batch) -> list[str]:
    """What a burst of files gave: photos, documents, files already received."""
    t = visit.t
    lines = []
    if batch.get("photos"):
        lines.append(t("photos.saved", count=batch["photos"], number=visit.job.number))
    if batch.get("documents"):
        lines.append(t("photos.documents_saved", count=batch["documents"]))
    if batch.get("duplicates"):
        lines.append(t("photos.duplicates", count=batch["duplicates"]))
    return lines


def _question(visit: Visit, batch: Batch) -> str:
    """The photo step's question: how to send photos, or what the last ones gave; the
    total so far."""
    t = visit.t
    saved = _saved(visit, batch)
    if not saved:
        body = t("photos.prompt") + "\n\n" + _total(visit)
    else:
        body = "\n".join([*saved, _total(visit), t("photos.more")])
    if visit.data.get("editing"):
        body = f"{t('wizard.editing')}\n\n{body}"
    return f"{visit.header()}\n\n{body}"


def _pending(
    delivery: Delivery, text: str, batch: Batch, markup: InlineKeyboardMarkup | None
) -> None:
    """A confirmation waiting in the outbox (a new message, or an edit of the count
    already there): its text and buttons, sent a moment later unless more files come."""
    buttons = markup.model_dump(exclude_none=True) if markup is not None else None
    options = dict(delivery.options or {})
    if delivery.kind == "call":
        params = {**options.get("params", {}), "text": text}
        if buttons is not None:
            params["reply_markup"] = buttons
        options["params"] = params
    else:
        options["parse_mode"] = "HTML"
        if buttons is not None:
            options["reply_markup"] = buttons
    delivery.text = text
    delivery.options = {**options, "_batch": batch}
    delivery.next_attempt_at = utcnow() + MERGE_WINDOW


def _edits(delivery: Delivery, message_id: object) -> bool:
    """Whether `delivery` is an edit of message `message_id`, not sent yet."""
    options = delivery.options or {}
    params = options.get("params") or {}
    return options.get("method") == "editMessageText" and params.get("message_id") == message_id


async def confirm(visit: Visit, message: Message, *, duplicate: bool, document: bool) -> None:
    """One confirmation per burst of files: merged into a waiting one when there is one;
    in the photo step, the count is the step's question (see the module's text)."""
    key = f"photos:{visit.job.id}"
    waiting = await outbox.waiting(visit.session, key, utcnow() + MERGE_MARGIN)
    name = "duplicates" if duplicate else "documents" if document else "photos"
    if visit.step.kind != Kind.PHOTOS:
        batch = dict(waiting.options.get("_batch", {})) if waiting else {}
        batch[name] = int(batch.get(name, 0)) + 1
        lines = [*_saved(visit, batch), _total(visit)]
        lines.append(visit.t("photos.kept_for_later", title=visit.title()))
        delivery = waiting or outbox.message(
            visit.session, visit.chat_id, "", intervention_id=visit.job.id
        )
        delivery.coalesce_key = key
        _pending(delivery, "\n".join(lines), batch, None)
        return
    asked = visit.data.get("asked")
    counting = dict(visit.data.get("counting") or {})
    batch = dict(counting.get("batch") or {})
    #: Bursts of files that came below the count message since it was sent.
    under = int(counting.get("under", 0))
    if waiting is not None and asked is not None and waiting.ref == asked:
        under = 0  # the count is not sent yet: it comes below this file too
    elif waiting is not None and _edits(waiting, asked):
        pass  # the same burst: its edit of the count is not sent yet
    elif isinstance(asked, int) and under < NEAR:
        waiting = outbox.call(
            visit.session,
            visit.chat_id,
            "editMessageText",
            {"chat_id": visit.chat_id, "message_id": asked, "parse_mode": "HTML"},
            intervention_id=visit.job.id,
        )
        under += 1
    else:
        await visit.retire()
        batch, under = {}, 0
        ref = outbox.placeholder()
        waiting = outbox.message(
            visit.session, visit.chat_id, "", intervention_id=visit.job.id, ref=ref
        )
        visit.remember(asked=ref)
    batch[name] = int(batch.get(name, 0)) + 1
    waiting.coalesce_key = key
    _pending(waiting, _question(visit, batch), batch, photo_keyboard(visit))
    visit.remember(counting={"batch": batch, "under": under})


async def keep_stray(visit: Visit, message: Message) -> bool:
    """A photo or a file sent during another step: kept for the photo section when the
    report has one (the step then says what it still expects). False otherwise."""
    if incoming_file(message) is None:
        return False
    if not any(key == "photos" for key, _ in visit.template.sections):
        return False
    await visit.ready(Kind.PHOTOS)
    return await receive(visit, message)


# The step itself -------------------------------------------------------------


def photo_keyboard(visit: Visit) -> InlineKeyboardMarkup:
    """The tag of the next photos; Done once there is a photo (before, Skip for an
    optional section: both would go on)."""
    t = visit.t
    current = visit.data.get("tag")
    tags = [
        visit.button(
            ("● " if current == tag else "") + t(f"photos.tag_{tag}"), WizardAction.TAG, tag
        )
        for tag in TAGS
    ]
    tags.append(
        visit.button(("● " if current is None else "") + t("photos.tag_none"), WizardAction.TAG, "")
    )
    photos, _ = _counts(visit)
    if not photos and not visit.required():
        return visit.keyboard(tags)
    done = visit.button(t("photos.done", count=photos), WizardAction.DONE)
    return visit.keyboard(tags, [done], skip=False)


async def photos_prompt(visit: Visit) -> None:
    """How to send photos, the tag for the next ones, and Done."""
    visit.remember(counting=None)
    await visit.show(_question(visit, {}), photo_keyboard(visit))


async def photos_answer(visit: Visit, message: Message) -> None:
    if await receive(visit, message) or await voice.keep(visit, message, "photos.expected"):
        return
    if message.text and message.text.strip().lower().rstrip("!.") in DONE_WORDS:
        await finish(visit, None)
        return
    await message.answer(visit.t("photos.expected"))


async def finish(visit: Visit, query: CallbackQuery | None) -> None:
    photos, _ = _counts(visit)
    if photos == 0 and visit.required():
        if query is not None:
            await query.answer(visit.t("photos.need_one"), show_alert=True)
        else:
            await visit.say(visit.t("photos.need_one"))
        return
    if query is not None:
        await query.answer()
    await visit.advance()


async def photos_press(visit: Visit, query: CallbackQuery, data: Wz) -> None:
    if data.action == WizardAction.TAG and data.value in (*TAGS, ""):
        visit.remember(tag=data.value or None)
        await query.answer(visit.t(f"photos.tag_set_{data.value or 'none'}"))
        if isinstance(query.message, Message):
            await query.message.edit_reply_markup(reply_markup=photo_keyboard(visit))
        return
    if data.action == WizardAction.DONE:
        await finish(visit, query)
        return
    await query.answer(visit.t("errors.old_button"), show_alert=True)


async def photos_edit(visit: Visit, answer: Answer, message: Message) -> None:
    """Stores the edited caption of a photo or file kept; a photo replaced in Telegram
    is not (the first one stays), and the line says so."""
    section = visit.section(answer)
    kept = next((a for a in visit.job.attachments if f"caption:{a.id}" == answer.target), None)
    if kept is None or await visit.pieces(answer, kept.caption or "") is None:
        await visit.no_longer_there(section)
        return
    incoming = incoming_file(message)
    if incoming is not None and incoming.file_unique_id != kept.file_unique_id:
        await visit.say(visit.t("edits.media_replaced", number=visit.job.number))
        return
    kept.caption = read_caption(message)
    answer.text = kept.caption or ""
    shown = gist(kept.caption) if kept.caption else "—"
    await visit.amended(section, visit.t("edits.caption", caption=shown))


PHOTOS = StepKind(photos_prompt, photos_answer, photos_press, photos_edit)
