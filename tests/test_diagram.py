"""The state diagram in docs/wizard.md is the one the wizard's data draws."""

from __future__ import annotations

from pathlib import Path

from handlers.technician.diagram import diagram, page
from handlers.technician.kinds import QUESTIONS
from reports.rules.templates import STEPS

PAGE = Path(__file__).resolve().parent.parent / "docs" / "wizard.md"


def test_the_committed_wizard_diagram_is_the_one_the_data_draws() -> None:
    assert PAGE.read_text(encoding="utf-8") == page(), (
        "docs/wizard.md is out of date: python -m handlers.technician.diagram > docs/wizard.md"
    )


def test_the_diagram_shows_every_section_and_every_question_in_order() -> None:
    text = diagram()
    places = [step.key for step in STEPS] + [
        f"{step.key}_{question.key}" for step in STEPS for question in QUESTIONS.get(step.kind, ())
    ]
    for place in places:
        assert f"    {place} " in text or f"    state {place} {{" in text, place
    firsts = [text.index(f"--> {step.key}\n") for step in STEPS[1:]]
    assert firsts == sorted(firsts)
