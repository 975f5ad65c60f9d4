"""The office's tools available so far: invite links for new people.

/invite asks which role the link grants (dispatchers may invite technicians and
clients, admins anyone), then the person's name (or /skip), then answers with a
single-use link that expires after INVITE_DAYS.
"""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.deep_linking import create_start_link
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram.utils.text_decorations import html_decoration as hd

from handlers.callbacks import InviteRole
from handlers.filters import office, role_name
from handlers.i18n import Translator
from handlers.steps import Button, Question
from handlers.talk import SKIP, Conversation, Talk, chat_of
from reports.rules.reading import ParseError
from storage import invites
from storage.models import Role, User

router = Router(name="office")

NAME_MAX = 200


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
    query: CallbackQuery, callback_data: InviteRole, **context: Any
) -> None:
    """Keeps the role and asks for the person's name, in the message of the roles."""
    user: User = context["user"]
    if callback_data.role not in grantable_roles(user):
        await query.answer(context["t"]("errors.not_allowed"), show_alert=True)
        return
    await query.answer()
    values: dict[str, Any] = {"role": callback_data.role}
    if isinstance(query.message, Message):
        values["roles_message"] = query.message.message_id
    await INVITE.start(await INVITE.talk(context, chat_of(query)), values)


async def ask_name(talk: Talk[None]) -> None:
    """The person's name (or /skip), in place of the roles."""
    text = talk.t("invite.ask_name", role=role_name(talk.t, Role(talk.data["role"])))
    if "roles_message" in talk.data:
        await talk.bot.edit_message_text(
            text=text, chat_id=talk.chat_id, message_id=int(talk.data["roles_message"])
        )
    else:
        await talk.say(text)


def read_name(_talk: Talk[None], text: str) -> str:
    name = text.strip()
    if len(name) > NAME_MAX:
        raise ParseError("invite.bad_name", max=NAME_MAX)
    return name


async def create_invite(talk: Talk[None], name: str | None) -> None:
    """Creates the invite with the name (None: anyone) and answers with the link."""
    t, options = talk.t, talk.options
    role = Role(talk.data["role"])
    created = await invites.create(
        talk.session, role, talk.user, options.invite_valid_for, name=name
    )
    link = await create_start_link(talk.bot, created.code)
    await talk.say(
        t(
            "invite.created",
            role=role_name(t, role),
            name=hd.quote(name) if name else t("invite.anyone"),
            link=hd.quote(link),
            expires=options.local(created.expires_at),
        )
    )


async def named(talk: Talk[None], _message: Message, name: str) -> None:
    await create_invite(talk, name)


async def anyone(talk: Talk[None], _value: str) -> bool:
    await create_invite(talk, None)
    return True


#: The invited person's name, or /skip for a link anyone may use; another command is
#: refused with what is expected.
INVITE = Conversation(
    group="InviteSteps",
    name="invite",
    questions=(
        Question(
            "name", "invite.ask_name", ask_name, "invite.name_expected",
            read=read_name, store=named, buttons=(Button(SKIP, None, do=anyone),),
        ),
    ),
    build=lambda _data: None,
    skip=True,
    ask_again=False,
)  # fmt: skip
INVITE.install(router, office())
