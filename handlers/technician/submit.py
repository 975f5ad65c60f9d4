"""Submitting: the report is rendered as a PDF (off the event loop), kept with its
fingerprint and verification code, shown to the technician and sent to the office,
and the intervention waits for the office's validation."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from functools import partial
from typing import cast, get_args

from aiogram.enums import ChatAction
from aiogram.types import CallbackQuery, Message
from aiogram.utils.deep_linking import create_start_link
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram.utils.text_decorations import html_decoration as hd
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.actions import working
from handlers.callbacks import Job, JobAction, WizardAction, Wz, decision_keyboard
from handlers.i18n import kind_label
from handlers.technician import money
from handlers.technician.files import photo_cache
from handlers.technician.review import missing_required
from handlers.technician.sections import not_expected
from handlers.technician.visit import StepKind, Visit
from handlers.tell import office_translator
from reports import data as report
from reports import offload
from reports.verify import new_verification_code
from storage import interventions, invites, issued, outbox, signatures
from storage.files import FileStore
from storage.models import VOICE_NOTE_KINDS, AttachmentKind, Signature, SignatureMethod, utcnow
from storage.signatures import CLIENT, TECHNICIAN
from storage.status import Status

log = logging.getLogger(__name__)

#: How long the client's link (printed as a QR code on the report) stays valid.
CLIENT_LINK_VALIDITY = dt.timedelta(days=365)


def _reader(files: FileStore, path: str) -> partial[bytes]:
    return partial(files.read, path)


async def _signature_bytes(
    session: AsyncSession, files: FileStore, signature: Signature | None
) -> bytes | None:
    if signature is None:
        return None
    attachment = await signatures.image(session, signature)
    if attachment is None:
        return None
    return await asyncio.to_thread(files.read, attachment.path)


def signed_on(signature: Signature | None) -> report.SignedOn | None:
    """How the report says a signature was given."""
    if signature is None:
        return None
    return "screen" if signature.method == SignatureMethod.SCREEN else "paper"


async def client_link(visit: Visit) -> str | None:
    """The deep link that links the client's Telegram account, while not linked yet."""
    if visit.client.user_id is not None:
        return None
    invite = await invites.client_link(
        visit.session, visit.client.id, visit.user, CLIENT_LINK_VALIDITY
    )
    return await create_start_link(visit.bot, invite.code)


async def report_data(visit: Visit, code: str) -> report.ReportData:
    """Everything the PDF prints, read from the intervention."""
    job, client, options = visit.job, visit.client, visit.options
    chosen = client.language or options.default_language
    language: report.Language = "en" if chosen == "en" else "fr"
    company = options.company
    client_signature = await signatures.of_report(visit.session, job.id, CLIENT)
    own = await signatures.of_report(visit.session, job.id, TECHNICIAN)
    acceptance = None
    if job.client_signer_name:
        acceptance = report.Acceptance(
            signer_name=job.client_signer_name,
            with_reservations=bool(job.accepted_with_reservations),
            reservations=job.reservations or "",
            signature=await _signature_bytes(visit.session, visit.files, client_signature),
            signed_at=client_signature.signed_at if client_signature else None,
            signed_on=signed_on(client_signature),
        )
    # The technician's kept signature was given when it was first captured.
    own_given = await signatures.first_given(visit.session, own) if own else None
    location = None
    if job.location_lat is not None and job.location_lon is not None:
        location = report.Location(job.location_lat, job.location_lon, job.location_accuracy)
    site_address = job.site.address if job.site and job.site.address else ""
    photos = tuple(
        report.Photo(
            key=a.sha256 or a.path,
            source=_reader(visit.files, a.path),
            caption=a.caption or "",
            tag=report.PhotoTag(a.tag) if a.tag in ("before", "after") else None,
            received_at=a.received_at,
        )
        for a in job.attachments
        if a.kind == AttachmentKind.PHOTO
    )
    others = tuple(
        report.Attachment(
            name=a.file_name or a.path.rsplit("/", 1)[-1],
            mime_type=a.mime_type or "",
            size=a.size or 0,
        )
        for a in job.attachments
        if a.kind == AttachmentKind.DOCUMENT
    )
    voice_notes = tuple(
        report.VoiceNote(
            section=cast(report.VoiceSection, a.section),
            duration=a.duration or 0,
            received_at=a.received_at,
        )
        for a in sorted(job.attachments, key=lambda a: (a.received_at, a.id))
        if a.kind in VOICE_NOTE_KINDS and a.section in get_args(report.VoiceSection)
    )
    return report.ReportData(
        company=company,
        client=report.Client(
            name=client.name,
            contact=client.contact_name or "",
            address=client.address or "",
            phone=client.phone or "",
            email=client.email or "",
        ),
        intervention=report.Intervention(
            number=job.number,
            kind=kind_label(language, job.kind),
            technician=visit.user.name,
            template=visit.template.title(language),
            scheduled_at=job.scheduled_at,
            started_at=job.started_at,
            ended_at=job.ended_at,
            site_address=site_address,
            location=location,
        ),
        pricing=money.pricing(visit, language),
        sections=report.Sections(
            context=job.context or "",
            objective=job.objective or "",
            methods=job.methods or "",
            checklist=tuple(
                report.ChecklistItem(item.label, item.checked, item.note or "")
                for item in job.checklist
            ),
            work_done=job.work_done or "",
            outcome=report.Outcome(job.results_met) if job.results_met else None,
            outcome_comment=job.results_comment or "",
            remarks=job.remarks or "",
        ),
        parts=tuple(money.part_lines(visit)),
        acceptance=acceptance,
        technician_signature=await _signature_bytes(visit.session, visit.files, own),
        technician_signed_at=own_given.signed_at if own_given else None,
        technician_signed_on=signed_on(own_given),
        photos=photos,
        attachments=others,
        voice_notes=voice_notes,
        language=language,
        timezone=options.tz.key,
        verification_code=code,
        client_link=await client_link(visit),
        issued_at=utcnow(),
    )


async def render(visit: Visit, data: report.ReportData) -> bytes:
    """The PDF, rendered in the worker process so other chats are answered meanwhile."""
    return await offload.run(
        offload.render_report, data, photo_cache(visit).folder, visit.options.photo_max_side
    )


async def submit_prompt(visit: Visit) -> None:
    t = visit.t
    missing = missing_required(visit)
    body = t("submit.prompt", number=visit.job.number)
    if missing:
        body += "\n\n" + t("review.missing", sections=", ".join(missing))
    await visit.ask(body, [visit.button(t("submit.send"), WizardAction.SEND)])


async def submit_answer(visit: Visit, message: Message) -> None:
    await not_expected(visit, message, "submit.use_button")


async def submit_press(visit: Visit, query: CallbackQuery, data: Wz) -> None:
    t, job = visit.t, visit.job
    if data.action != WizardAction.SEND:
        await query.answer(t("errors.old_button"), show_alert=True)
        return
    missing = missing_required(visit)
    if missing:
        await query.answer(t("review.missing", sections=", ".join(missing)), show_alert=True)
        return
    await query.answer(t("submit.rendering"))
    code = new_verification_code()
    async with working(visit.bot, visit.chat_id, ChatAction.UPLOAD_DOCUMENT):
        pdf = await render(visit, await report_data(visit, code))
    stored = await asyncio.to_thread(visit.files.save, "reports", pdf, ".pdf")
    file_name = f"{job.number}.pdf"
    language = visit.client.language or visit.options.default_language
    issue = await issued.issue(
        visit.session, job.id, stored, file_name=file_name, code=code, language=language
    )
    await interventions.change_status(visit.session, job, Status.AWAITING_VALIDATION, visit.user)
    # The question says it is done; the technician's copy carries the client's QR button.
    await visit.conclude(t("submit.done", number=job.number))
    job.wizard_step = "submit"
    job.wizard_data = {}
    visit.user.current_intervention_id = None
    qr: dict[str, object] = {}
    if visit.client.user_id is None:
        builder = InlineKeyboardBuilder()
        builder.button(
            text=t("submit.show_qr"), callback_data=Job(intervention_id=job.id, action=JobAction.QR)
        )
        qr = {"reply_markup": builder.as_markup().model_dump(exclude_none=True)}
    outbox.document(
        visit.session,
        visit.chat_id,
        stored.path,
        file_name,
        caption=t("submit.sent_to_technician", number=job.number),
        options=qr,
        intervention_id=job.id,
    )
    office = visit.options.office_chat_id
    if office is not None:
        tr = office_translator(visit.options)
        outbox.document(
            visit.session,
            office,
            stored.path,
            file_name,
            caption=tr(
                "submit.sent_to_office",
                number=job.number,
                client=hd.quote(visit.client.name),
                technician=hd.quote(visit.user.name),
            ),
            options={
                "reply_markup": decision_keyboard(tr, job.id, issue.id).model_dump(
                    exclude_none=True
                )
            },
            intervention_id=job.id,
        )
    log.info("report %s submitted (%d bytes, code %s)", job.number, len(pdf), code)


SUBMIT = StepKind(submit_prompt, submit_answer, submit_press)
