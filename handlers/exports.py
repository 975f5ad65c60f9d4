"""/export: the office's spreadsheet of the interventions of a period, one row each,
for billing and payroll. The command line's `python -m bot export` builds the same file.

    /export                          this month, in the company's time zone
    /export 2026-11  (or 11/2026)    that month
    /export 22/11/2026               that day
    /export 01/11/2026 30/11/2026    from the first day to the last, both included

An intervention belongs to the day its work started (else the day it was planned
for, else the day it was created); see `storage.exports`. Once its work is done
(`storage.status.WORK_DONE`: submitted, returned or validated) its amounts are computed by
the one set of pricing rules (`reports.totals.compute_totals`) from the same inputs as
the report: the intervention's labour rate, else its template's, else the company's;
its VAT rate, else the company's; travel as a flat fee or kilometres × rate. Before
(planned, in progress, postponed, cancelled), its money cells are empty, not 0,00.
"""

from __future__ import annotations

import asyncio
import calendar
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.context import Options
from handlers.context import Pricing as CompanyPricing
from handlers.filters import office
from handlers.i18n import Translator, catalog, gettext, kind_label
from handlers.technician.money import job_part_lines, pricing_inputs
from reports.data import DistanceTravel, Language
from reports.exports import KEYS, ExportRow, Format, build_export
from reports.rules.reading import ParseError, parse_date
from reports.rules.templates import Template
from reports.totals import compute_totals
from storage.exports import ExportRecord, interventions_between
from storage.status import WORK_DONE

router = Router(name="exports")

HUNDRED = Decimal(100)


# The period ------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """From `first` to `last`, both days included, in the company's time zone."""

    first: dt.date
    last: dt.date

    def bounds(self, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
        """The moments [first 00:00, the day after last 00:00) local time."""
        start = dt.datetime.combine(self.first, dt.time(), tzinfo=tz)
        end = dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), tzinfo=tz)
        return start, end

    def file_name(self, fmt: Format) -> str:
        """interventions-2026-11-01-2026-11-30.xlsx"""
        return f"interventions-{self.first.isoformat()}-{self.last.isoformat()}.{fmt}"

    def shown(self) -> str:
        """01/11/2026 – 30/11/2026 (a single day once)."""
        first = self.first.strftime("%d/%m/%Y")
        if self.first == self.last:
            return first
        return f"{first} – {self.last.strftime('%d/%m/%Y')}"


def month(year: int, number: int) -> Period:
    last_day = calendar.monthrange(year, number)[1]
    return Period(dt.date(year, number, 1), dt.date(year, number, last_day))


#: A month: "2026-11", "2026/11", "11/2026", "11-2026", "11.2026".
_MONTH = re.compile(
    r"(?P<y1>[0-9]{4})[-/.](?P<m1>[0-9]{1,2})|(?P<m2>[0-9]{1,2})[-/.](?P<y2>[0-9]{4})"
)
#: Between the two ends of a range: "..", or " - ", " au ", " to "... between spaces.
_RANGE = re.compile(r"\s*(?:\.\.|\s(?:-|–|—|→|au|à|a|to|until)\s)\s*", re.IGNORECASE)


def _month(text: str) -> Period | None:
    found = _MONTH.fullmatch(text.strip())
    if found is None:
        return None
    year, number = int(found["y1"] or found["y2"]), int(found["m1"] or found["m2"])
    if not (1 <= number <= 12 and 1900 <= year <= 2099):
        return None
    return month(year, number)


def parse_span(text: str, *, today: dt.date) -> Period:
    """A month ("2026-11", "11/2026") or a day ("22/11/2026", "2026-11-22") as a period;
    ParseError otherwise."""
    whole = _month(text)
    if whole is not None:
        return whole
    day = parse_date(text, today=today)
    return Period(day, day)


def parse_period(text: str | None, *, today: dt.date) -> Period:
    """The period typed after /export (see the module's docstring); this month when empty.

    Raises ParseError("exports.bad_period") when it cannot be read, and
    ParseError("exports.reversed") when it ends before it starts.
    """
    text = " ".join((text or "").split())
    if not text:
        return month(today.year, today.month)
    splits = [_RANGE.split(text, maxsplit=1)]
    words = text.split(" ")
    if len(words) == 2:
        splits.append(words)
    splits.append([text])
    for pieces in splits:
        try:
            ends = [parse_span(piece, today=today) for piece in pieces]
        except ParseError:
            continue
        period = Period(ends[0].first, ends[-1].last)
        if period.last < period.first:
            raise ParseError("exports.reversed")
        return period
    raise ParseError("exports.bad_period")


# The rows --------------------------------------------------------------------------


def language_of(language: str) -> Language:
    return "en" if language == "en" else "fr"


def status_label(language: str, status: str) -> str:
    key = f"status.{status}"
    return gettext(language, key) if key in catalog(language) else status


def headers(language: str) -> dict[str, str]:
    """The column headers in `language`, from the `exports.columns` catalog section."""
    return {key: gettext(language, f"exports.columns.{key}") for key in KEYS}


def export_rows(
    records: Iterable[ExportRecord],
    *,
    defaults: CompanyPricing,
    templates: Mapping[str, Template],
    language: str,
) -> list[ExportRow]:
    """One `ExportRow` per record, its amounts computed as the report computes them."""
    rows = []
    for record in records:
        job = record.job
        template = templates.get(job.template)
        rate = template.labour_rate if template else None
        pricing = pricing_inputs(job, rate, defaults, language)
        distance = pricing.travel if isinstance(pricing.travel, DistanceTravel) else None
        # Amounts only once the work is done: a planned, postponed or cancelled one is
        # not work billed at 0,00.
        totals = compute_totals(pricing, job_part_lines(job)) if job.status in WORK_DONE else None
        rows.append(
            ExportRow(
                number=job.number,
                client=record.client,
                site=record.site,
                technician=record.technician,
                kind=kind_label(language, job.kind),
                status=status_label(language, job.status),
                scheduled_at=job.scheduled_at,
                started_at=job.started_at,
                ended_at=job.ended_at,
                worked_hours=job.worked_hours,
                travel_km=distance.distance_km if distance else None,
                travel=totals.travel if totals else None,
                labour=totals.labour if totals else None,
                parts=totals.parts if totals else None,
                excl_vat=totals.excl_vat if totals else None,
                vat=totals.vat_total if totals else None,
                incl_vat=totals.incl_vat if totals else None,
                rating=record.rating,
            )
        )
    return rows


async def collect(
    session: AsyncSession,
    period: Period,
    *,
    tz: dt.tzinfo,
    defaults: CompanyPricing,
    templates: Mapping[str, Template],
    language: str,
) -> list[ExportRow]:
    """The rows of the interventions of `period` (read only)."""
    start, end = period.bounds(tz)
    records = await interventions_between(session, start, end)
    return export_rows(records, defaults=defaults, templates=templates, language=language)


def render(rows: list[ExportRow], fmt: Format, *, language: str, tz: dt.tzinfo) -> bytes:
    """The file's bytes (CPU-bound: call it in a worker thread)."""
    return build_export(
        rows,
        fmt,
        headers=headers(language),
        timezone=tz,
        language=language_of(language),
        title=gettext(language, "exports.sheet"),
    )


# The command -----------------------------------------------------------------------


@router.message(Command("export"), office())
async def export(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    t: Translator,
    options: Options,
    templates: dict[str, Template],
) -> None:
    """Reads the period (this month by default) and answers with the workbook of its
    interventions; a period it cannot read is answered with examples."""
    today = dt.datetime.now(options.tz).date()
    try:
        period = parse_period(command.args, today=today)
    except ParseError as error:
        await message.answer(t(error.key))
        return
    rows = await collect(
        session,
        period,
        tz=options.tz,
        defaults=options.pricing,
        templates=templates,
        language=t.language,
    )
    if not rows:
        await message.answer(t("exports.empty", period=period.shown()))
        return
    data = await asyncio.to_thread(render, rows, "xlsx", language=t.language, tz=options.tz)
    await message.answer_document(
        BufferedInputFile(data, filename=period.file_name("xlsx")),
        caption=t("exports.caption", count=len(rows), period=period.shown()),
    )


@router.message(Command("export"))
async def export_refused(message: Message, t: Translator) -> None:
    """Technicians and clients do not see the office's figures."""
    await message.answer(t("errors.office_only"))
