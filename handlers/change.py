"""/change for the office: an intervention's card with the changes its status allows.

    /change OT-2026-0042, or the buttons under the card (also under /plan's
    confirmation): Reassign (technician buttons) · Reschedule (date)
    · Postpone (reason, date) · Cancel (reason)

Every change is made by storage.lifecycle (see handlers.planner); the technicians
concerned are told through the outbox, in their own language.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram.utils.text_decorations import html_decoration as hd

from handlers.callbacks import Change, ChangeAction
from handlers.filters import Answered, office
from handlers.i18n import Translator
from handlers.planner import Planner, card, change_keyboard, read_when, tell
from handlers.provide import provide
from handlers.steps import Question
from handlers.talk import Conversation, Talk, chat_of
from handlers.tell import office_translator
from reports.rules.reading import clean_text
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
async def change_asked(query: CallbackQuery, callback_data: Change, **data: Any) -> None:
    """Asks for the reason (postpone, cancel) or the new date (reschedule)."""
    planner: Planner = data["planner"]
    job = await _changeable(query, planner, callback_data.intervention_id, callback_data.action)
    if job is None:
        return
    await query.answer()
    first = "when" if callback_data.action == ChangeAction.RESCHEDULE else "reason"
    talk = await CHANGE.talk(data, chat_of(query))
    await CHANGE.start(talk, {"i": job.id, "a": callback_data.action}, first)


# The reason and the new date, asked by the engine (handlers.talk) --------------------

Changing = Talk[Planner]


async def _about(talk: Changing) -> Intervention | None:
    """The intervention the change under way is about, if the change is still allowed."""
    job = await interventions.for_planning(talk.session, int(talk.data.get("i", 0)))
    if job is None or talk.data.get("a") not in lifecycle.changes_allowed(job.status):
        return None
    return job


async def still_allowed(talk: Changing) -> bool:
    """False, once said, when the intervention changed meanwhile (the change is left)."""
    if await _about(talk) is not None:
        return True
    await talk.finish()
    await talk.say(talk.t("plan.changed_meanwhile"))
    return False


async def _job(talk: Changing) -> Intervention:
    job = await _about(talk)
    assert job is not None  # checked by `still_allowed` in this update
    return job


async def ask_reason(talk: Changing) -> None:
    job = await _job(talk)
    await talk.say(talk.t(f"plan.ask_reason_{talk.data['a']}", number=job.number))


def read_reason(_talk: Changing, text: str) -> str:
    return clean_text(text, maximum=REASON_MAX)


async def reason_given(talk: Changing, message: Message, reason: str) -> None:
    """Cancels with the reason, or keeps it for the new date (postpone)."""
    p, t, job = talk.of, talk.t, await _job(talk)
    await talk.note(message, "reason", reason, job.id)
    if talk.data["a"] == ChangeAction.POSTPONE:
        await talk.update(reason=reason)
        return
    await lifecycle.cancel(p.session, job, p.user, reason)
    tell(p, job.technician, "plan.told_cancelled", job, open_button=False, reason=reason)
    await show(p, talk.chat_id, job.id, t("plan.cancelled", number=job.number))


def after_reason(talk: Changing) -> str | None:
    """A postponement asks for the new date; a cancellation is done."""
    return "when" if talk.data["a"] == ChangeAction.POSTPONE else None


async def ask_new_when(talk: Changing) -> None:
    job = await _job(talk)
    key = (
        "plan.ask_postponed_when"
        if talk.data["a"] == ChangeAction.POSTPONE
        else "plan.ask_new_when"
    )
    await talk.say(talk.t(key, number=job.number))


async def read_moment(talk: Changing, text: str) -> dt.datetime:
    return await read_when(talk.of, text)


async def moved(talk: Changing, message: Message, moment: dt.datetime) -> None:
    """Moves the intervention to the new date (postponing it with the reason given)."""
    p, t, job = talk.of, talk.t, await _job(talk)
    await talk.note(message, "when", moment.isoformat(), job.id)
    office_t = office_translator(p.options)
    before = p.options.local(job.scheduled_at) if job.scheduled_at else "—"
    after = p.options.local(moment)
    if talk.data["a"] == ChangeAction.POSTPONE:
        reason = str(talk.data.get("reason", ""))
        note = office_t("plan.note_postponed", reason=reason, after=after)
        await lifecycle.postpone(p.session, job, moment, p.user, note)
        tell(p, job.technician, "plan.told_postponed", job, open_button=True, reason=reason)
        lead = t("plan.postponed", number=job.number, when=after)
    else:
        note = office_t("plan.note_rescheduled", before=before, after=after)
        await lifecycle.reschedule(p.session, job, moment, p.user, note)
        tell(p, job.technician, "plan.told_rescheduled", job, open_button=True, before=before)
        lead = t("plan.rescheduled", number=job.number, when=after)
    await show(p, talk.chat_id, job.id, lead)


QUESTIONS: tuple[Question[Changing], ...] = (
    Question(
        "reason", "plan.ask_reason_cancel", ask_reason, "plan.change_text_expected",
        read=read_reason, store=reason_given, then=after_reason,
    ),
    Question(
        "when", "plan.ask_new_when", ask_new_when, "plan.change_text_expected",
        read=read_moment, store=moved, then=None,
    ),
)  # fmt: skip

CHANGE = Conversation(
    group="ChangeSteps",
    name="change",
    questions=QUESTIONS,
    build=lambda data: data["planner"],
    left="plan.left",
    ask_again=False,
    still=still_allowed,
)
CHANGE.install(router, office())


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
