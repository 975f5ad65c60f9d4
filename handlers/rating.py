"""The client's rating of a validated report: one to five stars, then an optional
comment; the office reads both in one notice, which waits a while for the comment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.callbacks import Rate
from handlers.client import client_role, own_intervention
from handlers.context import Options
from handlers.filters import Answered
from handlers.i18n import Translator
from handlers.steps import Question
from handlers.talk import Conversation, Talk, chat_of
from handlers.tell import office_translator, say, tell_office
from reports.rules.reading import ParseError, clean_text
from storage import clients, interventions, outbox, ratings
from storage.models import Answer, Client, Intervention, Rating, User, utcnow

router = Router(name="rating")
COMMENT_MAX = 2000


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
async def rate(query: CallbackQuery, callback_data: Rate, **context: Any) -> None:
    """Stores the rating (once per intervention), queues the office's notice (it waits a
    while for a comment), and asks for an optional comment."""
    session: AsyncSession = context["session"]
    user: User = context["user"]
    t: Translator = context["t"]
    options: Options = context["options"]
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
    await query.answer(t("client.thanks"))
    if isinstance(query.message, Message):
        stars = "★" * callback_data.stars + "☆" * (5 - callback_data.stars)
        await query.message.edit_text(t("client.rated", number=job.number, stars=stars))
    talk = await COMMENT.talk(context, chat_of(query))
    await COMMENT.start(talk, {"intervention_id": job.id})


async def ask_comment(talk: Talk[None]) -> None:
    """An optional comment, or none (the office is then told at once)."""
    no_comment = Rate(intervention_id=int(talk.data["intervention_id"]), stars=0)
    button = InlineKeyboardButton(text=talk.t("client.no_comment"), callback_data=no_comment.pack())
    await talk.ask(talk.t("client.ask_comment"), [[button]])


def read_comment(_talk: Talk[None], text: str) -> str:
    return clean_text(text, maximum=COMMENT_MAX)


async def rating_comment(talk: Talk[None], message: Message, comment: str) -> None:
    """Stores the comment with the rating and tells the office."""
    session, t = talk.session, talk.t
    intervention_id = int(talk.data.get("intervention_id", 0))
    found = await own_intervention(session, talk.user, intervention_id)
    rating = await ratings.of_intervention(session, intervention_id) if found else None
    if found is None or rating is None:
        await message.answer(t("errors.old_button"))
        return
    rating.comment = comment
    await talk.note(message, "comment", comment, rating.intervention_id)
    client, job = found
    waiting = await outbox.waiting(session, _notice_key(job.id), utcnow() + NOTICE_MARGIN)
    if waiting is not None:
        waiting.text = _office_text(job, client, rating)(office_translator(talk.options))
        waiting.next_attempt_at = utcnow()
    else:
        # The rating alone already reached the office: the comment follows it.
        _queue_office_notice(session, job, client, rating, talk.options, at_once=True)
    await message.answer(t("client.thanks"))


#: The comment on a rating: one typed text, or the "no comment" button (handled above,
#: as it may be pressed after the conversation has moved on).
COMMENT = Conversation(
    group="ClientSteps",
    name="rating",
    questions=(
        Question(
            "rating_comment", "client.ask_comment", ask_comment, "client.visit_expected",
            read=read_comment, store=rating_comment,
        ),
    ),
    build=lambda _data: None,
    ask_again=False,
)  # fmt: skip
COMMENT.install(router, client_role)


#: How long the office's notice of a rating waits for the client's comment.
COMMENT_WAIT = dt.timedelta(minutes=10)


#: A notice this close to being sent is left alone (the sender may be taking it).
NOTICE_MARGIN = dt.timedelta(seconds=2)


def _notice_key(intervention_id: int) -> str:
    return f"rating:{intervention_id}"


async def _awaiting_comment(state: FSMContext, intervention_id: int) -> bool:
    """Whether this chat is still asked for a comment on this intervention's rating."""
    if await state.get_state() != COMMENT.state_of("rating_comment"):
        return False
    return int((await state.get_data()).get("intervention_id", 0)) == intervention_id


def _office_text(job: Intervention, client: Client, rating: Rating) -> Callable[[Translator], str]:
    """The office's notice of the rating (and its comment), in the reader's words."""

    def text(tr: Translator) -> str:
        said = say(
            tr,
            "client.office_rating",
            number=job.number,
            client=client.name,
            stars="★" * rating.score + "☆" * (5 - rating.score),
        )
        if rating.comment:
            said += "\n" + say(tr, "client.office_comment", comment=rating.comment)
        return said

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
    text = _office_text(job, client, rating)
    notice = tell_office(session, options, text, intervention_id=job.id)
    if notice is None:
        return
    notice.coalesce_key = _notice_key(job.id)
    notice.next_attempt_at = utcnow() + (dt.timedelta(0) if at_once else COMMENT_WAIT)


async def _release_office_notice(session: AsyncSession, intervention_id: int) -> None:
    """Send the waiting notice of the rating now."""
    waiting = await outbox.waiting(session, _notice_key(intervention_id), utcnow() + NOTICE_MARGIN)
    if waiting is not None:
        waiting.next_attempt_at = utcnow()


@router.edited_message(client_role, Answered("rating"))
async def edited(
    message: Message, given: list[Answer], session: AsyncSession, t: Translator, options: Options
) -> None:
    """Stores an edited rating comment and tells the office the corrected text; a bad
    one is explained and nothing changes."""
    try:
        text = clean_text(message.text or "", maximum=COMMENT_MAX)
    except ParseError as error:
        await message.answer(t(error.key, **error.display_values(t.language)))
        return
    await message.answer(t(await _correct_rating(session, given[0], text, options)))


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
        waiting.text = _office_text(job, client, rating)(office_translator(options))
    else:
        tell_office(
            session,
            options,
            "edits.office_rating",
            intervention_id=job.id,
            number=job.number,
            client=client.name if client else "?",
            comment=comment,
        )
    return "edits.rating_saved"
