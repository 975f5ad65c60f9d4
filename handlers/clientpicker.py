"""Finding or creating the client, the same way in /new and in /plan.

    client: part of the name ─▶ results as buttons (typos tolerated) ──tap──▶ `then`
              │                   ├─ ➕ New client ─┐
              │                   └─ 🔁 Type again (when nothing was found)
              └─ ➕ New client ─▶ name ─▶ contact ─▶ phone ─▶ email ─▶ address ─▶ `then`

These are questions of the conversation engine (handlers.steps, handlers.talk):
/new and /plan put `client_questions()` first among their own. The draft of a new
client is kept in the conversation's data until its last detail, then the client is
created. Buttons are the conversation's own payloads, with the picker's actions
(`PickAction`, whose values /new's and /plan's actions share).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aiogram.types import Message
from aiogram.utils.text_decorations import html_decoration as hd

from handlers.callbacks import row_id
from handlers.steps import HERE, Button, Question, plain
from handlers.talk import Talk
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


#: The picker's questions, about a conversation of any area.
Ask = Question[Talk[Any]]
Press = Button[Talk[Any]]


async def _ask_search(ask_key: str, talk: Talk[Any]) -> None:
    """Part of the client's name, or a new client."""
    new = talk.button(talk.t("new.new_client"), PickAction.NEW)
    await talk.ask(talk.t(ask_key), [[new]])


def read_query(_talk: Talk[Any], text: str) -> str:
    """What the client is searched by: one line with enough letters or digits."""
    query = one_line(text, QUERY_MAX)
    if sum(char.isalnum() for char in query) < QUERY_MIN:
        raise ParseError("new.too_short", minimum=QUERY_MIN)
    return query


async def _results(talk: Talk[Any], message: Message, query: str) -> None:
    """The best clients for the words typed, as buttons, with "New client" (and "Type
    again" when none is found); the conversation stays at the search."""
    t = talk.t
    await talk.update(query=query)
    await talk.note(message, "search", query)
    found = await clients.search(talk.session, query, limit=RESULTS)
    rows = [[talk.button(client_label(c), PickAction.PICK, str(c.id))] for c in found]
    rows.append([talk.button(t("new.new_client"), PickAction.NEW)])
    if not found:
        rows.append([talk.button(t("new.type_again"), PickAction.AGAIN)])
    key = "new.results" if found else "new.no_result"
    await talk.ask(t(key, query=hd.quote(query)), rows)


async def _client_exists(talk: Talk[Any], value: str) -> bool:
    client_id = row_id(value)
    return client_id is not None and await clients.get(talk.session, client_id) is not None


async def _keep_client(talk: Talk[Any], value: str) -> bool:
    await talk.update(client_id=row_id(value))
    return True


async def _new_client(talk: Talk[Any], _value: str) -> bool:
    await talk.update(draft={})
    return True


async def _ask_detail(talk: Talk[Any]) -> None:
    """A detail of the new client, with Skip when it may be left empty (and, for the
    name, the words searched as a button)."""
    t, step = talk.t, talk.stage or ""
    rows = []
    if step == "name" and talk.data.get("query"):
        rows.append(
            [talk.button(t("new.use_query", query=hd.quote(talk.data["query"])), PickAction.USE)]
        )
    if not BY_STEP[step].required:
        rows.append([talk.button(t("new.skip"), PickAction.SKIP)])
    name = hd.quote(talk.data.get("draft", {}).get("name", ""))
    await talk.ask(t(f"new.ask_{step}", name=name), rows)


async def _keep_detail(talk: Talk[Any], step: str, value: str | None) -> None:
    """Keeps one detail of the new client; after the last, creates the client, which
    the next question names with "client saved" before it."""
    draft = dict(talk.data.get("draft", {}))
    draft[BY_STEP[step].column] = value
    await talk.update(draft=draft)
    if step != DETAILS[-1].step:
        return
    client = await clients.create(
        talk.session,
        name=draft["name"],
        contact_name=draft.get("contact_name"),
        phone=draft.get("phone"),
        email=draft.get("email"),
        address=draft.get("address"),
    )
    talk.data = {"k": talk.data["k"], "client_id": client.id, "q": talk.data.get("q")}
    await talk.state.set_data(talk.data)
    talk.lead = talk.t("new.client_created")


def _detail(index: int, then: str) -> Ask:
    """The question of the `index`th detail; after the last comes `then`."""
    detail = DETAILS[index]
    following = DETAILS[index + 1].step if index + 1 < len(DETAILS) else then

    async def typed(talk: Talk[Any], message: Message, value: str) -> None:
        await talk.note(message, detail.step, value)
        await _keep_detail(talk, detail.step, value)

    async def skipped(talk: Talk[Any], _value: str) -> bool:
        await _keep_detail(talk, detail.step, None)
        return True

    async def searched(talk: Talk[Any], _value: str) -> bool:
        await _keep_detail(talk, detail.step, read_name(str(talk.data["query"])))
        return True

    async def has_query(talk: Talk[Any], _value: str) -> bool:
        try:
            return bool(read_name(str(talk.data.get("query", ""))))
        except ParseError:
            return False

    buttons: tuple[Press, ...] = ()
    if not detail.required:
        buttons = (Button(PickAction.SKIP, following, do=skipped),)
    elif detail.step == "name":
        buttons = (Button(PickAction.USE, following, do=searched, allowed=has_query),)
    return Question(
        detail.step, f"new.ask_{detail.step}", _ask_detail, "new.text_expected",
        read=plain(detail.read), store=typed, then=following, buttons=buttons,
        required="new.name_required" if detail.required else None,
    )  # fmt: skip


def client_questions(ask_key: str, then: str) -> tuple[Ask, ...]:
    """Finding the client ("client", asked by `ask_key`) or creating one (its details);
    once the client is known, the conversation asks `then`."""

    async def ask_search(talk: Talk[Any]) -> None:
        await _ask_search(ask_key, talk)

    search = Question(
        "client", ask_key, ask_search, "new.text_expected",
        read=read_query, store=_results, then=HERE,
        buttons=(
            Button(PickAction.PICK, then, do=_keep_client, allowed=_client_exists),
            Button(PickAction.NEW, "name", do=_new_client),
            Button(PickAction.AGAIN, "client"),
        ),
    )  # fmt: skip
    return (search, *(_detail(index, then) for index in range(len(DETAILS))))
