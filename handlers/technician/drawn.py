"""A signature drawn on the screen, at the acceptance step.

The acceptance's signature questions offer "Sign on the screen" when the bot has a
web face: a page (the signature pad, bot.web.pad) opened inside Telegram. What is
drawn there comes back here, in a unit of work of its own, and is taken like a
photo of a signature would be: kept as the report's signature (the drawing, and the
strokes with their times as evidence), written to the audit trail, and the chat
goes on by itself with the next question. The page may only sign while the wizard
stands at that very question, for the technician the report is assigned to.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from handlers import steps
from handlers.i18n import pick_language
from handlers.technician import money
from handlers.technician.acceptance import QUESTIONS, reusing
from handlers.technician.desk import WORKING, Desk
from handlers.technician.questions import AtVisit
from handlers.technician.sections import preview
from handlers.technician.visit import Visit
from handlers.tell import office_translator
from reports.data import Language
from reports.formatting import Formatter
from reports.rules.templates import Kind
from storage import lifecycle, signatures
from storage.files import StoredFile
from storage.models import Role, Signature, SignatureMethod, User
from storage.signatures import CLIENT, TECHNICIAN

#: Why the pad may not sign: the report is not this person's to sign...
NOT_YOURS = "not_yours"
#: ...or the wizard no longer (or not yet) asks for that signature.
MOVED_ON = "moved_on"

#: The acceptance question each signer's drawing answers, and the one asked next
#: (the client's drawing needs no check of a cleaning: the technician's own is next).
ANSWERS = {CLIENT: "client_signature", TECHNICIAN: "own_signature"}
NEXT = {CLIENT: "own_signature", TECHNICIAN: None}


class PadRefused(Exception):
    """The pad may not sign this report now; `reason` is NOT_YOURS or MOVED_ON."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Drawing:
    """What the pad drew, ready to keep: the PNG the report prints (checked and
    cropped) and the evidence (the strokes with their times, as JSON)."""

    png: bytes
    evidence: bytes
    #: The fingerprint of `evidence`: the same drawing sent twice has the same one.
    sha256: str


def may_fill_reports(person: User | None) -> bool:
    """Whether `person` (registered for the Telegram account that opened the pad)
    fills in reports: an active technician."""
    return person is not None and person.active and person.role == Role.TECHNICIAN


async def open_report(desk: Desk, intervention_id: int) -> Visit:
    """The report the pad signs, if it is assigned to the technician at the desk (in
    their private chat); PadRefused(NOT_YOURS) otherwise."""
    if not may_fill_reports(desk.user):
        raise PadRefused(NOT_YOURS)
    visit = await desk.open(intervention_id, desk.user.telegram_id)
    if visit is None:
        raise PadRefused(NOT_YOURS)
    return visit


async def asked(visit: Visit, who: str) -> bool:
    """Whether the wizard stands at the question `who`'s signature answers: the
    report is being filled in, at the acceptance, at that question (the technician's
    own only when a new one is asked, not while their kept one is offered)."""
    if visit.job.status not in WORKING or visit.step.kind != Kind.ACCEPTANCE:
        return False
    if AtVisit(visit).stage != ANSWERS[who]:
        return False
    return who == CLIENT or await reusing(visit) is None


def page_language(visit: Visit, who: str) -> Language:
    """The language the pad speaks: the signer's. The client reads it in the language
    of their report; the technician in their own."""
    if who == CLIENT:
        language = pick_language(visit.client.language, None, visit.options.default_language)
    else:
        language = visit.t.language
    return "en" if language == "en" else "fr"


def signer_name(visit: Visit, who: str) -> str:
    return (visit.job.client_signer_name or "") if who == CLIENT else visit.user.name


async def summary(visit: Visit, who: str) -> dict[str, str | None]:
    """What the signer accepts, as the pad shows it in `page_language`: the report's
    number, the client, the total incl. VAT, the reservations (None without), the
    signer's name."""
    await visit.ready(Kind.PRICING)
    language = page_language(visit, who)
    total = Formatter(language, visit.options.tz).money(money.totals(visit).incl_vat)
    reservations = visit.job.reservations if visit.job.accepted_with_reservations else None
    return {
        "language": language,
        "who": who,
        "number": visit.job.number,
        "client": visit.client.name,
        "total": total,
        "reservations": (reservations or "").strip() or None,
        "signer": signer_name(visit, who),
    }


async def already_taken(visit: Visit, who: str, drawing: Drawing) -> bool:
    """Whether this very drawing is already the report's signature of `who` (the page
    sent it again: a second Confirm, an answer lost on the way)."""
    found = await signatures.with_evidence(visit.session, visit.job.id, who, drawing.sha256)
    return found is not None


async def take(visit: Visit, who: str, drawing: Drawing) -> None:
    """Keeps the drawing as `who`'s signature on the report (the technician's also as
    their kept one), notes it in the audit trail, then says so in the chat and asks
    the next question. The caller has checked `asked`."""
    folder = "signatures"
    evidence = await asyncio.to_thread(visit.files.save, folder, drawing.evidence, ".json")
    image = await asyncio.to_thread(visit.files.save, folder, drawing.png, ".png")
    name = signer_name(visit, who)
    kept = await _keep(visit, who, name, evidence, image)
    if who == TECHNICIAN:
        signatures.sign_report_with(visit.session, visit.job.id, visit.user, kept)
        visit.remember(new_own=None)
    note = office_translator(visit.options)(
        f"pad.audit.{who}", name=name, telegram_id=visit.user.telegram_id
    )
    lifecycle.noted(visit.session, visit.job, visit.user, note)
    visit.user.current_intervention_id = visit.job.id
    if who == CLIENT:
        await visit.say(visit.t("acceptance.drawn", name=preview(name)))
    else:
        await visit.say(visit.t("acceptance.drawn_own"))
    await steps.go(AtVisit(visit), QUESTIONS, NEXT[who])


async def _keep(
    visit: Visit, who: str, name: str, evidence: StoredFile, image: StoredFile
) -> Signature:
    return await signatures.keep(
        visit.session,
        signer=who,
        signer_name=name,
        original=evidence,
        original_mime="application/json",
        cleaned=image,
        intervention_id=visit.job.id if who == CLIENT else None,
        user_id=visit.user.id if who == TECHNICIAN else None,
        method=SignatureMethod.SCREEN,
    )
