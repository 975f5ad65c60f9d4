"""The life of an intervention: its statuses and the moves allowed between them.

This is the one place the rule lives. Handlers, the command line and the
scheduler ask `can_move` or call `storage.interventions.change_status`, which
enforces it and writes the audit trail.

    planned ──▶ in_progress ──▶ awaiting_validation ──▶ validated
       │  ▲          │   ▲               │
       │  └─postponed┘   └── returned ◀──┘
       └────────▶ cancelled ◀── (planned, in_progress, postponed, returned, awaiting_client)

    in_progress ◀──▶ awaiting_client ◀──▶ returned

Awaiting the client (`awaiting_client`) is a pause in the work: the technician
asked the client to accept the report remotely, from the report in progress (or
returned for a correction). It goes back to the status it came from when the
client answers, or when the technician takes the acceptance on site instead
(`storage.lifecycle` chooses which).
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    POSTPONED = "postponed"
    CANCELLED = "cancelled"
    AWAITING_VALIDATION = "awaiting_validation"
    RETURNED = "returned"
    AWAITING_CLIENT = "awaiting_client"
    VALIDATED = "validated"


ALLOWED: dict[Status, frozenset[Status]] = {
    Status.PLANNED: frozenset({Status.IN_PROGRESS, Status.POSTPONED, Status.CANCELLED}),
    Status.IN_PROGRESS: frozenset(
        {Status.AWAITING_VALIDATION, Status.AWAITING_CLIENT, Status.POSTPONED, Status.CANCELLED}
    ),
    Status.POSTPONED: frozenset({Status.PLANNED, Status.IN_PROGRESS, Status.CANCELLED}),
    Status.AWAITING_VALIDATION: frozenset({Status.VALIDATED, Status.RETURNED}),
    Status.RETURNED: frozenset(
        {Status.IN_PROGRESS, Status.AWAITING_VALIDATION, Status.AWAITING_CLIENT, Status.CANCELLED}
    ),
    Status.AWAITING_CLIENT: frozenset({Status.IN_PROGRESS, Status.RETURNED, Status.CANCELLED}),
    Status.VALIDATED: frozenset(),
    Status.CANCELLED: frozenset(),
}

#: Statuses in which the work is done: a report with its amounts was submitted (and may
#: be under validation, returned for a correction, or validated). Before that, an
#: intervention has no amounts to bill: planned, in progress, postponed, cancelled.
WORK_DONE = frozenset({Status.AWAITING_VALIDATION, Status.RETURNED, Status.VALIDATED})

#: Statuses a technician still has work to do on.
OPEN_FOR_TECHNICIAN = frozenset({Status.PLANNED, Status.IN_PROGRESS, Status.RETURNED})


class InvalidTransition(Exception):
    """A status change the rules do not allow."""

    def __init__(self, current: Status, target: Status) -> None:
        super().__init__(f"cannot move an intervention from {current} to {target}")
        self.current = current
        self.target = target


def can_move(current: Status, target: Status) -> bool:
    """True when an intervention in `current` may move to `target`."""
    return target in ALLOWED[current]


def check_move(current: Status, target: Status) -> None:
    """Raise InvalidTransition unless the move is allowed."""
    if not can_move(current, target):
        raise InvalidTransition(current, target)
