"""Typed button payloads (each well under Telegram's 64 bytes).

A press carries whatever the person's client sends: a number in a payload is
checked against what the database can hold before it reaches a query. A payload
that does not fit its type matches no handler and gets the polite "old button"
answer (handlers/fallback.py).
"""

from __future__ import annotations

from typing import Annotated, Literal

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder
from pydantic import Field

from handlers.i18n import Translator

#: The largest id a row can have: PostgreSQL's integer columns hold 32 bits.
MAX_ROW_ID = 2**31 - 1
#: A row id in a button (1 and up).
RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]
#: A row id, or 0 for "none".
RowIdOrZero = Annotated[int, Field(ge=0, le=MAX_ROW_ID)]


def row_id(text: str | None) -> int | None:
    """The row id written in `text` (a button's value, a command's argument), or None
    when it is not one the database could hold."""
    if text is None or not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ROW_ID else None


class AskAccess(CallbackData, prefix="ask"):
    """An unknown person asks the admins for access."""


class DecideAccess(CallbackData, prefix="dec"):
    """An admin grants a role to an access request, or refuses it (role "no")."""

    request_id: RowId
    role: str


class ChooseLanguage(CallbackData, prefix="lang"):
    code: str


class InviteRole(CallbackData, prefix="inv"):
    """The role an invite link will grant."""

    role: str


class Decide(CallbackData, prefix="val"):
    """The office validates ("ok") or returns ("back") intervention `i`, as shown in its
    issued version `r`: a press under an older version is refused."""

    a: Literal["ok", "back"]
    i: RowId
    r: RowId


def decision_keyboard(t: Translator, intervention_id: int, issue_id: int) -> InlineKeyboardMarkup:
    """Validate / Return, under a submitted report (version `issue_id`) in the office chat."""
    builder = InlineKeyboardBuilder()
    for action, label in (("ok", "validation.validate"), ("back", "validation.return")):
        builder.button(text=t(label), callback_data=Decide(a=action, i=intervention_id, r=issue_id))
    return builder.as_markup()
