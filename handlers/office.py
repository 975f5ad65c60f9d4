"""The office's tools available so far: invite links for new people.

/invite asks which role the link grants (dispatchers may invite technicians and
clients, admins anyone), then the person's name (or /skip), then answers with a
single-use link that expires after INVITE_DAYS.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.deep_linking import create_start_link
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram.utils.text_decorations import html_decoration as hd
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.callbacks import InviteRole
from handlers.context import Options
from handlers.filters import office, role_name
from handlers.i18n import Translator
from storage import invites
from storage.models import Role, User

router = Router(name="office")

NAME_MAX = 200


class InviteSteps(StatesGroup):
    name = State()


def grantable_roles(user: User) -> tuple[Role, ...]:
    if user.role == Role.ADMIN:
        return (Role.TECHNICIAN, Role.DISPATCHER, Role.CLIENT, Role.ADMIN)
    return (Role.TECHNICIAN, Role.CLIENT)


@router.message(Command("invite"), office())
async def invite(message: Message, user: User, t: Translator, state: FSMContext) -> None:
    """Asks which role the new link should grant."""
    await state.clear()
    builder = InlineKeyboardBuilder()
    for role in grantable_roles(user):
        builder.button(text=role_name(t, role), callback_data=InviteRole(role=role))
    builder.adjust(2)
    await message.answer(t("invite.choose_role"), reply_markup=builder.as_markup())


@router.message(Command("invite"))
async def invite_refused(message: Message, t: Translator) -> None:
    """Technicians and clients cannot invite anyone."""
    await message.answer(t("errors.office_only"))


@router.callback_query(InviteRole.filter(), office())
async def invite_role_chosen(
    query: CallbackQuery, callback_data: InviteRole, user: User, t: Translator, state: FSMContext
) -> None:
    """Stores the role in the conversation and asks for the person's name."""
    if callback_data.role not in grantable_roles(user):
        await query.answer(t("errors.not_allowed"), show_alert=True)
        return
    await state.set_state(InviteSteps.name)
    await state.set_data({"role": callback_data.role})
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(t("invite.ask_name", role=role_name(t, callback_data.role)))


@router.message(StateFilter(InviteSteps.name), Command("skip"), office())
@router.message(StateFilter(InviteSteps.name), F.text, office())
async def invite_name_given(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    user: User,
    t: Translator,
    state: FSMContext,
    options: Options,
) -> None:
    """Creates the invite with the name (or none after /skip) and answers with the link."""
    text = (message.text or "").strip()
    name = None if text.startswith("/skip") else text
    if name is not None and (len(name) > NAME_MAX or text.startswith("/")):
        await message.answer(t("invite.bad_name", max=NAME_MAX))
        return
    data = await state.get_data()
    role = Role(data["role"])
    created = await invites.create(session, role, user, options.invite_valid_for, name=name)
    await state.clear()
    link = await create_start_link(bot, created.code)
    await message.answer(
        t(
            "invite.created",
            role=role_name(t, role),
            name=hd.quote(name) if name else t("invite.anyone"),
            link=hd.quote(link),
            expires=options.local(created.expires_at),
        )
    )


@router.message(StateFilter(InviteSteps.name), office())
async def invite_name_expected(message: Message, t: Translator) -> None:
    """Anything but text while the name is expected: say what is expected."""
    await message.answer(t("invite.name_expected"))
