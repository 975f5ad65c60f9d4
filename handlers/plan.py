"""/plan for the office: an intervention planned for a client, at a date, for a technician.

    /plan ─▶ client (search, or ➕ new: name, contact, phone, email, address)
          ─▶ site (the client's address, one of its sites, or ➕ a new one)
          ─▶ type ─▶ request ─▶ date and time ─▶ technician ─▶ planned, with the
             changes of handlers.change under its card

The client questions are /new's (handlers.clientpicker); like /new, the conversation
is declared as data for the engine (handlers.talk), and its buttons carry a token of
the conversation and the question they were shown for. Another command leaves it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.text_decorations import html_decoration as hd

from handlers.callbacks import PlanAction, PlanStep, row_id
from handlers.clientpicker import client_questions
from handlers.filters import office
from handlers.i18n import Translator
from handlers.planner import Planner, card, change_keyboard, moment_in_words, read_when, tell
from handlers.provide import provide
from handlers.steps import Button, Question
from handlers.talk import Conversation, Talk, by_two
from handlers.tell import tell_office
from reports.rules.reading import clean_text
from storage import clients, interventions, lifecycle, users
from storage.models import Role

router = Router(name="plan")
provide(router, "planner", Planner.from_data)

REQUEST_MAX = 2000
SITE_MAX = 500
#: Longest button label.
LABEL_MAX = 60

Plan = Talk[Planner]


async def _client_name(talk: Plan) -> str:
    client = await clients.get(talk.session, talk.data.get("client_id", 0))
    return hd.quote(client.name) if client else "—"


# The site ------------------------------------------------------------------------------


async def ask_site(talk: Plan) -> None:
    """The client's own address, one of its sites, or a new one."""
    t = talk.t
    client = await clients.get(talk.session, talk.data["client_id"])
    where = t("plan.client_address")
    if client and client.address:
        where += f" · {client.address}"
    rows = [[talk.button(where[:LABEL_MAX], PlanAction.SITE)]]
    for site in await clients.sites(talk.session, talk.data["client_id"]):
        label = f"{site.name} · {site.address or ''}"[:LABEL_MAX].rstrip(" ·")
        rows.append([talk.button(label, PlanAction.SITE, str(site.id))])
    rows.append([talk.button(t("plan.new_site"), PlanAction.NEW_SITE)])
    await talk.ask(t("plan.ask_site", client=await _client_name(talk)), rows)


async def site_ok(talk: Plan, value: str) -> bool:
    """The client's address (no value), or a site of this client."""
    if not value:
        return True
    site_id = row_id(value)
    site = await clients.site(talk.session, site_id) if site_id else None
    return site is not None and site.client_id == talk.data.get("client_id")


async def keep_site(talk: Plan, value: str) -> bool:
    await talk.update(site_id=row_id(value) if value else None)
    return True


async def ask_site_address(talk: Plan) -> None:
    await talk.ask(talk.t("plan.ask_site_address", client=await _client_name(talk)), [])


def read_site(_talk: Plan, text: str) -> str:
    return clean_text(text, maximum=SITE_MAX)


async def new_site(talk: Plan, message: Message, text: str) -> None:
    """Creates the site (first line: its name)."""
    site = await clients.add_site(
        talk.session, talk.data["client_id"], name=text.split("\n")[0][:200], address=text
    )
    await talk.update(site_id=site.id)
    await talk.note(message, "site", text)


# Type, request, date -------------------------------------------------------------------


async def ask_template(talk: Plan) -> None:
    t, templates = talk.t, talk.of.templates
    ordered = sorted(templates.values(), key=lambda tpl: tpl.title(t.language))
    buttons = [talk.button(tpl.title(t.language), PlanAction.TEMPLATE, tpl.name) for tpl in ordered]
    await talk.ask(t("plan.ask_template", client=await _client_name(talk)), by_two(buttons))


async def template_known(talk: Plan, value: str) -> bool:
    return value in talk.of.templates


async def keep_template(talk: Plan, value: str) -> bool:
    await talk.update(template=value)
    return True


async def ask_request(talk: Plan) -> None:
    await talk.ask(talk.t("plan.ask_request"), [])


def read_request(_talk: Plan, text: str) -> str:
    return clean_text(text, maximum=REQUEST_MAX)


async def ask_when(talk: Plan) -> None:
    await talk.ask(talk.t("plan.ask_when"), [])


async def read_moment(talk: Plan, text: str) -> dt.datetime:
    """A date and time to come (a past one or a bad format is explained)."""
    return await read_when(talk.of, text)


async def keep_moment(talk: Plan, message: Message, moment: dt.datetime) -> None:
    """Keeps the moment, and says it in words before the next question."""
    await talk.update(when=moment.isoformat())
    await talk.note(message, "when", moment.isoformat())
    talk.lead = moment_in_words(talk.of, moment)


# The technician, and planning ----------------------------------------------------------


async def ask_technician(talk: Plan) -> None:
    technicians = await users.with_roles(talk.session, {Role.TECHNICIAN})
    buttons = [
        talk.button(person.name[:LABEL_MAX], PlanAction.TECHNICIAN, str(person.id))
        for person in technicians
    ]
    key = "plan.ask_technician" if technicians else "plan.no_technician"
    await talk.ask(talk.t(key), by_two(buttons))


async def assignable(talk: Plan, value: str) -> bool:
    picked = row_id(value)
    person = await users.get(talk.session, picked) if picked else None
    return person is not None and lifecycle.assignable(person)


async def create_planned(talk: Plan, value: str) -> bool:
    """Creates the planned intervention, tells the technician and the office, and
    offers the changes."""
    p, t, data = talk.of, talk.t, talk.data
    person = await users.get(p.session, int(value))
    template = p.templates[data["template"]]
    assert person is not None  # checked by `assignable` in this update
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
    await talk.say(text, change_keyboard(t, job))
    return True


QUESTIONS: tuple[Question[Plan], ...] = (
    *client_questions("plan.ask_client", "site"),
    Question(
        "site", "plan.ask_site", ask_site, "plan.use_buttons",
        buttons=(
            Button(PlanAction.SITE, "template", do=keep_site, allowed=site_ok),
            Button(PlanAction.NEW_SITE, "site_address"),
        ),
    ),
    Question(
        "site_address", "plan.ask_site_address", ask_site_address, "new.text_expected",
        read=read_site, store=new_site, then="template",
    ),
    Question(
        "template", "plan.ask_template", ask_template, "plan.use_buttons",
        buttons=(Button(PlanAction.TEMPLATE, "request", do=keep_template, allowed=template_known),),
    ),
    Question(
        "request", "plan.ask_request", ask_request, "new.text_expected",
        read=read_request, column="request", target="request", then="when",
    ),
    Question(
        "when", "plan.ask_when", ask_when, "new.text_expected",
        read=read_moment, store=keep_moment, then="technician",
    ),
    Question(
        "technician", "plan.ask_technician", ask_technician, "plan.use_buttons",
        buttons=(Button(PlanAction.TECHNICIAN, None, do=create_planned, allowed=assignable),),
    ),
)  # fmt: skip

PLAN = Conversation(
    group="PlanSteps",
    name="plan",
    questions=QUESTIONS,
    build=lambda data: data["planner"],
    payload=PlanStep,
    left="plan.left",
    refused="errors.office_only",
)


@router.message(Command("plan"), office())
async def plan(message: Message, **data: Any) -> None:
    """Starts a fresh /plan and asks for the client."""
    await PLAN.start(await PLAN.talk(data, message.chat.id))


@router.message(Command("plan"))
async def refused(message: Message, t: Translator) -> None:
    """Planning is the office's."""
    await message.answer(t("errors.office_only"))


PLAN.install(router, office())
