"""The report's steps that ask several questions, on the one conversation engine
(handlers.steps): a step declares an ordered tuple of `Question`s about a `Visit`.

Where the wizard stands within such a step is `visit.data["stage"]`: the key of the
question being asked, absent for the first one. The step's buttons name it in their
`place` ("times.hours"), so a key is never renamed: buttons already in chats carry it.
`asking()` turns the tuple into the step's prompt, answer and press; what a step does
beyond that lives in its small functions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aiogram.types import CallbackQuery, Message

from handlers import steps
from handlers.callbacks import Wz
from handlers.i18n import Translator
from handlers.steps import by_target, plain
from handlers.technician.sections import not_expected, refuse
from handlers.technician.visit import StepKind, Visit, figure
from reports.rules.reading import ParseError
from storage.models import Answer

Question = steps.Question[Visit]
Button = steps.Button[Visit]
#: How a typed answer is read: the value, or ParseError with what was expected.
Read = Callable[[Visit, str], Any]

__all__ = ["Button", "Question", "Read", "asking", "by_target", "plain", "record"]


def record(value: Any) -> str | None:
    """A value as the answers record it."""
    return figure(value) if isinstance(value, Decimal) else value


@dataclass
class AtVisit:
    """The engine's place for a report's step: the stage on the intervention row."""

    visit: Visit

    @property
    def t(self) -> Translator:
        return self.visit.t

    @property
    def ctx(self) -> Visit:
        return self.visit

    @property
    def stage(self) -> str | None:
        stage = self.visit.data.get("stage")
        return stage if isinstance(stage, str) else None

    async def move(self, key: str, first: bool) -> None:
        self.visit.remember(stage=None if first else key)

    async def finish(self) -> None:
        await self.visit.advance()

    async def keep(self, question: Question, message: Message, value: Any) -> None:
        setattr(self.visit.job, question.column or "", value)
        await self.visit.note(message.message_id, question.target or "", record(value))

    async def refuse(self, message: Message, error: ParseError) -> None:
        await refuse(self.visit, message, error)

    async def not_expected(self, message: Message, question: Question) -> None:
        await not_expected(self.visit, message, question.expected)


def asking(
    questions: tuple[Question, ...],
    edit: Callable[[Visit, Answer, Message], Awaitable[None]],
) -> StepKind:
    """The step that asks `questions` in their order; `edit` reads an edited answer."""

    async def prompt(visit: Visit) -> None:
        await steps.prompt(AtVisit(visit), questions)

    async def answer(visit: Visit, message: Message) -> None:
        await steps.answer(AtVisit(visit), questions, message)

    async def press(visit: Visit, query: CallbackQuery, data: Wz) -> None:
        await steps.press(AtVisit(visit), questions, query, data.action, data.value)

    return StepKind(prompt, answer, press, edit)
