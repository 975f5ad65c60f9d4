"""The results step: were the objectives met (yes, partly, no), then a comment."""

from __future__ import annotations

from aiogram.types import Message

from handlers.callbacks import WizardAction
from handlers.technician.questions import Button, Question, asking
from handlers.technician.sections import SECTION_LIMIT, edit_piece, preview
from handlers.technician.visit import Visit
from reports.rules.reading import clean_text
from storage.models import Answer

OUTCOMES = ("yes", "partly", "no")


async def ask_met(visit: Visit) -> None:
    met = visit.job.results_met
    choices = [
        visit.button(
            ("● " if met == outcome else "") + visit.t(f"wizard.results.{outcome}"),
            WizardAction.MET,
            outcome,
        )
        for outcome in OUTCOMES
    ]
    await visit.ask(visit.t("wizard.results.prompt"), choices)


async def ask_comment(visit: Visit) -> None:
    job, t = visit.job, visit.t
    body = t("wizard.results.comment", met=t(f"wizard.results.{job.results_met}"))
    if job.results_comment:
        body += "\n\n" + t("wizard.current", value=preview(job.results_comment))
    await visit.ask(body, [visit.button(t("wizard.results.no_comment"), WizardAction.NO_COMMENT)])


async def met(visit: Visit, value: str) -> bool:
    if value not in OUTCOMES:
        return False
    visit.job.results_met = value
    return True


async def chosen(visit: Visit, _value: str) -> bool:
    return bool(visit.job.results_met)


def read_comment(_visit: Visit, text: str) -> str:
    return clean_text(text, maximum=SECTION_LIMIT)


async def results_edit(visit: Visit, answer: Answer, message: Message) -> None:
    """Stores the edited comment on the result."""
    section = visit.section(answer)
    await edit_piece(visit, answer, message, "results_comment", section, several=False)


#: Objectives met? Yes / partly / no; then a comment (or none).
QUESTIONS = (
    Question(
        "met", "wizard.results.prompt", ask_met, "wizard.results.choose",
        buttons=(Button(WizardAction.MET, "comment", do=met),),
    ),
    Question(
        "comment", "wizard.results.comment", ask_comment, "wizard.text_expected",
        read=read_comment, column="results_comment", target="results:comment", then=None,
        buttons=(Button(WizardAction.NO_COMMENT, None, do=chosen),),
    ),
)  # fmt: skip

RESULTS = asking(QUESTIONS, results_edit)
