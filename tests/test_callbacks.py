"""Every button payload fits in Telegram's 64 bytes with the largest values it can carry,
reads back as it was written, and says what buttons already in people's chats say."""

from __future__ import annotations

import inspect
import itertools
import re
import types
import typing
from enum import Enum
from typing import Any

import annotated_types
import pytest
from aiogram.filters.callback_data import MAX_CALLBACK_LENGTH, CallbackData
from pydantic.fields import FieldInfo

from handlers import callbacks, planning_notices
from handlers.callbacks import (
    REFUSE,
    AskAccess,
    Change,
    ChangeAction,
    ChooseLanguage,
    Decide,
    DecideAccess,
    DecideAction,
    InviteRole,
    Job,
    JobAction,
    NewAction,
    NewJob,
    PlanAction,
    PlanStep,
    PlayVoiceNotes,
    Rate,
    Resend,
    ShowClient,
    ShowJob,
    WizardAction,
    Wz,
    conversation_token,
)
from reports.rules.templates import NAME_PATTERN
from storage.models import Role

#: Every payload class of handlers/callbacks.py, found there: a new one is covered here
#: without being listed.
PAYLOADS = sorted(
    (
        value
        for value in vars(callbacks).values()
        if inspect.isclass(value)
        and issubclass(value, CallbackData)
        and value.__module__ == callbacks.__name__
    ),
    key=lambda cls: cls.__name__,
)


def _bound(metadata: list[Any], kind: type[Any], name: str) -> Any:
    return next((getattr(item, name) for item in metadata if isinstance(item, kind)), None)


def _extremes(annotation: Any, field: FieldInfo) -> list[Any]:
    """The values of a field's type that can pack longest: every member of an enumeration
    or literal, both ends of a number's range, a text of the greatest length."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [value for part in typing.get_args(annotation) for value in _extremes(part, field)]
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    if inspect.isclass(annotation) and issubclass(annotation, Enum):
        return list(annotation)
    if annotation is int:
        low = _bound(field.metadata, annotated_types.Ge, "ge")
        high = _bound(field.metadata, annotated_types.Le, "le")
        assert low is not None and high is not None, "a number in a button needs a range"
        return [low, high]
    if annotation is str:
        longest = _bound(field.metadata, annotated_types.MaxLen, "max_length")
        assert longest is not None, "a text in a button needs a max_length"
        pattern = next((item.pattern for item in field.metadata if hasattr(item, "pattern")), None)
        assert pattern is not None and not re.match(pattern, "é"), (
            "a text in a button needs a pattern of one-byte characters"
        )
        return ["a" * longest]
    raise AssertionError(f"no largest value known for a field of type {annotation!r}")


def _packed_length(value: Any) -> int:
    return len(str(value.value if isinstance(value, Enum) else value).encode())


def _values(payload: type[CallbackData]) -> dict[str, list[Any]]:
    """For each field of `payload`, its extreme values, the one that packs longest first."""
    found = {}
    for name, field in payload.model_fields.items():
        values = _extremes(field.annotation, field)
        found[name] = sorted(values, key=_packed_length, reverse=True)
    return found


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda cls: cls.__name__)
def test_a_button_with_the_largest_values_fits_in_what_telegram_carries(
    payload: type[CallbackData],
) -> None:
    largest = payload(**{name: values[0] for name, values in _values(payload).items()})
    packed = largest.pack()
    assert len(packed.encode()) <= MAX_CALLBACK_LENGTH, packed
    assert payload.unpack(packed) == largest


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda cls: cls.__name__)
def test_every_extreme_value_of_a_button_reads_back_as_it_was_written(
    payload: type[CallbackData],
) -> None:
    values = _values(payload)
    for combination in itertools.product(*values.values()):
        written = payload(**dict(zip(values, combination, strict=True)))
        assert payload.unpack(written.pack()) == written


#: What buttons already in chats carry, and the payload each one reads as. A payload
#: class without an example here fails the test below.
IN_CHATS: list[tuple[str, CallbackData]] = [
    ("ask", AskAccess()),
    ("dec:7:dispatcher", DecideAccess(request_id=7, role=Role.DISPATCHER)),
    ("dec:7:no", DecideAccess(request_id=7, role=REFUSE)),
    ("lang:en", ChooseLanguage(code="en")),
    ("inv:client", InviteRole(role=Role.CLIENT)),
    ("val:ok:42:3", Decide(action=DecideAction.VALIDATE, intervention_id=42, issue_id=3)),
    ("val:back:42:3", Decide(action=DecideAction.RETURN, intervention_id=42, issue_id=3)),
    ("rate:42:4", Rate(intervention_id=42, stars=4)),
    ("rate:42:0", Rate(intervention_id=42, stars=0)),
    ("pdf:42", Resend(intervention_id=42)),
    ("lkc:5", ShowClient(client_id=5)),
    ("lkf:42", ShowJob(intervention_id=42)),
    ("lkv:42", PlayVoiceNotes(intervention_id=42)),
    (
        "nw:Ab3_-x:client:pick:5",
        NewJob(token="Ab3_-x", step="client", action=NewAction.PICK, value="5"),
    ),
    ("nw:Ab3_-x:name:skip:", NewJob(token="Ab3_-x", step="name", action=NewAction.SKIP)),
    (
        "nw:Ab3_-x:template:tpl:repair",
        NewJob(token="Ab3_-x", step="template", action=NewAction.TEMPLATE, value="repair"),
    ),
    ("pl:Ab3_-x:site:site:", PlanStep(token="Ab3_-x", step="site", action=PlanAction.SITE)),
    ("pl:Ab3_-x:site:newsite:", PlanStep(token="Ab3_-x", step="site", action=PlanAction.NEW_SITE)),
    (
        "pl:Ab3_-x:technician:tech:9",
        PlanStep(token="Ab3_-x", step="technician", action=PlanAction.TECHNICIAN, value="9"),
    ),
    ("chg:postpone:42:0", Change(action=ChangeAction.POSTPONE, intervention_id=42)),
    ("chg:to:42:9", Change(action=ChangeAction.REASSIGN_TO, intervention_id=42, technician_id=9)),
    ("job:42:continue", Job(intervention_id=42, action=JobAction.CONTINUE)),
    ("job:42:qr", Job(intervention_id=42, action=JobAction.QR)),
    ("w:42:context:skip:", Wz(intervention_id=42, place="context", action=WizardAction.SKIP)),
    (
        "w:42:parts:rm:17",
        Wz(intervention_id=42, place="parts", action=WizardAction.REMOVE, value="17"),
    ),
    (
        "w:42:acceptance.reserve:reserve:yes",
        Wz(
            intervention_id=42, place="acceptance.reserve", action=WizardAction.RESERVE, value="yes"
        ),
    ),
    (
        "w:42:results:nocomment:",
        Wz(intervention_id=42, place="results", action=WizardAction.NO_COMMENT),
    ),
]


@pytest.mark.parametrize(("packed", "payload"), IN_CHATS, ids=[packed for packed, _ in IN_CHATS])
def test_a_button_already_in_a_chat_reads_as_before(packed: str, payload: CallbackData) -> None:
    assert payload.pack() == packed
    assert type(payload).unpack(packed) == payload


def test_every_kind_of_button_has_an_example_from_a_chat() -> None:
    assert {type(payload) for _, payload in IN_CHATS} == set(PAYLOADS)


def test_the_actions_buttons_carry_keep_their_text() -> None:
    carried = {
        DecideAction: {"ok", "back"},
        NewAction: {"pick", "new", "again", "use", "skip", "tpl"},
        PlanAction: {"pick", "new", "again", "use", "skip", "site", "newsite", "tpl", "tech"},
        ChangeAction: {"reassign", "reschedule", "postpone", "cancel", "to"},
        JobAction: {"open", "start", "continue", "qr"},
        WizardAction: {
            *("back", "skip", "pause", "keep"),
            *("tick", "pick", "note", "clear_note", "clear_tools", "list", "next"),
            *("add", "new", "same", "cancel", "rm", "undo", "done", "tag"),
            *("met", "nocomment", "now", "hours_ok", "flat", "notravel"),
            *("ok", "change", "summary", "edit", "continue"),
            *("name", "reserve", "client_ok", "client_again", "own_ok", "own_new", "send"),
        },
    }
    for action, texts in carried.items():
        assert {member.value for member in action} == texts, action.__name__


def test_the_longest_template_name_and_a_fresh_token_fit_a_conversation_button() -> None:
    longest = max(n for n in range(1, 100) if NAME_PATTERN.fullmatch("a" * n))
    for payload, action in ((NewJob, NewAction.TEMPLATE), (PlanStep, PlanAction.TEMPLATE)):
        button = payload(
            token=conversation_token(), step="template", action=action, value="a" * longest
        )
        assert len(button.pack().encode()) <= MAX_CALLBACK_LENGTH


def test_a_payload_beyond_its_type_is_not_read() -> None:
    for packed, payload in (
        ("w:42:context:explode:", Wz),
        (f"w:42:{'a' * 28}:skip:", Wz),
        ("w:42:parts:rm:99999999999", Wz),
        ("chg:move:42:0", Change),
        ("val:maybe:42:3", Decide),
        ("nw:Ab3_-x7:client:pick:5", NewJob),
        ("pl:Ab3_-x:client:pick:é", PlanStep),
        ("dec:7:admin!", DecideAccess),
        ("inv:owner", InviteRole),
        ("lang:fra", ChooseLanguage),
    ):
        with pytest.raises(ValueError):
            payload.unpack(packed)


@pytest.mark.parametrize("intervention_id", [1, 42, callbacks.MAX_ROW_ID])
def test_the_open_button_written_without_aiogram_is_the_one_the_bot_reads(
    intervention_id: int,
) -> None:
    """The command line's import writes the Open button under a technician's notice
    without aiogram (handlers.planning_notices): it is Job's payload, and reads back."""
    written = planning_notices.open_payload(intervention_id)
    assert written == Job(intervention_id=intervention_id, action=JobAction.OPEN).pack()
    assert Job.unpack(written) == Job(intervention_id=intervention_id, action=JobAction.OPEN)
