"""The client's side: their validated reports, a rating after each one, and a way to
ask for a new visit. A client sees only their own interventions."""

from __future__ import annotations

import datetime as dt

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram.utils.text_decorations import html_decoration as hd
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.callbacks import Rate, Resend
from handlers.context import Options
from handlers.filters import Answered, HasRole
from handlers.i18n import Translator, kind_label
from reports.rules.reading import ParseError, clean_text
from storage import answers, clients, interventions, issued, outbox, ratings, visit_requests
from storage.models import Answer, Attachment, Client, Intervention, Rating, Role, User, utcnow
from storage.status import Status

router = Router(name="client")
client_role = HasRole(Role.CLIENT)
LISTED = 10
COMMENT_MAX = 2000
VISIT_MAX = 4000


def rating_keyboard(intervention_id: int) -> InlineKeyboardMarkup:
    """One to five stars, under the client's validated report."""
    builder = InlineKeyboardBuilder()
    for score in range(1, 6):
        builder.button(
            text="★" * score, callback_data=Rate(intervention_id=intervention_id, stars=score)
        )
    builder.adjust(5)
    return builder.as_markup()


async def send_report(
    session: AsyncSession,
    job: Intervention,
    person: User,
    report: Attachment,
    language: str,
    options: Options,
) -> None:
    """The validated report to the client's chat, with the rating buttons unless it is
    rated already."""
    tr = Translator(language)
    summary = tr(
        "client.report_arrived",
        number=job.number,
        kind=kind_label(language, job.kind),
        date=options.local(job.ended_at or job.updated_at),
    )
    outbox.document(
        session,
        person.telegram_id,
        report.path,
        report.file_name or f"{job.number}.pdf",
        caption=summary,
        intervention_id=job.id,
    )
    if await ratings.of_intervention(session, job.id) is None:
        outbox.message(
            session,
            person.telegram_id,
            tr("client.rate_prompt", number=job.number),
            options={"reply_markup": rating_keyboard(job.id).model_dump(exclude_none=True)},
            intervention_id=job.id,
        )


async def catch_up(session: AsyncSession, client: Client, person: User, options: Options) -> int:
    """A client who links their account gets each validated report that never reached
    this account, each with its rating buttons. Returns how many are on their way."""
    language = client.language or options.default_language
    sent = 0
    for job in await interventions.validated_for_client(session, client.id):
        if await outbox.document_to(session, person.telegram_id, job.id):
            continue
        report = await issued.latest_report(session, job.id)
        if report is not None:
            await send_report(session, job, person, report, language, options)
            sent += 1
    return sent


class ClientSteps(StatesGroup):
    rating_comment = State()
    visit = State()


async def own_intervention(
    session: AsyncSession, user: User, intervention_id: int
) -> tuple[Client, Intervention] | None:
    """The intervention if it is this client's and validated; None reveals nothing."""
    client = await clients.of_user(session, user.id)
    job = await interventions.by_id(session, intervention_id)
    if client is None or job is None or job.client_id != client.id:
        return None
    if job.status != Status.VALIDATED:
        return None
    return client, job


@router.callback_query(Rate.filter(F.stars == 0), client_role)
async def no_comment(
    query: CallbackQuery,
    callback_data: Rate,
    session: AsyncSession,
    user: User,
    state: FSMContext,
    t: Translator,
) -> None:
    """No comment: the office is told of the rating alone, now (once)."""
    found = await own_intervention(session, user, callback_data.intervention_id)
    if (
        found is None
        or await ratings.of_intervention(session, callback_data.intervention_id) is None
    ):
        await query.answer(t("errors.not_allowed"), show_alert=True)
        return
    if not await _awaiting_comment(state, callback_data.intervention_id):
        await query.answer(t("client.already_rated"), show_alert=True)
        return
    await state.clear()
    await _release_office_notice(session, callback_data.intervention_id)
    await query.answer(t("client.thanks"))
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
    options: Options,
) -> None:
    """Stores the rating (once per intervention), queues the office's notice (it waits a
    while for a comment), and asks for an optional comment."""
    found = await own_intervention(session, user, callback_data.intervention_id)
    if found is None:
        await query.answer(t("errors.not_allowed"), show_alert=True)
        return
    client, job = found
    if await ratings.of_intervention(session, job.id) is not None:
        await query.answer(t("client.already_rated"), show_alert=True)
        return
    rating = await ratings.add(session, job.id, client.id, callback_data.stars)
    if rating is None:
        await query.answer(t("client.already_rated"), show_alert=True)
        return
    _queue_office_notice(session, job, client, rating, options)
    await state.set_state(ClientSteps.rating_comment)
    await state.set_data({"intervention_id": job.id})
    await query.answer(t("client.thanks"))
    if isinstance(query.message, Message):
        stars = "★" * callback_data.stars + "☆" * (5 - callback_data.stars)
        await query.message.edit_text(t("client.rated", number=job.number, stars=stars))
        builder = InlineKeyboardBuilder()
        builder.button(
            text=t("client.no_comment"), callback_data=Rate(intervention_id=job.id, stars=0)
        )
        await query.message.answer(t("client.ask_comment"), reply_markup=builder.as_markup())


@router.message(StateFilter(ClientSteps.rating_comment), F.text, client_role)
async def rating_comment(
    message: Message,
    session: AsyncSession,
    user: User,
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
    intervention_id = int(data.get("intervention_id", 0))
    found = await own_intervention(session, user, intervention_id)
    rating = await ratings.of_intervention(session, intervention_id) if found else None
    if found is None or rating is None:
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
    client, job = found
    waiting = await outbox.waiting(session, _notice_key(job.id), utcnow() + NOTICE_MARGIN)
    if waiting is not None:
        waiting.text = _office_text(job, client, rating, options)
        waiting.next_attempt_at = utcnow()
    else:
        # The rating alone already reached the office: the comment follows it.
        _queue_office_notice(session, job, client, rating, options, at_once=True)
    await message.answer(t("client.thanks"))


#: How long the office's notice of a rating waits for the client's comment.
COMMENT_WAIT = dt.timedelta(minutes=10)
#: A notice this close to being sent is left alone (the sender may be taking it).
NOTICE_MARGIN = dt.timedelta(seconds=2)


def _notice_key(intervention_id: int) -> str:
    return f"rating:{intervention_id}"


async def _awaiting_comment(state: FSMContext, intervention_id: int) -> bool:
    """Whether this chat is still asked for a comment on this intervention's rating."""
    if await state.get_state() != ClientSteps.rating_comment.state:
        return False
    return int((await state.get_data()).get("intervention_id", 0)) == intervention_id


def _office_text(job: Intervention, client: Client, rating: Rating, options: Options) -> str:
    tr = Translator(options.default_language)
    text = tr(
        "client.office_rating",
        number=job.number,
        client=hd.quote(client.name),
        stars="★" * rating.score + "☆" * (5 - rating.score),
    )
    if rating.comment:
        text += "\n" + tr("client.office_comment", comment=hd.quote(rating.comment))
    return text


def _queue_office_notice(
    session: AsyncSession,
    job: Intervention,
    client: Client,
    rating: Rating,
    options: Options,
    *,
    at_once: bool = False,
) -> None:
    """The office's notice of the rating: sent after COMMENT_WAIT unless the client's
    comment (or "no comment") releases it sooner."""
    if options.office_chat_id is None:
        return
    notice = outbox.message(
        session,
        options.office_chat_id,
        _office_text(job, client, rating, options),
        intervention_id=job.id,
    )
    notice.coalesce_key = _notice_key(job.id)
    notice.next_attempt_at = utcnow() + (dt.timedelta(0) if at_once else COMMENT_WAIT)


async def _release_office_notice(session: AsyncSession, intervention_id: int) -> None:
    """Send the waiting notice of the rating now."""
    waiting = await outbox.waiting(session, _notice_key(intervention_id), utcnow() + NOTICE_MARGIN)
    if waiting is not None:
        waiting.next_attempt_at = utcnow()


@router.message(Command("reports"), client_role)
async def reports(
    message: Message, session: AsyncSession, user: User, t: Translator, options: Options
) -> None:
    """Lists the client's validated reports, newest first, each with a button to get it again."""
    client = await clients.of_user(session, user.id)
    if client is None:
        await message.answer(t("client.not_linked"))
        return
    jobs = await interventions.latest_validated(session, client.id, LISTED)
    if not jobs:
        await message.answer(t("client.no_reports"))
        return
    builder = InlineKeyboardBuilder()
    lines = []
    for job in jobs:
        when = options.local(job.ended_at or job.updated_at)[:10]
        label = f"{job.number} · {kind_label(t.language, job.kind)} · {when}"
        lines.append("• " + label)
        builder.button(text=f"📄 {label}"[:60], callback_data=Resend(intervention_id=job.id))
    builder.adjust(1)
    await message.answer(
        t("client.reports") + "\n" + "\n".join(lines), reply_markup=builder.as_markup()
    )


@router.callback_query(Resend.filter(), client_role)
async def resend(
    query: CallbackQuery, callback_data: Resend, session: AsyncSession, user: User, t: Translator
) -> None:
    """Sends one of the client's reports again."""
    found = await own_intervention(session, user, callback_data.intervention_id)
    report = await issued.latest_report(session, callback_data.intervention_id) if found else None
    if found is None or report is None:
        await query.answer(t("errors.not_allowed"), show_alert=True)
        return
    key = f"resend:{found[1].id}:{user.telegram_id}"
    if await outbox.pending(session, key) is not None:
        await query.answer(t("client.on_its_way"))
        return
    await query.answer()
    again = outbox.document(
        session,
        user.telegram_id,
        report.path,
        report.file_name or f"{found[1].number}.pdf",
        intervention_id=found[1].id,
    )
    again.coalesce_key = key


@router.message(Command("visit"), client_role)
async def ask_visit(
    message: Message, session: AsyncSession, user: User, state: FSMContext, t: Translator
) -> None:
    """Asks the client to describe their new need."""
    if await clients.of_user(session, user.id) is None:
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
    client = await clients.of_user(session, user.id)
    await state.clear()
    if client is None:
        await message.answer(t("client.not_linked"))
        return
    request = await visit_requests.create(session, client.id, user.id, text)
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
    rating = await ratings.of_intervention(session, answer.intervention_id or 0)
    job = await interventions.by_id(session, answer.intervention_id or 0)
    if rating is None or job is None:
        return "edits.ignored"
    if rating.comment == comment:
        return "edits.rating_saved"
    rating.comment = answer.text = comment
    waiting = await outbox.waiting(session, _notice_key(job.id), utcnow() + NOTICE_MARGIN)
    client = await clients.get(session, job.client_id)
    if waiting is not None and client is not None:
        # The office has not read the rating yet: it will read the corrected comment.
        waiting.text = _office_text(job, client, rating, options)
    elif options.office_chat_id is not None:
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
    request = await visit_requests.get(session, int(answer.target.partition(":")[2] or 0))
    client = await clients.of_user(session, user.id)
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
