"""Typed button payloads (each well under Telegram's 64 bytes)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.i18n import Translator


class AskAccess(CallbackData, prefix="ask"):
    """An unknown person asks the admins for access."""


class DecideAccess(CallbackData, prefix="dec"):
    """An admin grants a role to an access request, or refuses it (role "no")."""

    request_id: int
    role: str


class ChooseLanguage(CallbackData, prefix="lang"):
    code: str


class InviteRole(CallbackData, prefix="inv"):
    """The role an invite link will grant."""

    role: str


class Decide(CallbackData, prefix="val"):
    """The office validates ("ok") or returns ("back") intervention `i`."""

    a: str
    i: int


def decision_keyboard(t: Translator, intervention_id: int) -> InlineKeyboardMarkup:
    """Validate / Return, under a submitted report in the office chat."""
    builder = InlineKeyboardBuilder()
    builder.button(text=t("validation.validate"), callback_data=Decide(a="ok", i=intervention_id))
    builder.button(text=t("validation.return"), callback_data=Decide(a="back", i=intervention_id))
    return builder.as_markup()
