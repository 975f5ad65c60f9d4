"""Who may do what: filters that read the person the middleware loaded."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import Message, TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession

from storage import answers
from storage.models import OFFICE_ROLES, Role, User


class Known(Filter):
    """The update comes from a registered, active person (or, with known=False, not)."""

    def __init__(self, known: bool = True) -> None:
        self.known = known

    async def __call__(self, event: TelegramObject, user: User | None = None) -> bool:
        return (user is not None) == self.known


class HasRole(Filter):
    """The person has one of the given roles."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, event: TelegramObject, user: User | None = None) -> bool:
        return user is not None and user.role in self.roles


class Answered(Filter):
    """The (edited) message had given a stored answer in one of `steps`: the answers it
    gave are handed to the handler as `given`."""

    def __init__(self, *steps: str) -> None:
        self.steps = frozenset(steps)

    async def __call__(self, message: Message, session: AsyncSession) -> bool | dict[str, Any]:
        found = await answers.of_message(session, message.chat.id, message.message_id)
        given = [answer for answer in found if answer.step in self.steps]
        return {"given": given} if given else False


def office() -> HasRole:
    return HasRole(*OFFICE_ROLES)


def role_name(t: Any, role: str) -> str:
    """The role as a person reads it, in their language."""
    return str(t(f"roles.{role}"))
