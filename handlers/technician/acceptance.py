"""Acceptance of the work (réception des travaux): who accepts for the client, with
or without reservations, the client's signature, and the technician's own.

A signature arrives as a photo of a signature on paper or on a screen. It is
cleaned (paper removed, ink kept, cropped, transparent) and shown back as a
picture, on white as the report prints it, with the next question as its caption
(is the client's readable? / the report ready to send); the original photo is
kept as well. When the bot has a web face, a "Sign on the screen" button beside
the question opens the signature pad instead (handlers.technician.drawn takes what
is drawn there). A technician's signature is
captured once and reused on every report; each report keeps the one it used.
"""

from __future__ import annotations

import asyncio

from aiogram.types import InlineKeyboardButton, Message, WebAppInfo

from handlers.callbacks import WizardAction, pad_url
from handlers.technician.files import Refused, download, incoming_file
from handlers.technician.questions import Button, Question, asking, by_target
from handlers.technician.sections import not_expected, preview, refuse
from handlers.technician.visit import Visit, gist
from reports import offload
from reports.images import ImageRejected, prepare_signature, signature_preview
from reports.rules.reading import ParseError, clean_text
from storage import signatures
from storage.models import Answer, Signature
from storage.signatures import CLIENT, TECHNICIAN

NAME_LIMIT = 200
RESERVATIONS_LIMIT = 4000


async def ask_name(visit: Visit) -> None:
    rows = []
    suggestion = visit.client.contact_name or visit.job.client_signer_name
    if suggestion:
        use = visit.t("acceptance.use_name", name=suggestion[:40])
        rows.append([visit.button(use, WizardAction.NAME)])
    await visit.ask(visit.t("acceptance.ask_name"), *rows)


async def ask_reserve(visit: Visit) -> None:
    t = visit.t
    await visit.ask(
        t("acceptance.ask_reserve", name=preview(visit.job.client_signer_name or "")),
        [
            visit.button(t("acceptance.without"), WizardAction.RESERVE, "no"),
            visit.button(t("acceptance.with"), WizardAction.RESERVE, "yes"),
        ],
    )


async def ask_reservations(visit: Visit) -> None:
    await visit.ask(visit.t("acceptance.ask_reservations"))


def pad_row(visit: Visit, who: str) -> list[InlineKeyboardButton]:
    """ "Sign on the screen": the signature pad, when the bot has a web face (PUBLIC_URL)."""
    public_url = visit.options.public_url
    if not public_url:
        return []
    page = WebAppInfo(url=pad_url(public_url, visit.job.id, who))
    return [InlineKeyboardButton(text=visit.t("acceptance.sign_on_screen"), web_app=page)]


async def ask_client_signature(visit: Visit) -> None:
    name = preview(visit.job.client_signer_name or "")
    pad = pad_row(visit, CLIENT)
    key = "acceptance.ask_client_signature_pad" if pad else "acceptance.ask_client_signature"
    await visit.ask(visit.t(key, name=name), pad)


async def ask_client_check(visit: Visit) -> None:
    t = visit.t
    await visit.ask(
        t("acceptance.check_client"),
        [
            visit.button(t("acceptance.signature_ok"), WizardAction.CLIENT_OK),
            visit.button(t("acceptance.signature_again"), WizardAction.CLIENT_AGAIN),
        ],
    )


async def reusing(visit: Visit) -> Signature | None:
    """The technician's kept signature, unless they chose to give a new one."""
    if visit.data.get("new_own"):
        return None
    return await signatures.own(visit.session, visit.user.id)


async def ask_own_signature(visit: Visit) -> None:
    t = visit.t
    if await reusing(visit) is None:
        pad = pad_row(visit, TECHNICIAN)
        key = "acceptance.ask_own_signature_pad" if pad else "acceptance.ask_own_signature"
        await visit.ask(t(key), pad)
        return
    await visit.ask(
        t("acceptance.use_own"),
        [
            visit.button(t("acceptance.own_ok"), WizardAction.OWN_OK),
            visit.button(t("acceptance.own_new"), WizardAction.OWN_NEW),
        ],
    )


async def _clean_and_keep(
    visit: Visit, message: Message, signer: str, name: str
) -> Signature | None:
    """Download the photo, clean it into a transparent PNG, keep both; the next question
    shows it back."""
    incoming = incoming_file(message)
    if incoming is None:
        await not_expected(visit, message, "acceptance.signature_expected")
        return None
    try:
        original = await download(visit, incoming)
        cleaned = await offload.run(prepare_signature, original)
    except Refused as refused:
        await message.answer(visit.t(refused.key, **refused.values))
        return None
    except ImageRejected as rejected:
        key = (
            "acceptance.no_ink"
            if rejected.reason == "not_a_signature"
            else f"photos.rejected_{rejected.reason}"
        )
        await message.answer(visit.t(key))
        return None
    folder = "signatures"
    kept_original = await asyncio.to_thread(visit.files.save, folder, original, ".jpg")
    kept_clean = await asyncio.to_thread(visit.files.save, folder, cleaned, ".png")
    signature = await signatures.keep(
        visit.session,
        signer=signer,
        signer_name=name,
        original=kept_original,
        original_mime=incoming.mime_type,
        cleaned=kept_clean,
        intervention_id=visit.job.id if signer == CLIENT else None,
        user_id=visit.user.id if signer == TECHNICIAN else None,
    )
    visit.picture = await offload.run(signature_preview, cleaned)
    visit.lead = visit.t("acceptance.cleaned" if signer == CLIENT else "acceptance.cleaned_own")
    return signature


def read_name(_visit: Visit, text: str) -> str:
    return clean_text(text, maximum=NAME_LIMIT)


def read_reservations(_visit: Visit, text: str) -> str:
    return clean_text(text, maximum=RESERVATIONS_LIMIT)


async def use_suggested_name(visit: Visit, _value: str) -> bool:
    name = visit.client.contact_name or visit.job.client_signer_name
    if name:
        visit.job.client_signer_name = name
    return bool(name)


async def with_reservations(visit: Visit, _value: str) -> bool:
    visit.job.accepted_with_reservations = True
    return True


async def without_reservations(visit: Visit, _value: str) -> bool:
    visit.job.accepted_with_reservations = False
    visit.job.reservations = None
    return True


async def take_client_signature(visit: Visit, message: Message) -> bool:
    name = visit.job.client_signer_name or ""
    return await _clean_and_keep(visit, message, CLIENT, name) is not None


async def take_own_signature(visit: Visit, message: Message) -> bool:
    """A new signature of the technician, kept for the next reports too."""
    if await reusing(visit) is not None:
        await not_expected(visit, message, "acceptance.use_buttons")
        return False
    signature = await _clean_and_keep(visit, message, TECHNICIAN, visit.user.name)
    if signature is None:
        return False
    signatures.sign_report_with(visit.session, visit.job.id, visit.user, signature)
    return True


async def use_own(visit: Visit, _value: str) -> bool:
    """Signs with the kept signature; asks for one when there is none after all."""
    mine = await signatures.own(visit.session, visit.user.id)
    if mine is None:
        visit.remember(new_own=True)
        return False
    signatures.sign_report_with(visit.session, visit.job.id, visit.user, mine)
    return True


async def new_own(visit: Visit, _value: str) -> bool:
    visit.remember(new_own=True)
    return True


async def acceptance_edit(visit: Visit, answer: Answer, message: Message) -> None:
    """Stores an edited name of who accepts, or edited reservations."""
    question = by_target(QUESTIONS, answer.target)
    section = visit.section(answer)
    column = question.column if question is not None else None
    if question is None or question.read is None or column is None:
        await visit.no_longer_there(section)
        return
    if await visit.pieces(answer, getattr(visit.job, column)) is None:
        await visit.no_longer_there(section)
        return
    what = answer.target.removeprefix("acceptance:")
    section = f"{section} · {visit.t(f'edits.{what}')}"
    try:
        text = question.read(visit, message.text or "")
    except ParseError as error:
        await refuse(visit, message, error)
        return
    setattr(visit.job, column, text)
    answer.text = text
    await visit.amended(section, gist(text))


#: Who accepts, with or without reservations (which), the client's signature shown
#: back for checking, then the technician's own (the kept one, or a new one).
QUESTIONS = (
    Question(
        "name", "acceptance.ask_name", ask_name, "wizard.text_expected",
        read=read_name, column="client_signer_name", target="acceptance:signer",
        then="reserve", buttons=(Button(WizardAction.NAME, "reserve", do=use_suggested_name),),
    ),
    Question(
        "reserve", "acceptance.ask_reserve", ask_reserve, "acceptance.use_buttons",
        buttons=(
            Button(WizardAction.RESERVE, "client_signature", "no", do=without_reservations),
            Button(WizardAction.RESERVE, "reservations", "yes", do=with_reservations),
        ),
    ),
    Question(
        "reservations", "acceptance.ask_reservations", ask_reservations, "wizard.text_expected",
        read=read_reservations, column="reservations", target="acceptance:reservations",
        then="client_signature",
    ),
    Question(
        "client_signature", "acceptance.ask_client_signature", ask_client_signature,
        "acceptance.signature_expected", take=take_client_signature, then="client_check",
    ),
    Question(
        "client_check", "acceptance.check_client", ask_client_check, "acceptance.use_buttons",
        buttons=(
            Button(WizardAction.CLIENT_OK, "own_signature"),
            Button(WizardAction.CLIENT_AGAIN, "client_signature"),
        ),
    ),
    Question(
        "own_signature", "acceptance.ask_own_signature", ask_own_signature,
        "acceptance.signature_expected", take=take_own_signature, then=None,
        buttons=(
            Button(WizardAction.OWN_OK, None, do=use_own),
            Button(WizardAction.OWN_NEW, "own_signature", do=new_own),
        ),
    ),
)  # fmt: skip

ACCEPTANCE = asking(QUESTIONS, acceptance_edit)
