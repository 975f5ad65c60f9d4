"""The data Terrain keeps: people, clients, interventions and their reports,
and the two queues that make it durable (incoming updates, outgoing deliveries).

Timestamps are timezone-aware and stored in UTC. Money and quantities are
Decimal. The same models run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.status import Status

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    PostgreSQL keeps the zone itself; SQLite does not, so values are converted
    to UTC on the way in and marked UTC on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)  # type: ignore[no-any-return]
        return value.astimezone(dt.UTC)  # type: ignore[no-any-return]


class Base(AsyncAttrs, DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: UTCDateTime(),
        Decimal: Numeric(12, 2),
        dict[str, Any]: JSON,
    }


class Role(StrEnum):
    TECHNICIAN = "technician"
    DISPATCHER = "dispatcher"
    ADMIN = "admin"
    CLIENT = "client"


#: Roles that work at the office: plan, validate, invite.
OFFICE_ROLES = frozenset({Role.DISPATCHER, Role.ADMIN})


class User(Base):
    """A person known to Terrain, by their Telegram account."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(200))
    username: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))
    #: "fr" or "en" once chosen with /lang; None follows Telegram's language_code.
    language: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The intervention a technician's answers go to (checked on use, so no foreign key:
    #: users and interventions would otherwise point at each other).
    current_intervention_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Client(Base):
    """A company or person interventions are done for."""

    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(Text)
    #: The language of the client's reports ("fr" or "en"); None: the company's default.
    language: Mapped[str | None] = mapped_column(String(8))
    #: The Telegram account linked to this client, once they opened their link.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    sites: Mapped[list[Site]] = relationship(back_populates="client")


class Site(Base):
    """A place where a client has work done."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(Text)

    client: Mapped[Client] = relationship(back_populates="sites")


class Intervention(Base):
    """One work order and its report, section by section."""

    __tablename__ = "interventions"
    __table_args__ = (UniqueConstraint("year", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(30))
    template: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(30), default=Status.PLANNED, index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    request: Mapped[str | None] = mapped_column(Text)
    #: The office's own reference for this job (from an imported file), unique when set,
    #: so importing the same file twice plans nothing twice.
    reference: Mapped[str | None] = mapped_column(String(100), unique=True)
    scheduled_at: Mapped[dt.datetime | None]
    started_at: Mapped[dt.datetime | None]
    ended_at: Mapped[dt.datetime | None]

    context: Mapped[str | None] = mapped_column(Text)
    objective: Mapped[str | None] = mapped_column(Text)
    methods: Mapped[str | None] = mapped_column(Text)
    work_done: Mapped[str | None] = mapped_column(Text)
    results_met: Mapped[str | None] = mapped_column(String(10))
    results_comment: Mapped[str | None] = mapped_column(Text)
    remarks: Mapped[str | None] = mapped_column(Text)
    worked_hours: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    #: "flat" (a fixed travel fee) or "km" (kilometres × rate).
    travel_mode: Mapped[str | None] = mapped_column(String(10))
    travel_km: Mapped[Decimal | None] = mapped_column(Numeric(10, 1))
    travel_km_rate: Mapped[Decimal | None] = mapped_column(Numeric(8, 3))
    travel_flat: Mapped[Decimal | None]
    labour_rate: Mapped[Decimal | None]
    vat_rate: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    payment_terms: Mapped[str | None] = mapped_column(Text)
    location_lat: Mapped[float | None]
    location_lon: Mapped[float | None]
    location_accuracy: Mapped[float | None]
    client_signer_name: Mapped[str | None] = mapped_column(String(200))
    accepted_with_reservations: Mapped[bool | None]
    reservations: Mapped[str | None] = mapped_column(Text)

    #: Where the technician's wizard stands, so it resumes after any restart.
    wizard_step: Mapped[str | None] = mapped_column(String(50))
    wizard_data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    client: Mapped[Client] = relationship()
    site: Mapped[Site | None] = relationship()
    technician: Mapped[User | None] = relationship(foreign_keys=[technician_id])
    checklist: Mapped[list[ChecklistItem]] = relationship(
        order_by="ChecklistItem.position", cascade="all, delete-orphan"
    )
    parts: Mapped[list[Part]] = relationship(order_by="Part.position", cascade="all, delete-orphan")
    attachments: Mapped[list[Attachment]] = relationship(
        order_by="Attachment.id", cascade="all, delete-orphan"
    )
    history: Mapped[list[StatusChange]] = relationship(
        order_by="StatusChange.id", cascade="all, delete-orphan"
    )


class ChecklistItem(Base):
    """One line of the methods/equipment checklist, ticked or not."""

    __tablename__ = "checklist_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    intervention_id: Mapped[int] = mapped_column(ForeignKey("interventions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(300))
    checked: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)


class Part(Base):
    """A part or piece of equipment used, with its quantity and unit price."""

    __tablename__ = "parts"

    id: Mapped[int] = mapped_column(primary_key=True)
    intervention_id: Mapped[int] = mapped_column(ForeignKey("interventions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str | None] = mapped_column(String(100), index=True)
    designation: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    unit_price: Mapped[Decimal]


class AttachmentKind(StrEnum):
    PHOTO = "photo"
    DOCUMENT = "document"
    SIGNATURE = "signature"
    REPORT = "report"
    #: A voice message recorded in Telegram, kept with the text section it was sent in.
    VOICE = "voice"
    #: An audio file (a recorder app's, shared into the chat), kept as a voice note too.
    AUDIO = "audio"


#: The kinds the report lists as voice notes.
VOICE_NOTE_KINDS = (AttachmentKind.VOICE, AttachmentKind.AUDIO)


class Attachment(Base):
    """A file received or produced: a photo, a plan, a voice note, a signature, a
    rendered PDF.

    `path` is relative to DATA_DIR and always generated by the file store; the
    Telegram ids let the bot send the file again without uploading it. A voice note
    names the report's `section` it was sent in and lasts `duration` seconds.
    """

    __tablename__ = "attachments"
    __table_args__ = (UniqueConstraint("intervention_id", "file_unique_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    intervention_id: Mapped[int | None] = mapped_column(ForeignKey("interventions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    path: Mapped[str] = mapped_column(String(300))
    file_id: Mapped[str | None] = mapped_column(String(200))
    file_unique_id: Mapped[str | None] = mapped_column(String(100))
    file_name: Mapped[str | None] = mapped_column(String(300))
    mime_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    caption: Mapped[str | None] = mapped_column(Text)
    tag: Mapped[str | None] = mapped_column(String(20))
    section: Mapped[str | None] = mapped_column(String(40))
    duration: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SignatureMethod(StrEnum):
    """How a signature was given."""

    #: A photo of a signature on paper, cleaned into transparent ink.
    PHOTO = "photo"
    #: Drawn with a finger, a stylus or a mouse on the signature pad (the Mini App).
    SCREEN = "screen"


class Signature(Base):
    """A signature image: the client's on one intervention, or a technician's own,
    captured once and reused on every report they sign.

    `attachment_id` is the image the report prints; `evidence_id` the file that
    shows how it was given (the photo as taken, or the strokes drawn on the screen
    with their times), kept as it arrived."""

    __tablename__ = "signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    intervention_id: Mapped[int | None] = mapped_column(ForeignKey("interventions.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    signer: Mapped[str] = mapped_column(String(20))
    signer_name: Mapped[str] = mapped_column(String(200))
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachments.id"))
    signed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    method: Mapped[str] = mapped_column(
        String(10), default=SignatureMethod.PHOTO, server_default=SignatureMethod.PHOTO.value
    )
    evidence_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))


class Answer(Base):
    """A message a person sent that gave a stored answer, so that an edit of that
    message later changes the answer it gave (or is answered with why it cannot).

    `step` is the report section the answer went to ("context", "parts"...), or the
    conversation outside a report ("plan", "new", "rating"...); `target` says where
    exactly ("field:context", "checklist:3", "part:12:quantity", "caption:45"...);
    `text` is what that message contributed, as stored, to find it again in a
    section written over several messages. `intervention_id` is empty for answers
    that belong to no report yet (a /plan under way, a client's visit request).
    """

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("chat_id", "message_id", "target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    intervention_id: Mapped[int | None] = mapped_column(ForeignKey("interventions.id"), index=True)
    step: Mapped[str] = mapped_column(String(50))
    target: Mapped[str] = mapped_column(String(100))
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class IssuedReport(Base):
    """A PDF report as issued: its fingerprint and the code printed on it, so a PDF
    sent back later is told authentic, modified or unknown."""

    __tablename__ = "issued_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    intervention_id: Mapped[int] = mapped_column(ForeignKey("interventions.id"), index=True)
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachments.id"))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    language: Mapped[str] = mapped_column(String(8))
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Rating(Base):
    """The client's rating of an intervention (1 to 5) and comment, once per intervention."""

    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    intervention_id: Mapped[int] = mapped_column(ForeignKey("interventions.id"), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class VisitRequest(Base):
    """A client asks for a new visit: it reaches the office as a planning request."""

    __tablename__ = "visit_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: The intervention planned from this request, once the office has planned it.
    intervention_id: Mapped[int | None] = mapped_column(ForeignKey("interventions.id"))


class StatusChange(Base):
    """The audit trail: who moved an intervention from which status to which, when, why."""

    __tablename__ = "status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    intervention_id: Mapped[int] = mapped_column(ForeignKey("interventions.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)


class Counter(Base):
    """A named sequence, such as the yearly intervention number."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class Invite(Base):
    """A single-use, expiring deep link that registers whoever opens it with a role."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(200))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    used_at: Mapped[dt.datetime | None]


class AccessRequest(Base):
    """Someone unknown asked to use the bot; admins decide."""

    __tablename__ = "access_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, index=True)
    name: Mapped[str] = mapped_column(String(200))
    username: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(8))
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decision: Mapped[str | None] = mapped_column(String(20))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None]


class UpdateState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class InboxUpdate(Base):
    """A Telegram update, written before Telegram is told it was received.

    `update_id` is the primary key, so an update delivered twice is stored once.
    Pending rows are handled again after a restart.
    """

    __tablename__ = "inbox_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(10), default=UpdateState.PENDING, index=True)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    handled_at: Mapped[dt.datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Delivery(Base):
    """Something to send (a message, a document), written in the same transaction
    as the change that caused it and sent by the outbox sender."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), default="telegram")
    chat_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    #: "message", "document", "photo", "location", or "call": a Bot API call a handler
    #: made while its update was handled, stored whole in `options` (see bot/replies).
    kind: Mapped[str] = mapped_column(String(20), default="message")
    text: Mapped[str | None] = mapped_column(Text)
    #: Extra Bot API parameters (reply_markup, parse_mode...) as JSON.
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    file_path: Mapped[str | None] = mapped_column(String(300))
    file_name: Mapped[str | None] = mapped_column(String(300))
    intervention_id: Mapped[int | None] = mapped_column(ForeignKey("interventions.id"))
    state: Mapped[str] = mapped_column(String(10), default=DeliveryState.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    #: The message id a handler was given for this message before it was sent (a
    #: negative placeholder): an edit or a deletion naming it goes to the real message.
    ref: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    #: Deliveries sharing a key while still waiting are merged into one (for example
    #: one confirmation for an album of ten photos).
    coalesce_key: Mapped[str | None] = mapped_column(String(100), index=True)


class SentNotice(Base):
    """A notice the scheduler sends once (a reminder, a digest, an overdue warning),
    claimed by writing this row in the same transaction as the delivery: the unique
    (kind, key) lets one claim win however many schedulers try, and the delivery
    exists exactly when its claim does. `key` names what it is about, such as an
    intervention and its time, or a technician and a day."""

    __tablename__ = "sent_notices"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    key: Mapped[str] = mapped_column(String(100))
    #: The scheduler's time when it claimed the notice.
    claimed_at: Mapped[dt.datetime]


class ConversationState(Base):
    """Where a multi-step conversation stands for one person in one chat."""

    __tablename__ = "conversation_states"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
