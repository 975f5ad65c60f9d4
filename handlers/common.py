"""What everyone can do: /start (with or without an invite), /help, /lang, /cancel."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram.utils.text_decorations import html_decoration as hd
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import client, menus
from handlers.callbacks import AskAccess, ChooseLanguage
from handlers.context import Options
from handlers.filters import Known, role_name
from handlers.i18n import LANGUAGES, Translator
from handlers.tell import Html, say, tell_person
from storage import clients, invites, users
from storage.models import Role, User

router = Router(name="common")

LANGUAGE_NAMES = {"fr": "Français", "en": "English"}


def ask_access_keyboard(t: Translator) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=t("access.button"), callback_data=AskAccess())
    return builder.as_markup()


_EVERYONE = ("verify", "lang", "help")
_OFFICE = ("plan", "change", "board", "invite", "export", "stats", "client", "find")
#: The lines of /help for each role (keys of the [help] catalog section), in order:
#: each command once, with the one meaning it has for that role. A technician's
#: /cancel also puts a report aside, which the others' does not.
HELP: dict[Role, tuple[str, ...]] = {
    Role.TECHNICIAN: ("today", "list", "new", "resume", *_EVERYONE, "stop_report"),
    Role.DISPATCHER: (*_OFFICE, *_EVERYONE, "cancel"),
    Role.ADMIN: (*_OFFICE, *_EVERYONE, "cancel"),
    Role.CLIENT: ("reports", "visit", *_EVERYONE, "cancel"),
}


def help_text(t: Translator, user: User) -> str:
    """What this person's role can do, one command a line."""
    lines = [t("help.title", role=role_name(t, user.role))]
    lines.extend(t(f"help.{key}") for key in HELP[Role(user.role)])
    return "\n".join(lines)


@router.message(CommandStart(deep_link=True, magic=F.args.startswith("inv_")))
async def start_with_invite(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    user: User | None,
    t: Translator,
    options: Options,
) -> None:
    """Registers the person with the invite's role (if the invite is valid) and greets them."""
    sender = message.from_user
    if sender is None:
        return
    code = command.args or ""
    planned = await invites.find(session, code)
    staff = user is not None and user.role != Role.CLIENT
    if planned is not None and planned.client_id is not None and staff:
        await message.answer(t("invite.client_link_for_client"))
        return
    try:
        invite = await invites.claim(session, code)
    except invites.InviteRefused as refused:
        await message.answer(t(f"invite.refused_{refused.problem.value}"))
        return
    role = Role.ADMIN if sender.id in options.admin_ids else Role(invite.role)
    person = await users.add(
        session, sender.id, invite.name or sender.full_name, role, username=sender.username
    )
    invites.mark_used(invite, person)
    waiting = 0
    if invite.client_id is not None:
        linked = await clients.get(session, invite.client_id)
        if linked is not None:
            linked.user_id = person.id
            if linked.language is None and person.language is None and sender.language_code:
                linked.language = "en" if sender.language_code.startswith("en") else "fr"
            waiting = await client.catch_up(session, linked, person, options)
    if invite.created_by_id is not None:
        inviter = await users.get(session, invite.created_by_id)
        if inviter is not None and inviter.telegram_id != sender.id:
            tell_person(
                session,
                options,
                inviter.telegram_id,
                inviter.language,
                lambda tr: say(tr, "invite.used", name=person.name, role=Html(role_name(tr, role))),
            )
    text = t("start.registered", name=hd.quote(person.name), role=role_name(t, role))
    if waiting:
        text += "\n\n" + t("start.reports_on_the_way", count=waiting)
    await message.answer(text + "\n\n" + help_text(t, person))


@router.message(CommandStart())
async def start(message: Message, session: AsyncSession, user: User | None, t: Translator) -> None:
    """Greets a known person with what they can do (and sets their menu if their chat
    lacks it); offers an unknown one to ask for access."""
    if user is None:
        await message.answer(t("start.unknown"), reply_markup=ask_access_keyboard(t))
        return
    await menus.refresh(session, user)
    await message.answer(t("start.welcome", name=hd.quote(user.name)) + "\n\n" + help_text(t, user))


@router.message(Command("help"), Known())
async def show_help(message: Message, user: User, t: Translator) -> None:
    """Lists the commands this person's role can use."""
    await message.answer(help_text(t, user))


@router.message(Command("lang"), Known())
async def choose_language(message: Message, t: Translator) -> None:
    """Offers the languages as buttons; the choice is stored by `set_language`."""
    builder = InlineKeyboardBuilder()
    for code in LANGUAGES:
        builder.button(text=LANGUAGE_NAMES[code], callback_data=ChooseLanguage(code=code))
    await message.answer(t("lang.choose"), reply_markup=builder.as_markup())


@router.callback_query(ChooseLanguage.filter(), Known())
async def set_language(
    query: CallbackQuery, callback_data: ChooseLanguage, session: AsyncSession, user: User
) -> None:
    """Stores the chosen language on the person (their menu follows) and confirms in
    that language."""
    if callback_data.code not in LANGUAGES:
        await query.answer()
        return
    users.set_language(session, user, callback_data.code)
    t = Translator(callback_data.code)
    await query.answer(t("lang.done"))
    if isinstance(query.message, Message):
        await query.message.edit_text(t("lang.done"))


@router.message(Command("cancel"), Known())
async def cancel(message: Message, state: FSMContext, t: Translator) -> None:
    """Leaves whatever multi-step conversation is under way (a report being filled in
    is paused by the technician's area, which gets /cancel when nothing else is)."""
    if await state.get_state() is None:
        raise SkipHandler

    await state.clear()
    await message.answer(t("cancel.done"))
