"""The client's side: their validated reports, each with the rating buttons, and
what the client's other conversations share (handlers.rating, handlers.visit_requests).
A client sees only their own interventions."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.callbacks import Rate, Resend
from handlers.context import Options
from handlers.filters import HasRole
from handlers.i18n import Translator, kind_label
from handlers.tell import person_translator, tell_person
from storage import clients, interventions, issued, outbox, ratings
from storage.models import Attachment, Client, Intervention, Role, User
from storage.status import Status

router = Router(name="client")
client_role = HasRole(Role.CLIENT)
LISTED = 10


async def own_intervention(
    session: AsyncSession, user: User, intervention_id: int
) -> tuple[Client, Intervention] | None:
    """The intervention if it is this client's and validated; None reveals nothing."""
    client = await clients.of_user(session, user.id)
    job = await interventions.by_id(session, intervention_id)
    if client is None or job is None or job.client_id != client.id:
        return None
    if job.status != Status.VALIDATED:
        return None
    return client, job


def rating_keyboard(intervention_id: int) -> InlineKeyboardMarkup:
    """One to five stars, under the client's validated report."""
    builder = InlineKeyboardBuilder()
    for score in range(1, 6):
        builder.button(
            text="★" * score, callback_data=Rate(intervention_id=intervention_id, stars=score)
        )
    builder.adjust(5)
    return builder.as_markup()


async def send_report(
    session: AsyncSession,
    job: Intervention,
    person: User,
    report: Attachment,
    language: str,
    options: Options,
) -> None:
    """The validated report to the client's chat, with the rating buttons unless it is
    rated already."""
    tr = person_translator(options, language)
    summary = tr(
        "client.report_arrived",
        number=job.number,
        kind=kind_label(language, job.kind),
        date=options.local(job.ended_at or job.updated_at),
    )
    outbox.document(
        session,
        person.telegram_id,
        report.path,
        report.file_name or f"{job.number}.pdf",
        caption=summary,
        intervention_id=job.id,
    )
    if await ratings.of_intervention(session, job.id) is None:
        tell_person(
            session,
            options,
            person.telegram_id,
            language,
            "client.rate_prompt",
            keyboard=rating_keyboard(job.id),
            intervention_id=job.id,
            number=job.number,
        )


async def catch_up(session: AsyncSession, client: Client, person: User, options: Options) -> int:
    """A client who links their account gets each validated report that never reached
    this account, each with its rating buttons. Returns how many are on their way."""
    language = client.language or options.default_language
    sent = 0
    for job in await interventions.validated_for_client(session, client.id):
        if await outbox.document_to(session, person.telegram_id, job.id):
            continue
        report = await issued.latest_report(session, job.id)
        if report is not None:
            await send_report(session, job, person, report, language, options)
            sent += 1
    return sent


@router.message(Command("reports"), client_role)
async def reports(
    message: Message, session: AsyncSession, user: User, t: Translator, options: Options
) -> None:
    """Lists the client's validated reports, newest first, each with a button to get it again."""
    client = await clients.of_user(session, user.id)
    if client is None:
        await message.answer(t("client.not_linked"))
        return
    jobs = await interventions.latest_validated(session, client.id, LISTED)
    if not jobs:
        await message.answer(t("client.no_reports"))
        return
    builder = InlineKeyboardBuilder()
    lines = []
    for job in jobs:
        when = options.local(job.ended_at or job.updated_at)[:10]
        label = f"{job.number} · {kind_label(t.language, job.kind)} · {when}"
        lines.append("• " + label)
        builder.button(text=f"📄 {label}"[:60], callback_data=Resend(intervention_id=job.id))
    builder.adjust(1)
    await message.answer(
        t("client.reports") + "\n" + "\n".join(lines), reply_markup=builder.as_markup()
    )


@router.callback_query(Resend.filter(), client_role)
async def resend(
    query: CallbackQuery, callback_data: Resend, session: AsyncSession, user: User, t: Translator
) -> None:
    """Sends one of the client's reports again."""
    found = await own_intervention(session, user, callback_data.intervention_id)
    report = await issued.latest_report(session, callback_data.intervention_id) if found else None
    if found is None or report is None:
        await query.answer(t("errors.not_allowed"), show_alert=True)
        return
    key = f"resend:{found[1].id}:{user.telegram_id}"
    if await outbox.pending(session, key) is not None:
        await query.answer(t("client.on_its_way"))
        return
    await query.answer()
    again = outbox.document(
        session,
        user.telegram_id,
        report.path,
        report.file_name or f"{found[1].number}.pdf",
        intervention_id=found[1].id,
    )
    again.coalesce_key = key
