"""One way to write a multi-step conversation: its questions declared as data.

A conversation is an ordered tuple of `Question`s. A question says what it asks
(`ask`), how a typed answer is read (`read`, which raises ParseError with what was
expected; a coroutine when reading needs the conversation's data) and where it is
kept (`column`, or `store` when it is more than a value), or what else it takes
(`take`: a photo of a signature), and where the conversation goes next (`then`, after
the answer, or a `Button`'s). The same engine runs:

- the report's steps that ask several questions (times, pricing, results, the
  acceptance: handlers.technician.questions), whose place is kept on the
  intervention row;
- /new, /plan, /change and the prompts that wait for one typed answer (why a
  report goes back, a rating's comment, a visit request, an invitation's name:
  handlers.talk), whose place is kept in the conversation's state in the database.

Where a conversation stands is its stage: the key of the question being asked. The
engine only reads and moves it through a `Place`, which also says how the place
refuses what it cannot take. Keys are never renamed: buttons already in chats, and
conversations under way at an upgrade, carry them.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from aiogram.types import CallbackQuery, Message

from handlers.i18n import Translator
from reports.rules.reading import ParseError

C = TypeVar("C")

#: Where a question goes next: a question's key, None (the conversation is done),
#: HERE (stay without asking again: the answer was answered already), or a rule
#: choosing one of those from the conversation.
HERE = "."
Then = str | None | Callable[[Any], str | None]


@dataclass(frozen=True)
class Button(Generic[C]):
    """A button of a question and where it leads (`then`). `value` ("" for any) tells
    apart buttons of one action. `allowed` is checked first: False makes it an old
    button. `do` acts, and answers False to stay at the question and ask it again."""

    action: str
    then: Then
    value: str = ""
    do: Callable[[C, str], Awaitable[bool]] | None = None
    allowed: Callable[[C, str], Awaitable[bool]] | None = None


@dataclass(frozen=True)
class Question(Generic[C]):
    """One question of a conversation.

    `key` is its stage; `text` the catalog key of what it asks; `ask` sends it;
    `expected` is said to a message it cannot take. A typed answer is read by `read`
    and kept by the place under `column`, remembered as answer `target` (or `store`
    keeps it when it is more than a value); `take` reads a message that is not text
    instead, and answers whether it took it. Then comes `then`; `buttons` lead elsewhere.
    `required` is what is said to a person who asks to skip a question without Skip.
    """

    key: str
    text: str
    ask: Callable[[C], Awaitable[None]]
    expected: str
    read: Callable[[C, str], Any] | None = None
    column: str | None = None
    target: str | None = None
    store: Callable[[C, Message, Any], Awaitable[None]] | None = None
    take: Callable[[C, Message], Awaitable[bool]] | None = None
    then: Then = None
    buttons: tuple[Button[C], ...] = ()
    required: str | None = None


class Place(Protocol[C]):
    """Where a conversation runs: it keeps the stage and the answers, and refuses."""

    @property
    def t(self) -> Translator:
        """The language the conversation speaks."""

    @property
    def ctx(self) -> C:
        """What the questions' functions are given."""

    @property
    def stage(self) -> str | None:
        """The key of the question being asked (None: the first)."""

    async def move(self, key: str, first: bool) -> None:
        """The conversation now asks question `key` (`first`: the first one)."""

    async def finish(self) -> None:
        """The last question was answered."""

    async def keep(self, question: Question[C], message: Message, value: Any) -> None:
        """Keeps a typed answer read by `question` (one without `store`)."""

    async def refuse(self, message: Message, error: ParseError) -> None:
        """Says what was not understood; the question stays."""

    async def not_expected(self, message: Message, question: Question[C]) -> None:
        """Says what the question takes, to a message it cannot take."""


def plain(reader: Callable[[str], Any]) -> Callable[[Any, str], Any]:
    """A reader of reports.rules.reading, which needs the text alone."""
    return lambda _ctx, text: reader(text)


def current(place: Place[C], questions: tuple[Question[C], ...]) -> Question[C]:
    """The question being asked: the stage's, else the first."""
    stage = place.stage
    return next((q for q in questions if q.key == stage), questions[0])


def by_target(questions: tuple[Question[C], ...], target: str) -> Question[C] | None:
    """The question whose typed answers are remembered as `target`."""
    return next((q for q in questions if q.target is not None and q.target == target), None)


async def go(place: Place[C], questions: tuple[Question[C], ...], then: Then) -> None:
    """Goes where `then` leads: asks that question, stays, or finishes."""
    key = then(place.ctx) if callable(then) else then
    if key == HERE:
        return
    if key is None:
        await place.finish()
        return
    await place.move(key, key == questions[0].key)
    await current(place, questions).ask(place.ctx)


async def prompt(place: Place[C], questions: tuple[Question[C], ...]) -> None:
    """Asks the question where the conversation stands."""
    await current(place, questions).ask(place.ctx)


async def answer(place: Place[C], questions: tuple[Question[C], ...], message: Message) -> None:
    """Keeps the answer to the current question and goes on; anything it cannot take
    is answered with what it expects, and it stays."""
    question = current(place, questions)
    if question.take is not None:
        if await question.take(place.ctx, message):
            await go(place, questions, question.then)
        return
    if question.read is None or not message.text:
        await place.not_expected(message, question)
        return
    try:
        value = question.read(place.ctx, message.text)
        if inspect.isawaitable(value):
            value = await value
    except ParseError as error:
        await place.refuse(message, error)
        return
    if question.store is not None:
        await question.store(place.ctx, message, value)
    else:
        await place.keep(question, message, value)
    await go(place, questions, question.then)


def button_for(question: Question[C], action: str, value: str) -> Button[C] | None:
    """The button of `question` with this action and value, if it has one."""
    return next(
        (b for b in question.buttons if b.action == action and b.value in ("", value)), None
    )


async def press(
    place: Place[C],
    questions: tuple[Question[C], ...],
    query: CallbackQuery,
    action: str,
    value: str,
) -> None:
    """Goes where the current question's button leads; a button it does not have, or
    one no longer allowed, is an old button."""
    question = current(place, questions)
    button = button_for(question, action, value)
    allowed = button is not None and (
        button.allowed is None or await button.allowed(place.ctx, value)
    )
    if button is None or not allowed:
        await query.answer(place.t("errors.old_button"), show_alert=True)
        return
    await query.answer()
    if button.do is None or await button.do(place.ctx, value):
        await go(place, questions, button.then)
    else:
        await question.ask(place.ctx)
