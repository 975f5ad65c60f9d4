"""The one conversation engine: questions declared as data, run the same way for the
report's steps and for /new, /plan, /change and the prompts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import handlers.change
from handlers import steps
from handlers.i18n import Translator
from handlers.office import INVITE
from handlers.plan import PLAN
from handlers.rating import COMMENT
from handlers.steps import HERE, Button, Question
from handlers.talk import Conversation
from handlers.technician.new import NEW
from handlers.validation import RETURN
from handlers.visit_requests import VISIT
from reports.rules.reading import ParseError

CONVERSATIONS: list[Conversation[Any]] = [
    NEW, PLAN, handlers.change.CHANGE, RETURN, COMMENT, VISIT, INVITE,
]  # fmt: skip


# A conversation on a place of its own, without Telegram --------------------------------


@dataclass
class Said:
    text: str


@dataclass
class Query:
    answers: list[tuple[str | None, bool]] = field(default_factory=list)

    async def answer(self, text: str | None = None, show_alert: bool = False) -> None:
        self.answers.append((text, show_alert))


@dataclass
class Place:
    """Keeps the stage and what was kept, and writes down what it said."""

    t: Translator = field(default_factory=lambda: Translator("en"))
    stage: str | None = None
    kept: dict[str, Any] = field(default_factory=dict)
    said: list[str] = field(default_factory=list)
    done: bool = False

    @property
    def ctx(self) -> Place:
        return self

    async def move(self, key: str, first: bool) -> None:
        self.stage = None if first else key

    async def finish(self) -> None:
        self.done = True

    async def keep(self, question: Question[Place], message: Any, value: Any) -> None:
        self.kept[question.column or question.key] = value

    async def refuse(self, message: Any, error: ParseError) -> None:
        self.said.append(f"refused: {error.key}")

    async def not_expected(self, message: Any, question: Question[Place]) -> None:
        self.said.append(f"expected: {question.expected}")


def asks(key: str) -> Any:
    async def ask(place: Place) -> None:
        place.said.append(f"asks {key}")

    return ask


def read_count(_place: Place, text: str) -> int:
    if not text.isdigit():
        raise ParseError("parse.number")
    return int(text)


async def searched(place: Place, _message: Any, value: int) -> None:
    place.said.append(f"results for {value}")


async def only_small(_place: Place, value: str) -> bool:
    return value in ("s", "m")


async def sized(place: Place, value: str) -> bool:
    place.kept["size"] = value
    return value != "m"  # a medium size asks again


QUESTIONS: tuple[Question[Place], ...] = (
    Question("count", "count", asks("count"), "count.expected", read=read_count, then="size"),
    Question(
        "size", "size", asks("size"), "size.expected",
        buttons=(Button("pick", lambda place: None if place.kept["count"] < 3 else "search",
                        do=sized, allowed=only_small),),
    ),
    Question("search", "search", asks("search"), "search.expected",
             read=read_count, store=searched, then=HERE),
)  # fmt: skip


@dataclass
class Text:
    text: str | None


async def test_a_typed_answer_is_read_kept_and_the_next_question_asked() -> None:
    place = Place()
    await steps.answer(place, QUESTIONS, Text("2"))
    assert place.kept == {"count": 2} and place.stage == "size"
    assert place.said == ["asks size"]


async def test_what_cannot_be_read_is_refused_and_the_question_stays() -> None:
    place = Place()
    await steps.answer(place, QUESTIONS, Text("two"))
    await steps.answer(place, QUESTIONS, Text(None))
    assert place.said == ["refused: parse.number", "expected: count.expected"]
    assert place.stage is None and place.kept == {}


async def test_a_button_leads_where_its_rule_says_and_an_unknown_one_is_old() -> None:
    place = Place(stage="size", kept={"count": 1})
    query = Query()
    await steps.press(place, QUESTIONS, query, "pick", "l")
    await steps.press(place, QUESTIONS, query, "other", "")
    assert query.answers == [(place.t("errors.old_button"), True)] * 2
    assert place.stage == "size" and "size" not in place.kept
    await steps.press(place, QUESTIONS, query, "pick", "m")
    assert place.said == ["asks size"] and place.stage == "size"  # asked again
    await steps.press(place, QUESTIONS, query, "pick", "s")
    assert place.done and place.kept["size"] == "s"


async def test_a_rule_can_lead_on_and_an_answer_can_keep_the_question() -> None:
    place = Place(stage="size", kept={"count": 5})
    await steps.press(place, QUESTIONS, Query(), "pick", "s")
    assert place.stage == "search"
    await steps.answer(place, QUESTIONS, Text("42"))
    assert place.stage == "search" and place.said[-1] == "results for 42"


# The conversations of the chat -----------------------------------------------------------


def test_every_conversation_leads_only_to_its_own_questions() -> None:
    for conversation in CONVERSATIONS:
        keys = [question.key for question in conversation.questions]
        assert len(set(keys)) == len(keys), conversation.group
        for question in conversation.questions:
            leads = [question.then] + [button.then for button in question.buttons]
            fixed = {then for then in leads if isinstance(then, str) and then != HERE}
            assert fixed <= set(keys), (conversation.group, question.key)


def test_the_states_of_conversations_under_way_keep_their_names() -> None:
    """A chat's state in the database names its conversation and question: renaming
    one would lose the conversations under way at an upgrade."""
    assert {c.name: [c.state_of(q.key) for q in c.questions] for c in CONVERSATIONS} == {
        "new": [f"NewSteps:{key}" for key in
                ("client", "name", "contact", "phone", "email", "address", "template")],
        "plan": [f"PlanSteps:{key}" for key in
                 ("client", "name", "contact", "phone", "email", "address", "site",
                  "site_address", "template", "request", "when", "technician")],
        "change": ["ChangeSteps:reason", "ChangeSteps:when"],
        "return": ["ReturnSteps:comment"],
        "rating": ["ClientSteps:rating_comment"],
        "visit": ["ClientSteps:visit"],
        "invite": ["InviteSteps:name"],
    }  # fmt: skip


def test_conversations_are_declared_on_the_engine_not_as_state_groups() -> None:
    """Only /verify keeps a state of its own: a mode in which a PDF sent is checked
    (anything else goes where it would go without it), not a conversation."""
    handlers_dir = Path(__file__).resolve().parent.parent / "handlers"
    groups = sorted(
        path.relative_to(handlers_dir).as_posix()
        for path in handlers_dir.rglob("*.py")
        if "StatesGroup" in path.read_text(encoding="utf-8")
    )
    assert groups == ["verify.py"]
