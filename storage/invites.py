"""Invite links: single use, expiring, each carrying the role it grants."""

from __future__ import annotations

import datetime as dt
import secrets
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Invite, Role, User, utcnow

#: Deep-link payloads allow A-Z, a-z, 0-9, _ and - up to 64 characters.
CODE_BYTES = 18


class InviteProblem(StrEnum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


class InviteRefused(Exception):
    def __init__(self, problem: InviteProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


async def create(
    session: AsyncSession,
    role: Role,
    created_by: User | None,
    valid_for: dt.timedelta,
    name: str | None = None,
    client_id: int | None = None,
) -> Invite:
    invite = Invite(
        code="inv_" + secrets.token_urlsafe(CODE_BYTES),
        role=role,
        name=name,
        client_id=client_id,
        created_by_id=created_by.id if created_by else None,
        expires_at=utcnow() + valid_for,
    )
    session.add(invite)
    await session.flush()
    return invite


async def claim(session: AsyncSession, code: str) -> Invite:
    """Take the invite behind `code` for this unit of work, or raise InviteRefused
    saying why it cannot be used. Call `mark_used` once the person is registered.

    The invite is taken by one conditional UPDATE, so two people opening the same
    link at the same instant cannot both use it (on SQLite and PostgreSQL alike).
    """
    now = utcnow()
    taken = await session.execute(
        update(Invite)
        .where(Invite.code == code, Invite.used_at.is_(None), Invite.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    invite = await session.scalar(select(Invite).where(Invite.code == code))
    if taken.rowcount == 1 and invite is not None:  # type: ignore[attr-defined]
        await session.refresh(invite)
        return invite
    if invite is None:
        raise InviteRefused(InviteProblem.UNKNOWN)
    if invite.used_at is not None:
        raise InviteRefused(InviteProblem.USED)
    raise InviteRefused(InviteProblem.EXPIRED)


def mark_used(invite: Invite, user: User) -> None:
    invite.used_by_id = user.id
    invite.used_at = utcnow()


async def find(session: AsyncSession, code: str) -> Invite | None:
    return await session.scalar(select(Invite).where(Invite.code == code))


async def client_link(
    session: AsyncSession, client_id: int, created_by: User | None, valid_for: dt.timedelta
) -> Invite:
    """An unused, unexpired link for this client, or a new one."""
    existing = await session.scalar(
        select(Invite)
        .where(
            Invite.client_id == client_id,
            Invite.role == Role.CLIENT,
            Invite.used_at.is_(None),
            Invite.expires_at > utcnow() + dt.timedelta(days=1),
        )
        .order_by(Invite.id.desc())
        .limit(1)
    )
    if existing is not None:
        return existing
    return await create(session, Role.CLIENT, created_by, valid_for, client_id=client_id)
