"""The technician's desk: what every technician handler needs to open a report,
handed to them by a middleware as `desk` rather than as eight arguments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.context import Options
from handlers.filters import HasRole
from handlers.i18n import Translator
from handlers.technician.kinds import KINDS
from handlers.technician.visit import Visit
from reports.rules.templates import Template
from storage import interventions
from storage.files import FileStore
from storage.models import Role, User
from storage.status import Status

technician = HasRole(Role.TECHNICIAN)

#: Statuses in which a report can be filled in.
WORKING = frozenset({Status.IN_PROGRESS, Status.RETURNED})


@dataclass
class Desk:
    session: AsyncSession
    bot: Bot
    user: User
    t: Translator
    options: Options
    files: FileStore
    templates: dict[str, Template]

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Desk:
        """The desk of the person behind the update (see handlers.provide)."""
        return cls(
            session=data["session"],
            bot=data["bot"],
            user=data["user"],
            t=data["t"],
            options=data["options"],
            files=data["files"],
            templates=data["templates"],
        )

    def template(self, name: str) -> Template:
        return self.templates.get(name) or next(iter(self.templates.values()))

    async def open(self, intervention_id: int, chat_id: int) -> Visit | None:
        """The report of `intervention_id` if it is this technician's, else None."""
        job = await interventions.get(self.session, intervention_id)
        if job is None or job.technician_id != self.user.id:
            return None
        return Visit(
            session=self.session,
            bot=self.bot,
            user=self.user,
            job=job,
            client=job.client,
            template=self.template(job.template),
            t=self.t,
            options=self.options,
            files=self.files,
            chat_id=chat_id,
            kinds=KINDS,
        )

    async def current(self, chat_id: int) -> Visit | None:
        """The report this technician's messages go to, if one is under way."""
        if self.user.current_intervention_id is None:
            return None
        visit = await self.open(self.user.current_intervention_id, chat_id)
        if visit is None or visit.job.status not in WORKING:
            return None
        return visit
