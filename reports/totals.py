"""The pricing rules, once: labour, travel, parts, VAT and totals, in `Decimal`.

Every amount is rounded to the cent (ROUND_HALF_UP) at the edges: each priced line
(labour, travel, each part line) is rounded, then the sums are exact, then VAT is
computed on the rounded base of each rate and rounded once. So the printed lines
always add up to the printed totals.

The chat handlers call `compute_totals` for the pricing summary, and the PDF prints
the same `Totals`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from reports.data import DistanceTravel, FlatTravel, PartLine, Pricing, Travel

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def to_cents(amount: Decimal) -> Decimal:
    """`amount` rounded to the cent, halves away from zero (1.005 -> 1.01)."""
    return _decimal(amount, "amount").quantize(CENT, rounding=ROUND_HALF_UP)


def line_total(quantity: Decimal, unit_price: Decimal) -> Decimal:
    """The total of one part line: quantity x unit price, rounded to the cent."""
    return to_cents(_non_negative(quantity, "quantity") * _non_negative(unit_price, "unit price"))


def travel_amount(travel: Travel | None) -> Decimal:
    """The travel charge: the flat fee, or kilometres x rate per kilometre, in cents."""
    if travel is None:
        return ZERO
    if isinstance(travel, FlatTravel):
        return to_cents(_non_negative(travel.amount, "travel fee"))
    if isinstance(travel, DistanceTravel):
        return to_cents(
            _non_negative(travel.distance_km, "distance")
            * _non_negative(travel.rate_per_km, "rate per km")
        )
    raise TypeError(f"unknown travel charge: {travel!r}")


@dataclass(frozen=True, slots=True)
class VatLine:
    """The VAT due at one rate: `amount` = `base` x `rate`, rounded to the cent."""

    rate: Decimal
    """A fraction: Decimal("0.20") for 20 %."""
    base: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Totals:
    """Every amount of the pricing summary, each rounded to the cent."""

    labour: Decimal
    travel: Decimal
    part_lines: tuple[Decimal, ...]
    """The total of each part line, in the order of the lines."""
    parts: Decimal
    excl_vat: Decimal
    vat: tuple[VatLine, ...]
    """One line per VAT rate, in increasing order of rate."""
    incl_vat: Decimal

    @property
    def vat_total(self) -> Decimal:
        """The VAT of every rate added up."""
        return sum((line.amount for line in self.vat), ZERO)


def vat_lines(amounts: Iterable[tuple[Decimal, Decimal]]) -> tuple[VatLine, ...]:
    """Group (amount excl. VAT, rate) pairs by rate and compute the VAT of each rate.

    Amounts are added up per rate before the VAT is rounded, once per rate.
    """
    bases: dict[Decimal, Decimal] = {}
    for amount, rate in amounts:
        rate = _non_negative(rate, "VAT rate")
        if rate >= 1:
            raise ValueError(f"VAT rate must be a fraction below 1, got {rate}")
        bases[rate] = bases.get(rate, ZERO) + to_cents(amount)
    return tuple(
        VatLine(rate=rate, base=base, amount=to_cents(base * rate))
        for rate, base in sorted(bases.items())
    )


def compute_totals(pricing: Pricing, parts: Iterable[PartLine] = ()) -> Totals:
    """Apply the pricing rules to the pricing inputs and the part lines.

    Raises ValueError for a negative quantity, price, duration or rate, and
    TypeError for a float where a Decimal is expected (floats do not hold cents).
    """
    labour = to_cents(
        _non_negative(pricing.hours, "hours") * _non_negative(pricing.labour_rate, "labour rate")
    )
    travel = travel_amount(pricing.travel)
    part_lines = tuple(line_total(part.quantity, part.unit_price) for part in parts)
    parts_total = sum(part_lines, ZERO)
    excl_vat = labour + travel + parts_total
    # One rate per intervention today; several rates (per part line) only need
    # more pairs here.
    vat = vat_lines([(labour + travel + parts_total, pricing.vat_rate)])
    incl_vat = excl_vat + sum((line.amount for line in vat), ZERO)
    return Totals(
        labour=labour,
        travel=travel,
        part_lines=part_lines,
        parts=parts_total,
        excl_vat=excl_vat,
        vat=vat,
        incl_vat=incl_vat,
    )


def _decimal(value: object, what: str) -> Decimal:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{what} must be a finite number, got {value}")
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    raise TypeError(f"{what} must be a Decimal, got {type(value).__name__}: {value!r}")


def _non_negative(value: object, what: str) -> Decimal:
    number = _decimal(value, what)
    if number < 0:
        raise ValueError(f"{what} must not be negative, got {number}")
    return number
