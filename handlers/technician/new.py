"""/new: a technician opens an intervention on the spot, then fills in its report.

    /new ─▶ client: part of the name ─▶ results as buttons ──tap──────────────┐
              │                          └─ ➕ New client ─┐                    │
              └─ ➕ New client ─▶ name ─▶ contact ─▶ phone ─▶ email ─▶ address ─▶ template
    template (tap) ─▶ intervention created and started ─▶ first question of the report

A press shows the next question in place of the one pressed (the results become
the template question, which becomes "created"); a typed answer gets the next
question below it, and the question before loses its buttons.

Its questions are declared as data for the conversation engine (handlers.talk),
kept in the database with the update's unit of work, so it resumes after a restart.
Its buttons carry a token of the conversation and the question they were shown for:
a button of an earlier /new, or of a question that is over, gets a polite answer.
/cancel (common.py) leaves it; any other command, or a button of another
conversation, leaves it too, so that answers meant for a report are never read as a
client's name; /skip leaves an optional detail empty. Finding or creating the client
is /plan's too (handlers.clientpicker).
"""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.text_decorations import html_decoration as hd

from handlers.callbacks import NewAction, NewJob
from handlers.clientpicker import client_questions
from handlers.filters import Answered
from handlers.i18n import Translator
from handlers.steps import Button, Question
from handlers.talk import Conversation, Talk
from handlers.technician.desk import Desk, technician
from handlers.technician.entry import begin, location_keyboard
from storage import clients, interventions
from storage.models import utcnow

router = Router(name="technician-new")


async def ask_template(talk: Talk[Desk]) -> None:
    """The client chosen, and the templates as buttons."""
    t, desk = talk.t, talk.of
    client = await clients.get(desk.session, talk.data.get("client_id", 0))
    name = hd.quote(client.name) if client else "—"
    where = f" · {hd.quote(client.address)}" if client and client.address else ""
    templates = sorted(desk.templates.values(), key=lambda tpl: tpl.title(t.language))
    buttons = [
        talk.button(tpl.title(t.language), NewAction.TEMPLATE, tpl.name) for tpl in templates
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    text = t("new.client_line", client=name, address=where) + "\n\n" + t("new.ask_template")
    await talk.ask(text, rows)


async def template_known(talk: Talk[Desk], value: str) -> bool:
    return value in talk.of.templates and "client_id" in talk.data


async def create_and_start(talk: Talk[Desk], value: str) -> bool:
    """Creates the intervention with the chosen template, assigned to this technician,
    starts it now, offers the location pin and asks the first question of the report."""
    desk, t = talk.of, talk.t
    template = desk.templates[value]
    client = await clients.get(desk.session, talk.data["client_id"])
    assert client is not None  # clients are never deleted
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
    visit = await desk.open(job.id, talk.chat_id)
    assert visit is not None  # just created for this technician
    created = t(
        "new.created",
        number=job.number,
        client=hd.quote(client.name),
        kind=template.title(t.language),
    )
    await talk.conclude(created)
    started = t("entry.started", number=job.number, time=desk.options.local(started_at))
    await talk.say(started, location_keyboard(t))
    await visit.prompt()
    return True


QUESTIONS: tuple[Question[Talk[Desk]], ...] = (
    *client_questions("new.ask_client", "template"),
    Question(
        "template", "new.ask_template", ask_template, "new.choose_template",
        buttons=(Button(NewAction.TEMPLATE, None, do=create_and_start, allowed=template_known),),
    ),
)  # fmt: skip

NEW = Conversation(
    group="NewSteps",
    name="new",
    questions=QUESTIONS,
    build=lambda data: data["desk"],
    payload=NewJob,
    left="new.left",
    leave_on_button=True,
    skip=True,
    one_message=True,
)


@router.message(Command("new"), technician)
async def new(message: Message, **data: Any) -> None:
    """Starts a fresh /new (forgetting any earlier one) and asks for the client's name."""
    await NEW.start(await NEW.talk(data, message.chat.id))


@router.message(Command("new"))
async def new_refused(message: Message, t: Translator) -> None:
    """Only technicians open interventions on the spot (the office will plan them)."""
    await message.answer(t("errors.not_allowed"))


NEW.install(router, technician)


@router.edited_message(technician, Answered("new"))
async def edited(message: Message, t: Translator) -> None:
    """An edited answer of /new changes nothing (the client is made from what was sent):
    says how to correct instead."""
    await message.answer(t("edits.new"))
