"""Which values price an intervention: its own, else its template's (the labour rate
only), else the company's defaults. The wizard's pricing step, the report and the
export all choose them here; the arithmetic on them is `reports.totals`.

An intervention and its parts are read through `PricedJob` and `PricedPart`, which the
database's rows are, so nothing here needs the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from reports.data import DistanceTravel, FlatTravel, PartLine, Pricing, Travel
from reports.labels import Labels

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class CompanyPricing:
    """The company's pricing defaults (excl. VAT); templates and interventions override."""

    labour_rate: Decimal = Decimal("55.00")
    vat_percent: Decimal = Decimal("20")
    travel_mode: str = "flat"
    travel_flat: Decimal = Decimal("30.00")
    travel_km_rate: Decimal = Decimal("0.60")
    payment_terms: Mapping[str, str] = field(default_factory=dict)
    """The company's own payment terms by language (PAYMENT_TERMS_FR, _EN); a language
    left out reads its catalog's default."""

    def terms(self, language: str) -> str:
        """The payment terms a reader of `language` sees."""
        own = self.payment_terms.get(language, "").strip()
        return own or Labels("en" if language == "en" else "fr")("pricing.default_terms")


class PricedPart(Protocol):
    """A part used on an intervention, as the pricing reads it."""

    @property
    def reference(self) -> str | None: ...
    @property
    def designation(self) -> str: ...
    @property
    def quantity(self) -> Decimal: ...
    @property
    def unit_price(self) -> Decimal: ...


class PricedJob(Protocol):
    """An intervention as the pricing reads it: its own values, None where it has none."""

    @property
    def worked_hours(self) -> Decimal | None: ...
    @property
    def labour_rate(self) -> Decimal | None: ...
    @property
    def vat_rate(self) -> Decimal | None: ...
    @property
    def payment_terms(self) -> str | None: ...
    @property
    def travel_mode(self) -> str | None: ...
    @property
    def travel_km(self) -> Decimal | None: ...
    @property
    def travel_km_rate(self) -> Decimal | None: ...
    @property
    def travel_flat(self) -> Decimal | None: ...
    @property
    def parts(self) -> Sequence[PricedPart]: ...


def job_travel_mode(job: PricedJob, defaults: CompanyPricing) -> str:
    return job.travel_mode or defaults.travel_mode


def pricing_inputs(
    job: PricedJob, template_rate: Decimal | None, defaults: CompanyPricing, language: str
) -> Pricing:
    """The one rule choosing the pricing inputs, for the wizard, the report and the
    exports: the intervention's value, else the template's (labour rate only), else
    the company's; texts (the payment terms) in the reader's `language`."""
    if job.labour_rate is not None:
        rate = job.labour_rate
    elif template_rate is not None:
        rate = template_rate
    else:
        rate = defaults.labour_rate
    vat = job.vat_rate if job.vat_rate is not None else defaults.vat_percent
    return Pricing(
        hours=job.worked_hours or Decimal(0),
        labour_rate=rate,
        travel=job_travel(job, defaults),
        vat_rate=vat / HUNDRED,
        payment_terms=job.payment_terms or defaults.terms(language),
    )


def job_travel(job: PricedJob, defaults: CompanyPricing) -> Travel | None:
    if job_travel_mode(job, defaults) == "km":
        if job.travel_km is None:
            return None
        rate = job.travel_km_rate if job.travel_km_rate is not None else defaults.travel_km_rate
        return DistanceTravel(distance_km=job.travel_km, rate_per_km=rate)
    if job.travel_flat is None:
        return None
    return FlatTravel(amount=job.travel_flat)


def job_part_lines(job: PricedJob) -> list[PartLine]:
    """The intervention's parts as the pricing rules and the report read them."""
    return [
        PartLine(
            reference=part.reference or "",
            designation=part.designation,
            quantity=part.quantity,
            unit_price=part.unit_price,
        )
        for part in job.parts
    ]
