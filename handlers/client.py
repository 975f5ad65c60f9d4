"""The client's side: their validated reports, a rating after each one, and a way to
ask for a new visit. A client sees only their own interventions."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram.utils.text_decorations import html_decoration as hd
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.context import Options
from handlers.filters import Answered, HasRole
from handlers.i18n import Translator, kind_label
from handlers.parsing import ParseError, clean_text
from storage import answers, outbox
from storage.models import Answer, Client, Intervention, Rating, Role, User, VisitRequest
from storage.status import Status

router = Router(name="client")
client_role = HasRole(Role.CLIENT)
LISTED = 10
COMMENT_MAX = 2000
VISIT_MAX = 4000


class Rate(CallbackData, prefix="rate"):
    i: int
    s: int


class Resend(CallbackData, prefix="pdf"):
    i: int


class ClientSteps(StatesGroup):
    rating_comment = State()
    visit = State()


async def client_of(session: AsyncSession, user: User) -> Client | None:
    return await session.scalar(select(Client).where(Client.user_id == user.id).limit(1))


async def own_intervention(
    session: AsyncSession, user: User, intervention_id: int
) -> tuple[Client, Intervention] | None:
    """The intervention if it is this client's and validated; None reveals nothing."""
    client = await client_of(session, user)
    job = await session.get(Intervention, intervention_id)
    if client is None or job is None or job.client_id != client.id:
        return None
    if job.status != Status.VALIDATED:
        return None
    return client, job


@router.callback_query(Rate.filter(F.s == 0), client_role)
async def no_comment(
    query: CallbackQuery,
    callback_data: Rate,
    session: AsyncSession,
    state: FSMContext,
    t: Translator,
    options: Options,
) -> None:
    """No comment: the office is told of the rating alone."""
    await state.clear()
    await query.answer()
    await _tell_office(session, callback_data.i, options)
    if isinstance(query.message, Message):
        await query.message.edit_text(t("client.thanks"))


@router.callback_query(Rate.filter(), client_role)
async def rate(
    query: CallbackQuery,
    callback_data: Rate,
    session: AsyncSession,
    user: User,
    state: FSMContext,
    t: Translator,
) -> None:
    """Stores the rating (once per intervention) and asks for an optional comment."""
    found = await own_intervention(session, user, callback_data.i)
    if found is None or not 1 <= callback_data.s <= 5:
        await query.answer(t("errors.not_allowed"), show_alert=True)
        return
    client, job = found
    if await session.scalar(select(Rating).where(Rating.intervention_id == job.id)):
        await query.answer(t("client.already_rated"), show_alert=True)
        return
    try:
        async with session.begin_nested():
            session.add(Rating(intervention_id=job.id, client_id=client.id, score=callback_data.s))
    except IntegrityError:
        await query.answer(t("client.already_rated"), show_alert=True)
        return
    await state.set_state(ClientSteps.rating_comment)
    await state.set_data({"intervention_id": job.id})
    await query.answer(t("client.thanks"))
    if isinstance(query.message, Message):
        stars = "★" * callback_data.s + "☆" * (5 - callback_data.s)
        await query.message.edit_text(t("client.rated", number=job.number, stars=stars))
        builder = InlineKeyboardBuilder()
        builder.button(text=t("client.no_comment"), callback_data=Rate(i=job.id, s=0))
        await query.message.answer(t("client.ask_comment"), reply_markup=builder.as_markup())


@router.message(StateFilter(ClientSteps.rating_comment), F.text, client_role)
async def rating_comment(
    message: Message,
    session: AsyncSession,
    state: FSMContext,
    t: Translator,
    options: Options,
) -> None:
    """Stores the comment with the rating and tells the office."""
    try:
        comment = clean_text(message.text or "", maximum=COMMENT_MAX)
    except ParseError as error:
        await message.answer(t(error.key, **error.display_values(t.language)))
        return
    data = await state.get_data()
    await state.clear()
    rating = await session.scalar(
        select(Rating).where(Rating.intervention_id == int(data.get("intervention_id", 0)))
    )
    if rating is None:
        await message.answer(t("errors.old_button"))
        return
    rating.comment = comment
    await answers.record(
        session,
        message.chat.id,
        message.message_id,
        step="rating",
        target="rating:comment",
        text=comment,
        intervention_id=rating.intervention_id,
    )
    await _tell_office(session, rating.intervention_id, options)
    await message.answer(t("client.thanks"))


async def _tell_office(session: AsyncSession, intervention_id: int, options: Options) -> None:
    rating = await session.scalar(select(Rating).where(Rating.intervention_id == intervention_id))
    job = await session.get(Intervention, intervention_id)
    if rating is None or job is None or options.office_chat_id is None:
        return
    client = await session.get(Client, job.client_id)
    tr = Translator(options.default_language)
    text = tr(
        "client.office_rating",
        number=job.number,
        client=hd.quote(client.name if client else "?"),
        stars="★" * rating.score + "☆" * (5 - rating.score),
    )
    if rating.comment:
        text += "\n" + tr("client.office_comment", comment=hd.quote(rating.comment))
    outbox.message(session, options.office_chat_id, text, intervention_id=job.id)


@router.message(Command("reports"), client_role)
async def reports(
    message: Message, session: AsyncSession, user: User, t: Translator, options: Options
) -> None:
    """Lists the client's validated reports, newest first, each with a button to get it again."""
    client = await client_of(session, user)
    if client is None:
        await message.answer(t("client.not_linked"))
        return
    jobs = (
        await session.scalars(
            select(Intervention)
            .where(Intervention.client_id == client.id, Intervention.status == Status.VALIDATED)
            .order_by(Intervention.ended_at.desc(), Intervention.id.desc())
            .limit(LISTED)
        )
    ).all()
    if not jobs:
        await message.answer(t("client.no_reports"))
        return
    builder = InlineKeyboardBuilder()
    lines = []
    for job in jobs:
        when = options.local(job.ended_at or job.updated_at)[:10]
        label = f"{job.number} · {kind_label(t.language, job.kind)} · {when}"
        lines.append("• " + label)
        builder.button(text=f"📄 {label}"[:60], callback_data=Resend(i=job.id))
    builder.adjust(1)
    await message.answer(
        t("client.reports") + "\n" + "\n".join(lines), reply_markup=builder.as_markup()
    )


@router.callback_query(Resend.filter(), client_role)
async def resend(
    query: CallbackQuery, callback_data: Resend, session: AsyncSession, user: User, t: Translator
) -> None:
    """Sends one of the client's reports again."""
    from handlers.validation import latest_report

    found = await own_intervention(session, user, callback_data.i)
    report = await latest_report(session, callback_data.i) if found else None
    if found is None or report is None:
        await query.answer(t("errors.not_allowed"), show_alert=True)
        return
    await query.answer()
    outbox.document(
        session,
        user.telegram_id,
        report.path,
        report.file_name or f"{found[1].number}.pdf",
        intervention_id=found[1].id,
    )


@router.message(Command("visit"), client_role)
async def ask_visit(
    message: Message, session: AsyncSession, user: User, state: FSMContext, t: Translator
) -> None:
    """Asks the client to describe their new need."""
    if await client_of(session, user) is None:
        await message.answer(t("client.not_linked"))
        return
    await state.set_state(ClientSteps.visit)
    await message.answer(t("client.ask_visit"))


@router.message(StateFilter(ClientSteps.visit), F.text, client_role)
async def visit_described(
    message: Message,
    session: AsyncSession,
    user: User,
    state: FSMContext,
    t: Translator,
    options: Options,
) -> None:
    """Records the request and sends it to the office as a planning request."""
    if (message.text or "").startswith("/"):
        await message.answer(t("client.visit_expected"))
        return
    try:
        text = clean_text(message.text or "", maximum=VISIT_MAX)
    except ParseError as error:
        await message.answer(t(error.key, **error.display_values(t.language)))
        return
    client = await client_of(session, user)
    await state.clear()
    if client is None:
        await message.answer(t("client.not_linked"))
        return
    request = VisitRequest(client_id=client.id, user_id=user.id, text=text)
    session.add(request)
    await session.flush()
    await answers.record(
        session,
        message.chat.id,
        message.message_id,
        step="visit",
        target=f"visit:{request.id}",
        text=text,
    )
    if options.office_chat_id is not None:
        tr = Translator(options.default_language)
        outbox.message(
            session,
            options.office_chat_id,
            tr(
                "client.office_visit",
                client=hd.quote(client.name),
                phone=hd.quote(client.phone or "—"),
                text=hd.quote(text),
            ),
        )
    await message.answer(t("client.visit_sent"))


@router.edited_message(client_role, Answered("rating", "visit"))
async def edited(
    message: Message,
    given: list[Answer],
    session: AsyncSession,
    user: User,
    t: Translator,
    options: Options,
) -> None:
    """Stores an edited rating comment, or visit request not planned yet, and tells the
    office the corrected text; a bad one is explained and nothing changes."""
    answer = given[0]
    maximum = COMMENT_MAX if answer.step == "rating" else VISIT_MAX
    try:
        text = clean_text(message.text or "", maximum=maximum)
    except ParseError as error:
        await message.answer(t(error.key, **error.display_values(t.language)))
        return
    if answer.step == "rating":
        key = await _correct_rating(session, answer, text, options)
    else:
        key = await _correct_visit(session, user, answer, text, options)
    await message.answer(t(key))


async def _correct_rating(
    session: AsyncSession, answer: Answer, comment: str, options: Options
) -> str:
    """The rating's comment becomes `comment` and the office reads the correction (once,
    however many times the edit arrives); the key of what the client reads."""
    rating = await session.scalar(
        select(Rating).where(Rating.intervention_id == answer.intervention_id)
    )
    job = await session.get(Intervention, answer.intervention_id or 0)
    if rating is None or job is None:
        return "edits.ignored"
    if rating.comment == comment:
        return "edits.rating_saved"
    rating.comment = answer.text = comment
    if options.office_chat_id is not None:
        client = await session.get(Client, job.client_id)
        tr = Translator(options.default_language)
        text = tr(
            "edits.office_rating",
            number=job.number,
            client=hd.quote(client.name if client else "?"),
            comment=hd.quote(comment),
        )
        outbox.message(session, options.office_chat_id, text, intervention_id=job.id)
    return "edits.rating_saved"


async def _correct_visit(
    session: AsyncSession, user: User, answer: Answer, text: str, options: Options
) -> str:
    """The visit request says `text` from now on and the office reads the correction,
    unless the office has planned it already; the key of what the client reads."""
    request = await session.get(VisitRequest, int(answer.target.partition(":")[2] or 0))
    client = await client_of(session, user)
    if request is None or client is None:
        return "edits.ignored"
    if request.intervention_id is not None:
        return "edits.visit_planned"
    if request.text == text:
        return "edits.visit_saved"
    request.text = answer.text = text
    if options.office_chat_id is not None:
        tr = Translator(options.default_language)
        outbox.message(
            session,
            options.office_chat_id,
            tr("edits.office_visit", client=hd.quote(client.name), text=hd.quote(text)),
        )
    return "edits.visit_saved"


@router.message(StateFilter(ClientSteps.visit, ClientSteps.rating_comment), client_role)
async def text_expected(message: Message, t: Translator) -> None:
    """Anything but text while a description or comment is expected."""
    await message.answer(t("client.visit_expected"))
