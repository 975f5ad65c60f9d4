"""Deliveries waiting to be sent: written with the change that caused them,
taken by the one outbox sender, marked sent or failed with a reason."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, bindparam, event, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from storage.models import Delivery, DeliveryState, utcnow

#: Where a session keeps the deliveries written in it (see `made_in`).
_MADE = "outbox.made"
#: Placeholder message ids are negative and below this, far from any real message id.
PLACEHOLDER_BELOW = -(2**40)


def placeholder() -> int:
    """A fresh placeholder message id (negative, unique with overwhelming likelihood):
    the id of a message not sent yet, kept as its delivery's `ref`, so that an edit
    naming it reaches the real message once it is sent."""
    return PLACEHOLDER_BELOW - secrets.randbits(52)


def is_placeholder(message_id: int | None) -> bool:
    """Whether a message id is one handed out for a message not sent yet."""
    return message_id is not None and message_id <= PLACEHOLDER_BELOW


@event.listens_for(Session, "before_flush")
def _note_deliveries(session: Session, _context: object, _instances: object) -> None:
    """Every delivery a unit of work adds or changes is noted, so that the sender can
    be handed it right after the commit instead of looking for it."""
    noted: dict[int, Delivery] = session.info.setdefault(_MADE, {})
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Delivery):
            noted[id(obj)] = obj


def made_in(session: AsyncSession) -> list[Delivery]:
    """The deliveries this session's unit of work added or changed, in the order of
    their ids (read them once the unit has committed, so the ids are known)."""
    noted: dict[int, Delivery] = session.info.pop(_MADE, {})
    return sorted(noted.values(), key=lambda d: d.id or 0)


def message(
    session: AsyncSession,
    chat_id: int,
    text: str,
    *,
    options: dict[str, Any] | None = None,
    intervention_id: int | None = None,
    ref: int | None = None,
) -> Delivery:
    """Queue a text message (HTML parse mode unless `options` says otherwise); `ref`,
    a placeholder id, lets a later edit name the message."""
    delivery = Delivery(
        channel="telegram",
        chat_id=chat_id,
        kind="message",
        text=text,
        options={"parse_mode": "HTML", **(options or {})},
        intervention_id=intervention_id,
        ref=ref,
    )
    session.add(delivery)
    return delivery


def document(
    session: AsyncSession,
    chat_id: int,
    file_path: str,
    file_name: str,
    *,
    caption: str | None = None,
    options: dict[str, Any] | None = None,
    intervention_id: int | None = None,
) -> Delivery:
    """Queue a file stored under DATA_DIR (`file_path` relative to it)."""
    delivery = Delivery(
        channel="telegram",
        chat_id=chat_id,
        kind="document",
        text=caption,
        file_path=file_path,
        file_name=file_name,
        options={"parse_mode": "HTML", **(options or {})},
        intervention_id=intervention_id,
    )
    session.add(delivery)
    return delivery


def call(
    session: AsyncSession,
    chat_id: int | None,
    method: str,
    params: dict[str, Any],
    *,
    files: dict[str, dict[str, str]] | None = None,
    ref: int | None = None,
    intervention_id: int | None = None,
) -> Delivery:
    """Queue a Bot API call exactly as a handler made it: `method` with its JSON
    `params`, the files it uploads (`attach://key` -> a stored path and a name), and
    the placeholder message id the handler was given (`ref`)."""
    text = params.get("text") or params.get("caption")
    delivery = Delivery(
        channel="telegram",
        chat_id=chat_id,
        kind="call",
        text=str(text) if text is not None else None,
        options={"method": method, "params": params, "files": files or {}},
        intervention_id=intervention_id,
        ref=ref,
    )
    session.add(delivery)
    return delivery


#: The kind of a delivery that sets one chat's command menu (see `menu`).
MENU = "menu"


def menu(
    session: AsyncSession, chat_id: int, name: str | None, language: str | None = None
) -> Delivery:
    """Queue the command menu of chat `chat_id`: `name` says which (a role, or
    "office" for the office group; None takes the chat's own menu away, so that it
    shows everyone's), in `language` when its person chose one (None: in each
    reader's Telegram language). The sender makes the Bot API calls from this when
    it sends it, and notes there the menu it set."""
    delivery = Delivery(
        channel="telegram",
        chat_id=chat_id,
        kind=MENU,
        options={"menu": name, "language": language},
    )
    session.add(delivery)
    return delivery


async def latest_menus(
    session: AsyncSession, chat_ids: Sequence[int] | None = None
) -> dict[int, Delivery]:
    """The last menu queued for each chat (of `chat_ids`, or every chat), whatever
    became of it."""
    query = select(Delivery).where(Delivery.kind == MENU).order_by(Delivery.id)
    if chat_ids is not None:
        query = query.where(Delivery.chat_id.in_(chat_ids))
    return {int(d.chat_id or 0): d for d in (await session.scalars(query)).all()}


def email(
    session: AsyncSession,
    to: str,
    subject: str,
    body: str,
    *,
    file_path: str | None = None,
    file_name: str | None = None,
    intervention_id: int | None = None,
) -> Delivery:
    """Queue an email to `to`: a plain-text `body` and, when `file_path` is given, that
    file (stored under DATA_DIR) attached as `file_name`. The address is not checked
    here: one the mail server refuses fails the delivery, and the office is told."""
    delivery = Delivery(
        channel="email",
        email=to.strip(),
        kind="document" if file_path else "message",
        text=body,
        file_path=file_path,
        file_name=file_name,
        options={"_subject": subject},
        intervention_id=intervention_id,
    )
    session.add(delivery)
    return delivery


async def exists(session: AsyncSession, coalesce_key: str) -> bool:
    """Whether any delivery was ever queued under `coalesce_key` (sent or not)."""
    query = select(Delivery.id).where(Delivery.coalesce_key == coalesce_key).limit(1)
    return await session.scalar(query) is not None


async def pending(session: AsyncSession, coalesce_key: str) -> Delivery | None:
    """A delivery under `coalesce_key` not sent yet, if any (a repeated request can then
    be told it is already on its way)."""
    query = (
        select(Delivery)
        .where(Delivery.coalesce_key == coalesce_key, Delivery.state == DeliveryState.PENDING)
        .limit(1)
    )
    return await session.scalar(query)


async def document_to(session: AsyncSession, chat_id: int, intervention_id: int) -> bool:
    """Whether a document of this intervention was ever queued for this chat."""
    query = (
        select(Delivery.id)
        .where(
            Delivery.channel == "telegram",
            Delivery.chat_id == chat_id,
            Delivery.intervention_id == intervention_id,
            Delivery.kind == "document",
        )
        .limit(1)
    )
    return await session.scalar(query) is not None


async def waiting(
    session: AsyncSession, coalesce_key: str, not_before: dt.datetime
) -> Delivery | None:
    """The pending delivery under `coalesce_key` still waiting after `not_before`, which
    a new event may merge into (one the sender may already be taking is left alone)."""
    query = (
        select(Delivery)
        .where(
            Delivery.coalesce_key == coalesce_key,
            Delivery.state == DeliveryState.PENDING,
            Delivery.next_attempt_at > not_before,
        )
        .order_by(Delivery.id.desc())
        .limit(1)
    )
    return await session.scalar(query)


async def due(session: AsyncSession, now: dt.datetime, limit: int = 100) -> Sequence[Delivery]:
    """Pending deliveries whose time has come, oldest first."""
    query = (
        select(Delivery)
        .where(Delivery.state == DeliveryState.PENDING, Delivery.next_attempt_at <= now)
        .order_by(Delivery.id)
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def next_due_at(session: AsyncSession) -> dt.datetime | None:
    """When the earliest pending delivery becomes due, if any is pending."""
    query = select(func.min(Delivery.next_attempt_at)).where(
        Delivery.state == DeliveryState.PENDING
    )
    value: dt.datetime | None = await session.scalar(query)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def mark_sent(delivery: Delivery, message_id: int | None) -> None:
    delivery.state = DeliveryState.SENT
    delivery.sent_at = utcnow()
    delivery.attempts += 1
    delivery.telegram_message_id = message_id
    delivery.last_error = None


def mark_retry(delivery: Delivery, at: dt.datetime, error: str, count_attempt: bool = True) -> None:
    if count_attempt:
        delivery.attempts += 1
    delivery.next_attempt_at = at
    delivery.last_error = error


def mark_merged(delivery: Delivery, into: Delivery) -> None:
    """The delivery's text now travels inside `into` (a merged group notice)."""
    delivery.state = DeliveryState.SENT
    delivery.sent_at = utcnow()
    delivery.last_error = f"merged into delivery {into.id}"


def location(
    session: AsyncSession,
    chat_id: int,
    latitude: float,
    longitude: float,
    *,
    intervention_id: int | None = None,
) -> Delivery:
    """Queue a location pin."""
    delivery = Delivery(
        channel="telegram",
        chat_id=chat_id,
        kind="location",
        options={"latitude": latitude, "longitude": longitude},
        intervention_id=intervention_id,
    )
    session.add(delivery)
    return delivery


def mark_failed(delivery: Delivery, error: str) -> None:
    delivery.state = DeliveryState.FAILED
    delivery.attempts += 1
    delivery.last_error = error


async def failed(session: AsyncSession, limit: int = 50) -> Sequence[Delivery]:
    query = (
        select(Delivery)
        .where(Delivery.state == DeliveryState.FAILED)
        .order_by(Delivery.id.desc())
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def pending_all(session: AsyncSession, limit: int = 1000) -> Sequence[Delivery]:
    """Pending deliveries, due or not, oldest first (each chat's in the order to send)."""
    query = (
        select(Delivery)
        .where(Delivery.state == DeliveryState.PENDING)
        .order_by(Delivery.id)
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def message_id_of(session: AsyncSession, ref: int) -> int | None:
    """The real message id of the message handed out as placeholder `ref`, once sent."""
    query = select(Delivery.telegram_message_id).where(
        Delivery.ref == ref, Delivery.state == DeliveryState.SENT
    )
    value: int | None = await session.scalar(query)
    return value


async def mark_all_sent(
    session: AsyncSession, marks: Sequence[tuple[int, int | None, dt.datetime]]
) -> None:
    """Mark deliveries sent: (id, Telegram's message id, when) each, in one statement
    run for all of them."""
    if not marks:
        return
    table = cast(Table, Delivery.__table__)
    statement = (
        update(table)
        .where(table.c.id == bindparam("delivery_id"))
        .values(
            state=DeliveryState.SENT,
            sent_at=bindparam("at"),
            attempts=table.c.attempts + 1,
            telegram_message_id=bindparam("message_id"),
            last_error=None,
        )
    )
    rows = [
        {"delivery_id": delivery_id, "message_id": message_id, "at": at}
        for delivery_id, message_id, at in marks
    ]
    await session.execute(statement, rows)


async def merge(session: AsyncSession, head_id: int, text: str, others: Sequence[int]) -> None:
    """The notices `others` travel inside `head_id`, whose text becomes `text`."""
    await session.execute(
        update(Delivery)
        .where(Delivery.id == head_id)
        .values(text=text)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(others))
        .values(
            state=DeliveryState.SENT,
            sent_at=utcnow(),
            last_error=f"merged into delivery {head_id}",
        )
        .execution_options(synchronize_session=False)
    )


async def waiting_summary(
    session: AsyncSession, now: dt.datetime
) -> tuple[int, dt.datetime | None]:
    """How many deliveries are waiting to be sent, and when the oldest of those that
    should be gone was written. One held back on purpose and never tried yet (an
    album's confirmation gathering its photos, a rating's notice waiting for the
    comment) is counted but does not make the oldest."""
    waiting = Delivery.state == DeliveryState.PENDING
    count = await session.scalar(select(func.count()).where(waiting))
    held = (Delivery.next_attempt_at > now) & Delivery.last_error.is_(None)
    oldest: dt.datetime | None = await session.scalar(
        select(func.min(Delivery.created_at)).where(waiting, ~held)
    )
    return int(count or 0), oldest
