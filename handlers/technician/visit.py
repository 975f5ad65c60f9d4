"""One intervention being filled in: where the wizard stands and how it moves.

The position lives on the intervention row (`wizard_step`, `wizard_data`), never
in memory, so a restart, a pause of three days or another phone resumes exactly
where the technician stopped. Each kind of step (text, checklist, parts,
photos...) says how it asks and how it reads answers in a `StepKind`; the table of
them all is `handlers.technician.kinds.KINDS`, which the desk gives every visit.

One message asks the current question, and it is the only one of the report whose
buttons work: its id is kept in `wizard_data["asked"]` (the placeholder id a reply
is given, which reaches the real message once it is sent, see bot.replies). A press
on it that stays in the same step (a box ticked, the next question of the times, a
part removed), or that answers nothing new (Back, Skip, Keep), edits it in place;
anything else (a typed answer, a step completed) removes its buttons and asks in a
new message at the bottom of the chat, the answered question left above as it was.
What confirms an answer comes first in the next question's message (`lead`), and a
picture to check (a signature cleaned) is the next question's photo.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiogram import Bot
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram.utils.text_decorations import html_decoration as hd
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from handlers import asking
from handlers.callbacks import WizardAction, Wz
from handlers.context import Options
from handlers.i18n import Translator
from reports.rules.templates import BY_KEY, Kind, Step, Template
from storage import answers, interventions
from storage.files import FileStore
from storage.models import Answer, Client, Intervention, User

#: What a one-line confirmation of an edit shows of a text, at most.
GIST = 120
#: What a step's scratch data keeps from one step to the next: whether the step was
#: opened from the review, and which message asks the current question.
KEPT = ("editing", "asked")
#: Scratch data that is bookkeeping, not a follow-up question of the step.
BOOKKEEPING = (*KEPT, "counting")


def figure(value: Decimal | None) -> str | None:
    """A number as the answers record it ("2.5", whatever the decimals stored)."""
    return None if value is None else format(value.normalize(), "f")


def gist(text: str) -> str:
    """A text on one line, shortened and escaped, for a one-line confirmation."""
    text = " ".join(text.split())
    if len(text) > GIST:
        text = text[: GIST - 1].rstrip() + "…"
    return hd.quote(text)


@dataclass
class Visit:
    """Everything a step needs: the intervention, its template, the person and the means
    to answer them."""

    session: AsyncSession
    bot: Bot
    user: User
    job: Intervention
    client: Client
    template: Template
    t: Translator
    options: Options
    files: FileStore
    chat_id: int
    #: How each kind of step asks and reads (handlers.technician.kinds.KINDS, given by
    #: the desk; a visit that never asks, as the totals of an export, needs none).
    kinds: Mapping[Kind, StepKind] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    #: The message whose button this update pressed, and the step it was pressed in
    #: (None: any step may be asked in its place).
    pressed: Message | None = None
    pressed_step: str | None = None
    #: Said first in the next question's message ("📍 Position saved").
    lead: str = ""
    #: A picture the next question shows (PNG bytes), with the question as its caption.
    picture: bytes | None = None
    #: Whether this update removed the buttons of the question already.
    retired: bool = False

    # Where the wizard stands ---------------------------------------------------

    @property
    def steps(self) -> list[Step]:
        return self.template.steps()

    @property
    def step(self) -> Step:
        """The current step (the first one for an intervention just started)."""
        steps = self.steps
        for step in steps:
            if step.key == self.job.wizard_step:
                return step
        return steps[0]

    @property
    def data(self) -> dict[str, Any]:
        """Step scratch data kept on the intervention (which part is being added...)."""
        if self.job.wizard_data is None:
            self.job.wizard_data = {}
        return self.job.wizard_data

    def remember(self, **values: Any) -> None:
        """Change scratch data; None removes a value."""
        for key, value in values.items():
            if value is None:
                self.data.pop(key, None)
            else:
                self.data[key] = value
        flag_modified(self.job, "wizard_data")

    def forget_scratch(self) -> None:
        """Forget the current step's scratch data (the follow-up question, the line
        being typed...), keeping only what outlives a step (KEPT)."""
        self.job.wizard_data = {key: self.data[key] for key in KEPT if key in self.data}
        flag_modified(self.job, "wizard_data")

    @property
    def inside(self) -> bool:
        """Whether the step is at one of its follow-up questions (not its first)."""
        return any(key not in BOOKKEEPING for key in self.data)

    @property
    def place(self) -> str:
        """Where the wizard stands, as its buttons name it: the step's key, and the
        question within the step when it asks several ("times.hours"). A button shown
        for another place is from an older message."""
        kind = self.kinds.get(self.step.kind)
        if kind is not None and kind.checks_stages:
            return self.step.key
        stage = self.data.get("stage")
        if stage is None and self.data.get("picking"):
            stage = "pick"
        elif stage is None and "noting" in self.data:
            stage = "note"
        return f"{self.step.key}.{stage}" if isinstance(stage, str) and stage else self.step.key

    def required(self, step: Step | None = None) -> bool:
        return self.template.required((step or self.step).key)

    def position(self) -> tuple[int, int]:
        steps = self.steps
        return steps.index(self.step) + 1, len(steps)

    def title(self, step: Step | None = None) -> str:
        return self.t(f"wizard.{(step or self.step).key}.title")

    def header(self) -> str:
        """Which intervention and which step a prompt belongs to."""
        number, total = self.position()
        return self.t(
            "wizard.header",
            number=self.job.number,
            client=hd.quote(self.client.name),
            step=number,
            steps=total,
            title=self.title(),
        )

    # Moving --------------------------------------------------------------------

    def go(self, key: str) -> None:
        """Make `key` the current step, forgetting the scratch data of the one left."""
        self.job.wizard_step = key
        self.forget_scratch()

    def edit_from_review(self, key: str) -> None:
        """Make section `key` the current step, to be corrected and back to the review."""
        self.go(key)
        self.remember(editing=True)

    def next_step(self) -> Step | None:
        steps = self.steps
        index = steps.index(self.step)
        return steps[index + 1] if index + 1 < len(steps) else None

    def previous_step(self) -> Step | None:
        steps = self.steps
        index = steps.index(self.step)
        return steps[index - 1] if index > 0 else None

    async def advance(self) -> None:
        """The current step is done: go to the next one (or back to the review when
        the step was opened from it) and ask its question."""
        if self.data.get("editing") and self.step.kind != Kind.REVIEW:
            self.go("review")
            self.remember(editing=None)
        else:
            following = self.next_step()
            if following is not None:
                self.go(following.key)
        await self.prompt()

    async def back(self) -> None:
        """Back to the previous step; within a step's follow-up questions (a part half
        typed, a comment after a choice), back to the step's first question instead."""
        if self.inside:
            self.forget_scratch()
            await self.prompt()
            return
        earlier = self.previous_step()
        if earlier is not None:
            self.go(earlier.key)
        await self.prompt()

    # Speaking ------------------------------------------------------------------

    def button(self, text: str, action: WizardAction, value: str = "") -> InlineKeyboardButton:
        data = Wz(intervention_id=self.job.id, place=self.place, action=action, value=value)
        return InlineKeyboardButton(text=text, callback_data=data.pack())

    def navigation(self, *, skip: bool = True) -> list[InlineKeyboardButton]:
        """Back, skip (optional steps only) and pause: under every prompt."""
        row = []
        if (self.previous_step() is not None and not self.data.get("editing")) or self.inside:
            row.append(self.button(self.t("wizard.back"), WizardAction.BACK))
        if skip and not self.required():
            row.append(self.button(self.t("wizard.skip"), WizardAction.SKIP))
        row.append(self.button(self.t("wizard.pause"), WizardAction.PAUSE))
        return row

    def keyboard(
        self, *rows: list[InlineKeyboardButton], skip: bool = True
    ) -> InlineKeyboardMarkup:
        builder = InlineKeyboardBuilder()
        for row in rows:
            if row:
                builder.row(*row)
        builder.row(*self.navigation(skip=skip))
        return builder.as_markup()

    async def say(self, text: str, markup: InlineKeyboardMarkup | None = None) -> Message:
        """A message that asks nothing (a notice, a confirmation of an edit)."""
        return await self.bot.send_message(self.chat_id, text, reply_markup=markup)

    async def ask(
        self,
        body: str,
        *rows: list[InlineKeyboardButton],
        skip: bool = True,
        in_place: bool = True,
    ) -> None:
        """Ask the question of the current step: header, question, buttons (see `show`)."""
        if self.data.get("editing") and self.step.kind != Kind.REVIEW:
            body = f"{self.t('wizard.editing')}\n\n{body}"
        await self.show(
            f"{self.header()}\n\n{body}", self.keyboard(*rows, skip=skip), in_place=in_place
        )

    def pressing(self, query: CallbackQuery) -> None:
        """This update is a press on a button of `query`'s message, in the current step."""
        self.pressed = query.message if isinstance(query.message, Message) else None
        self.pressed_step = self.step.key

    def moving_on(self) -> None:
        """The press answers nothing new (Back, Skip, Keep): whatever step comes next
        may be asked in the message pressed."""
        self.pressed_step = None

    async def show(
        self, text: str, markup: InlineKeyboardMarkup | None, *, in_place: bool = True
    ) -> None:
        """Show the current question (see handlers.asking): in place of the message
        pressed when the step is the same (and `in_place`), else as a new message.
        The lead comes first; the picture, if any, is sent as a photo with the
        question as its caption."""
        if self.lead:
            text, self.lead = f"{self.lead}\n\n{text}", ""
        if self.picture is not None:
            await self.retire()
            sent = await self._show_picture(text, markup)
            self.remember(asked=sent.message_id if markup else None)
            return
        same_step = in_place and self.pressed_step in (None, self.step.key)
        asked = await asking.show(
            self.bot,
            self.chat_id,
            text,
            markup,
            pressed=self.pressed if same_step else None,
            asked=self._asked(),
        )
        self.remember(asked=asked)

    async def _show_picture(self, text: str, markup: InlineKeyboardMarkup | None) -> Message:
        picture, self.picture = self.picture or b"", None
        photo = BufferedInputFile(picture, filename="signature.png")
        if len(text) <= asking.CAPTION_LIMIT:
            return await self.bot.send_photo(self.chat_id, photo, caption=text, reply_markup=markup)
        await self.bot.send_photo(self.chat_id, photo)
        return await self.bot.send_message(self.chat_id, text, reply_markup=markup)

    def _asked(self) -> int | None:
        """The message asking the current question; a question asked before any was
        remembered is the message pressed, if it has buttons."""
        asked = self.data.get("asked")
        if isinstance(asked, int):
            return asked
        pressed = self.pressed
        if self.retired or pressed is None or pressed.reply_markup is None:
            return None
        return pressed.message_id

    async def retire(self) -> None:
        """The current question is answered or set aside: its buttons are removed."""
        asked = self._asked()
        if asked is not None:
            await asking.remove_buttons(self.bot, self.chat_id, asked)
        self.remember(asked=None)
        self.retired = True

    async def conclude(self, text: str) -> None:
        """Say `text` in place of the question pressed, or in a new message once the
        question's buttons are removed: the report asks nothing more for now."""
        await asking.show(
            self.bot, self.chat_id, text, None, pressed=self.pressed, asked=self._asked()
        )
        self.remember(asked=None)

    async def ready(self, kind: Kind | None = None) -> None:
        """Load what a kind of step (the current one by default) reads of the report."""
        await interventions.load(self.job, *NEEDS[kind or self.step.kind])

    async def prompt(self) -> None:
        """Ask the question of the current step."""
        await self.ready()
        await self.kinds[self.step.kind].prompt(self)

    # The messages behind the answers -------------------------------------------

    async def note(
        self, message_id: int, target: str, text: str | None, *, step: str | None = None
    ) -> None:
        """Remember that message `message_id` of this chat gave `text` to `target` of this
        report (in the current step unless `step` says which), so that an edit of the
        message changes that answer."""
        await answers.record(
            self.session,
            self.chat_id,
            message_id,
            step=step or self.step.key,
            target=target,
            text=text,
            intervention_id=self.job.id,
        )

    async def pieces(
        self, answer: Answer, value: str | None, *, several: bool = False
    ) -> list[Answer] | None:
        """The answers the stored `value` is made of, when `answer` is one of them; None
        when what it gave is no longer there (rewritten since, or the line removed)."""
        given = await answers.of_target(self.session, self.job.id, answer.target)
        chosen = answers.live(given, value, several=several)
        return chosen if answer in chosen else None

    def section(self, answer: Answer) -> str:
        """The title of the section an answer went to."""
        return self.title(BY_KEY[answer.step])

    async def amended(self, section: str, value: str, total: str | None = None) -> None:
        """One line: the edit is stored in `section`, which now reads `value`, followed by
        the new `total` when it changed ("Total TTC : 252,00 €"); both HTML-ready."""
        values = {"number": self.job.number, "section": section, "value": value}
        if total is None:
            await self.say(self.t("edits.saved", **values))
        else:
            await self.say(self.t("edits.saved_total", total=total, **values))

    async def no_longer_there(self, section: str) -> None:
        """One line: what the edited message gave was replaced since; the review corrects it."""
        await self.say(self.t("edits.rewritten", number=self.job.number, section=section))


async def nothing_to_edit(visit: Visit, answer: Answer, message: Message) -> None:
    """For kinds that keep no answer from a message."""
    await visit.say(visit.t("edits.nothing"))


@dataclass(frozen=True)
class StepKind:
    """How one kind of step asks, reads a message, reads a press on its buttons, and
    reads again a message it had stored once the person edits it.

    `answer` and `press` return nothing; they store what they read, then call
    `visit.advance()` when the step is complete or answer and stay otherwise.
    `edit` reads the edited message with the same readers as `answer`: it replaces
    what that message gave and confirms in one line, or says why not; it never moves
    the wizard nor asks a question again.
    """

    prompt: Callable[[Visit], Awaitable[None]]
    answer: Callable[[Visit, Message], Awaitable[None]]
    press: Callable[[Visit, CallbackQuery, Wz], Awaitable[None]]
    edit: Callable[[Visit, Answer, Message], Awaitable[None]] = nothing_to_edit
    #: True when `press` itself checks which of the step's questions a button belongs
    #: to (its buttons then name the step only, and can say more than "old button").
    checks_stages: bool = False


#: What each kind of step reads of the report beyond its own row, client and site
#: (loaded before it asks, reads an answer or a press): the pricing of the times and
#: pricing steps counts the parts; the review and the submission read everything.
NEEDS: dict[Kind, tuple[str, ...]] = {
    Kind.TEXT: (),
    Kind.CHECKLIST: ("checklist",),
    Kind.PARTS: ("parts",),
    Kind.PHOTOS: ("attachments",),
    Kind.RESULTS: (),
    Kind.TIMES: ("parts",),
    Kind.PRICING: ("parts",),
    Kind.REVIEW: interventions.COLLECTIONS,
    Kind.ACCEPTANCE: (),
    Kind.SUBMIT: interventions.COLLECTIONS,
}
