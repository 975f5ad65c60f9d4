"""People the bot does not know: they see no data, only a way to ask for access,
which reaches the admins, who decide with one tap."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram.utils.text_decorations import html_decoration as hd
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.callbacks import REFUSE, AskAccess, DecideAccess
from handlers.common import ask_access_keyboard
from handlers.context import Options
from handlers.filters import HasRole, Known, role_name
from handlers.i18n import Translator, pick_language
from handlers.tell import Html, say, tell_person
from storage import users
from storage.models import Role, User

router = Router(name="access")

GRANTABLE = (Role.TECHNICIAN, Role.DISPATCHER, Role.CLIENT)


def decision_keyboard(t: Translator, request_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for role in GRANTABLE:
        builder.button(
            text=role_name(t, role), callback_data=DecideAccess(request_id=request_id, role=role)
        )
    builder.button(
        text=t("access.refuse"), callback_data=DecideAccess(request_id=request_id, role=REFUSE)
    )
    builder.adjust(3, 1)
    return builder.as_markup()


@router.callback_query(AskAccess.filter(), Known(False))
async def ask_access(
    query: CallbackQuery, session: AsyncSession, t: Translator, options: Options
) -> None:
    """Records the request and sends it to every admin with role buttons."""
    person = query.from_user
    if await users.open_access_request(session, person.id) is not None:
        await query.answer(t("access.already_asked"), show_alert=True)
        return
    request = await users.request_access(
        session, person.id, person.full_name, person.username, person.language_code
    )
    admins = await users.with_roles(session, {Role.ADMIN})
    admin_chats = {admin.telegram_id: admin.language for admin in admins}
    for admin_id in options.admin_ids:
        admin_chats.setdefault(admin_id, None)
    who = person.full_name + (f" (@{person.username})" if person.username else "")
    for chat_id, language in admin_chats.items():
        tell_person(
            session,
            options,
            chat_id,
            language,
            "access.request_for_admin",
            keyboard=lambda tr: decision_keyboard(tr, request.id),
            who=who,
            telegram_id=person.id,
        )
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(t("access.sent"))


@router.callback_query(DecideAccess.filter(), HasRole(Role.ADMIN))
async def decide_access(
    query: CallbackQuery,
    callback_data: DecideAccess,
    session: AsyncSession,
    user: User,
    t: Translator,
    options: Options,
) -> None:
    """Grants the chosen role (or refuses), tells the requester, and marks the request decided."""
    request = await users.access_request(session, callback_data.request_id)
    if request is None:
        await query.answer(t("errors.old_button"), show_alert=True)
        return
    if request.decision is not None:
        await query.answer(t("access.already_decided"), show_alert=True)
        return
    # The request keeps the language Telegram gave, not one chosen with /lang.
    requester = pick_language(None, request.language, options.default_language)
    if callback_data.role not in (REFUSE, *GRANTABLE):
        await query.answer(t("errors.old_button"), show_alert=True)
        return
    if not await users.decide_access_request(session, request, callback_data.role, user):
        await query.answer(t("access.already_decided"), show_alert=True)
        return
    if callback_data.role == REFUSE:
        tell_person(session, options, request.telegram_id, requester, "access.refused")
        outcome = t("access.decided_refused", name=hd.quote(request.name))
    else:
        role = Role(callback_data.role)
        await users.add(session, request.telegram_id, request.name, role, request.username)
        tell_person(
            session,
            options,
            request.telegram_id,
            requester,
            lambda tr: say(tr, "access.granted", role=Html(role_name(tr, role))),
        )
        outcome = t("access.decided_granted", name=hd.quote(request.name), role=role_name(t, role))
    await query.answer(outcome)
    if isinstance(query.message, Message):
        await query.message.edit_text(outcome)


@router.callback_query(DecideAccess.filter())
async def decide_access_refused(query: CallbackQuery, t: Translator) -> None:
    """Only admins decide on access requests."""
    await query.answer(t("errors.not_allowed"), show_alert=True)


@router.message(Known(False), F.chat.type == ChatType.PRIVATE)
async def unknown_person(message: Message, t: Translator) -> None:
    """Answers anyone unknown politely, with the request-access button, and nothing else."""
    await message.answer(t("start.unknown"), reply_markup=ask_access_keyboard(t))


@router.message(Known(False))
async def unknown_person_in_a_group(message: Message) -> None:
    """Someone unknown chatting in a group the bot is in: not addressed to the bot."""


@router.callback_query(Known(False))
async def unknown_person_button(query: CallbackQuery, t: Translator) -> None:
    """A button pressed by someone unknown does nothing but say so."""
    await query.answer(t("errors.not_allowed"), show_alert=True)
