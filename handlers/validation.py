"""The office validates or returns each submitted report.

The submitted PDF reaches the office chat with Validate / Return buttons. Validate
sends the report on to the client (their chat once linked, and email when set up)
and tells the technician. Return asks the dispatcher for a comment, sends the
intervention back to the technician, whose wizard opens on the review with that
comment. Only dispatchers and admins decide; a second press, or a press on an
outdated message, changes nothing and says why.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram.utils.text_decorations import html_decoration as hd
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.callbacks import Decide
from handlers.context import Options
from handlers.filters import Answered, office
from handlers.i18n import Translator, kind_label
from handlers.parsing import ParseError, clean_text
from storage import answers, interventions, outbox
from storage.models import Answer, Attachment, AttachmentKind, Client, Intervention, User
from storage.status import Status

router = Router(name="validation")


class ReturnSteps(StatesGroup):
    comment = State()


async def latest_report(session: AsyncSession, intervention_id: int) -> Attachment | None:
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


async def _technician(session: AsyncSession, job: Intervention) -> User | None:
    return await session.get(User, job.technician_id) if job.technician_id else None


async def _refuse_if_decided(query: CallbackQuery, job: Intervention | None, t: Translator) -> bool:
    if job is None:
        await query.answer(t("errors.old_button"), show_alert=True)
        return True
    if job.status != Status.AWAITING_VALIDATION:
        await query.answer(
            t("validation.already", number=job.number, status=t(f"status.{job.status}")),
            show_alert=True,
        )
        return True
    return False


async def _mark_message(query: CallbackQuery, text: str) -> None:
    """Replace the buttons under the office's message by what was decided."""
    if isinstance(query.message, Message):
        caption = (query.message.caption or query.message.text or "") + "\n\n" + text
        if query.message.document or query.message.photo:
            await query.message.edit_caption(caption=caption[:1024], reply_markup=None)
        else:
            await query.message.edit_text(caption[:4096], reply_markup=None)


@router.callback_query(Decide.filter(F.a == "ok"), office())
async def validate(
    query: CallbackQuery,
    callback_data: Decide,
    session: AsyncSession,
    user: User,
    t: Translator,
    options: Options,
) -> None:
    """Validates: the report goes to the client, the technician is told."""
    job = await interventions.get(session, callback_data.i)
    if await _refuse_if_decided(query, job, t):
        return
    assert job is not None
    await interventions.change_status(session, job, Status.VALIDATED, user)
    report = await latest_report(session, job.id)
    await deliver_to_client(session, job, job.client, report, options)
    technician = await _technician(session, job)
    if technician is not None:
        tr = Translator(technician.language or options.default_language)
        outbox.message(
            session,
            technician.telegram_id,
            tr("validation.told_technician_validated", number=job.number),
            intervention_id=job.id,
        )
    await query.answer(t("validation.validated_short", number=job.number))
    await _mark_message(query, t("validation.validated_by", name=hd.quote(user.name)))


async def deliver_to_client(
    session: AsyncSession,
    job: Intervention,
    client: Client,
    report: Attachment | None,
    options: Options,
) -> None:
    """The validated report to the client's chat (when linked) and email (when known)."""
    if report is None:
        return
    language = client.language or options.default_language
    tr = Translator(language)
    summary = tr(
        "client.report_arrived",
        number=job.number,
        kind=kind_label(language, job.kind),
        date=options.local(job.ended_at or job.updated_at),
    )
    if client.user_id is not None:
        linked = await session.get(User, client.user_id)
        if linked is not None and linked.active:
            outbox.document(
                session,
                linked.telegram_id,
                report.path,
                report.file_name or f"{job.number}.pdf",
                caption=summary,
                intervention_id=job.id,
            )
            outbox.message(
                session,
                linked.telegram_id,
                tr("client.rate_prompt", number=job.number),
                options={"reply_markup": rating_keyboard(job.id).model_dump(exclude_none=True)},
                intervention_id=job.id,
            )
    if options.email_enabled and client.email:
        outbox.email(
            session,
            client.email,
            tr("client.email_subject", number=job.number, company=options.company.name),
            tr("client.email_body", number=job.number, company=options.company.name),
            file_path=report.path,
            file_name=report.file_name or f"{job.number}.pdf",
            intervention_id=job.id,
        )


def rating_keyboard(intervention_id: int) -> InlineKeyboardMarkup:
    from handlers.client import Rate

    builder = InlineKeyboardBuilder()
    for score in range(1, 6):
        builder.button(text="★" * score, callback_data=Rate(i=intervention_id, s=score))
    builder.adjust(5)
    return builder.as_markup()


@router.callback_query(Decide.filter(F.a == "back"), office())
async def ask_return_comment(
    query: CallbackQuery,
    callback_data: Decide,
    session: AsyncSession,
    state: FSMContext,
    t: Translator,
) -> None:
    """Asks the dispatcher why the report goes back."""
    job = await interventions.get(session, callback_data.i)
    if await _refuse_if_decided(query, job, t):
        return
    assert job is not None
    await state.set_state(ReturnSteps.comment)
    await state.set_data({"intervention_id": job.id})
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(t("validation.ask_comment", number=job.number))


@router.message(StateFilter(ReturnSteps.comment), F.text, office())
async def return_with_comment(
    message: Message,
    session: AsyncSession,
    user: User,
    state: FSMContext,
    t: Translator,
    options: Options,
) -> None:
    """Returns the intervention to its technician with the comment; their wizard opens
    on the review."""
    if (message.text or "").startswith("/"):
        await message.answer(t("validation.comment_expected"))
        return
    try:
        comment = clean_text(message.text or "", maximum=2000)
    except ParseError as error:
        await message.answer(t(error.key, **error.display_values(t.language)))
        return
    data = await state.get_data()
    await state.clear()
    job = await interventions.get(session, int(data.get("intervention_id", 0)))
    if job is None or job.status != Status.AWAITING_VALIDATION:
        status = t(f"status.{job.status}") if job else "—"
        await message.answer(
            t("validation.already", number=job.number if job else "?", status=status)
        )
        return
    await interventions.change_status(session, job, Status.RETURNED, user, note=comment)
    await answers.record(
        session,
        message.chat.id,
        message.message_id,
        step="return",
        target="return:comment",
        text=comment,
        intervention_id=job.id,
    )
    job.wizard_step = "review"
    job.wizard_data = {}
    technician = await _technician(session, job)
    if technician is not None:
        from handlers.technician.entry import Job

        tr = Translator(technician.language or options.default_language)
        builder = InlineKeyboardBuilder()
        builder.button(text=tr("validation.fix"), callback_data=Job(i=job.id, a="continue"))
        outbox.message(
            session,
            technician.telegram_id,
            tr(
                "validation.told_technician_returned",
                number=job.number,
                client=hd.quote(job.client.name),
                comment=hd.quote(comment),
            ),
            options={"reply_markup": builder.as_markup().model_dump(exclude_none=True)},
            intervention_id=job.id,
        )
    await message.answer(t("validation.returned", number=job.number, name=hd.quote(user.name)))


@router.message(StateFilter(ReturnSteps.comment), office())
async def comment_expected(message: Message, t: Translator) -> None:
    """Anything but text while the return comment is expected."""
    await message.answer(t("validation.comment_expected"))


@router.edited_message(office(), Answered("return"))
async def edited(
    message: Message, given: list[Answer], session: AsyncSession, t: Translator
) -> None:
    """An edited return comment changes nothing (the technician has it already, and the
    audit trail keeps it): says what to do instead."""
    job = await session.get(Intervention, given[0].intervention_id or 0)
    await message.answer(t("edits.return_comment", number=job.number if job else "—"))


@router.callback_query(Decide.filter())
async def not_for_you(query: CallbackQuery, t: Translator) -> None:
    """Only the office validates or returns reports."""
    await query.answer(t("errors.not_allowed"), show_alert=True)
