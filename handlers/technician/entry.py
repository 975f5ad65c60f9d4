"""Getting to a report: /today and /list, opening an intervention (with the client's
history), Start (arrival time and location pin), /resume, and switching between
several open interventions."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence

import segno
from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.utils.deep_linking import create_start_link
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram.utils.text_decorations import html_decoration as hd

from handlers.callbacks import Job, JobAction
from handlers.i18n import Translator
from handlers.technician.desk import WORKING, Desk, technician
from handlers.tell import tell_office
from storage import interventions, invites, outbox
from storage.models import Intervention, utcnow
from storage.status import OPEN_FOR_TECHNICIAN, Status

router = Router(name="technician-entry")

HISTORY_LENGTH = 5
SUMMARY_LENGTH = 120


def _when(desk: Desk, moment: dt.datetime | None) -> str:
    return desk.options.local(moment) if moment else desk.t("entry.unscheduled")


def _line(desk: Desk, job: Intervention) -> str:
    where = job.site.address if job.site and job.site.address else job.client.address or ""
    parts = [f"<b>{job.number}</b>", hd.quote(job.client.name)]
    if where:
        parts.append(hd.quote(where))
    parts.append(_when(desk, job.scheduled_at))
    parts.append(desk.t(f"status.{job.status}"))
    return " · ".join(parts)


def job_buttons(jobs: Sequence[Intervention], action: JobAction) -> InlineKeyboardMarkup:
    """One button per intervention ("OT-2026-0042 · Client"), each doing `action`."""
    builder = InlineKeyboardBuilder()
    for job in jobs:
        builder.button(
            text=f"{job.number} · {job.client.name}"[:60],
            callback_data=Job(intervention_id=job.id, action=action),
        )
    builder.adjust(1)
    return builder.as_markup()


async def _show_list(message: Message, desk: Desk, today_only: bool) -> None:
    jobs = list(await interventions.for_technician(desk.session, desk.user.id, OPEN_FOR_TECHNICIAN))
    if today_only:
        today = utcnow().astimezone(desk.options.tz).date()
        jobs = [
            job
            for job in jobs
            if job.status != Status.PLANNED
            or job.scheduled_at is None
            or job.scheduled_at.astimezone(desk.options.tz).date() <= today
        ]
    if not jobs:
        await message.answer(desk.t("entry.none_today" if today_only else "entry.none"))
        return
    title = desk.t("entry.today" if today_only else "entry.list")
    lines = "\n".join(f"• {_line(desk, job)}" for job in jobs)
    await message.answer(f"{title}\n\n{lines}", reply_markup=job_buttons(jobs, JobAction.OPEN))


@router.message(Command("today"), technician)
async def today(message: Message, desk: Desk) -> None:
    """Lists today's interventions (and those started or returned) with a button each."""
    await _show_list(message, desk, today_only=True)


@router.message(Command("list"), technician)
async def list_all(message: Message, desk: Desk) -> None:
    """Lists every open intervention of the technician with a button each."""
    await _show_list(message, desk, today_only=False)


async def show_card(desk: Desk, chat_id: int, job: Intervention) -> None:
    """The intervention's card: client, place, time, request, the client's history,
    and Start or Continue."""
    t = desk.t
    lines = [
        t("entry.card_title", number=job.number, kind=desk.template(job.template).title(t.language))
    ]
    lines.append(t("entry.card_client", client=hd.quote(job.client.name)))
    address = job.site.address if job.site and job.site.address else job.client.address
    if address:
        lines.append(t("entry.card_address", address=hd.quote(address)))
    if job.client.phone:
        lines.append(t("entry.card_phone", phone=hd.quote(job.client.phone)))
    lines.append(t("entry.card_when", when=_when(desk, job.scheduled_at)))
    if job.request:
        lines.append(t("entry.card_request", request=hd.quote(job.request)))
    history = await interventions.client_history(
        desk.session, job.client_id, before=job, limit=HISTORY_LENGTH
    )
    if history:
        lines.append("\n" + t("entry.history"))
        for past in history:
            summary = (past.work_done or past.request or "").strip().replace("\n", " ")
            if len(summary) > SUMMARY_LENGTH:
                summary = summary[: SUMMARY_LENGTH - 1] + "…"
            moment = past.ended_at or past.scheduled_at or past.created_at
            lines.append(
                t(
                    "entry.history_line",
                    date=moment.astimezone(desk.options.tz).strftime("%d/%m/%Y"),
                    kind=desk.template(past.template).title(t.language),
                    number=past.number,
                    summary=hd.quote(summary) or "—",
                )
            )
    else:
        lines.append("\n" + t("entry.no_history"))
    builder = InlineKeyboardBuilder()
    if job.status == Status.PLANNED or job.status == Status.POSTPONED:
        builder.button(
            text=t("entry.start"), callback_data=Job(intervention_id=job.id, action=JobAction.START)
        )
    elif job.status in WORKING:
        builder.button(
            text=t("entry.continue"),
            callback_data=Job(intervention_id=job.id, action=JobAction.CONTINUE),
        )
    await desk.bot.send_message(chat_id, "\n".join(lines), reply_markup=builder.as_markup())


@router.callback_query(Job.filter(), technician)
async def job_button(query: CallbackQuery, callback_data: Job, desk: Desk) -> None:
    """Open shows the card; Start records the arrival and offers the location; Continue
    resumes the wizard where it stopped."""
    chat_id = query.message.chat.id if query.message else query.from_user.id
    visit = await desk.open(callback_data.intervention_id, chat_id)
    t = desk.t
    if visit is None:
        await query.answer(t("errors.not_allowed"), show_alert=True)
        return
    job = visit.job
    if (
        callback_data.action == JobAction.START
        and job.status in WORKING
        and desk.user.current_intervention_id == job.id
    ):
        # A second tap on Start: the report is already under way and answers go to it.
        when = desk.options.local(job.started_at) if job.started_at else "—"
        await query.answer(t("entry.already_started", number=job.number, time=when))
        return
    await query.answer()
    if callback_data.action == JobAction.QR:
        await send_client_qr(desk, chat_id, job)
        return
    if callback_data.action == JobAction.OPEN:
        await show_card(desk, chat_id, job)
        return
    if callback_data.action == JobAction.START and job.status in (Status.PLANNED, Status.POSTPONED):
        await leave_current(desk, chat_id, job)
        if isinstance(query.message, Message) and query.message.reply_markup is not None:
            await query.message.edit_reply_markup()  # Start is done; the card stays
        started = await begin(desk, job)
        await desk.bot.send_message(
            chat_id,
            t("entry.started", number=job.number, time=desk.options.local(started)),
            reply_markup=location_keyboard(t),
        )
        await visit.prompt()
        return
    if job.status in WORKING:
        await leave_current(desk, chat_id, job)
        desk.user.current_intervention_id = job.id
        visit.lead = t("entry.now_on", number=job.number, client=hd.quote(visit.client.name))
        await visit.prompt()
        return
    await desk.bot.send_message(chat_id, t("entry.not_open", status=t(f"status.{job.status}")))


async def leave_current(desk: Desk, chat_id: int, job: Intervention) -> None:
    """The technician turns to `job`: the question of the report they leave loses its
    buttons (its answers stay; /resume or its card comes back to it)."""
    current = desk.user.current_intervention_id
    if current is None or current == job.id:
        return
    left = await desk.open(current, chat_id)
    if left is not None:
        await left.retire()


async def begin(desk: Desk, job: Intervention) -> dt.datetime:
    """The technician has arrived: in progress, arrival time now, and their answers go
    to this report from now on."""
    if job.status == Status.POSTPONED:
        await interventions.change_status(desk.session, job, Status.PLANNED, desk.user)
    await interventions.change_status(desk.session, job, Status.IN_PROGRESS, desk.user)
    job.started_at = started = utcnow()
    desk.user.current_intervention_id = job.id
    tell_office(
        desk.session,
        desk.options,
        "notices.started",
        intervention_id=job.id,
        number=job.number,
        client=job.client.name,
        technician=desk.user.name,
        time=desk.options.local(started)[-5:],
    )
    return started


async def send_client_qr(desk: Desk, chat_id: int, job: Intervention) -> None:
    """The client's link as a QR code, for the client to scan on site."""
    if job.client.user_id is not None:
        await desk.bot.send_message(chat_id, desk.t("entry.client_linked"))
        return
    invite = await invites.client_link(
        desk.session, job.client_id, desk.user, dt.timedelta(days=365)
    )
    link = await create_start_link(desk.bot, invite.code)
    png = io.BytesIO()
    segno.make(link, error="m").save(png, kind="png", scale=10, border=3)
    await desk.bot.send_photo(
        chat_id,
        BufferedInputFile(png.getvalue(), filename="client-link.png"),
        caption=desk.t("submit.qr_caption", link=hd.quote(link)),
    )


def location_keyboard(t: Translator) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=t("entry.share_location"), request_location=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


@router.message(F.location, technician, StateFilter(None))
async def location(message: Message, desk: Desk) -> None:
    """Stores the first pin (and its accuracy) as proof of presence on the open
    intervention and tells the office; a later pin changes nothing and says so."""
    visit = await desk.current(message.chat.id)
    t = desk.t
    if visit is None or message.location is None:
        await message.answer(t("wizard.nothing_open"), reply_markup=ReplyKeyboardRemove())
        return
    pin = message.location
    if visit.job.location_lat is not None:
        # Only the arrival is proof of presence, and the office heard of it then.
        await message.answer(
            t("entry.location_kept", number=visit.job.number), reply_markup=ReplyKeyboardRemove()
        )
        return
    visit.job.location_lat = pin.latitude
    visit.job.location_lon = pin.longitude
    visit.job.location_accuracy = pin.horizontal_accuracy
    accuracy = (
        t("entry.accuracy", metres=round(pin.horizontal_accuracy))
        if pin.horizontal_accuracy
        else ""
    )
    # The question stays where it is, above: it is not asked again.
    await message.answer(
        t("entry.location_saved", number=visit.job.number, accuracy=accuracy),
        reply_markup=ReplyKeyboardRemove(),
    )
    office = desk.options.office_chat_id
    if office is not None:
        tell_office(
            desk.session,
            desk.options,
            "notices.on_site",
            intervention_id=visit.job.id,
            number=visit.job.number,
            technician=desk.user.name,
        )
        outbox.location(
            desk.session, office, pin.latitude, pin.longitude, intervention_id=visit.job.id
        )


@router.edited_message(F.location, technician)
async def location_moving(message: Message) -> None:
    """A live location moving sends edits: not a correction; the pin first shared stays."""


@router.message(Command("resume"), technician)
async def resume(message: Message, desk: Desk) -> None:
    """Continues the open report exactly where it stopped; with several under way and
    none chosen, asks which one."""
    visit = await desk.current(message.chat.id)
    if visit is None:
        working = list(await interventions.for_technician(desk.session, desk.user.id, WORKING))
        if len(working) == 1:
            visit = await desk.open(working[0].id, message.chat.id)
        if visit is None and working:
            await message.answer(
                desk.t("entry.which_one"), reply_markup=job_buttons(working, JobAction.CONTINUE)
            )
            return
    if visit is not None:
        desk.user.current_intervention_id = visit.job.id
        visit.lead = desk.t(
            "entry.now_on", number=visit.job.number, client=hd.quote(visit.client.name)
        )
        await visit.prompt()
        return
    await message.answer(desk.t("entry.nothing_to_resume"))
