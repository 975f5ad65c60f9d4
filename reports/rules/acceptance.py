"""What a client's acceptance is tied to, once: the values they sign for, their
fingerprint, and whether an acceptance still holds after the report changed.

A client accepts the work done, the parts (reference, label, quantity, unit price),
the totals (excl. VAT, VAT, incl. VAT, in their currency) and their own reservations.
Anything else in the report (photo captions, remarks, times that leave the totals as
they were, the office's notes) can change without voiding the acceptance.

The values are compared in a canonical form, so that what reads the same is the same:
- amounts and quantities by value: 10.0, 10.00 and 10 are one number;
- texts in Unicode NFC, line endings as "\\n", blank space at either end ignored;
- the parts as a set of lines: their order in the table is not something the client
  signs for (moving a line up changes neither what was supplied nor what is due), so
  the lines are sorted before the fingerprint is taken. Identical lines are kept as
  many times as they appear, and one line of 2 is not the same as two lines of 1.

The fingerprint is the SHA-256 of the canonical JSON of the values (`canonical_json`),
which also stores them: `from_json` reads them back, so a later report can be compared
with what was accepted and the client told what changed.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from reports.data import ReportData
from reports.totals import compute_totals

#: The version of the canonical form; a later change of what is signed for bumps it, so
#: that an old fingerprint is never compared with a new form by mistake.
VERSION = 1


class Changed(StrEnum):
    """What a client signs for, by name: what changed when an acceptance is void.
    Their order is the order in which the client reads them."""

    WORK_DONE = "work_done"
    PARTS = "parts"
    TOTAL = "total"
    RESERVATIONS = "reservations"


@dataclass(frozen=True, slots=True)
class AcceptedPart:
    """One line of the parts table as the client signs for it (prices excl. VAT)."""

    reference: str
    label: str
    quantity: Decimal
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class AcceptedValues:
    """Everything a client's acceptance is tied to."""

    work_done: str
    parts: tuple[AcceptedPart, ...]
    excl_vat: Decimal
    vat: Decimal
    incl_vat: Decimal
    currency: str
    reservations: str
    """The client's reservations; empty when they accepted without any."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether an acceptance still holds; when it does not, what changed."""

    changed: tuple[Changed, ...]

    @property
    def holds(self) -> bool:
        return not self.changed


def values_of(report: ReportData) -> AcceptedValues:
    """The values a client signs for in `report`, the data object the PDF is made from.
    The totals are computed by the pricing rules (`reports.totals`), as printed."""
    totals = compute_totals(report.pricing, report.parts)
    acceptance = report.acceptance
    reservations = acceptance.reservations if acceptance and acceptance.with_reservations else ""
    return AcceptedValues(
        work_done=report.sections.work_done,
        parts=tuple(
            AcceptedPart(
                reference=part.reference,
                label=part.designation,
                quantity=part.quantity,
                unit_price=part.unit_price,
            )
            for part in report.parts
        ),
        excl_vat=totals.excl_vat,
        vat=totals.vat_total,
        incl_vat=totals.incl_vat,
        currency=report.pricing.currency,
        reservations=reservations,
    )


def _text(value: str) -> str:
    lines = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    return lines.strip()


def _number(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"an accepted amount must be a finite number, got {value}")
    if value.is_zero():
        return "0"
    return format(value.normalize(), "f")


def _part(part: AcceptedPart) -> list[str]:
    return [
        _text(part.reference),
        _text(part.label),
        _number(part.quantity),
        _number(part.unit_price),
    ]


def _canonical(values: AcceptedValues) -> dict[str, Any]:
    """The values as plain JSON types, in canonical form, keyed by what they are."""
    return {
        "version": VERSION,
        Changed.WORK_DONE: _text(values.work_done),
        Changed.PARTS: sorted(_part(part) for part in values.parts),
        Changed.TOTAL: {
            "currency": values.currency.strip().upper(),
            "excl_vat": _number(values.excl_vat),
            "incl_vat": _number(values.incl_vat),
            "vat": _number(values.vat),
        },
        Changed.RESERVATIONS: _text(values.reservations),
    }


def canonical_json(values: AcceptedValues) -> str:
    """The canonical JSON of `values`: keys sorted, no blank space, non-ASCII kept."""
    return json.dumps(_canonical(values), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fingerprint(values: AcceptedValues) -> str:
    """The SHA-256 of the canonical JSON of `values`, in hexadecimal (64 characters)."""
    return hashlib.sha256(canonical_json(values).encode("utf-8")).hexdigest()


def from_json(text: str) -> AcceptedValues:
    """The values stored by `canonical_json`. Raises ValueError for anything else."""
    try:
        data = json.loads(text)
        if data["version"] != VERSION:
            raise ValueError(f"unknown version of accepted values: {data['version']!r}")
        total = data[Changed.TOTAL]
        return AcceptedValues(
            work_done=str(data[Changed.WORK_DONE]),
            parts=tuple(
                AcceptedPart(str(reference), str(label), Decimal(quantity), Decimal(price))
                for reference, label, quantity, price in data[Changed.PARTS]
            ),
            excl_vat=Decimal(total["excl_vat"]),
            vat=Decimal(total["vat"]),
            incl_vat=Decimal(total["incl_vat"]),
            currency=str(total["currency"]),
            reservations=str(data[Changed.RESERVATIONS]),
        )
    except (KeyError, TypeError, InvalidOperation, json.JSONDecodeError) as error:
        raise ValueError(f"not accepted values: {error}") from error


def still_holds(accepted: AcceptedValues, current: AcceptedValues) -> Verdict:
    """Whether the acceptance of `accepted` still holds for the `current` values of the
    report, and if not, which of the values signed for changed (in `Changed` order)."""
    before, now = _canonical(accepted), _canonical(current)
    return Verdict(changed=tuple(what for what in Changed if before[what] != now[what]))
