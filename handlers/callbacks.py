"""Typed button payloads (each well under Telegram's 64 bytes)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


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
