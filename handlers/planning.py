"""Planning for the office: /plan an intervention, /change it, /board of the day.

    /plan ─▶ client (search, or ➕ new: name, contact, phone, email, address)
          ─▶ site (the client's address, one of its sites, or ➕ a new one)
          ─▶ type ─▶ request ─▶ date and time ─▶ technician ─▶ planned
    /change OT-2026-0042, or the buttons under the confirmation:
          Reassign (technician buttons) · Reschedule (date) · Postpone (reason, date)
          · Cancel (reason)

Every change is made by storage.lifecycle, which checks it against the rules and
writes it to the audit trail: postponing and cancelling move the status; reassigning
and rescheduling keep it (from = to, with a note saying what changed), so the one
trail the office reads tells the whole story. The technicians concerned are told
through the outbox, in their own language.

Each message typed for /plan or /change is remembered as the answer it gave, so that
an edit of it, even in the office group, is answered (it changes nothing: what it
started is already under way or done).

The client steps reuse /new's readers and labels (handlers.technician.new). Buttons of
/plan carry a token of the conversation and the step they were shown for, as in /new.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram.utils.text_decorations import html_decoration as hd
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.callbacks import (
    Change,
    ChangeAction,
    Job,
    JobAction,
    PlanAction,
    PlanStep,
    conversation_token,
    row_id,
)
from handlers.context import Options
from handlers.filters import Answered, office
from handlers.i18n import Translator, pick_language
from handlers.provide import provide
from handlers.technician.new import (
    BY_STEP,
    DETAILS,
    QUERY_MIN,
    RESULTS,
    client_label,
    read_name,
)
from reports.rules.reading import ParseError, clean_text, parse_datetime
from reports.rules.templates import Template
from storage import answers, clients, interventions, lifecycle, outbox, users
from storage.models import Answer, Intervention, Role, User, utcnow

router = Router(name="planning")

NOT_COMMAND = ~F.text.startswith("/")
REQUEST_MAX = 2000
REASON_MAX = 500
SITE_MAX = 500


class PlanSteps(StatesGroup):
    client = State()
    name = State()
    contact = State()
    phone = State()
    email = State()
    address = State()
    site = State()
    site_address = State()
    template = State()
    request = State()
    when = State()
    technician = State()


class ChangeSteps(StatesGroup):
    reason = State()
    when = State()


STEPS: dict[str, State] = {
    state.state.partition(":")[2]: state for state in PlanSteps.__states__ if state.state
}
DETAIL_STATES = tuple(STEPS[detail.step] for detail in DETAILS)


@dataclass
class Planner:
    """What the planning handlers work with, gathered once per update."""

    session: AsyncSession
    bot: Bot
    user: User
    t: Translator
    options: Options
    templates: dict[str, Template]
    state: FSMContext

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Planner:
        """The planner of the person behind the update (see handlers.provide)."""
        return cls(
            session=data["session"],
            bot=data["bot"],
            user=data["user"],
            t=data["t"],
            options=data["options"],
            templates=data["templates"],
            state=data["state"],
        )

    def now(self) -> dt.datetime:
        return utcnow()

    def kind(self, job: Intervention, t: Translator | None = None) -> str:
        template = self.templates.get(job.template)
        return template.title((t or self.t).language) if template else job.kind


provide(router, "planner", Planner.from_data)


# Small helpers ------------------------------------------------------------------------


def _chat_id(query: CallbackQuery) -> int:
    return query.message.chat.id if query.message else query.from_user.id


def _address(job: Intervention) -> str:
    if job.site is not None and job.site.address:
        return job.site.address
    return job.client.address or ""


def _error(t: Translator, error: ParseError) -> str:
    return t(error.key, **error.display_values(t.language))


async def _noted(
    p: Planner, message: Message, target: str, text: str | None, job: Intervention | None = None
) -> None:
    """Remember that `message` answered /plan or /change ("plan:request", "change:reason"),
    so that an edit of it gets an answer."""
    await answers.record(
        p.session,
        message.chat.id,
        message.message_id,
        step=target.partition(":")[0],
        target=target,
        text=text,
        intervention_id=job.id if job else None,
    )


def read_when(text: str, options: Options, now: dt.datetime) -> dt.datetime:
    """A date and time in the company's zone ("demain 9h"; a time alone is today),
    refused when it is already past."""
    today = now.astimezone(options.tz).date()
    day, hour = parse_datetime(text, today=today)
    moment = dt.datetime.combine(day or today, hour, tzinfo=options.tz)
    if moment < now:
        raise ParseError("plan.past")
    return moment.astimezone(dt.UTC)


def change_keyboard(t: Translator, job: Intervention) -> InlineKeyboardMarkup | None:
    builder = InlineKeyboardBuilder()
    for allowed in lifecycle.changes_allowed(job.status):
        action = ChangeAction(allowed)
        builder.button(
            text=t(f"plan.{action}"), callback_data=Change(action=action, intervention_id=job.id)
        )
    builder.adjust(2)
    return builder.as_markup() if builder.buttons else None


def card(p: Planner, job: Intervention) -> str:
    t = p.t
    lines = [t("plan.card_title", number=job.number, kind=p.kind(job))]
    lines.append(t("plan.card_client", client=hd.quote(job.client.name)))
    if _address(job):
        lines.append(t("plan.card_address", address=hd.quote(_address(job))))
    when = p.options.local(job.scheduled_at) if job.scheduled_at else "—"
    lines.append(t("plan.card_when", when=when))
    name = job.technician.name if job.technician else "—"
    lines.append(t("plan.card_technician", technician=hd.quote(name)))
    lines.append(t("plan.card_status", status=t(f"status.{job.status}")))
    if job.request:
        lines.append(t("plan.card_request", request=hd.quote(job.request)))
    return "\n".join(lines)


def tell(
    p: Planner, person: User | None, key: str, job: Intervention, *, open_button: bool, **extra: str
) -> None:
    """Queues `key` for a technician, in their language, with an Open button if asked."""
    tell_technician(p.session, p.options, person, key, job, open_button=open_button, **extra)


def tell_technician(
    session: AsyncSession,
    options: Options,
    person: User | None,
    key: str,
    job: Intervention,
    *,
    open_button: bool,
    **extra: str,
) -> None:
    """Queues `key` about `job` (its client and site loaded) for a technician, in their
    language, with an Open button if asked; /plan, /change and the CSV import tell
    technicians this one way."""
    if person is None:
        return
    tr = Translator(pick_language(person.language, None, options.default_language))
    when = options.local(job.scheduled_at) if job.scheduled_at else "—"
    address = _address(job)
    text = tr(
        key,
        number=job.number,
        when=when,
        client=hd.quote(job.client.name),
        address=f" ({hd.quote(address)})" if address else "",
        **extra,
    )
    markup: dict[str, Any] = {}
    if open_button:
        builder = InlineKeyboardBuilder()
        builder.button(
            text=tr("plan.open"), callback_data=Job(intervention_id=job.id, action=JobAction.OPEN)
        )
        markup["reply_markup"] = builder.as_markup().model_dump(exclude_none=True)
    outbox.message(session, person.telegram_id, text, options=markup, intervention_id=job.id)


#: Room left for the list in the office's summary of an import (Telegram's limit is 4096).
IMPORT_SUMMARY_LIMIT = 3500


def tell_office_imported(
    session: AsyncSession, options: Options, jobs: list[Intervention], file_name: str
) -> None:
    """Queues one message for the office group listing the interventions a CSV import
    planned (their client and technician loaded), in the office's language; a long
    list ends with how many more there are."""
    if options.office_chat_id is None or not jobs:
        return
    tr = Translator(options.default_language)
    lines = [tr("plan.imported", count=len(jobs), file=hd.quote(file_name))]
    size = len(lines[0])
    for shown, job in enumerate(jobs):
        line = tr(
            "plan.imported_line",
            number=job.number,
            when=options.local(job.scheduled_at) if job.scheduled_at else "—",
            client=hd.quote(job.client.name),
            technician=hd.quote(job.technician.name if job.technician else tr("plan.nobody")),
        )
        if size + len(line) > IMPORT_SUMMARY_LIMIT:
            lines.append(tr("plan.imported_more", count=len(jobs) - shown))
            break
        lines.append(line)
        size += len(line) + 1
    outbox.message(session, options.office_chat_id, "\n".join(lines))


# /plan: asking --------------------------------------------------------------------------


async def _prompt(p: Planner, step: str, data: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup]:
    """The question of `step` and its buttons."""
    t, token = p.t, data["k"]
    builder = InlineKeyboardBuilder()

    def add(text: str, action: PlanAction, value: str = "") -> None:
        builder.button(
            text=text, callback_data=PlanStep(token=token, step=step, action=action, value=value)
        )

    if step == "client":
        add(t("new.new_client"), PlanAction.NEW)
        return t("plan.ask_client"), builder.as_markup()
    if step in BY_STEP:
        draft = data.get("draft", {})
        if step == "name" and data.get("query"):
            add(t("new.use_query", query=hd.quote(data["query"])), PlanAction.USE)
        if not BY_STEP[step].required:
            add(t("new.skip"), PlanAction.SKIP)
        return t(f"new.ask_{step}", name=hd.quote(draft.get("name", ""))), builder.as_markup()
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


# /plan, /change, /board: the commands -----------------------------------------------------


@router.message(Command("plan"), office())
async def plan(message: Message, planner: Planner) -> None:
    """Starts a fresh /plan and asks for the client."""
    await planner.state.clear()
    await planner.state.set_data({"k": conversation_token()})
    await _ask(planner, message.chat.id, "client")


@router.message(Command("change"), office())
async def change(message: Message, command: CommandObject, planner: Planner) -> None:
    """Shows the intervention named after /change with the changes it allows."""
    await planner.state.clear()
    job = await interventions.by_number(planner.session, command.args or "")
    if job is None:
        await message.answer(planner.t("plan.unknown", number=hd.quote(command.args or "")))
        return
    await show(planner, message.chat.id, job.id)


@router.message(Command("board", "today"), office())
async def board(message: Message, planner: Planner) -> None:
    """Today's interventions, grouped by technician, with their status."""
    p, t = planner, planner.t
    today = p.now().astimezone(p.options.tz).date()
    start = dt.datetime.combine(today, dt.time(), tzinfo=p.options.tz)
    jobs = await interventions.scheduled_between(
        p.session, start.astimezone(dt.UTC), (start + dt.timedelta(days=1)).astimezone(dt.UTC)
    )
    title = t("plan.board_title", date=today.strftime("%d/%m/%Y"))
    if not jobs:
        await message.answer(f"{title}\n\n{t('plan.board_empty')}")
        return
    groups: dict[str, list[Intervention]] = {}
    for job in jobs:
        name = job.technician.name if job.technician else t("plan.board_nobody")
        groups.setdefault(name, []).append(job)
    lines = [title]
    for name in sorted(groups):
        lines.append(f"\n<b>{hd.quote(name)}</b>")
        for job in groups[name]:
            assert job.scheduled_at is not None
            hour = job.scheduled_at.astimezone(p.options.tz).strftime("%H:%M")
            status = t(f"status.{job.status}")
            lines.append(f"• {hour} <b>{job.number}</b> · {hd.quote(job.client.name)} · {status}")
    await message.answer("\n".join(lines))


@router.message(Command("plan", "change", "board"))
async def refused(message: Message, t: Translator) -> None:
    """Planning is the office's."""
    await message.answer(t("errors.office_only"))


@router.message(StateFilter(PlanSteps, ChangeSteps), office(), F.text.startswith("/"))
async def leave_for_command(message: Message, planner: Planner) -> None:
    """Another command during /plan or a change: it is left and the command runs."""
    await planner.state.clear()
    await message.answer(planner.t("plan.left"))
    raise SkipHandler


# /plan: the client ------------------------------------------------------------------------


@router.message(StateFilter(PlanSteps.client), office(), NOT_COMMAND, F.text)
async def client_typed(message: Message, planner: Planner) -> None:
    """Searches the clients by the typed name (typos tolerated) and shows them as buttons."""
    p, t = planner, planner.t
    try:
        query = read_name(message.text or "")
    except ParseError as error:
        await message.answer(_error(t, error))
        return
    if sum(char.isalnum() for char in query) < QUERY_MIN:
        await message.answer(t("new.too_short", minimum=QUERY_MIN))
        return
    token = (await p.state.get_data())["k"]
    await p.state.update_data(query=query)
    await _noted(p, message, "plan:search", query)
    found = await clients.search(p.session, query, limit=RESULTS)
    builder = InlineKeyboardBuilder()
    for client in found:
        builder.button(
            text=client_label(client),
            callback_data=PlanStep(
                token=token, step="client", action=PlanAction.PICK, value=str(client.id)
            ),
        )
    builder.button(
        text=t("new.new_client"),
        callback_data=PlanStep(token=token, step="client", action=PlanAction.NEW),
    )
    builder.adjust(1)
    key = "new.results" if found else "new.no_result"
    await message.answer(t(key, query=hd.quote(query)), reply_markup=builder.as_markup())


@router.callback_query(PlanStep.filter(F.action == PlanAction.PICK), office())
async def client_picked(query: CallbackQuery, callback_data: PlanStep, planner: Planner) -> None:
    """Keeps the chosen client and asks for the site."""
    if not await _live(query, callback_data, planner):
        return
    picked = row_id(callback_data.value)
    client = await clients.get(planner.session, picked) if picked else None
    if client is None:
        await query.answer(planner.t("errors.old_button"), show_alert=True)
        return
    await query.answer()
    await planner.state.update_data(client_id=client.id)
    await _ask(planner, _chat_id(query), "site")


@router.callback_query(PlanStep.filter(F.action == PlanAction.NEW), office())
async def client_new(query: CallbackQuery, callback_data: PlanStep, planner: Planner) -> None:
    """Starts a new client and asks for its name."""
    if not await _live(query, callback_data, planner):
        return
    await query.answer()
    await planner.state.update_data(draft={})
    await _ask(planner, _chat_id(query), "name")


async def _keep(p: Planner, chat_id: int, step: str, value: str | None) -> None:
    """Stores one detail of the new client and asks the next; after the last, creates
    the client and asks for the site."""
    data = await p.state.get_data()
    draft = dict(data.get("draft", {}))
    draft[BY_STEP[step].column] = value
    await p.state.update_data(draft=draft)
    order = [detail.step for detail in DETAILS]
    index = order.index(step)
    if index + 1 < len(order):
        await _ask(p, chat_id, order[index + 1])
        return
    client = await clients.create(
        p.session,
        name=draft["name"],
        contact_name=draft.get("contact_name"),
        phone=draft.get("phone"),
        email=draft.get("email"),
        address=draft.get("address"),
    )
    await p.state.set_data({"k": data["k"], "client_id": client.id})
    await _ask(p, chat_id, "site", lead=p.t("new.client_created"))


@router.message(StateFilter(*DETAIL_STATES), office(), NOT_COMMAND, F.text)
async def detail_typed(message: Message, planner: Planner) -> None:
    """Reads the new client's detail this step asks for, then asks the next."""
    step = await _step(planner)
    try:
        value = BY_STEP[step].read(message.text or "")
    except ParseError as error:
        await message.answer(_error(planner.t, error))
        return
    await _noted(planner, message, f"plan:{step}", value)
    await _keep(planner, message.chat.id, step, value)


@router.callback_query(PlanStep.filter(F.action.in_({PlanAction.SKIP, PlanAction.USE})), office())
async def detail_pressed(query: CallbackQuery, callback_data: PlanStep, planner: Planner) -> None:
    """Skip leaves an optional detail empty; Use takes the words searched as the name."""
    if not await _live(query, callback_data, planner):
        return
    detail = BY_STEP.get(callback_data.step)
    value = None
    if callback_data.action == PlanAction.USE:
        value = str((await planner.state.get_data()).get("query", "")) or None
    if (
        detail is None
        or (callback_data.action == PlanAction.SKIP and detail.required)
        or (
            callback_data.action == PlanAction.USE
            and (callback_data.step != "name" or value is None)
        )
    ):
        await query.answer(planner.t("errors.old_button"), show_alert=True)
        return
    await query.answer()
    await _keep(planner, _chat_id(query), callback_data.step, value)


# /plan: site, type, request, date, technician ----------------------------------------------


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
    await _ask(planner, _chat_id(query), "template")


@router.callback_query(PlanStep.filter(F.action == PlanAction.NEW_SITE), office())
async def site_new(query: CallbackQuery, callback_data: PlanStep, planner: Planner) -> None:
    """Asks for the address of a new site of the client."""
    if not await _live(query, callback_data, planner):
        return
    await query.answer()
    await _ask(planner, _chat_id(query), "site_address")


@router.message(StateFilter(PlanSteps.site_address), office(), NOT_COMMAND, F.text)
async def site_typed(message: Message, planner: Planner) -> None:
    """Creates the site (first line: its name) and asks for the type."""
    try:
        text = clean_text(message.text or "", maximum=SITE_MAX)
    except ParseError as error:
        await message.answer(_error(planner.t, error))
        return
    data = await planner.state.get_data()
    site = await clients.add_site(
        planner.session, data["client_id"], name=text.split("\n")[0][:200], address=text
    )
    await planner.state.update_data(site_id=site.id)
    await _noted(planner, message, "plan:site", text)
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
    await _ask(planner, _chat_id(query), "request")


@router.message(StateFilter(PlanSteps.request), office(), NOT_COMMAND, F.text)
async def request_typed(message: Message, planner: Planner) -> None:
    """Keeps the client's request and asks for the date and time."""
    try:
        text = clean_text(message.text or "", maximum=REQUEST_MAX)
    except ParseError as error:
        await message.answer(_error(planner.t, error))
        return
    await planner.state.update_data(request=text)
    await _noted(planner, message, "plan:request", text)
    await _ask(planner, message.chat.id, "when")


@router.message(StateFilter(PlanSteps.when), office(), NOT_COMMAND, F.text)
async def when_typed(message: Message, planner: Planner) -> None:
    """Keeps the date and time (a past one or a bad format is explained) and asks
    for the technician."""
    try:
        moment = read_when(message.text or "", planner.options, planner.now())
    except ParseError as error:
        await message.answer(_error(planner.t, error))
        return
    await planner.state.update_data(when=moment.isoformat())
    await _noted(planner, message, "plan:when", moment.isoformat())
    await _ask(planner, message.chat.id, "technician")


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
    if p.options.office_chat_id is not None:
        tr = Translator(p.options.default_language)
        outbox.message(
            p.session,
            p.options.office_chat_id,
            tr(
                "plan.office_assigned",
                number=job.number,
                technician=hd.quote(person.name),
                when=p.options.local(when),
                client=hd.quote(job.client.name),
            ),
            intervention_id=job.id,
        )
    text = t("plan.created", number=job.number) + "\n\n" + card(p, job)
    await p.bot.send_message(_chat_id(query), text, reply_markup=change_keyboard(t, job))


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


# Changes -------------------------------------------------------------------------------


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
        _chat_id(query), planner.t(key, number=job.number), reply_markup=builder.as_markup()
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
    office_t = Translator(p.options.default_language)
    old_name = before.name if before else "—"
    note = office_t("plan.note_reassigned", before=old_name, after=person.name)
    await lifecycle.reassign(p.session, job, person, p.user, note)
    tell(p, before, "plan.told_taken_away", job, open_button=False)
    tell(p, person, "plan.told_new", job, open_button=True)
    lead = p.t("plan.reassigned", number=job.number, technician=hd.quote(person.name))
    await show(p, _chat_id(query), job.id, lead)


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
    await planner.bot.send_message(_chat_id(query), planner.t(key, number=job.number))


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
        await message.answer(_error(t, error))
        return
    await _noted(p, message, "change:reason", reason, job)
    if action == ChangeAction.POSTPONE:
        await p.state.update_data(reason=reason)
        await p.state.set_state(ChangeSteps.when)
        await message.answer(t("plan.ask_postponed_when", number=job.number))
        return
    await p.state.clear()
    await lifecycle.cancel(p.session, job, p.user, reason)
    tell(p, job.technician, "plan.told_cancelled", job, open_button=False, reason=hd.quote(reason))
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
        moment = read_when(message.text or "", p.options, p.now())
    except ParseError as error:
        await message.answer(_error(t, error))
        return
    await _noted(p, message, "change:when", moment.isoformat(), job)
    data = await p.state.get_data()
    await p.state.clear()
    office_t = Translator(p.options.default_language)
    before = p.options.local(job.scheduled_at) if job.scheduled_at else "—"
    after = p.options.local(moment)
    if action == ChangeAction.POSTPONE:
        reason = str(data.get("reason", ""))
        note = office_t("plan.note_postponed", reason=reason, after=after)
        await lifecycle.postpone(p.session, job, moment, p.user, note)
        tell(
            p, job.technician, "plan.told_postponed", job, open_button=True, reason=hd.quote(reason)
        )
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


@router.callback_query(PlanStep.filter())
async def plan_press_refused(query: CallbackQuery, t: Translator) -> None:
    """Only the office plans."""
    await query.answer(t("errors.office_only"), show_alert=True)
