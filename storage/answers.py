"""Which message gave which stored answer: so that when a person edits a message,
the answer it gave can be found and changed, or the person told why it cannot.

A section written over several messages (a long text Telegram split, or notes added
one after the other) has one answer per message, in the order they arrived. The
stored value is the pieces joined by new lines; when the section is rewritten, the
older answers stay but are no longer part of it (see `live`).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Answer

#: Where a session keeps the answers recorded in its unit of work.
_GIVEN = "answers.given"


async def record(
    session: AsyncSession,
    chat_id: int,
    message_id: int,
    *,
    step: str,
    target: str,
    text: str | None,
    intervention_id: int | None = None,
) -> Answer:
    """Remember that message `message_id` of `chat_id` gave `text` to `target` (given
    twice in one unit of work, the later text counts). A message is handled once, so
    no earlier unit of work can have recorded it: nothing is read for this."""
    given: dict[tuple[int, int, str], Answer] = session.info.setdefault(_GIVEN, {})
    answer = given.get((chat_id, message_id, target))
    if answer is None:
        answer = Answer(chat_id=chat_id, message_id=message_id, target=target)
        session.add(answer)
        given[(chat_id, message_id, target)] = answer
    answer.step = step
    answer.text = text
    answer.intervention_id = intervention_id
    return answer


async def of_message(session: AsyncSession, chat_id: int, message_id: int) -> list[Answer]:
    """What one message gave, in the order it was given (usually one answer, or none)."""
    query = (
        select(Answer)
        .where(Answer.chat_id == chat_id, Answer.message_id == message_id)
        .order_by(Answer.id)
    )
    return list((await session.scalars(query)).all())


async def of_target(session: AsyncSession, intervention_id: int, target: str) -> list[Answer]:
    """Every answer given to `target` of an intervention, oldest first."""
    query = (
        select(Answer)
        .where(Answer.intervention_id == intervention_id, Answer.target == target)
        .order_by(Answer.id)
    )
    return list((await session.scalars(query)).all())


async def retarget(session: AsyncSession, intervention_id: int, old: str, new: str) -> None:
    """Answers whose target starts with `old` now start with `new` (a part line being
    typed gets its number once added, or a line put back after Undo)."""
    query = select(Answer).where(
        Answer.intervention_id == intervention_id, Answer.target.startswith(old, autoescape=True)
    )
    for answer in (await session.scalars(query)).all():
        answer.target = new + answer.target[len(old) :]


async def forget(session: AsyncSession, intervention_id: int, prefix: str) -> None:
    """Drop the answers whose target starts with `prefix` (a part line abandoned before
    it was added gave nothing to the report)."""
    query = select(Answer).where(
        Answer.intervention_id == intervention_id,
        Answer.target.startswith(prefix, autoescape=True),
    )
    for answer in (await session.scalars(query)).all():
        await session.delete(answer)


def live(pieces: Sequence[Answer], value: str | None, *, several: bool) -> list[Answer]:
    """The answers the stored `value` is made of, among `pieces` (oldest first): the
    latest ones whose texts, joined by new lines, are exactly the value; only the
    latest one when the target holds one answer. Empty when the value was changed
    since by something else (a button, a rewrite, a removed line)."""
    if value is None or not pieces:
        return []
    counts = range(1, len(pieces) + 1) if several else range(1, 2)
    for count in counts:
        chosen = list(pieces[-count:])
        if "\n".join(piece.text or "" for piece in chosen) == value:
            return chosen
    return []
