"""/change for the office: an intervention's card with the changes its status allows.

    /change OT-2026-0042, or the buttons under the card (also under /plan's
    confirmation): Reassign (technician buttons) · Reschedule (date)
    · Postpone (reason, date) · Cancel (reason)

Every change is made by storage.lifecycle (see handlers.planner); the technicians
concerned are told through the outbox, in their own language.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.types import CallbackQuery, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram.utils.text_decorations import html_decoration as hd

from handlers.callbacks import Change, ChangeAction
from handlers.clientpicker import chat_of
from handlers.filters import Answered, office
from handlers.i18n import Translator
from handlers.planner import (
    NOT_COMMAND,
    ChangeSteps,
    Planner,
    card,
    change_keyboard,
    error_text,
    noted,
    read_when,
    tell,
)
from handlers.provide import provide
from handlers.tell import office_translator
from reports.rules.reading import ParseError, clean_text
from storage import interventions, lifecycle, users
from storage.models import Answer, Intervention, Role

router = Router(name="change")
provide(router, "planner", Planner.from_data)

REASON_MAX = 500


@router.message(Command("change"), office())
async def change(message: Message, command: CommandObject, planner: Planner) -> None:
    """Shows the intervention named after /change with the changes it allows."""
    await planner.state.clear()
    job = await interventions.by_number(planner.session, command.args or "")
    if job is None:
        await message.answer(planner.t("plan.unknown", number=hd.quote(command.args or "")))
        return
    await show(planner, message.chat.id, job.id)


@router.message(Command("change"))
async def refused(message: Message, t: Translator) -> None:
    """Changing the planning is the office's."""
    await message.answer(t("errors.office_only"))


async def show(p: Planner, chat_id: int, job_id: int, lead: str = "") -> None:
    """The intervention's card with the changes its status allows."""
    job = await interventions.for_planning(p.session, job_id)
    assert job is not None
    text = card(p, job)
    await p.bot.send_message(
        chat_id, f"{lead}\n\n{text}" if lead else text, reply_markup=change_keyboard(p.t, job)
    )


async def _changeable(
    query: CallbackQuery, p: Planner, job_id: int, action: ChangeAction
) -> Intervention | None:
    """The intervention if `action` is still allowed on it; else says why."""
    job = await interventions.for_planning(p.session, job_id)
    if job is None:
        await query.answer(p.t("errors.old_button"), show_alert=True)
        return None
    if action not in lifecycle.changes_allowed(job.status):
        await query.answer(
            p.t("plan.not_now", number=job.number, status=p.t(f"status.{job.status}")),
            show_alert=True,
        )
        return None
    return job


@router.callback_query(Change.filter(F.action == ChangeAction.REASSIGN), office())
async def reassign(query: CallbackQuery, callback_data: Change, planner: Planner) -> None:
    """Shows the other technicians as buttons."""
    job = await _changeable(query, planner, callback_data.intervention_id, ChangeAction.REASSIGN)
    if job is None:
        return
    await query.answer()
    await planner.state.clear()
    builder = InlineKeyboardBuilder()
    for person in await users.with_roles(planner.session, {Role.TECHNICIAN}):
        if person.id != job.technician_id:
            builder.button(
                text=person.name[:60],
                callback_data=Change(
                    action=ChangeAction.REASSIGN_TO, intervention_id=job.id, technician_id=person.id
                ),
            )
    builder.adjust(2)
    key = "plan.ask_reassign" if builder.buttons else "plan.no_technician"
    await planner.bot.send_message(
        chat_of(query), planner.t(key, number=job.number), reply_markup=builder.as_markup()
    )


@router.callback_query(Change.filter(F.action == ChangeAction.REASSIGN_TO), office())
async def reassigned(query: CallbackQuery, callback_data: Change, planner: Planner) -> None:
    """Gives the intervention to the chosen technician; both are told."""
    p = planner
    job = await _changeable(query, p, callback_data.intervention_id, ChangeAction.REASSIGN)
    if job is None:
        return
    person = (
        await users.get(p.session, callback_data.technician_id)
        if callback_data.technician_id
        else None
    )
    if person is None or not lifecycle.can_reassign(job, person):
        await query.answer(p.t("errors.old_button"), show_alert=True)
        return
    await query.answer()
    before = job.technician
    office_t = office_translator(p.options)
    old_name = before.name if before else "—"
    note = office_t("plan.note_reassigned", before=old_name, after=person.name)
    await lifecycle.reassign(p.session, job, person, p.user, note)
    tell(p, before, "plan.told_taken_away", job, open_button=False)
    tell(p, person, "plan.told_new", job, open_button=True)
    lead = p.t("plan.reassigned", number=job.number, technician=hd.quote(person.name))
    await show(p, chat_of(query), job.id, lead)


@router.callback_query(
    Change.filter(
        F.action.in_({ChangeAction.RESCHEDULE, ChangeAction.POSTPONE, ChangeAction.CANCEL})
    ),
    office(),
)
async def change_asked(query: CallbackQuery, callback_data: Change, planner: Planner) -> None:
    """Asks for the reason (postpone, cancel) or the new date (reschedule)."""
    job = await _changeable(query, planner, callback_data.intervention_id, callback_data.action)
    if job is None:
        return
    await query.answer()
    await planner.state.clear()
    await planner.state.set_data({"i": job.id, "a": callback_data.action})
    if callback_data.action == ChangeAction.RESCHEDULE:
        await planner.state.set_state(ChangeSteps.when)
        key = "plan.ask_new_when"
    else:
        await planner.state.set_state(ChangeSteps.reason)
        key = f"plan.ask_reason_{callback_data.action}"
    await planner.bot.send_message(chat_of(query), planner.t(key, number=job.number))


async def _current(message: Message, p: Planner) -> tuple[Intervention, str] | None:
    """The intervention the change under way is about, if the change is still allowed."""
    data = await p.state.get_data()
    job = await interventions.for_planning(p.session, int(data.get("i", 0)))
    if job is None or data.get("a") not in lifecycle.changes_allowed(job.status):
        await p.state.clear()
        await message.answer(p.t("plan.changed_meanwhile"))
        return None
    return job, str(data["a"])


@router.message(StateFilter(ChangeSteps.reason), office(), NOT_COMMAND, F.text)
async def reason_typed(message: Message, planner: Planner) -> None:
    """Cancels with the reason, or keeps it and asks for the new date (postpone)."""
    p, t = planner, planner.t
    found = await _current(message, p)
    if found is None:
        return
    job, action = found
    try:
        reason = clean_text(message.text or "", maximum=REASON_MAX)
    except ParseError as error:
        await message.answer(error_text(t, error))
        return
    await noted(p, message, "change:reason", reason, job)
    if action == ChangeAction.POSTPONE:
        await p.state.update_data(reason=reason)
        await p.state.set_state(ChangeSteps.when)
        await message.answer(t("plan.ask_postponed_when", number=job.number))
        return
    await p.state.clear()
    await lifecycle.cancel(p.session, job, p.user, reason)
    tell(p, job.technician, "plan.told_cancelled", job, open_button=False, reason=reason)
    await show(p, message.chat.id, job.id, t("plan.cancelled", number=job.number))


@router.message(StateFilter(ChangeSteps.when), office(), NOT_COMMAND, F.text)
async def new_when_typed(message: Message, planner: Planner) -> None:
    """Moves the intervention to the new date (postponing it with the reason given)."""
    p, t = planner, planner.t
    found = await _current(message, p)
    if found is None:
        return
    job, action = found
    try:
        moment = await read_when(p, message.text or "")
    except ParseError as error:
        await message.answer(error_text(t, error))
        return
    await noted(p, message, "change:when", moment.isoformat(), job)
    data = await p.state.get_data()
    await p.state.clear()
    office_t = office_translator(p.options)
    before = p.options.local(job.scheduled_at) if job.scheduled_at else "—"
    after = p.options.local(moment)
    if action == ChangeAction.POSTPONE:
        reason = str(data.get("reason", ""))
        note = office_t("plan.note_postponed", reason=reason, after=after)
        await lifecycle.postpone(p.session, job, moment, p.user, note)
        tell(p, job.technician, "plan.told_postponed", job, open_button=True, reason=reason)
        lead = t("plan.postponed", number=job.number, when=after)
    else:
        note = office_t("plan.note_rescheduled", before=before, after=after)
        await lifecycle.reschedule(p.session, job, moment, p.user, note)
        tell(p, job.technician, "plan.told_rescheduled", job, open_button=True, before=before)
        lead = t("plan.rescheduled", number=job.number, when=after)
    await show(p, message.chat.id, job.id, lead)


@router.message(StateFilter(ChangeSteps), office(), NOT_COMMAND)
async def change_text_expected(message: Message, planner: Planner) -> None:
    """Something other than text during a change: says what is expected."""
    await message.answer(planner.t("plan.change_text_expected"))


@router.edited_message(office(), Answered("plan", "change"))
async def edited(message: Message, given: list[Answer], planner: Planner) -> None:
    """An edited answer of /plan or /change changes nothing (what it started is under
    way or done): says how to correct instead."""
    answer = given[0]
    job = await interventions.by_id(planner.session, answer.intervention_id or 0)
    if answer.step == "change" and job is not None:
        await message.answer(planner.t("edits.change", number=job.number))
    else:
        await message.answer(planner.t("edits.plan"))


@router.callback_query(Change.filter(), office())
async def old_change_press(query: CallbackQuery, t: Translator) -> None:
    """A change button this version does not know."""
    await query.answer(t("errors.old_button"), show_alert=True)


@router.callback_query(Change.filter())
async def change_refused(query: CallbackQuery, t: Translator) -> None:
    """Only the office changes the planning."""
    await query.answer(t("errors.office_only"), show_alert=True)
