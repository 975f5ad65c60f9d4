"""Every kind of step and how it asks, reads a message, a press and an edit: one table.

The modules of the steps each define their `StepKind`; this table names them all in
the order of the report, so that what answers a step is read here rather than
gathered from imports. The desk hands it to each `Visit` it opens. The steps that
ask several questions declare them (see questions.py); `QUESTIONS` names them too,
for the state diagram (diagram.py).
"""

from __future__ import annotations

from handlers.technician import (
    acceptance,
    checklist,
    parts,
    photos,
    pricing,
    results,
    review,
    sections,
    submit,
    times,
)
from handlers.technician.questions import Question
from handlers.technician.visit import StepKind
from reports.rules.templates import Kind

KINDS: dict[Kind, StepKind] = {
    Kind.TEXT: sections.TEXT,
    Kind.CHECKLIST: checklist.CHECKLIST,
    Kind.PARTS: parts.PARTS,
    Kind.PHOTOS: photos.PHOTOS,
    Kind.RESULTS: results.RESULTS,
    Kind.TIMES: times.TIMES,
    Kind.PRICING: pricing.PRICING,
    Kind.REVIEW: review.REVIEW,
    Kind.ACCEPTANCE: acceptance.ACCEPTANCE,
    Kind.SUBMIT: submit.SUBMIT,
}

#: The questions of the steps that ask several, in the order they are asked.
QUESTIONS: dict[Kind, tuple[Question, ...]] = {
    Kind.RESULTS: results.QUESTIONS,
    Kind.TIMES: times.QUESTIONS,
    Kind.PRICING: pricing.QUESTIONS,
    Kind.ACCEPTANCE: acceptance.QUESTIONS,
}
