"""Everything an intervention report prints, as plain frozen dataclasses.

The bot fills a `ReportData` from its database; `reports.pdf.build_report` turns it
into PDF bytes. Nothing here knows about Telegram or SQL: money is `Decimal`, moments
are timezone-aware `datetime`s (rendered in `ReportData.timezone`), pictures are bytes.

Optional text is an empty string when absent (the report leaves such fields and
empty sections out); optional objects are `None`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

Language = Literal["fr", "en"]
"""The languages a report can be written in."""

LANGUAGES: tuple[Language, ...] = ("fr", "en")


class Outcome(StrEnum):
    """Were the objectives of the intervention met?"""

    YES = "yes"
    PARTLY = "partly"
    NO = "no"


class PhotoTag(StrEnum):
    """Where a photo belongs in the before/after story of the work."""

    BEFORE = "before"
    AFTER = "after"


@dataclass(frozen=True, slots=True)
class Company:
    """The company that did the work: the header of every page."""

    name: str
    address: str = ""
    """Postal address; may hold several lines separated by newlines."""
    phone: str = ""
    email: str = ""
    siret: str = ""
    vat_number: str = ""
    logo: bytes | None = None
    """PNG or JPEG bytes, drawn at most 18 mm high in the header."""


@dataclass(frozen=True, slots=True)
class Client:
    """The customer the work was done for."""

    name: str
    contact: str = ""
    """The person to speak to at the client's."""
    address: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True, slots=True)
class Location:
    """A location pin sent from the technician's phone."""

    latitude: float
    longitude: float
    accuracy_m: float | None = None
    """Horizontal accuracy in metres, when the phone gave one."""


@dataclass(frozen=True, slots=True)
class Intervention:
    """What was planned and what happened, when and where, by whom."""

    number: str
    """The document number, e.g. "OT-2026-0042"."""
    kind: str
    """The type of intervention as the company names it ("Maintenance", "Dépannage"...)."""
    technician: str
    template: str = ""
    """The name of the template the wizard followed."""
    scheduled_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    site_address: str = ""
    """Where the work was done, when not at the client's address."""
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    """One line of the methods checklist: ticked (done, checked) or not."""

    label: str
    checked: bool
    note: str = ""


@dataclass(frozen=True, slots=True)
class Sections:
    """The free-text sections of the report, in the order they are printed.

    Each empty section is left out of the document.
    """

    context: str = ""
    objective: str = ""
    methods: str = ""
    """Methods, tools and equipment used."""
    checklist: tuple[ChecklistItem, ...] = ()
    work_done: str = ""
    outcome: Outcome | None = None
    """Objectives met: yes, partly or no (None: not answered)."""
    outcome_comment: str = ""
    remarks: str = ""
    """Remarks and recommendations."""


@dataclass(frozen=True, slots=True)
class PartLine:
    """One line of the parts table. Prices exclude VAT."""

    reference: str
    designation: str
    quantity: Decimal
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class FlatTravel:
    """Travel charged as a flat fee (excl. VAT)."""

    amount: Decimal


@dataclass(frozen=True, slots=True)
class DistanceTravel:
    """Travel charged by the kilometre (excl. VAT)."""

    distance_km: Decimal
    rate_per_km: Decimal


Travel = FlatTravel | DistanceTravel


@dataclass(frozen=True, slots=True)
class Pricing:
    """The inputs of the pricing rules; `reports.totals.compute_totals` does the sums."""

    hours: Decimal
    """Hours worked, e.g. Decimal("2.5")."""
    labour_rate: Decimal
    """Price of one hour of work, excl. VAT."""
    travel: Travel | None = None
    vat_rate: Decimal = Decimal("0.20")
    """VAT rate as a fraction: Decimal("0.20") for 20 %, Decimal("0.055") for 5.5 %."""
    payment_terms: str = ""
    currency: str = "EUR"
    """ISO 4217 code of every amount."""


#: How a signature was given: drawn on the screen (the signature pad in Telegram), or
#: a photo of a signature on paper.
SignedOn = Literal["screen", "paper"]


@dataclass(frozen=True, slots=True)
class Acceptance:
    """The client's acceptance of the work, with their signature."""

    signer_name: str
    with_reservations: bool = False
    reservations: str = ""
    signature: bytes | None = None
    """The client's signature as PNG bytes (transparent background), already cleaned."""
    signed_at: datetime | None = None
    signed_on: SignedOn | None = None
    """How the signature was given (printed under the name); None: not said."""


@dataclass(frozen=True, slots=True)
class Photo:
    """A photo for the annex.

    `source` is the original file (bytes) or a function that reads it, so that a
    report whose photos are all in the prepared-photo cache never loads an original.
    The PDF only ever embeds the prepared JPEG (upright, downscaled, no metadata).
    """

    key: str
    """A stable key for the prepared-photo cache, e.g. the SHA-256 of the original."""
    source: bytes | Callable[[], bytes] = field(repr=False)
    caption: str = ""
    tag: PhotoTag | None = None
    received_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """Another file sent during the intervention (listed, not embedded)."""

    name: str
    mime_type: str = ""
    size: int = 0
    """Size in bytes."""


#: The sections a voice note can be sent in, as `Sections` names them.
VoiceSection = Literal["context", "objective", "methods", "work_done", "results", "remarks"]


@dataclass(frozen=True, slots=True)
class VoiceNote:
    """A voice message the technician sent in a section: listed in the annex with its
    length and time (the report prints the typed text; the office plays the note)."""

    section: VoiceSection
    duration: int = 0
    """Length in seconds."""
    received_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ReportData:
    """The whole report: everything `build_report` prints, and nothing else."""

    company: Company
    client: Client
    intervention: Intervention
    pricing: Pricing
    sections: Sections = Sections()
    parts: tuple[PartLine, ...] = ()
    acceptance: Acceptance | None = None
    """None when the client did not sign: the report says so."""
    technician_signature: bytes | None = None
    """The technician's signature as PNG bytes (transparent background)."""
    technician_signed_at: datetime | None = None
    """When the technician's signature was given (drawn, or photographed)."""
    technician_signed_on: SignedOn | None = None
    """How the technician's signature was given; None: not said."""
    photos: tuple[Photo, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    voice_notes: tuple[VoiceNote, ...] = ()
    language: Language = "fr"
    timezone: str = "Europe/Paris"
    """IANA time zone every date and time is printed in."""
    verification_code: str = ""
    """Printed in every footer and in the PDF metadata (see `reports.verify`)."""
    client_link: str | None = None
    """A link for the client (e.g. a Telegram deep link), drawn as a QR code when given."""
    issued_at: datetime | None = None
    """The document's creation date (metadata and header); now when None."""
