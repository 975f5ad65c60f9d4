"""/export: the office's spreadsheet of the interventions of a period, one row each,
for billing and payroll. The command line's `python -m bot export` builds the same file.

    /export                          this month, in the company's time zone
    /export 2026-11  (or 11/2026)    that month
    /export 22/11/2026               that day
    /export 01/11/2026 30/11/2026    from the first day to the last, both included

The period is read by `reports.rules.periods`, as the command line's --from and --to are.

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
import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal

from aiogram import Bot, Router
from aiogram.enums import ChatAction
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.actions import working
from handlers.context import Options
from handlers.filters import office
from handlers.i18n import Translator, catalog, gettext, kind_label
from reports.data import DistanceTravel, Language
from reports.exports import KEYS, ExportRow, Format, build_export
from reports.rules.periods import Period, parse_period
from reports.rules.pricing import CompanyPricing, job_part_lines, pricing_inputs
from reports.rules.reading import ParseError
from reports.rules.templates import Template
from reports.totals import compute_totals
from storage.exports import ExportRecord, interventions_between
from storage.status import WORK_DONE

router = Router(name="exports")

HUNDRED = Decimal(100)


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
    bot: Bot,
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
    async with working(bot, message.chat.id, ChatAction.UPLOAD_DOCUMENT):
        data = await asyncio.to_thread(render, rows, "xlsx", language=t.language, tz=options.tz)
    await message.answer_document(
        BufferedInputFile(data, filename=period.file_name("xlsx")),
        caption=t("exports.caption", count=len(rows), period=period.shown()),
    )


@router.message(Command("export"))
async def export_refused(message: Message, t: Translator) -> None:
    """Technicians and clients do not see the office's figures."""
    await message.answer(t("errors.office_only"))
