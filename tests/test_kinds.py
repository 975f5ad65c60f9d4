"""The one table of step kinds answers every kind a template can hold."""

from __future__ import annotations

from handlers.technician.kinds import KINDS, QUESTIONS
from reports.rules.templates import STEPS, Kind


def test_every_kind_of_step_has_its_answers_in_the_one_table() -> None:
    assert set(KINDS) == set(Kind)
    assert {step.kind for step in STEPS} <= set(KINDS)


def test_every_question_leads_to_a_question_of_its_own_step() -> None:
    for kind, questions in QUESTIONS.items():
        keys = [question.key for question in questions]
        assert len(set(keys)) == len(keys), kind
        for question in questions:
            leads = [question.then] + [button.then for button in question.buttons]
            assert {then for then in leads if then is not None} <= set(keys), question.key
            assert question.read is None or question.take is None, question.key


def test_the_stages_named_in_buttons_already_in_chats_keep_their_names() -> None:
    """A stage is stored in visit.data and named in every button's `place`
    ("times.hours"): renaming one turns the buttons already sent into old buttons."""
    assert {kind: [q.key for q in questions] for kind, questions in QUESTIONS.items()} == {
        Kind.RESULTS: ["met", "comment"],
        Kind.TIMES: ["end", "hours", "travel"],
        Kind.PRICING: ["summary", "rate", "vat", "terms"],
        Kind.ACCEPTANCE: [
            "name",
            "reserve",
            "reservations",
            "client_signature",
            "client_check",
            "own_signature",
        ],
    }
