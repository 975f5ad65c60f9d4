"""/plan for the office: an intervention planned for a client, at a date, for a technician.

    /plan ─▶ client (search, or ➕ new: name, contact, phone, email, address)
          ─▶ site (the client's address, one of its sites, or ➕ a new one)
          ─▶ type ─▶ request ─▶ date and time ─▶ technician ─▶ planned, with the
             changes of handlers.change under its card

The client steps are /new's (handlers.clientpicker). Buttons of /plan carry a token
of the conversation and the step they were shown for, as in /new.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, StateFilter
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram.utils.text_decorations import html_decoration as hd

from handlers.callbacks import PlanAction, PlanStep, conversation_token, row_id
from handlers.clientpicker import DETAILS, ClientPicker, PickAction, chat_of
from handlers.filters import office
from handlers.i18n import Translator
from handlers.planner import (
    NOT_COMMAND,
    ChangeSteps,
    Planner,
    PlanSteps,
    card,
    change_keyboard,
    error_text,
    moment_in_words,
    noted,
    read_when,
    tell,
)
from handlers.provide import provide
from handlers.tell import tell_office
from reports.rules.reading import ParseError, clean_text
from storage import clients, interventions, lifecycle, users
from storage.models import Role

router = Router(name="plan")
provide(router, "planner", Planner.from_data)

REQUEST_MAX = 2000
SITE_MAX = 500

STEPS: dict[str, State] = {
    state.state.partition(":")[2]: state for state in PlanSteps.__states__ if state.state
}
CLIENT_STEPS = tuple(detail.step for detail in DETAILS)
DETAIL_STATES = tuple(STEPS[step] for step in CLIENT_STEPS)


def _button(token: str, step: str, action: PickAction, value: str) -> PlanStep:
    """A /plan button for the client picker."""
    return PlanStep(token=token, step=step, action=PlanAction(action), value=value)


def _picker(p: Planner) -> ClientPicker:
    """The client part of /plan: once the client is known, the site is asked."""

    async def ask(chat_id: int, step: str, lead: str) -> None:
        await _ask(p, chat_id, step, lead)

    return ClientPicker(p.session, p.t, p.state, _button, ask, "plan.ask_client", "site")


async def _prompt(p: Planner, step: str, data: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup]:
    """The question of `step` and its buttons."""
    t, token = p.t, data["k"]
    builder = InlineKeyboardBuilder()

    def add(text: str, action: PlanAction, value: str = "") -> None:
        builder.button(
            text=text, callback_data=PlanStep(token=token, step=step, action=action, value=value)
        )

    if step == "client" or step in CLIENT_STEPS:
        return _picker(p).question(step, data)
    client = await clients.get(p.session, data.get("client_id", 0))
    name = hd.quote(client.name) if client else "—"
    if step == "site":
        sites = await clients.sites(p.session, data["client_id"])
        where = t("plan.client_address")
        if client and client.address:
            where += f" · {client.address}"
        add(where[:60], PlanAction.SITE)
        for site in sites:
            add(
                f"{site.name} · {site.address or ''}"[:60].rstrip(" ·"),
                PlanAction.SITE,
                str(site.id),
            )
        add(t("plan.new_site"), PlanAction.NEW_SITE)
        builder.adjust(1)
        return t("plan.ask_site", client=name), builder.as_markup()
    if step == "site_address":
        return t("plan.ask_site_address", client=name), builder.as_markup()
    if step == "template":
        for template in sorted(p.templates.values(), key=lambda tpl: tpl.title(t.language)):
            add(template.title(t.language), PlanAction.TEMPLATE, template.name)
        builder.adjust(2)
        return t("plan.ask_template", client=name), builder.as_markup()
    if step == "request":
        return t("plan.ask_request"), builder.as_markup()
    if step == "when":
        return t("plan.ask_when"), builder.as_markup()
    technicians = await users.with_roles(p.session, {Role.TECHNICIAN})
    for person in technicians:
        add(person.name[:60], PlanAction.TECHNICIAN, str(person.id))
    builder.adjust(2)
    key = "plan.ask_technician" if technicians else "plan.no_technician"
    return t(key), builder.as_markup()


async def _ask(p: Planner, chat_id: int, step: str, lead: str = "") -> None:
    """Moves /plan to `step` and asks its question (after `lead`, if any)."""
    await p.state.set_state(STEPS[step])
    text, markup = await _prompt(p, step, await p.state.get_data())
    await p.bot.send_message(chat_id, f"{lead}\n\n{text}" if lead else text, reply_markup=markup)


async def _live(query: CallbackQuery, data: PlanStep, p: Planner) -> bool:
    """Whether the button belongs to the /plan under way and its current step."""
    step = STEPS.get(data.step)
    stored = await p.state.get_data()
    if step is None or await p.state.get_state() != step.state or stored.get("k") != data.token:
        await query.answer(p.t("errors.old_button"), show_alert=True)
        return False
    return True


async def _step(p: Planner) -> str:
    return (await p.state.get_state() or "").partition(":")[2]


# The command, and leaving for another ------------------------------------------------


@router.message(Command("plan"), office())
async def plan(message: Message, planner: Planner) -> None:
    """Starts a fresh /plan and asks for the client."""
    await planner.state.clear()
    await planner.state.set_data({"k": conversation_token()})
    await _ask(planner, message.chat.id, "client")


@router.message(Command("plan"))
async def refused(message: Message, t: Translator) -> None:
    """Planning is the office's."""
    await message.answer(t("errors.office_only"))


@router.message(StateFilter(PlanSteps, ChangeSteps), office(), F.text.startswith("/"))
async def leave_for_command(message: Message, planner: Planner) -> None:
    """Another command during /plan or a change: it is left and the command runs."""
    await planner.state.clear()
    await message.answer(planner.t("plan.left"))
    raise SkipHandler


# The client (handlers.clientpicker) ------------------------------------------------------


@router.message(StateFilter(PlanSteps.client), office(), NOT_COMMAND, F.text)
async def client_typed(message: Message, planner: Planner) -> None:
    """Searches the clients by the typed name (typos tolerated) and shows them as buttons."""
    query = await _picker(planner).search(message)
    if query is not None:
        await noted(planner, message, "plan:search", query)


@router.callback_query(PlanStep.filter(F.action == PlanAction.PICK), office())
async def client_picked(query: CallbackQuery, callback_data: PlanStep, planner: Planner) -> None:
    """Keeps the chosen client and asks for the site."""
    if await _live(query, callback_data, planner):
        await _picker(planner).picked(query, row_id(callback_data.value))


@router.callback_query(PlanStep.filter(F.action == PlanAction.AGAIN), office())
async def search_again(query: CallbackQuery, callback_data: PlanStep, planner: Planner) -> None:
    """Asks again for part of the client's name."""
    if await _live(query, callback_data, planner):
        await _picker(planner).again(query)


@router.callback_query(PlanStep.filter(F.action == PlanAction.NEW), office())
async def client_new(query: CallbackQuery, callback_data: PlanStep, planner: Planner) -> None:
    """Starts a new client and asks for its name."""
    if await _live(query, callback_data, planner):
        await _picker(planner).start_new(query)


@router.message(StateFilter(*DETAIL_STATES), office(), NOT_COMMAND, F.text)
async def detail_typed(message: Message, planner: Planner) -> None:
    """Reads the new client's detail this step asks for, then asks the next."""
    step, picker = await _step(planner), _picker(planner)
    read, value = await picker.read(message, step)
    if read:
        await noted(planner, message, f"plan:{step}", value)
        await picker.keep(message.chat.id, step, value)


@router.callback_query(PlanStep.filter(F.action.in_({PlanAction.SKIP, PlanAction.USE})), office())
async def detail_pressed(query: CallbackQuery, callback_data: PlanStep, planner: Planner) -> None:
    """Skip leaves an optional detail empty; Use takes the words searched as the name."""
    if await _live(query, callback_data, planner):
        action = PickAction(callback_data.action)
        await _picker(planner).pressed(query, callback_data.step, action)


# Site, type, request, date, technician ------------------------------------------------


@router.callback_query(PlanStep.filter(F.action == PlanAction.SITE), office())
async def site_picked(query: CallbackQuery, callback_data: PlanStep, planner: Planner) -> None:
    """Keeps the site (none: the client's own address) and asks for the type."""
    if not await _live(query, callback_data, planner):
        return
    site_id = row_id(callback_data.value) if callback_data.value else None
    data = await planner.state.get_data()
    if callback_data.value:
        site = await clients.site(planner.session, site_id) if site_id else None
        if site is None or site.client_id != data.get("client_id"):
            await query.answer(planner.t("errors.old_button"), show_alert=True)
            return
    await query.answer()
    await planner.state.update_data(site_id=site_id)
    await _ask(planner, chat_of(query), "template")


@router.callback_query(PlanStep.filter(F.action == PlanAction.NEW_SITE), office())
async def site_new(query: CallbackQuery, callback_data: PlanStep, planner: Planner) -> None:
    """Asks for the address of a new site of the client."""
    if not await _live(query, callback_data, planner):
        return
    await query.answer()
    await _ask(planner, chat_of(query), "site_address")


@router.message(StateFilter(PlanSteps.site_address), office(), NOT_COMMAND, F.text)
async def site_typed(message: Message, planner: Planner) -> None:
    """Creates the site (first line: its name) and asks for the type."""
    try:
        text = clean_text(message.text or "", maximum=SITE_MAX)
    except ParseError as error:
        await message.answer(error_text(planner.t, error))
        return
    data = await planner.state.get_data()
    site = await clients.add_site(
        planner.session, data["client_id"], name=text.split("\n")[0][:200], address=text
    )
    await planner.state.update_data(site_id=site.id)
    await noted(planner, message, "plan:site", text)
    await _ask(planner, message.chat.id, "template")


@router.callback_query(PlanStep.filter(F.action == PlanAction.TEMPLATE), office())
async def template_picked(query: CallbackQuery, callback_data: PlanStep, planner: Planner) -> None:
    """Keeps the type and asks for the request."""
    if not await _live(query, callback_data, planner):
        return
    if callback_data.value not in planner.templates:
        await query.answer(planner.t("errors.old_button"), show_alert=True)
        return
    await query.answer()
    await planner.state.update_data(template=callback_data.value)
    await _ask(planner, chat_of(query), "request")


@router.message(StateFilter(PlanSteps.request), office(), NOT_COMMAND, F.text)
async def request_typed(message: Message, planner: Planner) -> None:
    """Keeps the client's request and asks for the date and time."""
    try:
        text = clean_text(message.text or "", maximum=REQUEST_MAX)
    except ParseError as error:
        await message.answer(error_text(planner.t, error))
        return
    await planner.state.update_data(request=text)
    await noted(planner, message, "plan:request", text)
    await _ask(planner, message.chat.id, "when")


@router.message(StateFilter(PlanSteps.when), office(), NOT_COMMAND, F.text)
async def when_typed(message: Message, planner: Planner) -> None:
    """Keeps the date and time (a past one or a bad format is explained) and asks
    for the technician."""
    try:
        moment = await read_when(planner, message.text or "")
    except ParseError as error:
        await message.answer(error_text(planner.t, error))
        return
    await planner.state.update_data(when=moment.isoformat())
    await noted(planner, message, "plan:when", moment.isoformat())
    await _ask(planner, message.chat.id, "technician", moment_in_words(planner, moment))


@router.callback_query(PlanStep.filter(F.action == PlanAction.TECHNICIAN), office())
async def technician_picked(
    query: CallbackQuery, callback_data: PlanStep, planner: Planner
) -> None:
    """Creates the planned intervention, tells the technician and the office, and
    offers the changes."""
    p, t = planner, planner.t
    if not await _live(query, callback_data, p):
        return
    picked = row_id(callback_data.value)
    person = await users.get(p.session, picked) if picked else None
    data = await p.state.get_data()
    template = p.templates.get(data.get("template", ""))
    if person is None or not lifecycle.assignable(person) or template is None:
        await query.answer(t("errors.old_button"), show_alert=True)
        return
    await query.answer()
    await p.state.clear()
    when = dt.datetime.fromisoformat(data["when"])
    made = await interventions.create(
        p.session,
        year=when.astimezone(p.options.tz).year,
        client_id=data["client_id"],
        kind=template.kind,
        template=template.name,
        created_by=p.user,
        technician=person,
        scheduled_at=when,
        site_id=data.get("site_id"),
        request=data.get("request"),
    )
    job = await interventions.for_planning(p.session, made.id)
    assert job is not None
    tell(p, person, "plan.told_new", job, open_button=True)
    tell_office(
        p.session,
        p.options,
        "plan.office_assigned",
        intervention_id=job.id,
        number=job.number,
        technician=person.name,
        when=p.options.local(when),
        client=job.client.name,
    )
    text = t("plan.created", number=job.number) + "\n\n" + card(p, job)
    await p.bot.send_message(chat_of(query), text, reply_markup=change_keyboard(t, job))


@router.message(
    StateFilter(PlanSteps.template, PlanSteps.site, PlanSteps.technician), office(), NOT_COMMAND
)
async def buttons_expected(message: Message, planner: Planner) -> None:
    """Anything but a tap where buttons are expected: asks again."""
    await _ask(planner, message.chat.id, await _step(planner), lead=planner.t("plan.use_buttons"))


@router.message(StateFilter(PlanSteps), office(), NOT_COMMAND)
async def text_expected(message: Message, planner: Planner) -> None:
    """A photo or sticker where text is expected: says so and asks again."""
    await _ask(planner, message.chat.id, await _step(planner), lead=planner.t("new.text_expected"))


@router.callback_query(PlanStep.filter(), office())
async def old_plan_press(query: CallbackQuery, t: Translator) -> None:
    """A /plan button this version does not know."""
    await query.answer(t("errors.old_button"), show_alert=True)


@router.callback_query(PlanStep.filter())
async def plan_press_refused(query: CallbackQuery, t: Translator) -> None:
    """Only the office plans."""
    await query.answer(t("errors.office_only"), show_alert=True)
