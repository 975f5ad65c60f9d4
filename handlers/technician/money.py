"""The pricing of an intervention as the wizard shows it: the inputs gathered from the
intervention, its template and the company's defaults, and the totals (computed by
the one set of pricing rules, `reports.totals`)."""

from __future__ import annotations

from decimal import Decimal

from handlers.context import Pricing as CompanyPricing
from handlers.technician.visit import Visit
from reports.data import DistanceTravel, FlatTravel, Language, PartLine, Pricing, Travel
from reports.formatting import Formatter
from reports.totals import Totals, compute_totals
from storage.models import Intervention

HUNDRED = Decimal(100)


def labour_rate(visit: Visit) -> Decimal:
    """The intervention's own rate, else its template's, else the company's."""
    job = visit.job
    if job.labour_rate is not None:
        return job.labour_rate
    if visit.template.labour_rate is not None:
        return visit.template.labour_rate
    return visit.options.pricing.labour_rate


def vat_percent(visit: Visit) -> Decimal:
    job = visit.job
    return job.vat_rate if job.vat_rate is not None else visit.options.pricing.vat_percent


def travel_mode(visit: Visit) -> str:
    return visit.job.travel_mode or visit.options.pricing.travel_mode


def pricing_inputs(
    job: Intervention, template_rate: Decimal | None, defaults: CompanyPricing
) -> Pricing:
    """The one rule choosing the pricing inputs, for the wizard, the report and the
    exports: the intervention's value, else the template's (labour rate only), else
    the company's."""
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
        payment_terms=job.payment_terms or defaults.payment_terms,
    )


def job_travel(job: Intervention, defaults: CompanyPricing) -> Travel | None:
    if (job.travel_mode or defaults.travel_mode) == "km":
        if job.travel_km is None:
            return None
        rate = job.travel_km_rate if job.travel_km_rate is not None else defaults.travel_km_rate
        return DistanceTravel(distance_km=job.travel_km, rate_per_km=rate)
    if job.travel_flat is None:
        return None
    return FlatTravel(amount=job.travel_flat)


def payment_terms(visit: Visit) -> str:
    return visit.job.payment_terms or visit.options.pricing.payment_terms


def pricing(visit: Visit) -> Pricing:
    return pricing_inputs(visit.job, visit.template.labour_rate, visit.options.pricing)


def part_lines(visit: Visit) -> list[PartLine]:
    return [
        PartLine(
            reference=part.reference or "",
            designation=part.designation,
            quantity=part.quantity,
            unit_price=part.unit_price,
        )
        for part in visit.job.parts
    ]


def totals(visit: Visit) -> Totals:
    return compute_totals(pricing(visit), part_lines(visit))


def formatter(visit: Visit) -> Formatter:
    language: Language = "en" if visit.t.language == "en" else "fr"
    return Formatter(language, visit.options.tz)
