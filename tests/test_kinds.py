"""The one table of step kinds answers every kind a template can hold."""

from __future__ import annotations

from handlers.technician.kinds import KINDS
from reports.rules.templates import STEPS, Kind


def test_every_kind_of_step_has_its_answers_in_the_one_table() -> None:
    assert set(KINDS) == set(Kind)
    assert {step.kind for step in STEPS} <= set(KINDS)
