"""The office looks things up: a client's card with their history, an intervention
with its audit trail, latest PDF and voice notes.

    /client boulangerie      the client's card (several matches: a button each)
    /find OT-2026-0042       the intervention ("ot 2026 42" and "2026-42" work too)

Dispatchers and admins only; anyone else is told the command is the office's.
"""

from __future__ import annotations

import datetime as dt
import re

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, FSInputFile, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram.utils.text_decorations import html_decoration as hd
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.callbacks import PlayVoiceNotes, ShowClient, ShowJob
from handlers.context import Options
from handlers.filters import office
from handlers.i18n import Translator, kind_label
from reports.formatting import recording_length
from storage import attachments, clients, interventions, issued, outbox, ratings, users
from storage.files import FileStore
from storage.interventions import format_number
from storage.models import AttachmentKind, Client, Intervention

router = Router(name="lookup")

HISTORY = 10
#: What a voice note's caption shows of the technician's own caption (Telegram takes
#: 1024 characters in all).
CAPTION_SHOWN = 700
#: "OT-2026-0042", "ot 2026 42", "2026-42", "OT2026/42".
_NUMBER = re.compile(r"(?:ot)?[\s\-/]*(?P<year>[0-9]{4})[\s\-/]+(?P<seq>[0-9]{1,6})", re.I)


def parse_number(text: str) -> str | None:
    """The intervention number typed after /find, normalised ("OT-2026-0042"), or None."""
    found = _NUMBER.fullmatch(text.strip())
    if found is None:
        return None
    return format_number(int(found["year"]), int(found["seq"]))


def _dash(value: str | None) -> str:
    return hd.quote(value) if value else "—"


# The client --------------------------------------------------------------------------


async def client_card(
    session: AsyncSession, client: Client, t: Translator, options: Options
) -> tuple[str, InlineKeyboardMarkup]:
    """The client's card and a button per listed intervention."""
    sites = await clients.sites(session, client.id)
    jobs = await interventions.latest_for_client(session, client.id, HISTORY)
    stars = await ratings.scores(session, [job.id for job in jobs])
    lines = [
        t(
            "lookup.client_card",
            name=hd.quote(client.name),
            contact=_dash(client.contact_name),
            phone=_dash(client.phone),
            email=_dash(client.email),
            address=_dash(client.address),
            linked=t("lookup.yes") if client.user_id else t("lookup.no"),
        )
    ]
    if sites:
        lines.append(t("lookup.sites"))
        lines += [
            f"• {hd.quote(site.name)}" + (f" ({hd.quote(site.address)})" if site.address else "")
            for site in sites
        ]
    builder = InlineKeyboardBuilder()
    lines.append(t("lookup.history", count=len(jobs)) if jobs else t("lookup.no_history"))
    for job in jobs:
        when = options.local(job.scheduled_at)[:10] if job.scheduled_at else "—"
        parts = [
            when,
            f"<b>{job.number}</b>",
            hd.quote(kind_label(t.language, job.kind)),
            t(f"status.{job.status}"),
            hd.quote(job.technician.name) if job.technician else t("lookup.nobody"),
        ]
        if job.id in stars:
            parts.append("★" * stars[job.id])
        lines.append("• " + " · ".join(parts))
        builder.button(text=f"🔎 {job.number}", callback_data=ShowJob(intervention_id=job.id))
    builder.adjust(2)
    return "\n".join(lines), builder.as_markup()


@router.message(Command("client"), office())
async def find_client(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    t: Translator,
    options: Options,
) -> None:
    """Searches clients by name: one match shows its card, several a button each."""
    query = (command.args or "").strip()
    if not query:
        await message.answer(t("lookup.client_usage"))
        return
    found = await clients.search(session, query)
    if not found:
        await message.answer(t("lookup.no_client", query=hd.quote(query)))
        return
    if len(found) == 1:
        text, markup = await client_card(session, found[0], t, options)
        await message.answer(text, reply_markup=markup)
        return
    builder = InlineKeyboardBuilder()
    for client in found:
        builder.button(text=client.name[:60], callback_data=ShowClient(client_id=client.id))
    builder.adjust(1)
    await message.answer(
        t("lookup.several_clients", query=hd.quote(query)), reply_markup=builder.as_markup()
    )


@router.callback_query(ShowClient.filter(), office())
async def client_chosen(
    query: CallbackQuery,
    callback_data: ShowClient,
    session: AsyncSession,
    t: Translator,
    options: Options,
) -> None:
    """Shows the card of the client pressed among several matches."""
    client = await clients.get(session, callback_data.client_id)
    if client is None or not isinstance(query.message, Message):
        await query.answer(t("errors.old_button"), show_alert=True)
        return
    await query.answer()
    text, markup = await client_card(session, client, t, options)
    await query.message.answer(text, reply_markup=markup)


# The intervention --------------------------------------------------------------------


async def job_card(
    session: AsyncSession, job: Intervention, t: Translator, options: Options
) -> str:
    """The intervention's card and its audit trail, oldest change first."""
    client = await clients.get(session, job.client_id)
    site = await clients.site(session, job.site_id) if job.site_id else None
    changes = await interventions.trail(session, job.id)
    names = await users.names(
        session,
        {i for i in [job.technician_id, *(c.user_id for c in changes)] if i is not None},
    )

    def moment(value: dt.datetime | None) -> str:
        return options.local(value) if value is not None else "—"

    lines = [
        t(
            "lookup.job_card",
            number=job.number,
            kind=hd.quote(kind_label(t.language, job.kind)),
            status=t(f"status.{job.status}"),
            client=hd.quote(client.name) if client else "—",
            site=_dash(site.name if site else None),
            technician=hd.quote(names[job.technician_id])
            if job.technician_id in names
            else t("lookup.nobody"),
            scheduled=moment(job.scheduled_at),
            started=moment(job.started_at),
            ended=moment(job.ended_at),
            request=_dash(job.request),
        ),
        t("lookup.trail"),
    ]
    for change in changes:
        who = hd.quote(names[change.user_id]) if change.user_id in names else t("lookup.system")
        line = f"• {options.local(change.at)} · {t(f'status.{change.to_status}')} · {who}"
        if change.note:
            line += f"\n  <i>{hd.quote(change.note)}</i>"
        lines.append(line)
    return "\n".join(lines)


def voice_button(t: Translator, job: Intervention, count: int) -> InlineKeyboardMarkup | None:
    """The button that plays the intervention's voice notes, when it has some."""
    if count == 0:
        return None
    builder = InlineKeyboardBuilder()
    data = PlayVoiceNotes(intervention_id=job.id)
    builder.button(text=t("voice.button", count=count), callback_data=data)
    return builder.as_markup()


async def show_job(
    message: Message, session: AsyncSession, job: Intervention, t: Translator, options: Options
) -> None:
    """Answers with the card (and a button for its voice notes, if any) and queues the
    latest PDF, if any, to the same chat."""
    spoken = await attachments.count_voice_notes(session, job.id)
    await message.answer(
        await job_card(session, job, t, options), reply_markup=voice_button(t, job, spoken)
    )
    report = await issued.latest_report(session, job.id)
    if report is None:
        await message.answer(t("lookup.no_pdf"))
        return
    key = f"find:{job.id}:{message.chat.id}"
    if await outbox.pending(session, key) is not None:
        return  # the same PDF is already on its way to this chat
    copy = outbox.document(
        session,
        message.chat.id,
        report.path,
        report.file_name or f"{job.number}.pdf",
        caption=f"📄 {job.number}",
        intervention_id=job.id,
    )
    copy.coalesce_key = key


@router.message(Command("find"), office())
async def find_job(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    t: Translator,
    options: Options,
) -> None:
    """Reads an intervention number and shows that intervention with its PDF."""
    number = parse_number(command.args or "")
    if number is None:
        await message.answer(t("lookup.find_usage"))
        return
    job = await interventions.by_number(session, number)
    if job is None:
        await message.answer(t("lookup.no_job", number=number))
        return
    await show_job(message, session, job, t, options)


@router.callback_query(ShowJob.filter(), office())
async def job_chosen(
    query: CallbackQuery,
    callback_data: ShowJob,
    session: AsyncSession,
    t: Translator,
    options: Options,
) -> None:
    """Shows the intervention pressed on a client's card."""
    job = await interventions.by_id(session, callback_data.intervention_id)
    if job is None or not isinstance(query.message, Message):
        await query.answer(t("errors.old_button"), show_alert=True)
        return
    await query.answer()
    await show_job(query.message, session, job, t, options)


@router.callback_query(PlayVoiceNotes.filter(), office())
async def play_voice_notes(
    query: CallbackQuery,
    callback_data: PlayVoiceNotes,
    bot: Bot,
    session: AsyncSession,
    files: FileStore,
    t: Translator,
    options: Options,
) -> None:
    """Sends each voice note of the intervention back to this chat, oldest first, with
    its section, time and length as caption (by Telegram's file id, else the file)."""
    job = await interventions.by_id(session, callback_data.intervention_id)
    if job is None or not isinstance(query.message, Message):
        await query.answer(t("errors.old_button"), show_alert=True)
        return
    notes = await attachments.voice_notes(session, job.id)
    if not notes:
        await query.answer(t("voice.none", number=job.number), show_alert=True)
        return
    await query.answer()
    chat_id = query.message.chat.id
    for note in notes:
        caption = t(
            "voice.caption",
            number=job.number,
            section=t(f"wizard.{note.section}.title") if note.section else "—",
            moment=options.local(note.received_at),
            length=recording_length(note.duration or 0),
        )
        if note.caption:
            caption += "\n" + hd.quote(note.caption[:CAPTION_SHOWN])
        sound = note.file_id or FSInputFile(files.absolute(note.path))
        if note.kind == AttachmentKind.AUDIO:
            await bot.send_audio(chat_id, sound, caption=caption)
        else:
            await bot.send_voice(chat_id, sound, caption=caption)


@router.callback_query(ShowClient.filter())
@router.callback_query(ShowJob.filter())
@router.callback_query(PlayVoiceNotes.filter())
async def not_for_you(query: CallbackQuery, t: Translator) -> None:
    """Someone outside the office pressed a lookup button."""
    await query.answer(t("errors.not_allowed"), show_alert=True)


@router.message(Command("client", "find"))
async def lookup_refused(message: Message, t: Translator) -> None:
    """Technicians and clients do not search the office's files."""
    await message.answer(t("errors.office_only"))
