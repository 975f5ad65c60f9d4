"""The changes in an intervention's life that carry rules, each written to the audit
trail: the office's changes to the planning (reassign, reschedule, postpone, cancel),
its decision on a submitted report (validate, return), and the remote acceptance by
the client (asked, answered, or taken on site instead).

Postponing, cancelling, validating and returning move the status (see
storage.status). Reassigning and rescheduling keep it: their audit entry (`noted`)
goes from a status to the same one, with a note saying what changed, so that the
one trail the office reads tells the whole story (a signature drawn on the screen
is noted the same way). Notes are written by the caller, in the office's
language.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from storage.interventions import change_status, left_for_client
from storage.models import Intervention, Role, StatusChange, User
from storage.status import InvalidTransition, Status, can_move

REASSIGN = "reassign"
RESCHEDULE = "reschedule"
POSTPONE = "postpone"
CANCEL = "cancel"

#: Statuses in which the office may still change the planning (awaiting the client's
#: acceptance: cancel only).
CHANGEABLE = frozenset(
    {Status.PLANNED, Status.POSTPONED, Status.IN_PROGRESS, Status.AWAITING_CLIENT}
)
#: Statuses in which an intervention may go to another technician or another date: not
#: once started.
NOT_STARTED = frozenset({Status.PLANNED, Status.POSTPONED})


class ChangeRefused(Exception):
    """A change of the planning the rules do not allow (any more)."""

    def __init__(self, change: str, status: str) -> None:
        super().__init__(f"cannot {change} an intervention that is {status}")
        self.change = change
        self.status = status


def changes_allowed(status: str) -> list[str]:
    """The changes of the planning allowed in `status`, in the order the office sees them."""
    current = Status(status)
    if current not in CHANGEABLE:
        return []
    found = []
    if current in NOT_STARTED:
        found += [REASSIGN, RESCHEDULE]
    if can_move(current, Status.POSTPONED):
        found.append(POSTPONE)
    if can_move(current, Status.CANCELLED):
        found.append(CANCEL)
    return found


def assignable(person: User) -> bool:
    """Whether interventions may be given to `person`: an active technician."""
    return person.active and person.role == Role.TECHNICIAN


def can_reassign(job: Intervention, person: User) -> bool:
    """Whether `job` may go to `person` now: not started, and `person` an active
    technician who does not have it already."""
    return (
        REASSIGN in changes_allowed(job.status)
        and assignable(person)
        and person.id != job.technician_id
    )


def _check(job: Intervention, change: str) -> None:
    if change not in changes_allowed(job.status):
        raise ChangeRefused(change, job.status)


def noted(session: AsyncSession, job: Intervention, by: User | None, note: str) -> StatusChange:
    """The audit entry of a change that keeps the status (a reassignment, a signature
    drawn on the screen): from it to itself, with a note."""
    change = StatusChange(
        intervention_id=job.id,
        user_id=by.id if by else None,
        from_status=job.status,
        to_status=job.status,
        note=note,
    )
    session.add(change)
    return change


async def reassign(
    session: AsyncSession, job: Intervention, technician: User, by: User | None, note: str
) -> StatusChange:
    """Give `job` (its technician loaded) to `technician`; its status stays."""
    if not can_reassign(job, technician):
        raise ChangeRefused(REASSIGN, job.status)
    change = noted(session, job, by, note)
    job.technician_id = technician.id
    job.technician = technician
    await session.flush()
    return change


async def reschedule(
    session: AsyncSession, job: Intervention, moment: dt.datetime, by: User | None, note: str
) -> StatusChange:
    """Move `job` to `moment`: a postponed intervention is planned again, a planned one
    stays planned."""
    _check(job, RESCHEDULE)
    job.scheduled_at = moment
    if job.status == Status.POSTPONED:
        return await change_status(session, job, Status.PLANNED, by, note=note)
    change = noted(session, job, by, note)
    await session.flush()
    return change


async def postpone(
    session: AsyncSession, job: Intervention, moment: dt.datetime, by: User | None, note: str
) -> StatusChange:
    """Postpone `job` to `moment` (`note` says why)."""
    _check(job, POSTPONE)
    job.scheduled_at = moment
    return await change_status(session, job, Status.POSTPONED, by, note=note)


async def cancel(
    session: AsyncSession, job: Intervention, by: User | None, reason: str
) -> StatusChange:
    """Cancel `job` for `reason`; nothing changes it afterwards."""
    _check(job, CANCEL)
    return await change_status(session, job, Status.CANCELLED, by, note=reason)


async def validate(session: AsyncSession, job: Intervention, by: User | None) -> StatusChange:
    """The office accepts the submitted report of `job` (awaiting validation only)."""
    return await change_status(session, job, Status.VALIDATED, by)


async def send_back(
    session: AsyncSession, job: Intervention, by: User | None, comment: str
) -> StatusChange:
    """The office returns the submitted report of `job` to its technician, saying why
    in `comment` (awaiting validation only); the technician can correct and submit it
    again."""
    return await change_status(session, job, Status.RETURNED, by, note=comment)


async def ask_client(
    session: AsyncSession, job: Intervention, by: User | None, note: str | None = None
) -> StatusChange:
    """The technician chose remote acceptance: `job` (in progress, or returned for a
    correction) waits for the client's answer."""
    return await change_status(session, job, Status.AWAITING_CLIENT, by, note=note)


async def _back_from_client(
    session: AsyncSession, job: Intervention, by: User | None, note: str
) -> StatusChange:
    back = await left_for_client(session, job.id)
    if job.status != Status.AWAITING_CLIENT:
        raise InvalidTransition(Status(job.status), back)
    return await change_status(session, job, back, by, note=note)


async def client_answered(
    session: AsyncSession, job: Intervention, client: User | None, note: str
) -> StatusChange:
    """The client answered the request (accepted, with or without reservations, or
    refused: `note` says which): `job` goes back to the status it was asked from, and
    the technician goes on. Refused once the technician took the acceptance on site."""
    return await _back_from_client(session, job, client, note)


async def accept_on_site(
    session: AsyncSession, job: Intervention, technician: User | None, note: str
) -> StatusChange:
    """The technician takes the acceptance on site instead of waiting: `job` goes back
    to the status it was asked from. Refused once the client answered."""
    return await _back_from_client(session, job, technician, note)
