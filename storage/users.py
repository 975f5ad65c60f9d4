"""People: find, register, change role and language, disable.

Each change that alters what a person may do or the language they read (registered,
a new role, disabled or enabled again, a language chosen) queues their command menu
in the same unit of work (storage.outbox.menu), so the menu in their chat follows
once it commits, wherever the change was made: an invitation, an admin's decision,
the command line."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import outbox
from storage.models import AccessRequest, Role, User, utcnow


async def get(session: AsyncSession, user_id: int) -> User | None:
    """The person: no query when this unit of work has them already."""
    return await session.get(User, user_id)


async def names(session: AsyncSession, user_ids: set[int]) -> dict[int, str]:
    """The names of these people, by id (one query; none for no one)."""
    if not user_ids:
        return {}
    rows = await session.execute(select(User.id, User.name).where(User.id.in_(user_ids)))
    return {user_id: name for user_id, name in rows}


async def by_telegram_id(session: AsyncSession, telegram_id: int) -> User | None:
    return await session.scalar(select(User).where(User.telegram_id == telegram_id))


async def add(
    session: AsyncSession,
    telegram_id: int,
    name: str,
    role: Role,
    username: str | None = None,
    language: str | None = None,
) -> User:
    """Register a person, or give an existing one this role and re-enable them (their
    menu is queued when that changes anything)."""
    user = await by_telegram_id(session, telegram_id)
    changed = user is None or user.role != role or not user.active
    if user is None:
        user = User(
            telegram_id=telegram_id,
            name=name,
            role=role,
            username=username,
            language=language,
            active=True,
        )
        session.add(user)
    else:
        user.name = name or user.name
        user.role = role
        user.active = True
        if username:
            user.username = username
    await session.flush()
    if changed:
        queue_menu(session, user)
    return user


def set_active(session: AsyncSession, user: User, active: bool) -> None:
    """Enable or disable a person; a disabled one's chat shows everyone's menu again."""
    if user.active == active:
        return
    user.active = active
    queue_menu(session, user)


def set_language(session: AsyncSession, user: User, language: str) -> None:
    """The language the person chose; their menu follows it."""
    if user.language == language:
        return
    user.language = language
    queue_menu(session, user)


def queue_menu(session: AsyncSession, user: User) -> None:
    """Queue the menu the person's chat should show now (their role's while they are
    active, everyone's once disabled)."""
    outbox.menu(session, user.telegram_id, user.role if user.active else None, user.language)


async def all_users(session: AsyncSession) -> Sequence[User]:
    return (await session.scalars(select(User).order_by(User.role, User.name))).all()


async def with_roles(session: AsyncSession, roles: set[Role]) -> Sequence[User]:
    """Active users having one of `roles`."""
    query = select(User).where(User.role.in_(roles), User.active.is_(True)).order_by(User.id)
    return (await session.scalars(query)).all()


async def request_access(
    session: AsyncSession,
    telegram_id: int,
    name: str,
    username: str | None = None,
    language: str | None = None,
) -> AccessRequest:
    """Someone unknown asks to use the bot (flushed: the admins' buttons name it)."""
    request = AccessRequest(
        telegram_id=telegram_id, name=name, username=username, language=language
    )
    session.add(request)
    await session.flush()
    return request


async def access_request(session: AsyncSession, request_id: int) -> AccessRequest | None:
    """The request: no query when this unit of work has it already."""
    return await session.get(AccessRequest, request_id)


async def open_access_request(session: AsyncSession, telegram_id: int) -> AccessRequest | None:
    """The person's undecided request, if they already asked."""
    query = select(AccessRequest).where(
        AccessRequest.telegram_id == telegram_id, AccessRequest.decision.is_(None)
    )
    return await session.scalar(query.order_by(AccessRequest.id.desc()).limit(1))


async def decide_access_request(
    session: AsyncSession, request: AccessRequest, decision: str, decided_by: User
) -> bool:
    """Record the decision unless another admin decided first (False then)."""
    decided = await session.execute(
        update(AccessRequest)
        .where(AccessRequest.id == request.id, AccessRequest.decision.is_(None))
        .values(decision=decision, decided_by_id=decided_by.id, decided_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await session.refresh(request)
    return decided.rowcount == 1  # type: ignore[attr-defined,no-any-return]
