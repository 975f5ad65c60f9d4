"""Conversations outside the report: /new, /plan, /change and the prompts that wait
for one typed answer, on the one conversation engine (handlers.steps).

A `Conversation` is its questions (data) and a few rules: which state group keeps it
("NewSteps": the state of a chat in the database is "NewSteps:<question>", so it
resumes after a restart), which payload its buttons carry, what leaving it for a
command says, and whether what it is about must still allow it (`still`). Its
`install` registers the handlers every such conversation needs, for one area's router:

- a typed answer or a press goes to the engine, for the question being asked;
- a button carries the conversation's token and the question it was shown for: a
  button of an earlier run, or of a question that is over, gets a polite answer;
- another command leaves the conversation and runs (or, for a prompt that wants its
  answer, is refused with what it expects); /skip presses the question's Skip;
- a button of another conversation leaves it, when it says so (`leave_on_button`).

The area's own command starts it (`start`), with the conversation's first data.

A conversation that keeps to one message (`one_message`, /new) remembers which
message asks its question (the "q" of its data): a press on it shows the next
question in its place; a typed answer, or leaving, removes its buttons, and the
next question comes in a new message. Its only live buttons are the current
question's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
)
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import asking, steps
from handlers.callbacks import conversation_token
from handlers.context import Options
from handlers.i18n import Translator
from handlers.steps import Question
from reports.rules.reading import ParseError
from storage import answers
from storage.models import User

A = TypeVar("A")

#: The action of a Skip button, which /skip typed also presses (see `skip`).
SKIP = "skip"
#: A command typed during a conversation (the conversation's answers are never one).
COMMAND = F.text.startswith("/")


class In(Filter):
    """The chat is at one of these states."""

    def __init__(self, states: set[str]) -> None:
        self.states = states

    async def __call__(self, _event: object, raw_state: str | None = None) -> bool:
        return raw_state in self.states


def by_two(buttons: list[InlineKeyboardButton]) -> list[list[InlineKeyboardButton]]:
    """Buttons in rows of two."""
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def chat_of(query: CallbackQuery) -> int:
    """The chat a button was pressed in."""
    return query.message.chat.id if query.message else query.from_user.id


@dataclass
class Talk(Generic[A]):
    """One update of a conversation: the engine's place (the stage in the chat's
    state) and what its questions are given (`of`: the area's object)."""

    conversation: Conversation[A]
    of: A
    t: Translator
    bot: Bot
    session: AsyncSession
    user: User
    options: Options
    state: FSMContext
    chat_id: int
    stage: str | None
    data: dict[str, Any]
    #: Said before the next question, in the same message ("client saved").
    lead: str = ""
    #: The message whose button this update pressed (a live button of the conversation).
    pressed: Message | None = None

    @property
    def ctx(self) -> Talk[A]:
        return self

    # The place ---------------------------------------------------------------------

    async def move(self, key: str, first: bool) -> None:
        await self.state.set_state(self.conversation.state_of(key))
        self.stage = key

    async def finish(self) -> None:
        await self.state.clear()
        self.stage, self.data = None, {}

    async def retire(self) -> None:
        """The question asked loses its buttons (answered, or the conversation left)."""
        asked = self.data.get("q")
        if self.conversation.one_message and isinstance(asked, int):
            await asking.remove_buttons(self.bot, self.chat_id, asked)
            await self.update(q=None)

    async def conclude(self, text: str) -> None:
        """Says `text` in place of the question pressed, or in a new message once the
        question's buttons are removed: the conversation asks nothing more."""
        if not self.conversation.one_message:
            await self.say(text)
            return
        asked = self.data.get("q")
        await asking.show(
            self.bot,
            self.chat_id,
            text,
            None,
            pressed=self.pressed,
            asked=asked if isinstance(asked, int) else None,
        )
        await self.update(q=None)

    async def keep(self, question: Question[Talk[A]], message: Message, value: Any) -> None:
        await self.update(**{question.column or question.key: value})
        await self.note(message, question.target or question.key, value)

    async def refuse(self, message: Message, error: ParseError) -> None:
        await message.answer(self.t(error.key, **error.display_values(self.t.language)))

    async def not_expected(self, message: Message, question: Question[Talk[A]]) -> None:
        if not self.conversation.ask_again:
            await message.answer(self.t(question.expected))
            return
        self.lead = self.t(question.expected)
        await question.ask(self)

    # What questions use ------------------------------------------------------------

    async def update(self, **values: Any) -> None:
        """Keeps values in the conversation's data."""
        self.data.update(values)
        await self.state.update_data(**values)

    def button(self, text: str, action: StrEnum, value: str = "") -> InlineKeyboardButton:
        """A button of the question being asked."""
        payload = self.conversation.payload
        assert payload is not None, f"{self.conversation.group} has no buttons"
        data = payload(token=self.data.get("k", ""), step=self.stage, action=action, value=value)
        return InlineKeyboardButton(text=text, callback_data=data.pack())

    async def say(
        self, text: str, markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | None = None
    ) -> None:
        """Sends `text` (after the lead, if any) with its buttons."""
        lead, self.lead = self.lead, ""
        await self.bot.send_message(
            self.chat_id, f"{lead}\n\n{text}" if lead else text, reply_markup=markup
        )

    async def ask(self, text: str, rows: list[list[InlineKeyboardButton]]) -> None:
        """Asks a question with its rows of buttons: in a conversation that keeps to one
        message, in place of the question pressed, or in a new message once the
        buttons of the question before are removed."""
        markup = InlineKeyboardMarkup(inline_keyboard=rows) if rows else None
        if not self.conversation.one_message:
            await self.say(text, markup)
            return
        lead, self.lead = self.lead, ""
        asked = self.data.get("q")
        shown = await asking.show(
            self.bot,
            self.chat_id,
            f"{lead}\n\n{text}" if lead else text,
            markup,
            pressed=self.pressed,
            asked=asked if isinstance(asked, int) else None,
        )
        await self.update(q=shown)

    async def note(
        self, message: Message, target: str, value: Any, intervention_id: int | None = None
    ) -> None:
        """Remembers that `message` answered `target`, so that an edit of it is answered."""
        name = self.conversation.name
        await answers.record(
            self.session,
            message.chat.id,
            message.message_id,
            step=name,
            target=f"{name}:{target}",
            text=None if value is None else str(value),
            intervention_id=intervention_id,
        )


@dataclass
class Conversation(Generic[A]):
    """A conversation's questions and rules (see the module's text).

    `build` makes the area's object from the update's data. `left` is said when a
    command leaves it; None: a command is refused with the question's `expected`, and
    the conversation stays. `still` is asked before any answer or press; False: what
    the conversation is about has changed meanwhile (it says so itself).
    """

    group: str
    name: str
    questions: tuple[Question[Talk[A]], ...]
    build: Callable[[dict[str, Any]], A]
    payload: type[CallbackData] | None = None
    left: str | None = None
    leave_on_button: bool = False
    #: Whether /skip typed is the question's Skip (its button of action "skip").
    skip: bool = False
    #: Whether a message it cannot take is answered with the question again.
    ask_again: bool = True
    still: Callable[[Talk[A]], Awaitable[bool]] | None = None
    #: What a button of it says to a person who may not use it.
    refused: str = "errors.not_allowed"
    #: Whether its questions keep to one message with live buttons (see the module).
    one_message: bool = False
    by_key: dict[str, Question[Talk[A]]] = field(init=False)

    def __post_init__(self) -> None:
        self.by_key = {question.key: question for question in self.questions}

    async def talk(self, data: dict[str, Any], chat_id: int) -> Talk[A]:
        """The conversation in the chat, for the update whose data is `data`."""
        state: FSMContext = data["state"]
        raw = await state.get_state() or ""
        group, _, stage = raw.partition(":")
        return Talk(
            conversation=self,
            of=self.build(data),
            t=data["t"],
            bot=data["bot"],
            session=data["session"],
            user=data["user"],
            options=data["options"],
            state=state,
            chat_id=chat_id,
            stage=stage if group == self.group else None,
            data=await state.get_data(),
        )

    async def start(
        self, talk: Talk[A], values: dict[str, Any] | None = None, first: str | None = None
    ) -> None:
        """Starts afresh (forgetting any conversation under way) with `values` in its
        data, at question `first` (by default the first)."""
        if talk.stage is not None:
            await talk.retire()  # the question of the run left behind
        await talk.state.clear()
        talk.data = {"k": conversation_token(), **(values or {})}
        await talk.state.set_data(talk.data)
        key = first or self.questions[0].key
        await talk.move(key, key == self.questions[0].key)
        await steps.prompt(talk, self.questions)

    def state_of(self, key: str) -> str:
        """The chat's state while question `key` is asked."""
        return f"{self.group}:{key}"

    async def _still(self, talk: Talk[A]) -> bool:
        return self.still is None or await self.still(talk)

    def install(self, router: Router, who: Filter) -> None:
        """Registers the conversation's handlers on `router`, for people passing `who`."""
        here = In({self.state_of(question.key) for question in self.questions})

        @router.message(here, who, COMMAND)
        async def command(message: Message, **data: Any) -> None:
            talk = await self.talk(data, message.chat.id)
            word = (message.text or "").split()[0].split("@")[0]
            if self.skip and word == "/skip":
                question = steps.current(talk, self.questions)
                button = steps.button_for(question, SKIP, "")
                if button is None and question.required:
                    await message.answer(talk.t(question.required))
                elif button is None:
                    await question.ask(talk)
                elif button.do is None or await button.do(talk, ""):
                    await steps.go(talk, self.questions, button.then)
                return
            if self.left is None:
                await message.answer(talk.t(steps.current(talk, self.questions).expected))
                return
            await talk.retire()
            await talk.finish()
            await message.answer(talk.t(self.left))
            raise SkipHandler

        if self.leave_on_button:
            assert self.payload is not None
            payload = self.payload

            @router.callback_query(here, who, ~payload.filter())
            async def other_button(query: CallbackQuery, **data: Any) -> None:
                talk = await self.talk(data, chat_of(query))
                await talk.retire()
                await talk.finish()
                await talk.say(talk.t(self.left or ""))
                raise SkipHandler

        @router.message(here, who, ~COMMAND)
        async def typed(message: Message, **data: Any) -> None:
            talk = await self.talk(data, message.chat.id)
            if await self._still(talk):
                await steps.answer(talk, self.questions, message)

        if self.payload is None:
            return
        buttons = self.payload

        @router.callback_query(buttons.filter(), who)
        async def pressed(query: CallbackQuery, callback_data: Any, **data: Any) -> None:
            talk = await self.talk(data, chat_of(query))
            live = (
                talk.stage is not None
                and callback_data.step == talk.stage
                and callback_data.token == talk.data.get("k")
            )
            if not live:
                await query.answer(talk.t("errors.old_button"), show_alert=True)
                if self.one_message:
                    await asking.strip_old(talk.session, talk.data.get("q"), query.message)
                return
            if isinstance(query.message, Message):
                talk.pressed = query.message
            if not await self._still(talk):
                await query.answer()
            else:
                await steps.press(
                    talk, self.questions, query, callback_data.action, callback_data.value
                )

        @router.callback_query(buttons.filter())
        async def not_theirs(query: CallbackQuery, t: Translator) -> None:
            await query.answer(t(self.refused), show_alert=True)
