"""A client asks for a new visit: they describe their need, the office reads it as a
planning request (and reads a correction of it, until it is planned)."""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.client import client_role
from handlers.context import Options
from handlers.filters import Answered
from handlers.i18n import Translator
from handlers.steps import Question
from handlers.talk import Conversation, Talk
from handlers.tell import tell_office
from reports.rules.reading import ParseError, clean_text
from storage import clients, visit_requests
from storage.models import Answer, User

router = Router(name="visit-requests")
VISIT_MAX = 4000


async def ask_visit_text(talk: Talk[None]) -> None:
    await talk.say(talk.t("client.ask_visit"))


def read_visit(_talk: Talk[None], text: str) -> str:
    return clean_text(text, maximum=VISIT_MAX)


async def visit_described(talk: Talk[None], message: Message, text: str) -> None:
    """Records the request and sends it to the office as a planning request."""
    session, t = talk.session, talk.t
    client = await clients.of_user(session, talk.user.id)
    if client is None:
        await message.answer(t("client.not_linked"))
        return
    request = await visit_requests.create(session, client.id, talk.user.id, text)
    await talk.note(message, str(request.id), text)
    tell_office(
        session,
        talk.options,
        "client.office_visit",
        client=client.name,
        phone=client.phone or "—",
        text=text,
    )
    await message.answer(t("client.visit_sent"))


#: A new visit, described in one typed message (a command is refused with what is
#: expected).
VISIT = Conversation(
    group="ClientSteps",
    name="visit",
    questions=(
        Question(
            "visit", "client.ask_visit", ask_visit_text, "client.visit_expected",
            read=read_visit, store=visit_described,
        ),
    ),
    build=lambda _data: None,
    ask_again=False,
)  # fmt: skip


@router.message(Command("visit"), client_role)
async def ask_visit(message: Message, **context: Any) -> None:
    """Asks the client to describe their new need."""
    if await clients.of_user(context["session"], context["user"].id) is None:
        await message.answer(context["t"]("client.not_linked"))
        return
    await VISIT.start(await VISIT.talk(context, message.chat.id))


VISIT.install(router, client_role)


@router.edited_message(client_role, Answered("visit"))
async def edited(
    message: Message,
    given: list[Answer],
    session: AsyncSession,
    user: User,
    t: Translator,
    options: Options,
) -> None:
    """Stores an edited visit request not planned yet and tells the office the corrected
    text; a bad one is explained and nothing changes."""
    try:
        text = clean_text(message.text or "", maximum=VISIT_MAX)
    except ParseError as error:
        await message.answer(t(error.key, **error.display_values(t.language)))
        return
    await message.answer(t(await _correct_visit(session, user, given[0], text, options)))


async def _correct_visit(
    session: AsyncSession, user: User, answer: Answer, text: str, options: Options
) -> str:
    """The visit request says `text` from now on and the office reads the correction,
    unless the office has planned it already; the key of what the client reads."""
    request = await visit_requests.get(session, int(answer.target.partition(":")[2] or 0))
    client = await clients.of_user(session, user.id)
    if request is None or client is None:
        return "edits.ignored"
    if request.intervention_id is not None:
        return "edits.visit_planned"
    if request.text == text:
        return "edits.visit_saved"
    request.text = answer.text = text
    tell_office(session, options, "edits.office_visit", client=client.name, text=text)
    return "edits.visit_saved"
