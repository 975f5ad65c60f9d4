"""What /plan, /change and /board share: the dispatcher's planner gathered once per
update, the intervention's card with the changes its status allows, and telling the
technicians concerned.

Every change is made by storage.lifecycle, which checks it against the rules and
writes it to the audit trail: postponing and cancelling move the status; reassigning
and rescheduling keep it (from = to, with a note saying what changed), so the one
trail the office reads tells the whole story. The technicians concerned are told
through the outbox, in their own language.

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

from handlers.callbacks import Change, ChangeAction, Job, JobAction
from handlers.context import Options
from handlers.i18n import Translator
from handlers.tell import say, tell_office, tell_person
from reports.rules.reading import ParseError, parse_datetime
from reports.rules.templates import Template
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


def job_address(job: Intervention) -> str:
    if job.site is not None and job.site.address:
        return job.site.address
    return job.client.address or ""


def read_when(text: str, options: Options, now: dt.datetime) -> dt.datetime:
    """A date and time in the company's zone ("demain 9h"; a time alone is today),
    refused when it is already past."""
    today = now.astimezone(options.tz).date()
    day, hour = parse_datetime(text, today=today)
    moment = dt.datetime.combine(day or today, hour, tzinfo=options.tz)
    if moment < now:
        raise ParseError("plan.past")
    return moment.astimezone(dt.UTC)


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


def tell_technician(
    session: AsyncSession,
    options: Options,
    person: User | None,
    key: str,
    job: Intervention,
    *,
    open_button: bool,
    **extra: str,
) -> None:
    """Queues `key` about `job` (its client and site loaded) for a technician, in their
    language, with an Open button if asked; /plan, /change and the CSV import tell
    technicians this one way. `extra` is plain text (it is escaped)."""
    if person is None:
        return
    address = job_address(job)

    def open_keyboard(tr: Translator) -> InlineKeyboardMarkup:
        builder = InlineKeyboardBuilder()
        builder.button(
            text=tr("plan.open"), callback_data=Job(intervention_id=job.id, action=JobAction.OPEN)
        )
        return builder.as_markup()

    tell_person(
        session,
        options,
        person.telegram_id,
        person.language,
        key,
        keyboard=open_keyboard if open_button else None,
        intervention_id=job.id,
        number=job.number,
        when=options.local(job.scheduled_at) if job.scheduled_at else "—",
        client=job.client.name,
        address=f" ({address})" if address else "",
        **extra,
    )


#: Room left for the list in the office's summary of an import (Telegram's limit is 4096).
IMPORT_SUMMARY_LIMIT = 3500


def tell_office_imported(
    session: AsyncSession, options: Options, jobs: list[Intervention], file_name: str
) -> None:
    """Queues one message for the office group listing the interventions a CSV import
    planned (their client and technician loaded), in the office's language; a long
    list ends with how many more there are."""
    if not jobs:
        return

    def summary(tr: Translator) -> str:
        lines = [say(tr, "plan.imported", count=len(jobs), file=file_name)]
        size = len(lines[0])
        for shown, job in enumerate(jobs):
            line = say(
                tr,
                "plan.imported_line",
                number=job.number,
                when=options.local(job.scheduled_at) if job.scheduled_at else "—",
                client=job.client.name,
                technician=job.technician.name if job.technician else tr("plan.nobody"),
            )
            if size + len(line) > IMPORT_SUMMARY_LIMIT:
                lines.append(tr("plan.imported_more", count=len(jobs) - shown))
                break
            lines.append(line)
            size += len(line) + 1
        return "\n".join(lines)

    tell_office(session, options, summary)
