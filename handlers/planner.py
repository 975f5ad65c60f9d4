"""What /plan, /change and /board share: the dispatcher's planner gathered once per
update, the intervention's card with the changes its status allows, and telling the
technicians concerned.

Every change is made by storage.lifecycle, which checks it against the rules and
writes it to the audit trail: postponing and cancelling move the status; reassigning
and rescheduling keep it (from = to, with a note saying what changed), so the one
trail the office reads tells the whole story. The technicians concerned are told
through the outbox, in their own language (`handlers.planning_notices`).

Each message typed for /plan or /change is remembered as the answer it gave (by the
conversation engine, handlers.talk), so that an edit of it, even in the office group,
is answered (it changes nothing: what it started is already under way or done).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram.utils.text_decorations import html_decoration as hd
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.callbacks import Change, ChangeAction
from handlers.context import Options
from handlers.i18n import Translator
from handlers.planning_notices import job_address, tell_technician
from reports.formatting import say_moment
from reports.rules.templates import Template
from reports.rules.when import WhenError, parse_appointment
from storage import lifecycle
from storage.models import Intervention, User, utcnow


@dataclass
class Planner:
    """What the planning handlers work with, gathered once per update."""

    session: AsyncSession
    bot: Bot
    user: User
    t: Translator
    options: Options
    templates: dict[str, Template]
    state: FSMContext

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Planner:
        """The planner of the person behind the update (see handlers.provide)."""
        return cls(
            session=data["session"],
            bot=data["bot"],
            user=data["user"],
            t=data["t"],
            options=data["options"],
            templates=data["templates"],
            state=data["state"],
        )

    def now(self) -> dt.datetime:
        return utcnow()

    def kind(self, job: Intervention, t: Translator | None = None) -> str:
        template = self.templates.get(job.template)
        return template.title((t or self.t).language) if template else job.kind


#: Where /plan and /change keep a day typed without a usable hour (see read_when).
WHEN_KEPT = "when_day"


async def read_when(p: Planner, text: str) -> dt.datetime:
    """The moment typed for /plan or /change, in UTC (`reports.rules.when` reads it in
    the company's zone). A day typed without an hour, or with a wrong or ambiguous
    one, is kept in the conversation: the hour alone then answers the question."""
    data = await p.state.get_data()
    now = p.now().astimezone(p.options.tz)
    try:
        moment = parse_appointment(text, now=now, day_text=data.get(WHEN_KEPT))
    except WhenError as error:
        if error.day_kept is not None:
            await p.state.update_data({WHEN_KEPT: error.day_kept})
        raise
    if data.get(WHEN_KEPT) is not None:
        await p.state.update_data({WHEN_KEPT: None})
    return moment.astimezone(dt.UTC)


def moment_in_words(p: Planner, moment: dt.datetime) -> str:
    """The moment understood, in words: 🗓 Prévue le jeudi 14 mai 2026 à 14:00."""
    return p.t("when.planned_for", when=say_moment(moment.astimezone(p.options.tz), p.t.language))


def change_keyboard(t: Translator, job: Intervention) -> InlineKeyboardMarkup | None:
    builder = InlineKeyboardBuilder()
    for allowed in lifecycle.changes_allowed(job.status):
        action = ChangeAction(allowed)
        builder.button(
            text=t(f"plan.{action}"), callback_data=Change(action=action, intervention_id=job.id)
        )
    builder.adjust(2)
    return builder.as_markup() if builder.buttons else None


def card(p: Planner, job: Intervention) -> str:
    t = p.t
    lines = [t("plan.card_title", number=job.number, kind=p.kind(job))]
    lines.append(t("plan.card_client", client=hd.quote(job.client.name)))
    if job_address(job):
        lines.append(t("plan.card_address", address=hd.quote(job_address(job))))
    when = p.options.local(job.scheduled_at) if job.scheduled_at else "—"
    lines.append(t("plan.card_when", when=when))
    name = job.technician.name if job.technician else "—"
    lines.append(t("plan.card_technician", technician=hd.quote(name)))
    lines.append(t("plan.card_status", status=t(f"status.{job.status}")))
    if job.request:
        lines.append(t("plan.card_request", request=hd.quote(job.request)))
    return "\n".join(lines)


def tell(
    p: Planner, person: User | None, key: str, job: Intervention, *, open_button: bool, **extra: str
) -> None:
    """Queues `key` for a technician, in their language, with an Open button if asked."""
    tell_technician(p.session, p.options, person, key, job, open_button=open_button, **extra)
