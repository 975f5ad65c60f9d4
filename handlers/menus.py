"""The command menu each chat shows, and what the bot says it is before Start.

Telegram shows in a chat the commands set for the narrowest scope it has: that
chat's own (for the reader's language, else for any language), else the bot's
default. So everyone, known or not, gets the default menu (start, help, language,
verify); each registered person's private chat gets their role's; the office group
gets the office's tools. Each is set for French and English readers ("fr", "en")
and for every other language, in English.

A person's menu is a delivery (storage.outbox.menu), queued by every change of
their role, state or language (storage.users) and made into Bot API calls by the
outbox sender here (`calls`); the sender notes on it the `fingerprint` of what it
set, so that a start after an upgrade that changed a menu sets it again (`up_to_date`).
The default menu and the bot's description are set by the bot as it starts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from aiogram.methods import (
    DeleteMyCommands,
    SetMyCommands,
    SetMyDescription,
    SetMyShortDescription,
    TelegramMethod,
)
from aiogram.types import BotCommand, BotCommandScopeChat
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import LANGUAGES, gettext
from storage import outbox, users
from storage.models import Delivery, DeliveryState, Role, User

#: The menu of the office group (storage.outbox.menu's name for it).
OFFICE = "office"
#: The Telegram language codes menus and texts are set for; None: any other.
CODES: tuple[str | None, ...] = (*LANGUAGES, None)
#: The language shown to readers of any other language.
OTHER_LANGUAGE = "en"

EVERYONE = ("start", "help", "lang", "verify")
#: The office's tools, in the order its day goes.
OFFICE_TOOLS = ("plan", "board", "change", "find", "client", "export", "stats")
MENUS: dict[str, tuple[str, ...]] = {
    Role.TECHNICIAN: ("today", "list", "new", "resume", "cancel", "verify", "help", "lang"),
    Role.CLIENT: ("reports", "visit", "verify", "cancel", "help", "lang"),
    Role.DISPATCHER: (*OFFICE_TOOLS, "invite", "verify", "cancel", "help", "lang"),
    Role.ADMIN: (*OFFICE_TOOLS, "invite", "chatid", "verify", "cancel", "help", "lang"),
    OFFICE: (*OFFICE_TOOLS, "cancel", "help"),
}


def language_for(code: str | None, chosen: str | None = None) -> str:
    """The language of the texts shown to a reader whose Telegram speaks `code`: the
    one their person chose, else theirs when the bot speaks it, else English."""
    if chosen in LANGUAGES:
        return chosen
    return code if code in LANGUAGES else OTHER_LANGUAGE


def commands(names: Iterable[str], language: str) -> list[BotCommand]:
    return [
        BotCommand(command=name, description=gettext(language, f"menu.{name}")) for name in names
    ]


def everyones() -> list[TelegramMethod[Any]]:
    """The calls that set the default menu and the bot's description, in each language."""
    found: list[TelegramMethod[Any]] = []
    for code in CODES:
        language = language_for(code)
        found += [
            SetMyCommands(commands=commands(EVERYONE, language), language_code=code),
            SetMyDescription(
                description=gettext(language, "about.description"), language_code=code
            ),
            SetMyShortDescription(
                short_description=gettext(language, "about.short"), language_code=code
            ),
        ]
    return found


def calls(chat_id: int, name: str | None, chosen: str | None) -> list[TelegramMethod[Any]]:
    """The calls that give chat `chat_id` menu `name` (None: everyone's again) for
    readers of each language; `chosen` is the language its person chose, if any."""
    scope = BotCommandScopeChat(chat_id=chat_id)
    if name not in MENUS:
        return [DeleteMyCommands(scope=scope, language_code=code) for code in CODES]
    return [
        SetMyCommands(
            commands=commands(MENUS[name], language_for(code, chosen)),
            scope=scope,
            language_code=code,
        )
        for code in CODES
    ]


def fingerprint(name: str | None, chosen: str | None) -> str:
    """A short digest of what `calls` sets (the same for the same menu and texts)."""
    made = [call.model_dump(mode="json", exclude_none=True) for call in calls(0, name, chosen)]
    return hashlib.sha256(json.dumps(made, sort_keys=True).encode()).hexdigest()[:16]


def fingerprint_of(delivery: Delivery) -> str:
    """The fingerprint of what a menu delivery sets."""
    options = delivery.options or {}
    return fingerprint(options.get("menu"), options.get("language"))


def up_to_date(latest: Delivery | None, name: str | None, chosen: str | None) -> bool:
    """Whether the chat whose last menu delivery is `latest` shows, or will show,
    menu `name` as it reads today: it is waiting to be sent (it is made from today's
    texts when it goes), or it was sent with the same menu."""
    if latest is None:
        return False
    options = latest.options or {}
    if (options.get("menu"), options.get("language")) != (name, chosen):
        return False
    if latest.state == DeliveryState.PENDING:
        return True
    return latest.state == DeliveryState.SENT and options.get("set") == fingerprint(name, chosen)


async def refresh(session: AsyncSession, user: User) -> None:
    """Queue the person's menu unless their chat already shows it (a person
    registered before they ever opened the bot, whose menu Telegram refused then,
    gets it on their /start)."""
    name = user.role if user.active else None
    latest = (await outbox.latest_menus(session, [user.telegram_id])).get(user.telegram_id)
    if not up_to_date(latest, name, user.language):
        users.queue_menu(session, user)


async def bring_up_to_date(session: AsyncSession, office_chat_id: int | None) -> int:
    """At start: queue the menu of every active person and of the office group whose
    chat does not show it as it reads today (registered before menus were set per
    person, or a menu changed by an upgrade); how many were queued. A person's menu
    Telegram refused (they never opened the bot) waits for their /start; the office's
    is tried again at each start (the bot may have been added to it since)."""
    latest = await outbox.latest_menus(session)
    queued = 0
    for person in await users.with_roles(session, set(Role)):
        last = latest.get(person.telegram_id)
        if last is not None and last.state == DeliveryState.FAILED:
            continue
        if not up_to_date(last, person.role, person.language):
            users.queue_menu(session, person)
            queued += 1
    if office_chat_id is not None and not up_to_date(latest.get(office_chat_id), OFFICE, None):
        outbox.menu(session, office_chat_id, OFFICE)
        queued += 1
    return queued
