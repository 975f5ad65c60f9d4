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
    return pricing(visit).labour_rate


def travel_mode(visit: Visit) -> str:
    """ "flat" or "km": the intervention's own choice, else the company's."""
    return job_travel_mode(visit.job, visit.options.pricing)


def job_travel_mode(job: Intervention, defaults: CompanyPricing) -> str:
    return job.travel_mode or defaults.travel_mode


def pricing_inputs(
    job: Intervention, template_rate: Decimal | None, defaults: CompanyPricing, language: str
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


def job_travel(job: Intervention, defaults: CompanyPricing) -> Travel | None:
    if job_travel_mode(job, defaults) == "km":
        if job.travel_km is None:
            return None
        rate = job.travel_km_rate if job.travel_km_rate is not None else defaults.travel_km_rate
        return DistanceTravel(distance_km=job.travel_km, rate_per_km=rate)
    if job.travel_flat is None:
        return None
    return FlatTravel(amount=job.travel_flat)


def payment_terms(visit: Visit) -> str:
    """The terms the technician reads in the wizard, in their language."""
    return pricing(visit).payment_terms


def pricing(visit: Visit, language: str | None = None) -> Pricing:
    """The intervention's pricing inputs, its texts in `language` (the technician's
    by default; the report passes its reader's)."""
    return pricing_inputs(
        visit.job, visit.template.labour_rate, visit.options.pricing, language or visit.t.language
    )


def part_lines(visit: Visit) -> list[PartLine]:
    return job_part_lines(visit.job)


def job_part_lines(job: Intervention) -> list[PartLine]:
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


def totals(visit: Visit) -> Totals:
    return compute_totals(pricing(visit), part_lines(visit))


def formatter(visit: Visit) -> Formatter:
    language: Language = "en" if visit.t.language == "en" else "fr"
    return Formatter(language, visit.options.tz)
