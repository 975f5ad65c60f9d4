"""What the office's planning tells: a technician hears of an intervention planned,
moved, postponed, given to someone else or cancelled (/plan, /change, and the command
line's CSV import), and the office group gets one list of what an import planned.

No aiogram here: `python -m bot import` queues these notices without loading it. The
Open button under a technician's notice is written as the JSON the outbox keeps; its
payload is the one `handlers.callbacks.Job` packs for (intervention, open), spelled
out by `open_payload` (tests/test_callbacks.py checks that the two agree).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.context import Options
from handlers.i18n import Translator
from handlers.tell import say, tell_office, tell_person
from storage.models import Intervention, User

#: Room left for the list in the office's summary of an import (Telegram's limit is 4096).
IMPORT_SUMMARY_LIMIT = 3500


def job_address(job: Intervention) -> str:
    """Where the work is: its site's address, else its client's (loaded), else ""."""
    if job.site is not None and job.site.address:
        return job.site.address
    return job.client.address or ""


def open_payload(intervention_id: int) -> str:
    """The payload of `Job(intervention_id=..., action=JobAction.OPEN)`: the technician
    opens the intervention's card."""
    return f"job:{intervention_id}:open"


def open_keyboard(tr: Translator, intervention_id: int) -> dict[str, Any]:
    """The Open button under a notice, as the outbox keeps it."""
    button = {"text": tr("plan.open"), "callback_data": open_payload(intervention_id)}
    return {"inline_keyboard": [[button]]}


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

    def keyboard(tr: Translator) -> dict[str, Any]:
        return open_keyboard(tr, job.id)

    tell_person(
        session,
        options,
        person.telegram_id,
        person.language,
        key,
        keyboard=keyboard if open_button else None,
        intervention_id=job.id,
        number=job.number,
        when=options.local(job.scheduled_at) if job.scheduled_at else "—",
        client=job.client.name,
        address=f" ({address})" if address else "",
        **extra,
    )


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
