"""Acceptance of the work (réception des travaux): who accepts for the client, with
or without reservations, the client's signature, and the technician's own.

A signature arrives as a photo of a signature on paper or on a screen. It is
cleaned (paper removed, ink kept, cropped, transparent) and shown back for
confirmation; the original photo is kept as well. A technician's signature is
captured once and reused on every report; each report keeps the one it used.
"""

from __future__ import annotations

import asyncio

from aiogram.types import BufferedInputFile, CallbackQuery, Message

from handlers.callbacks import WizardAction, Wz
from handlers.technician.photos import Refused, download, incoming_file
from handlers.technician.sections import not_expected, preview, refuse
from handlers.technician.visit import StepKind, Visit, gist
from reports import offload
from reports.images import ImageRejected, prepare_signature
from reports.rules.reading import ParseError, clean_text
from storage import signatures
from storage.models import Answer, Signature
from storage.signatures import CLIENT, TECHNICIAN

NAME_LIMIT = 200
RESERVATIONS_LIMIT = 4000


async def acceptance_prompt(visit: Visit) -> None:
    t, job = visit.t, visit.job
    stage = visit.data.get("stage", "name")
    if stage == "name":
        rows = []
        suggestion = visit.client.contact_name or job.client_signer_name
        if suggestion:
            rows.append(
                [visit.button(t("acceptance.use_name", name=suggestion[:40]), WizardAction.NAME)]
            )
        await visit.ask(t("acceptance.ask_name"), *rows)
    elif stage == "reserve":
        await visit.ask(
            t("acceptance.ask_reserve", name=preview(job.client_signer_name or "")),
            [
                visit.button(t("acceptance.without"), WizardAction.RESERVE, "no"),
                visit.button(t("acceptance.with"), WizardAction.RESERVE, "yes"),
            ],
        )
    elif stage == "reservations":
        await visit.ask(t("acceptance.ask_reservations"))
    elif stage == "client_signature":
        await visit.ask(
            t("acceptance.ask_client_signature", name=preview(job.client_signer_name or ""))
        )
    elif stage == "client_check":
        await visit.ask(
            t("acceptance.check_client"),
            [
                visit.button(t("acceptance.signature_ok"), WizardAction.CLIENT_OK),
                visit.button(t("acceptance.signature_again"), WizardAction.CLIENT_AGAIN),
            ],
        )
    elif stage == "own_signature":
        mine = await signatures.own(visit.session, visit.user.id)
        if mine is not None and not visit.data.get("new_own"):
            await visit.ask(
                t("acceptance.use_own"),
                [
                    visit.button(t("acceptance.own_ok"), WizardAction.OWN_OK),
                    visit.button(t("acceptance.own_new"), WizardAction.OWN_NEW),
                ],
            )
        else:
            await visit.ask(t("acceptance.ask_own_signature"))


async def _clean_and_keep(
    visit: Visit, message: Message, signer: str, name: str
) -> Signature | None:
    """Download the photo, clean it into a transparent PNG, keep both, show it back."""
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
    await visit.bot.send_document(
        visit.chat_id,
        BufferedInputFile(cleaned, filename="signature.png"),
        caption=visit.t("acceptance.cleaned" if signer == CLIENT else "acceptance.cleaned_own"),
    )
    return signature


#: The Intervention column each typed answer of the acceptance goes to.
ACCEPTANCE_COLUMNS = {"signer": "client_signer_name", "reservations": "reservations"}


def read_acceptance(what: str, text: str) -> str:
    """The name of who accepts for the client, or the reservations, as typed."""
    return clean_text(text, maximum=NAME_LIMIT if what == "signer" else RESERVATIONS_LIMIT)


async def acceptance_answer(visit: Visit, message: Message) -> None:
    job, stage = visit.job, visit.data.get("stage", "name")
    if stage in ("name", "reservations"):
        if not message.text:
            await not_expected(visit, message, "wizard.text_expected")
            return
        what = "signer" if stage == "name" else "reservations"
        try:
            text = read_acceptance(what, message.text)
        except ParseError as error:
            await refuse(visit, message, error)
            return
        setattr(job, ACCEPTANCE_COLUMNS[what], text)
        await visit.note(message.message_id, f"acceptance:{what}", text)
        visit.remember(stage="reserve" if stage == "name" else "client_signature")
        await acceptance_prompt(visit)
        return
    if stage == "client_signature":
        if await _clean_and_keep(visit, message, CLIENT, job.client_signer_name or ""):
            visit.remember(stage="client_check")
            await acceptance_prompt(visit)
        return
    if stage == "own_signature":
        mine = await signatures.own(visit.session, visit.user.id)
        if mine is not None and not visit.data.get("new_own"):
            await not_expected(visit, message, "acceptance.use_buttons")
            return
        signature = await _clean_and_keep(visit, message, TECHNICIAN, visit.user.name)
        if signature is not None:
            signatures.sign_report_with(visit.session, visit.job.id, visit.user, signature)
            await visit.advance()
        return
    await not_expected(visit, message, "acceptance.use_buttons")


async def acceptance_press(visit: Visit, query: CallbackQuery, data: Wz) -> None:
    job, t = visit.job, visit.t
    await query.answer()
    if data.action == WizardAction.NAME:
        name = visit.client.contact_name or job.client_signer_name
        if name:
            job.client_signer_name = name
            visit.remember(stage="reserve")
    elif data.action == WizardAction.RESERVE:
        job.accepted_with_reservations = data.value == "yes"
        if data.value == "yes":
            visit.remember(stage="reservations")
        else:
            job.reservations = None
            visit.remember(stage="client_signature")
    elif data.action == WizardAction.CLIENT_OK:
        visit.remember(stage="own_signature")
    elif data.action == WizardAction.CLIENT_AGAIN:
        visit.remember(stage="client_signature")
    elif data.action == WizardAction.OWN_OK:
        mine = await signatures.own(visit.session, visit.user.id)
        if mine is None:
            visit.remember(new_own=True)
        else:
            signatures.sign_report_with(visit.session, visit.job.id, visit.user, mine)
            await visit.advance()
            return
    elif data.action == WizardAction.OWN_NEW:
        visit.remember(new_own=True)
    else:
        await visit.say(t("errors.old_button"))
    await acceptance_prompt(visit)


async def acceptance_edit(visit: Visit, answer: Answer, message: Message) -> None:
    """Stores an edited name of who accepts, or edited reservations."""
    what = answer.target.removeprefix("acceptance:")
    column = ACCEPTANCE_COLUMNS.get(what)
    section = visit.section(answer)
    if column is None or await visit.pieces(answer, getattr(visit.job, column)) is None:
        await visit.no_longer_there(section)
        return
    section = f"{section} · {visit.t(f'edits.{what}')}"
    try:
        text = read_acceptance(what, message.text or "")
    except ParseError as error:
        await refuse(visit, message, error)
        return
    setattr(visit.job, column, text)
    answer.text = text
    await visit.amended(section, gist(text))


ACCEPTANCE = StepKind(acceptance_prompt, acceptance_answer, acceptance_press, acceptance_edit)
