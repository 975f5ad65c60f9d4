"""Every button payload of the bot: typed, each under Telegram's 64 bytes.

A payload travels as its prefix and its values in order, joined by ":" ("w:42:times:now:");
field names never leave the bot. So a field can be renamed, but a prefix, the order
of the fields and the text of an action are what buttons already in people's chats
carry: changing one of them turns those buttons into old ones.

A press carries whatever the person's client sends: a number in a payload is
checked against what the database can hold before it reaches a query, an action is
one its enumeration names, and a text is no longer than the longest the bot writes
(tests/test_callbacks.py builds every payload with its largest values). A payload
that does not fit its type matches no handler and gets the polite "old button"
answer (handlers/fallback.py).
"""

from __future__ import annotations

import secrets
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder
from pydantic import Field

from handlers.i18n import LANGUAGES, Translator
from storage.models import Role

#: The largest id a row can have: PostgreSQL's integer columns hold 32 bits.
MAX_ROW_ID = 2**31 - 1
#: A row id in a button (1 and up).
RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]
#: A row id, or 0 for "none".
RowIdOrZero = Annotated[int, Field(ge=0, le=MAX_ROW_ID)]
#: The characters of a text in a button, as the bot writes them there (ids, keys,
#: stages, tokens, template names): one byte each, so a length is also a size.
TEXT_PATTERN = r"^[A-Za-z0-9_.\-]*$"


def _text(longest: int) -> Any:
    """The bounds of a text in a button: `longest` characters of TEXT_PATTERN."""
    return Field(max_length=longest, pattern=TEXT_PATTERN)


def row_id(text: str | None) -> int | None:
    """The row id written in `text` (a button's value, a command's argument), or None
    when it is not one the database could hold."""
    if text is None or not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ROW_ID else None


# People and access ------------------------------------------------------------------

#: The choice of an admin who refuses an access request, beside the roles granted.
REFUSE = "no"


class AskAccess(CallbackData, prefix="ask"):
    """An unknown person asks the admins for access."""


class DecideAccess(CallbackData, prefix="dec"):
    """An admin grants `role` to access request `request_id`, or refuses it (REFUSE);
    the handler checks the role is one an access request may receive."""

    request_id: RowId
    role: Role | Literal["no"]


class ChooseLanguage(CallbackData, prefix="lang"):
    """A person chooses the language of their texts: a `code` of the catalogs ("fr");
    the handler checks it is one."""

    code: Annotated[str, _text(max(len(code) for code in LANGUAGES))]


class InviteRole(CallbackData, prefix="inv"):
    """The role an invite link will grant; the handler checks the presser may grant it."""

    role: Role


# The office's decision on a submitted report ------------------------------------------


class DecideAction(StrEnum):
    """What the office does with a submitted report."""

    VALIDATE = "ok"
    RETURN = "back"


class Decide(CallbackData, prefix="val"):
    """The office validates or returns intervention `intervention_id`, as shown in its
    issued version `issue_id`: a press under an older version is refused."""

    action: DecideAction
    intervention_id: RowId
    issue_id: RowId


def decision_keyboard(t: Translator, intervention_id: int, issue_id: int) -> InlineKeyboardMarkup:
    """Validate / Return, under a submitted report (version `issue_id`) in the office chat."""
    builder = InlineKeyboardBuilder()
    for action, label in (
        (DecideAction.VALIDATE, "validation.validate"),
        (DecideAction.RETURN, "validation.return"),
    ):
        data = Decide(action=action, intervention_id=intervention_id, issue_id=issue_id)
        builder.button(text=t(label), callback_data=data)
    return builder.as_markup()


# The client ---------------------------------------------------------------------------


class Rate(CallbackData, prefix="rate"):
    """The client rates intervention `intervention_id`: `stars` (1 to 5), or 0 for "no
    comment" after a rating."""

    intervention_id: RowId
    stars: Annotated[int, Field(ge=0, le=5)]


class Resend(CallbackData, prefix="pdf"):
    """The client asks for the report of intervention `intervention_id` again."""

    intervention_id: RowId


# The office's look-ups ------------------------------------------------------------------


class ShowClient(CallbackData, prefix="lkc"):
    """Open the card of client `client_id`, as /client does."""

    client_id: RowId


class ShowJob(CallbackData, prefix="lkf"):
    """Open intervention `intervention_id`, as /find does."""

    intervention_id: RowId


class PlayVoiceNotes(CallbackData, prefix="lkv"):
    """Send the office the voice notes of intervention `intervention_id`, each with its
    section and time, under its card shown by /find."""

    intervention_id: RowId


# Conversations that collect a client (/new, /plan) ------------------------------------

#: Random bytes of a conversation's token: a button of an earlier /new or /plan
#: carries another token, and is recognised as old.
TOKEN_BYTES = 4
#: A conversation's token as its buttons carry it (URL-safe base64 of TOKEN_BYTES).
Token = Annotated[str, _text(len(secrets.token_urlsafe(TOKEN_BYTES)))]
#: The step of /new or /plan a button was shown for ("site_address" is the longest).
ConversationStep = Annotated[str, _text(12)]
#: What such a button chooses: a row id, or a template's name (at most 32 characters,
#: reports.rules.templates.NAME_PATTERN).
ConversationValue = Annotated[str, _text(32)]


def conversation_token() -> str:
    """A fresh token for a /new or /plan conversation."""
    return secrets.token_urlsafe(TOKEN_BYTES)


class NewAction(StrEnum):
    """What a button of /new does."""

    #: Take the client found (value: its id).
    PICK = "pick"
    #: Create a new client.
    NEW = "new"
    #: Type part of the name again.
    AGAIN = "again"
    #: Make the words searched the new client's name.
    USE = "use"
    #: Leave an optional detail of the new client empty.
    SKIP = "skip"
    #: Open the intervention with this template (value: its name).
    TEMPLATE = "tpl"


class NewJob(CallbackData, prefix="nw"):
    """A button of /new: the conversation's `token`, the `step` it was shown for, the
    `action` and its `value` (a client id, a template's name)."""

    token: Token
    step: ConversationStep
    action: NewAction
    value: ConversationValue = ""


class PlanAction(StrEnum):
    """What a button of /plan does."""

    #: Take the client found (value: its id).
    PICK = "pick"
    #: Create a new client.
    NEW = "new"
    #: Type part of the name again.
    AGAIN = "again"
    #: Make the words searched the new client's name.
    USE = "use"
    #: Leave an optional detail of the new client empty.
    SKIP = "skip"
    #: Plan at this site (value: its id; empty: the client's own address).
    SITE = "site"
    #: Type the address of a new site.
    NEW_SITE = "newsite"
    #: Plan an intervention of this template (value: its name).
    TEMPLATE = "tpl"
    #: Assign this technician (value: their user id), which plans the intervention.
    TECHNICIAN = "tech"


class PlanStep(CallbackData, prefix="pl"):
    """A button of /plan: the conversation's `token`, the `step` it was shown for, the
    `action` and its `value` (a client, site or user id, a template's name)."""

    token: Token
    step: ConversationStep
    action: PlanAction
    value: ConversationValue = ""


# Changes of the planning ---------------------------------------------------------------


class ChangeAction(StrEnum):
    """A change the office makes to a planned intervention (the first four are also
    the keys of their button texts, "plan.<action>")."""

    REASSIGN = "reassign"
    RESCHEDULE = "reschedule"
    POSTPONE = "postpone"
    CANCEL = "cancel"
    #: Reassign to the technician the button names.
    REASSIGN_TO = "to"


class Change(CallbackData, prefix="chg"):
    """The office changes intervention `intervention_id`; REASSIGN_TO gives it to
    `technician_id` (0 with the other actions)."""

    action: ChangeAction
    intervention_id: RowId
    technician_id: RowIdOrZero = 0


# The technician ---------------------------------------------------------------------------


class JobAction(StrEnum):
    """What a button of an intervention does for its technician."""

    #: Show its card.
    OPEN = "open"
    #: Start it: arrival time and location pin.
    START = "start"
    #: Continue its report where it stands.
    CONTINUE = "continue"
    #: Show the QR code that links the client.
    QR = "qr"


class Job(CallbackData, prefix="job"):
    """The technician does `action` on intervention `intervention_id`."""

    intervention_id: RowId
    action: JobAction


class WizardAction(StrEnum):
    """What a button of the report wizard does; each kind of step reads its own."""

    # Under every question
    BACK = "back"
    SKIP = "skip"
    PAUSE = "pause"
    # A text: keep the current answer
    KEEP = "keep"
    # The methods checklist
    TICK = "tick"
    PICK = "pick"
    NOTE = "note"
    CLEAR_NOTE = "clear_note"
    CLEAR_TOOLS = "clear_tools"
    LIST = "list"
    NEXT = "next"
    # The parts (PICK takes a suggestion)
    ADD = "add"
    NEW = "new"
    SAME = "same"
    CANCEL = "cancel"
    REMOVE = "rm"
    UNDO = "undo"
    DONE = "done"
    # The photos (DONE ends them)
    TAG = "tag"
    # The results
    MET = "met"
    NO_COMMENT = "nocomment"
    # The times
    NOW = "now"
    HOURS_OK = "hours_ok"
    FLAT = "flat"
    NO_TRAVEL = "notravel"
    # The pricing
    OK = "ok"
    CHANGE = "change"
    SUMMARY = "summary"
    # The review
    EDIT = "edit"
    CONTINUE = "continue"
    # The client's acceptance
    NAME = "name"
    RESERVE = "reserve"
    CLIENT_OK = "client_ok"
    CLIENT_AGAIN = "client_again"
    OWN_OK = "own_ok"
    OWN_NEW = "own_new"
    # The submission
    SEND = "send"


#: Where the wizard stands, as its buttons name it (Visit.place): a step's key, and the
#: question within the step when it asks several ("acceptance.client_signature" is the
#: longest). With a 10-digit id, the longest action and a 10-digit value, a payload
#: takes all of Telegram's 64 bytes: a longer place or value needs room found first.
WizardPlace = Annotated[str, _text(27)]
#: What a wizard button chooses: a row id (10 digits at most), a section's key, a tag...
WizardValue = Annotated[str, _text(10)]


class Wz(CallbackData, prefix="w"):
    """A button of the wizard: intervention `intervention_id`, the `place` it was shown
    for, the `action` and its `value`. A button shown for another place is old."""

    intervention_id: RowId
    place: WizardPlace
    action: WizardAction
    value: WizardValue = ""


# Pages of the web face ----------------------------------------------------------------

#: The signature pad's page under PUBLIC_URL (served by bot.web.pad).
PAD_PATH = "/pad"
#: Who signs on the pad: the client, or the technician (their own signature).
PAD_SIGNERS = ("client", "technician")


def pad_url(public_url: str, intervention_id: int, who: str) -> str:
    """The address a "Sign on the screen" button opens: the pad on which `who` signs
    the report of intervention `intervention_id`. Like a button's payload, it names
    what it is about; the page proves who opens it with Telegram's initData."""
    return f"{public_url}{PAD_PATH}?{urlencode({'i': intervention_id, 'who': who})}"


def read_pad_address(intervention: object, who: object) -> tuple[int, str] | None:
    """The intervention id and signer a pad names (as `pad_url` wrote them, in its
    address or in what the page posts), or None when they are not ones it writes."""
    found = row_id(str(intervention)) if isinstance(intervention, (str, int)) else None
    if found is None or isinstance(intervention, bool) or who not in PAD_SIGNERS:
        return None
    return found, str(who)
