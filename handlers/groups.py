"""Groups and chat ids: what the bot says when it is added to a group, and /chatid.

Making a group the office means putting its id in OFFICE_CHAT_ID, and a group's id
shows nowhere in Telegram's apps. So when someone adds the bot to a group, it says
there what the group's id is and the line to put in .env (or, in the office group,
that it is the office, and sets the office's menu there). /chatid tells an admin
the id of any chat they are in; anyone else registered is told it is for admins.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import JOIN_TRANSITION, ChatMemberUpdatedFilter, Command
from aiogram.types import ChatMemberUpdated, Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.context import Options
from handlers.filters import HasRole, Known
from handlers.i18n import Translator
from handlers.menus import OFFICE
from handlers.tell import tell_office
from storage import outbox
from storage.models import Role

router = Router(name="groups")

GROUPS = (ChatType.GROUP, ChatType.SUPERGROUP)


@router.my_chat_member(ChatMemberUpdatedFilter(JOIN_TRANSITION), F.chat.type.in_(GROUPS))
async def added_to_a_group(
    event: ChatMemberUpdated, bot: Bot, session: AsyncSession, t: Translator, options: Options
) -> None:
    """Says in the group its id and how to make it the office, in the language of
    whoever added the bot; in the office group, says it is the office (in the
    office's language) and queues the office's menu there."""
    chat_id = event.chat.id
    if chat_id == options.office_chat_id:
        tell_office(session, options, "groups.added_office")
        outbox.menu(session, chat_id, OFFICE)
        return
    await bot.send_message(chat_id, t("groups.added", chat_id=chat_id))


@router.message(Command("chatid"), HasRole(Role.ADMIN))
async def chat_id(message: Message, t: Translator, options: Options) -> None:
    """Answers an admin with the chat's id (in a group, how to make it the office)."""
    chat = message.chat.id
    if message.chat.type not in GROUPS:
        key = "chatid.private"
    elif chat == options.office_chat_id:
        key = "chatid.office"
    else:
        key = "chatid.group"
    await message.answer(t(key, chat_id=chat))


@router.message(Command("chatid"), Known())
async def chat_id_refused(message: Message, t: Translator) -> None:
    """Anyone registered but an admin: chat ids are the admins' business."""
    await message.answer(t("chatid.refused"))
