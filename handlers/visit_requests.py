"""A client asks for a new visit: they describe their need, the office reads it as a
planning request (and reads a correction of it, until it is planned)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.client import ClientSteps, client_role
from handlers.context import Options
from handlers.filters import Answered
from handlers.i18n import Translator
from handlers.tell import tell_office
from reports.rules.reading import ParseError, clean_text
from storage import answers, clients, visit_requests
from storage.models import Answer, User

router = Router(name="visit-requests")
VISIT_MAX = 4000


@router.message(Command("visit"), client_role)
async def ask_visit(
    message: Message, session: AsyncSession, user: User, state: FSMContext, t: Translator
) -> None:
    """Asks the client to describe their new need."""
    if await clients.of_user(session, user.id) is None:
        await message.answer(t("client.not_linked"))
        return
    await state.set_state(ClientSteps.visit)
    await message.answer(t("client.ask_visit"))


@router.message(StateFilter(ClientSteps.visit), F.text, client_role)
async def visit_described(
    message: Message,
    session: AsyncSession,
    user: User,
    state: FSMContext,
    t: Translator,
    options: Options,
) -> None:
    """Records the request and sends it to the office as a planning request."""
    if (message.text or "").startswith("/"):
        await message.answer(t("client.visit_expected"))
        return
    try:
        text = clean_text(message.text or "", maximum=VISIT_MAX)
    except ParseError as error:
        await message.answer(t(error.key, **error.display_values(t.language)))
        return
    client = await clients.of_user(session, user.id)
    await state.clear()
    if client is None:
        await message.answer(t("client.not_linked"))
        return
    request = await visit_requests.create(session, client.id, user.id, text)
    await answers.record(
        session,
        message.chat.id,
        message.message_id,
        step="visit",
        target=f"visit:{request.id}",
        text=text,
    )
    tell_office(
        session,
        options,
        "client.office_visit",
        client=client.name,
        phone=client.phone or "—",
        text=text,
    )
    await message.answer(t("client.visit_sent"))


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


@router.message(StateFilter(ClientSteps.visit), client_role)
async def text_expected(message: Message, t: Translator) -> None:
    """Anything but text while a description is expected."""
    await message.answer(t("client.visit_expected"))
