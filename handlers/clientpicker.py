"""Finding or creating the client, the same way in /new and in /plan.

    client: part of the name ─▶ results as buttons (typos tolerated) ──tap──▶ `then`
              │                   ├─ ➕ New client ─┐
              │                   └─ 🔁 Type again (when nothing was found)
              └─ ➕ New client ─▶ name ─▶ contact ─▶ phone ─▶ email ─▶ address ─▶ `then`

The conversation keeps its own steps, buttons and filters (handlers.technician.new,
handlers.plan); its handlers hand the client's part to a `ClientPicker`, which reads
what was typed, answers bad input itself, keeps the draft in the conversation's state
and creates the client. Buttons are the conversation's own payloads, built by its
`button` for the picker's actions (`PickAction`, whose values /new and /plan share).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram.utils.text_decorations import html_decoration as hd
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import Translator
from reports.rules.reading import ParseError, clean_text, one_line, read_email, read_phone
from storage import clients
from storage.models import Client

#: How many clients a search shows, best first.
RESULTS = 8
#: Longest button label; the address is added to the client's name when it fits.
LABEL_MAX = 60
#: A search needs this many letters or digits.
QUERY_MIN = 2
QUERY_MAX = 200


class PickAction(StrEnum):
    """What a button of the picker does (NewAction and PlanAction carry the same values)."""

    PICK = "pick"
    NEW = "new"
    AGAIN = "again"
    USE = "use"
    SKIP = "skip"


# Reading the new client's details -------------------------------------------------


def read_name(text: str) -> str:
    return one_line(text, 200)


def read_contact(text: str) -> str:
    return one_line(text, 200)


def read_address(text: str) -> str:
    return clean_text(text, maximum=500)


@dataclass(frozen=True)
class Detail:
    """One detail of a new client: its step, the Client column it fills, how it is read."""

    step: str
    column: str
    read: Callable[[str], str]
    required: bool = False


DETAILS = (
    Detail("name", "name", read_name, required=True),
    Detail("contact", "contact_name", read_contact),
    Detail("phone", "phone", read_phone),
    Detail("email", "email", read_email),
    Detail("address", "address", read_address),
)
BY_STEP = {detail.step: detail for detail in DETAILS}


def client_label(client: Client) -> str:
    """The client's name, with the address when there is room for some of it."""
    name = client.name if len(client.name) <= LABEL_MAX else client.name[: LABEL_MAX - 1] + "…"
    address = " ".join((client.address or "").split())
    room = LABEL_MAX - len(name) - 3
    if not address or room < 8:
        return name
    if len(address) > room:
        address = address[: room - 1].rstrip() + "…"
    return f"{name} · {address}"


def chat_of(query: CallbackQuery) -> int:
    """The chat a button was pressed in."""
    return query.message.chat.id if query.message else query.from_user.id


#: A conversation's button for the picker: (token, step, action, value) -> its payload.
Button = Callable[[str, str, PickAction, str], CallbackData]
#: A conversation's way to move to a step and ask it: (chat id, step, lead).
Ask = Callable[[int, str, str], Awaitable[None]]


@dataclass
class ClientPicker:
    """The client part of one conversation, for one update. `ask_key` is its question
    for the search, `then` the step it asks once the client is known."""

    session: AsyncSession
    t: Translator
    state: FSMContext
    button: Button
    ask: Ask
    ask_key: str
    then: str

    def question(self, step: str, data: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup]:
        """The question of the search ("client") or of a detail, and its buttons."""
        t, token = self.t, data["k"]
        builder = InlineKeyboardBuilder()
        if step == "client":
            builder.button(
                text=t("new.new_client"), callback_data=self.button(token, step, PickAction.NEW, "")
            )
            return t(self.ask_key), builder.as_markup()
        draft = data.get("draft", {})
        if step == "name" and data.get("query"):
            builder.button(
                text=t("new.use_query", query=hd.quote(data["query"])),
                callback_data=self.button(token, step, PickAction.USE, ""),
            )
        if not BY_STEP[step].required:
            builder.button(
                text=t("new.skip"), callback_data=self.button(token, step, PickAction.SKIP, "")
            )
        return t(f"new.ask_{step}", name=hd.quote(draft.get("name", ""))), builder.as_markup()

    async def search(self, message: Message) -> str | None:
        """Searches the clients by the typed name and shows the best ones as buttons,
        with "New client" (and "Type again" when none is found); a bad or too short
        query is explained. The query searched, if any."""
        t = self.t
        try:
            query = one_line(message.text or "", QUERY_MAX)
        except ParseError as error:
            await message.answer(t(error.key, **error.display_values(t.language)))
            return None
        if sum(char.isalnum() for char in query) < QUERY_MIN:
            await message.answer(t("new.too_short", minimum=QUERY_MIN))
            return None
        token = (await self.state.get_data())["k"]
        await self.state.update_data(query=query)
        found = await clients.search(self.session, query, limit=RESULTS)
        builder = InlineKeyboardBuilder()
        for client in found:
            builder.button(
                text=client_label(client),
                callback_data=self.button(token, "client", PickAction.PICK, str(client.id)),
            )
        builder.button(
            text=t("new.new_client"), callback_data=self.button(token, "client", PickAction.NEW, "")
        )
        if not found:
            builder.button(
                text=t("new.type_again"),
                callback_data=self.button(token, "client", PickAction.AGAIN, ""),
            )
        builder.adjust(1)
        key = "new.results" if found else "new.no_result"
        await message.answer(t(key, query=hd.quote(query)), reply_markup=builder.as_markup())
        return query

    async def picked(self, query: CallbackQuery, client_id: int | None) -> None:
        """Keeps the chosen client and asks `then` (a client gone is an old button)."""
        client = await clients.get(self.session, client_id) if client_id else None
        if client is None:
            await query.answer(self.t("errors.old_button"), show_alert=True)
            return
        await query.answer()
        await self.state.update_data(client_id=client.id)
        await self.ask(chat_of(query), self.then, "")

    async def again(self, query: CallbackQuery) -> None:
        """Asks again for part of the client's name."""
        await query.answer()
        await self.ask(chat_of(query), "client", "")

    async def start_new(self, query: CallbackQuery) -> None:
        """Starts a new client and asks for its name."""
        await query.answer()
        await self.state.update_data(draft={})
        await self.ask(chat_of(query), "name", "")

    async def read(self, message: Message, step: str) -> tuple[bool, str | None]:
        """Reads the detail `step` asks for: (True, value), or (False, None) once a bad
        one is explained (the step stays)."""
        t = self.t
        try:
            return True, BY_STEP[step].read(message.text or "")
        except ParseError as error:
            await message.answer(t(error.key, **error.display_values(t.language)))
            return False, None

    async def pressed(self, query: CallbackQuery, step: str, action: PickAction) -> None:
        """Skip leaves an optional detail empty; Use makes the words searched the
        client's name; then the next detail is asked. Where the button cannot apply,
        it is an old one."""
        detail = BY_STEP.get(step)
        value = None
        if action == PickAction.SKIP:
            allowed = detail is not None and not detail.required
        else:
            allowed = action == PickAction.USE and step == "name"
        if allowed and action == PickAction.USE:
            try:
                value = read_name(str((await self.state.get_data()).get("query", "")))
            except ParseError:
                allowed = False
        if not allowed:
            await query.answer(self.t("errors.old_button"), show_alert=True)
            return
        await query.answer()
        await self.keep(chat_of(query), step, value)

    async def keep(self, chat_id: int, step: str, value: str | None) -> None:
        """Stores one detail of the new client and asks the next; after the last, creates
        the client and asks `then`."""
        data = await self.state.get_data()
        draft = dict(data.get("draft", {}))
        draft[BY_STEP[step].column] = value
        await self.state.update_data(draft=draft)
        following = [detail.step for detail in DETAILS]
        index = following.index(step)
        if index + 1 < len(following):
            await self.ask(chat_id, following[index + 1], "")
            return
        client = await clients.create(
            self.session,
            name=draft["name"],
            contact_name=draft.get("contact_name"),
            phone=draft.get("phone"),
            email=draft.get("email"),
            address=draft.get("address"),
        )
        await self.state.set_data({"k": data["k"], "client_id": client.id})
        await self.ask(chat_id, self.then, self.t("new.client_created"))
