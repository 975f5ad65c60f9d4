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


@router.edited_message(F.location)
async def location_moving(message: Message) -> None:
    """A live location moving sends edits: nobody is correcting anything."""


@router.edited_message(F.chat.type == ChatType.PRIVATE)
async def edit_not_taken(message: Message, t: Translator) -> None:
    """An edit nobody took: says it changed nothing and to send the corrected message."""
    await message.answer(t("edits.ignored"))


@router.edited_message()
async def group_chatter_edited(message: Message) -> None:
    """People correcting what they said to each other in a group: nothing to say."""


@router.callback_query()
async def old_button(query: CallbackQuery, t: Translator) -> None:
    """A button from an old message, or one this person may not use: a polite word."""
    await query.answer(t("errors.old_button"), show_alert=True)
