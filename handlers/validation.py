"""The office validates or returns each submitted report.

The submitted PDF reaches the office chat with Validate / Return buttons. Validate
sends the report on to the client (their chat once linked, and email when set up)
and tells the technician. Return asks the dispatcher for a comment, sends the
intervention back to the technician, whose wizard opens on the review with that
comment. Only dispatchers and admins decide; a second press, or a press on an
outdated message, changes nothing and says why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram.utils.text_decorations import html_decoration as hd
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.callbacks import Decide, DecideAction, Job, JobAction
from handlers.client import send_report
from handlers.context import Options
from handlers.filters import Answered, office
from handlers.i18n import Translator
from handlers.steps import Question
from handlers.talk import Conversation, Talk, chat_of
from handlers.tell import person_translator, tell_person
from reports.rules.reading import clean_text
from storage import interventions, issued, lifecycle, outbox, users
from storage.models import Answer, Attachment, Client, Intervention, User
from storage.status import Status

log = logging.getLogger(__name__)

router = Router(name="validation")

#: Telegram's longest caption and message text.
CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096


async def _technician(session: AsyncSession, job: Intervention) -> User | None:
    return await users.get(session, job.technician_id) if job.technician_id else None


async def _refuse_if_decided(
    query: CallbackQuery, session: AsyncSession, data: Decide, t: Translator
) -> Intervention | None:
    """The intervention to decide on, or None once the press is answered with why not:
    decided already, or shown in an older version than the latest one issued."""
    job = await interventions.get(session, data.intervention_id)
    if job is None:
        await query.answer(t("errors.old_button"), show_alert=True)
        return None
    if job.status != Status.AWAITING_VALIDATION:
        await query.answer(
            t("validation.already", number=job.number, status=t(f"status.{job.status}")),
            show_alert=True,
        )
        return None
    latest = await issued.latest_issue(session, job.id)
    if latest is None or latest.id != data.issue_id:
        await query.answer(t("validation.newer_version", number=job.number), show_alert=True)
        return None
    return job


def _with_note(message: Message, note: str) -> str:
    """The message's text or caption (its formatting kept) followed by `note`, within
    Telegram's length for that kind of message."""
    limit = CAPTION_LIMIT if message.document or message.photo else TEXT_LIMIT
    body = message.html_text if (message.text or message.caption) else ""
    if len(body) + 2 + len(note) > limit:
        plain = message.caption or message.text or ""
        room = max(0, limit - len(note) - 3)
        while room and len(hd.quote(plain[:room])) + 3 + len(note) > limit:
            room -= 1
        body = hd.quote(plain[:room]) + "…"
    return f"{body}\n\n{note}" if body else note


async def _mark_message(query: CallbackQuery, text: str) -> None:
    """Replace the buttons under the office's message by what was decided."""
    if isinstance(query.message, Message):
        await mark_office_message(query.bot, query.message, text)


async def mark_office_message(bot: Bot | None, message: Message, note: str) -> None:
    """The office's message loses its buttons and says what was decided and by whom."""
    if bot is None:
        return
    text = _with_note(message, note)
    if message.document or message.photo:
        await bot.edit_message_caption(
            chat_id=message.chat.id, message_id=message.message_id, caption=text, reply_markup=None
        )
    else:
        await bot.edit_message_text(
            text, chat_id=message.chat.id, message_id=message.message_id, reply_markup=None
        )


@router.callback_query(Decide.filter(F.action == DecideAction.VALIDATE), office())
async def validate(
    query: CallbackQuery,
    callback_data: Decide,
    session: AsyncSession,
    user: User,
    t: Translator,
    options: Options,
) -> None:
    """Validates: the report goes to the client, the technician is told."""
    job = await _refuse_if_decided(query, session, callback_data, t)
    if job is None:
        return
    await lifecycle.validate(session, job, user)
    report = await issued.latest_report(session, job.id)
    await deliver_to_client(session, job, job.client, report, options)
    technician = await _technician(session, job)
    if technician is not None:
        tell_person(
            session,
            options,
            technician.telegram_id,
            technician.language,
            "validation.told_technician_validated",
            intervention_id=job.id,
            number=job.number,
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
    tr = person_translator(options, language)
    if client.user_id is not None:
        linked = await users.get(session, client.user_id)
        if linked is not None and linked.active:
            await send_report(session, job, linked, report, language, options)
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


@router.callback_query(Decide.filter(F.action == DecideAction.RETURN), office())
async def ask_return_comment(query: CallbackQuery, callback_data: Decide, **context: Any) -> None:
    """Asks the dispatcher why the report goes back, remembering which message of the
    office's it was pressed under (that message is marked once the report is returned)."""
    job = await _refuse_if_decided(query, context["session"], callback_data, context["t"])
    if job is None:
        return
    data: dict[str, object] = {"intervention_id": job.id, "issue_id": callback_data.issue_id}
    if isinstance(query.message, Message):
        data["pressed"] = query.message.model_dump(mode="json", exclude_none=True)
    await query.answer()
    await RETURN.start(await RETURN.talk(context, chat_of(query)), data)


async def ask_comment(talk: Talk[None]) -> None:
    job = await interventions.get(talk.session, int(talk.data["intervention_id"]))
    await talk.say(talk.t("validation.ask_comment", number=job.number if job else "—"))


def read_comment(_talk: Talk[None], text: str) -> str:
    return clean_text(text, maximum=2000)


async def return_with_comment(talk: Talk[None], message: Message, comment: str) -> None:
    """Returns the intervention to its technician with the comment; their wizard opens
    on the review, and the office's message of that version loses its buttons."""
    session, user, t, data = talk.session, talk.user, talk.t, talk.data
    job = await interventions.get(session, int(data.get("intervention_id", 0)))
    latest = await issued.latest_issue(session, job.id) if job else None
    if job is None or job.status != Status.AWAITING_VALIDATION:
        status = t(f"status.{job.status}") if job else "—"
        await message.answer(
            t("validation.already", number=job.number if job else "?", status=status)
        )
        return
    if latest is None or latest.id != data.get("issue_id"):
        await message.answer(t("validation.newer_version", number=job.number))
        return
    await lifecycle.send_back(session, job, user, comment)
    await talk.note(message, "comment", comment, job.id)
    job.wizard_step = "review"
    job.wizard_data = {}
    technician = await _technician(session, job)
    if technician is not None:
        tell_person(
            session,
            talk.options,
            technician.telegram_id,
            technician.language,
            "validation.told_technician_returned",
            keyboard=_fix_keyboard(job),
            intervention_id=job.id,
            number=job.number,
            client=job.client.name,
            comment=comment,
        )
    pressed = data.get("pressed")
    if isinstance(pressed, dict):
        note = t("validation.returned_by", name=hd.quote(user.name), comment=hd.quote(comment))
        await mark_office_message(talk.bot, Message.model_validate(pressed), note)
    await message.answer(t("validation.returned", number=job.number, name=hd.quote(user.name)))


#: Why the report goes back: one typed comment (a command or anything else is refused
#: with what is expected).
RETURN = Conversation(
    group="ReturnSteps",
    name="return",
    questions=(
        Question(
            "comment", "validation.ask_comment", ask_comment, "validation.comment_expected",
            read=read_comment, store=return_with_comment,
        ),
    ),
    build=lambda _data: None,
    ask_again=False,
)  # fmt: skip
RETURN.install(router, office())


def _fix_keyboard(job: Intervention) -> Callable[[Translator], InlineKeyboardMarkup]:
    """The technician's button to fix a returned report, in their words."""

    def keyboard(tr: Translator) -> InlineKeyboardMarkup:
        builder = InlineKeyboardBuilder()
        builder.button(
            text=tr("validation.fix"),
            callback_data=Job(intervention_id=job.id, action=JobAction.CONTINUE),
        )
        return builder.as_markup()

    return keyboard


@router.edited_message(office(), Answered("return"))
async def edited(
    message: Message, given: list[Answer], session: AsyncSession, t: Translator
) -> None:
    """An edited return comment changes nothing (the technician has it already, and the
    audit trail keeps it): says what to do instead."""
    job = await interventions.by_id(session, given[0].intervention_id or 0)
    await message.answer(t("edits.return_comment", number=job.number if job else "—"))


@router.callback_query(Decide.filter())
async def not_for_you(query: CallbackQuery, t: Translator) -> None:
    """Only the office validates or returns reports."""
    await query.answer(t("errors.not_allowed"), show_alert=True)
