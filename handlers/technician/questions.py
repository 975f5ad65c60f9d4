"""Steps that ask several questions, declared as data: an ordered tuple of `Question`s.

Where the wizard stands within such a step is `visit.data["stage"]`: the key of the
question being asked, absent for the first one. The step's buttons name it in their
`place` ("times.hours"), so a key is never renamed: buttons already in chats carry it.

A question says how it is asked, how a typed answer is read and where it goes, or
what else it takes (a photo of a signature), and which question comes next, after
the answer or on which button. `asking()` turns the tuple into the step's prompt,
answer and press; what a step does beyond that lives in its small functions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aiogram.types import CallbackQuery, Message

from handlers.callbacks import WizardAction, Wz
from handlers.technician.sections import not_expected, refuse
from handlers.technician.visit import StepKind, Visit, figure
from reports.rules.reading import ParseError
from storage.models import Answer

#: How a typed answer is read: the value, or ParseError with what was expected.
Read = Callable[[Visit, str], Any]


@dataclass(frozen=True)
class Button:
    """A button of a question and where it leads: the question `then` (None: the step
    is done). `value` ("" for any) tells apart buttons of one action; `do` acts first
    and answers False to stay at the question instead."""

    action: WizardAction
    then: str | None
    value: str = ""
    do: Callable[[Visit, str], Awaitable[bool]] | None = None


@dataclass(frozen=True)
class Question:
    """One question of a step.

    `key` is its stage; `text` the catalog key of what it asks; `ask` sends it; `expected`
    is said to a message it cannot take. A typed answer is read by `read` and goes to the
    Intervention `column`, remembered as answer `target` (or `store` keeps it when it
    is more than a column); `take` reads a message that is not text instead. Then comes
    question `then` (None: the step is done); `buttons` lead elsewhere.
    """

    key: str
    text: str
    ask: Callable[[Visit], Awaitable[None]]
    expected: str
    read: Read | None = None
    column: str | None = None
    target: str | None = None
    store: Callable[[Visit, Message, Any], Awaitable[None]] | None = None
    take: Callable[[Visit, Message], Awaitable[bool]] | None = None
    then: str | None = None
    buttons: tuple[Button, ...] = ()


def plain(reader: Callable[[str], Any]) -> Read:
    """A reader of reports.rules.reading, which needs the text alone."""
    return lambda _visit, text: reader(text)


def record(value: Any) -> str | None:
    """A value as the answers record it."""
    return figure(value) if isinstance(value, Decimal) else value


def current(visit: Visit, questions: tuple[Question, ...]) -> Question:
    """The question being asked: the stage's, else the first."""
    stage = visit.data.get("stage")
    return next((q for q in questions if q.key == stage), questions[0])


def by_target(questions: tuple[Question, ...], target: str) -> Question | None:
    """The question whose typed answers are remembered as `target`."""
    return next((q for q in questions if q.target is not None and q.target == target), None)


async def go(visit: Visit, questions: tuple[Question, ...], key: str | None) -> None:
    """Ask question `key` (None: the step is done, the wizard goes on)."""
    if key is None:
        await visit.advance()
        return
    visit.remember(stage=None if key == questions[0].key else key)
    await current(visit, questions).ask(visit)


def asking(
    questions: tuple[Question, ...], edit: Callable[[Visit, Answer, Message], Awaitable[None]]
) -> StepKind:
    """The step that asks `questions` in their order; `edit` reads an edited answer."""

    async def prompt(visit: Visit) -> None:
        await current(visit, questions).ask(visit)

    async def answer(visit: Visit, message: Message) -> None:
        """Stores the answer to the current question and asks the next one; anything
        it cannot take is answered with what it expects, and it stays."""
        question = current(visit, questions)
        if question.take is not None:
            if await question.take(visit, message):
                await go(visit, questions, question.then)
            return
        if question.read is None or not message.text:
            await not_expected(visit, message, question.expected)
            return
        try:
            value = question.read(visit, message.text)
        except ParseError as error:
            await refuse(visit, message, error)
            return
        if question.store is not None:
            await question.store(visit, message, value)
        else:
            setattr(visit.job, question.column or "", value)
            await visit.note(message.message_id, question.target or "", record(value))
        await go(visit, questions, question.then)

    async def press(visit: Visit, query: CallbackQuery, data: Wz) -> None:
        """Goes where the button of the current question leads."""
        question = current(visit, questions)
        button = next(
            (
                b
                for b in question.buttons
                if b.action == data.action and b.value in ("", data.value)
            ),
            None,
        )
        if button is None:
            await query.answer(visit.t("errors.old_button"), show_alert=True)
            return
        await query.answer()
        if button.do is None or await button.do(visit, data.value):
            await go(visit, questions, button.then)
        else:
            await question.ask(visit)

    return StepKind(prompt, answer, press, edit)
