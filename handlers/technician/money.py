"""The pricing of an intervention as the wizard shows it: the inputs gathered from the
intervention, its template and the company's defaults (chosen by the one rule,
`reports.rules.pricing`), and the totals (computed by the one set of pricing rules,
`reports.totals`)."""

from __future__ import annotations

from decimal import Decimal

from handlers.technician.visit import Visit
from reports.data import Language, PartLine, Pricing
from reports.formatting import Formatter
from reports.rules.pricing import job_part_lines, job_travel_mode, pricing_inputs
from reports.totals import Totals, compute_totals


def labour_rate(visit: Visit) -> Decimal:
    """The intervention's own rate, else its template's, else the company's."""
    return pricing(visit).labour_rate


def travel_mode(visit: Visit) -> str:
    """ "flat" or "km": the intervention's own choice, else the company's."""
    return job_travel_mode(visit.job, visit.options.pricing)


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


def totals(visit: Visit) -> Totals:
    return compute_totals(pricing(visit), part_lines(visit))


def formatter(visit: Visit) -> Formatter:
    language: Language = "en" if visit.t.language == "en" else "fr"
    return Formatter(language, visit.options.tz)


def total_line(visit: Visit) -> str:
    """The total incl. VAT, as the pricing summary says it (an edit's line ends with it)."""
    amount = formatter(visit).money(totals(visit).incl_vat)
    return visit.t("wizard.pricing.incl_vat", amount=amount)
