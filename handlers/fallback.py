"""Last in line: what a known person sent that no other handler took."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from handlers.i18n import Translator

router = Router(name="fallback")


@router.message(Command("cancel"))
async def nothing_to_cancel(message: Message, t: Translator) -> None:
    """/cancel with nothing under way."""
    await message.answer(t("cancel.nothing"))


@router.message(F.chat.type == ChatType.PRIVATE)
async def not_understood(message: Message, t: Translator) -> None:
    """Says the message was not understood and points to /help."""
    await message.answer(t("errors.not_understood"))


@router.message()
async def group_chatter(message: Message) -> None:
    """Messages in a group that no command took are people talking to each other."""


@router.callback_query()
async def old_button(query: CallbackQuery, t: Translator) -> None:
    """A button from an old message, or one this person may not use: a polite word."""
    await query.answer(t("errors.old_button"), show_alert=True)
