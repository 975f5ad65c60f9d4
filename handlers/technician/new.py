"""/new: a technician opens an intervention on the spot, then fills in its report.

    /new ─▶ client: part of the name ─▶ results as buttons ──tap──────────────┐
              │                          └─ ➕ New client ─┐                    │
              └─ ➕ New client ─▶ name ─▶ contact ─▶ phone ─▶ email ─▶ address ─▶ template
    template (tap) ─▶ intervention created and started ─▶ first question of the report

The conversation is an aiogram FSM, kept in the database with the update's unit of
work, so it resumes after a restart. Its buttons carry a token of the conversation
and the step they were shown for: a button of an earlier /new, or of a step that is
over, gets a polite answer. /cancel (common.py) leaves it; any other command, or a
button of another conversation, leaves it too, so that answers meant for a report
are never read as a client's name. Finding or creating the client is /plan's too
(handlers.clientpicker).
"""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram.utils.text_decorations import html_decoration as hd

from handlers.callbacks import NewAction, NewJob, conversation_token, row_id
from handlers.clientpicker import BY_STEP, DETAILS, ClientPicker, PickAction, chat_of
from handlers.filters import Answered
from handlers.i18n import Translator
from handlers.technician.desk import Desk, technician
from handlers.technician.entry import begin, location_keyboard
from storage import answers, clients, interventions
from storage.models import utcnow

router = Router(name="technician-new")

#: Handlers after `leave_for_command` still see the state it cleared (aiogram reads the
#: state once per update), so each one refuses commands.
NOT_COMMAND = ~F.text.startswith("/")


class NewSteps(StatesGroup):
    client = State()
    name = State()
    contact = State()
    phone = State()
    email = State()
    address = State()
    template = State()


STEPS: dict[str, State] = {
    "client": NewSteps.client,
    "name": NewSteps.name,
    "contact": NewSteps.contact,
    "phone": NewSteps.phone,
    "email": NewSteps.email,
    "address": NewSteps.address,
    "template": NewSteps.template,
}


DETAIL_STATES = tuple(STEPS[detail.step] for detail in DETAILS)


# Asking ---------------------------------------------------------------------------


def _button(token: str, step: str, action: PickAction, value: str) -> NewJob:
    """A /new button for the client picker."""
    return NewJob(token=token, step=step, action=NewAction(action), value=value)


def _picker(desk: Desk, state: FSMContext) -> ClientPicker:
    """The client part of /new: once the client is known, the template is asked."""

    async def ask(chat_id: int, step: str, lead: str) -> None:
        await _ask(desk, chat_id, state, step, lead)

    return ClientPicker(desk.session, desk.t, state, _button, ask, "new.ask_client", "template")


async def _prompt(
    desk: Desk, state: FSMContext, step: str, data: dict[str, Any]
) -> tuple[str, InlineKeyboardMarkup]:
    """The question of `step` and its buttons."""
    if step != "template":
        return _picker(desk, state).question(step, data)
    t, token = desk.t, data["k"]
    builder = InlineKeyboardBuilder()
    client = await clients.get(desk.session, data["client_id"])
    name = hd.quote(client.name) if client else "—"
    where = f" · {hd.quote(client.address)}" if client and client.address else ""
    templates = sorted(desk.templates.values(), key=lambda tpl: tpl.title(t.language))
    for template in templates:
        builder.button(
            text=template.title(t.language),
            callback_data=NewJob(
                token=token, step=step, action=NewAction.TEMPLATE, value=template.name
            ),
        )
    builder.adjust(2)
    text = t("new.client_line", client=name, address=where) + "\n\n" + t("new.ask_template")
    return text, builder.as_markup()


async def _ask(desk: Desk, chat_id: int, state: FSMContext, step: str, lead: str = "") -> None:
    """Moves the conversation to `step` and asks its question (after `lead`, if any)."""
    await state.set_state(STEPS[step])
    text, markup = await _prompt(desk, state, step, await state.get_data())
    await desk.bot.send_message(chat_id, f"{lead}\n\n{text}" if lead else text, reply_markup=markup)


async def _live(query: CallbackQuery, data: NewJob, state: FSMContext, t: Translator) -> bool:
    """Whether the button belongs to the /new under way and to its current step; if not,
    says so politely."""
    step = STEPS.get(data.step)
    stored = await state.get_data()
    if step is None or await state.get_state() != step.state or stored.get("k") != data.token:
        await query.answer(t("errors.old_button"), show_alert=True)
        return False
    return True


async def _step(state: FSMContext) -> str:
    """The step under way, as named in STEPS ("NewSteps:email" -> "email")."""
    return (await state.get_state() or "").partition(":")[2]


# Starting and leaving -------------------------------------------------------------


@router.message(Command("new"), technician)
async def new(message: Message, desk: Desk, state: FSMContext) -> None:
    """Starts a fresh /new (forgetting any earlier one) and asks for the client's name."""
    await state.clear()
    await state.set_data({"k": conversation_token()})
    await _ask(desk, message.chat.id, state, "client")


@router.message(Command("new"))
async def new_refused(message: Message, t: Translator) -> None:
    """Only technicians open interventions on the spot (the office will plan them)."""
    await message.answer(t("errors.not_allowed"))


@router.message(StateFilter(*DETAIL_STATES), technician, Command("skip"))
async def detail_skipped(message: Message, desk: Desk, state: FSMContext) -> None:
    """/skip leaves an optional detail empty and asks the next (the name is required)."""
    step = await _step(state)
    if BY_STEP[step].required:
        await message.answer(desk.t("new.name_required"))
        return
    await _picker(desk, state).keep(message.chat.id, step, None)


@router.message(StateFilter(NewSteps.client, NewSteps.template), technician, Command("skip"))
async def nothing_to_skip(message: Message, desk: Desk, state: FSMContext) -> None:
    """/skip where nothing can be skipped: asks the question again."""
    step = await _step(state)
    await _ask(desk, message.chat.id, state, step)


@router.message(StateFilter(NewSteps), technician, F.text.startswith("/"))
async def leave_for_command(message: Message, state: FSMContext, t: Translator) -> None:
    """Another command during /new: /new is left and the command runs."""
    await state.clear()
    await message.answer(t("new.left"))
    raise SkipHandler


@router.callback_query(StateFilter(NewSteps), technician, ~NewJob.filter())
async def leave_for_button(query: CallbackQuery, desk: Desk, state: FSMContext) -> None:
    """A button of another conversation (a report, /today) during /new: /new is left
    and the button does what it says."""
    await state.clear()
    await desk.bot.send_message(chat_of(query), desk.t("new.left"))
    raise SkipHandler


# Finding or creating the client (handlers.clientpicker) --------------------------------


@router.message(StateFilter(NewSteps.client), technician, NOT_COMMAND, F.text)
async def client_typed(message: Message, desk: Desk, state: FSMContext) -> None:
    """Searches the clients by the typed name and shows the best ones as buttons,
    with "New client"; asks for more letters when the query is too short."""
    await _picker(desk, state).search(message)


@router.callback_query(NewJob.filter(F.action == NewAction.PICK), technician)
async def client_picked(
    query: CallbackQuery, callback_data: NewJob, desk: Desk, state: FSMContext
) -> None:
    """Keeps the chosen client and asks for the template."""
    if not await _live(query, callback_data, state, desk.t):
        return
    await _picker(desk, state).picked(query, row_id(callback_data.value))


@router.callback_query(NewJob.filter(F.action == NewAction.AGAIN), technician)
async def search_again(
    query: CallbackQuery, callback_data: NewJob, desk: Desk, state: FSMContext
) -> None:
    """Asks again for part of the client's name."""
    if not await _live(query, callback_data, state, desk.t):
        return
    await _picker(desk, state).again(query)


@router.callback_query(NewJob.filter(F.action == NewAction.NEW), technician)
async def client_new(
    query: CallbackQuery, callback_data: NewJob, desk: Desk, state: FSMContext
) -> None:
    """Starts a new client and asks for its name."""
    if not await _live(query, callback_data, state, desk.t):
        return
    await _picker(desk, state).start_new(query)


@router.message(StateFilter(*DETAIL_STATES), technician, NOT_COMMAND, F.text)
async def detail_typed(message: Message, desk: Desk, state: FSMContext) -> None:
    """Reads the detail the current step asks for (a bad one is explained and the step
    stays), then asks the next."""
    step, picker = await _step(state), _picker(desk, state)
    read, value = await picker.read(message, step)
    if read:
        await _noted(desk, message, step, value)
        await picker.keep(message.chat.id, step, value)


async def _noted(desk: Desk, message: Message, step: str, text: str | None) -> None:
    """Remember that `message` answered `step` of /new, so that an edit of it gets an answer."""
    chat_id, message_id = message.chat.id, message.message_id
    await answers.record(
        desk.session, chat_id, message_id, step="new", target=f"new:{step}", text=text
    )


@router.callback_query(NewJob.filter(F.action.in_({NewAction.SKIP, NewAction.USE})), technician)
async def detail_pressed(
    query: CallbackQuery, callback_data: NewJob, desk: Desk, state: FSMContext
) -> None:
    """Skip leaves an optional detail empty; Use makes the words searched the client's
    name. Then asks the next detail."""
    if not await _live(query, callback_data, state, desk.t):
        return
    action = PickAction(callback_data.action)
    await _picker(desk, state).pressed(query, callback_data.step, action)


# Choosing the template, and starting ---------------------------------------------------


@router.callback_query(NewJob.filter(F.action == NewAction.TEMPLATE), technician)
async def template_picked(
    query: CallbackQuery, callback_data: NewJob, desk: Desk, state: FSMContext
) -> None:
    """Creates the intervention with the chosen template, assigned to this technician,
    starts it now, offers the location pin and asks the first question of the report."""
    t = desk.t
    if not await _live(query, callback_data, state, t):
        return
    template = desk.templates.get(callback_data.value)
    client = await clients.get(desk.session, (await state.get_data()).get("client_id", 0))
    if template is None or client is None:
        await query.answer(t("errors.old_button"), show_alert=True)
        return
    await query.answer()
    await state.clear()
    now = utcnow()
    job = await interventions.create(
        desk.session,
        year=now.astimezone(desk.options.tz).year,
        client_id=client.id,
        kind=template.kind,
        template=template.name,
        created_by=desk.user,
        technician=desk.user,
        scheduled_at=now,
    )
    started_at = await begin(desk, job)
    chat_id = chat_of(query)
    visit = await desk.open(job.id, chat_id)
    assert visit is not None  # just created for this technician
    created = t(
        "new.created",
        number=job.number,
        client=hd.quote(client.name),
        kind=template.title(t.language),
    )
    started = t("entry.started", number=job.number, time=desk.options.local(started_at))
    await desk.bot.send_message(chat_id, f"{created}\n{started}", reply_markup=location_keyboard(t))
    await visit.prompt()


# Anything else ----------------------------------------------------------------------


@router.message(StateFilter(NewSteps.template), technician, NOT_COMMAND)
async def template_expected(message: Message, desk: Desk, state: FSMContext) -> None:
    """Anything but a tap while the template is expected: shows the buttons again."""
    await _ask(desk, message.chat.id, state, "template", lead=desk.t("new.choose_template"))


@router.message(StateFilter(NewSteps.client, *DETAIL_STATES), technician, NOT_COMMAND)
async def text_expected(message: Message, desk: Desk, state: FSMContext) -> None:
    """A photo, sticker, voice message... where text is expected: says so and asks again."""
    step = await _step(state)
    await _ask(desk, message.chat.id, state, step, lead=desk.t("new.text_expected"))


@router.edited_message(technician, Answered("new"))
async def edited(message: Message, t: Translator) -> None:
    """An edited answer of /new changes nothing (the client is made from what was sent):
    says how to correct instead."""
    await message.answer(t("edits.new"))


@router.callback_query(NewJob.filter(), technician)
async def old_press(query: CallbackQuery, t: Translator) -> None:
    """A /new button this version does not know."""
    await query.answer(t("errors.old_button"), show_alert=True)


@router.callback_query(NewJob.filter())
async def press_refused(query: CallbackQuery, t: Translator) -> None:
    """Only technicians open interventions on the spot."""
    await query.answer(t("errors.not_allowed"), show_alert=True)
