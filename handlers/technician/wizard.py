"""The technician's wizard in chat: answers go to the intervention the technician has
open, to its current step; buttons move back, skip, pause, or act on a step.

Every button names its intervention and the step it was shown for: a button of
another technician's intervention is refused without a word about it, and a
button of a step that is over gets a polite answer (the current question is
already in the chat, with the only buttons that work; the old message loses its
own).

An edited message changes the answer it had given, wherever the wizard stands,
while the report is being filled in; once it is sent, the edit is answered with
how to correct it. An edit is never left unanswered.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove

from handlers import asking
from handlers.callbacks import WizardAction, Wz
from handlers.filters import Answered
from handlers.i18n import Translator
from handlers.technician.desk import WORKING, Desk, technician
from handlers.technician.voice import spoken
from reports.rules.templates import BY_KEY
from storage.models import Answer, Intervention, User
from storage.status import Status

router = Router(name="wizard")


@router.message(Command("cancel"), technician, StateFilter(None))
async def pause(message: Message, desk: Desk, user: User, t: Translator) -> None:
    """Leaves the report where it is (every answer kept) until /resume."""
    visit = await desk.current(message.chat.id)
    if visit is None:
        await message.answer(t("cancel.nothing"))
        return
    user.current_intervention_id = None
    await visit.retire()
    await message.answer(
        t("wizard.paused", number=visit.job.number), reply_markup=ReplyKeyboardRemove()
    )


@router.message(technician, StateFilter(None), F.chat.type == "private")
async def answer(message: Message, desk: Desk, t: Translator) -> None:
    """Gives the message to the current step of the open report, which stores it and
    asks the next question (or says what it expected and stays)."""
    visit = await desk.current(message.chat.id)
    if visit is None:
        await message.answer(t("voice.no_report" if spoken(message) else "wizard.nothing_open"))
        return
    if message.text and message.text.startswith("/"):
        await message.answer(t("errors.not_understood"))
        return
    await visit.ready()
    await visit.kinds[visit.step.kind].answer(visit, message)


@router.callback_query(Wz.filter(), technician)
async def press(
    query: CallbackQuery, callback_data: Wz, desk: Desk, user: User, t: Translator
) -> None:
    """Back, skip and pause for every step; anything else goes to the step itself."""
    chat_id = query.message.chat.id if query.message else query.from_user.id
    visit = await desk.open(callback_data.intervention_id, chat_id)
    if visit is None:
        await query.answer(t("errors.not_allowed"), show_alert=True)
        return
    if visit.job.status not in WORKING or callback_data.place != visit.place:
        await query.answer(t("wizard.old_button"), show_alert=True)
        await asking.strip_old(visit.session, visit.data.get("asked"), query.message)
        return
    user.current_intervention_id = visit.job.id
    visit.pressing(query)
    action = callback_data.action
    if action == WizardAction.BACK:
        await query.answer()
        visit.moving_on()
        await visit.back()
    elif action == WizardAction.SKIP:
        if visit.required():
            await query.answer(t("wizard.required"), show_alert=True)
            return
        await query.answer()
        visit.moving_on()
        await visit.advance()
    elif action == WizardAction.PAUSE:
        user.current_intervention_id = None
        await query.answer()
        await visit.conclude(t("wizard.paused", number=visit.job.number))
    else:
        await visit.ready()
        await visit.kinds[visit.step.kind].press(visit, query, callback_data)


@router.callback_query(Wz.filter())
async def press_refused(query: CallbackQuery, t: Translator) -> None:
    """Only technicians fill in reports."""
    await query.answer(t("errors.not_allowed"), show_alert=True)


def cannot_change(t: Translator, job: Intervention) -> str:
    """Why an answer of this report can no longer be changed, and what to do instead."""
    status = t(f"status.{job.status}")
    if job.status == Status.AWAITING_VALIDATION:
        return t("edits.submitted", number=job.number)
    if job.status in (Status.VALIDATED, Status.CANCELLED):
        return t("edits.final", number=job.number, status=status)
    return t("edits.not_open", number=job.number, status=status)


@router.edited_message(technician, F.chat.type == "private", Answered(*BY_KEY))
async def edited(message: Message, given: list[Answer], desk: Desk, t: Translator) -> None:
    """Stores what the edited message now says in place of what it had given, while its
    report is being filled in (the step stays, no question is asked again); otherwise
    says how to correct the report."""
    for answer in given:
        visit = await desk.open(answer.intervention_id or 0, message.chat.id)
        if visit is None:
            await message.answer(t("edits.not_yours"))
        elif visit.job.status in WORKING:
            kind = BY_KEY[answer.step].kind
            await visit.ready(kind)
            await visit.kinds[kind].edit(visit, answer, message)
        else:
            await message.answer(cannot_change(t, visit.job))


@router.edited_message(technician, F.chat.type == "private")
async def edited_nothing(message: Message, t: Translator) -> None:
    """An edit of a message that had stored nothing (a command, an answer refused,
    chatter): says that it changed nothing and how to correct."""
    await message.answer(t("edits.nothing"))
