"""People: find, register, change role and language, disable."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

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
    """Register a person, or give an existing one this role and re-enable them."""
    user = await by_telegram_id(session, telegram_id)
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
    return user


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
