"""Deliveries waiting to be sent: written with the change that caused them,
taken by the one outbox sender, marked sent or failed with a reason."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Delivery, DeliveryState, utcnow


def message(
    session: AsyncSession,
    chat_id: int,
    text: str,
    *,
    options: dict[str, Any] | None = None,
    intervention_id: int | None = None,
) -> Delivery:
    """Queue a text message (HTML parse mode unless `options` says otherwise)."""
    delivery = Delivery(
        channel="telegram",
        chat_id=chat_id,
        kind="message",
        text=text,
        options={"parse_mode": "HTML", **(options or {})},
        intervention_id=intervention_id,
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
