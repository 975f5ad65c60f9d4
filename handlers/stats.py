"""/stats: the office's picture of the last weeks.

/stats [WEEKS] (dispatchers and admins; WEEKS from 1 to 26, 8 by default) answers
with a chart: interventions and worked hours per technician and week, totals per
technician, and every intervention by status. Weeks are counted in the company's
time zone and include the current one. When there is nothing to draw it answers
in words instead of sending an empty chart. Technicians and clients are refused.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

from aiogram import Bot, Router
from aiogram.enums import ChatAction
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.actions import working
from handlers.context import Options
from handlers.filters import office
from handlers.i18n import Translator
from reports.charts import ChartTexts, Series, StatsChart, StatusCount, render_stats
from reports.data import Language
from reports.formatting import Formatter
from storage.models import utcnow
from storage.stats import DEFAULT_WEEKS, Activity, activity

router = Router(name="stats")

WEEKS_MIN = 1
WEEKS_MAX = 26


def parse_weeks(args: str | None) -> int | None:
    """The number of weeks asked for (the default without argument); None if unreadable."""
    if args is None or not args.strip():
        return DEFAULT_WEEKS
    text = args.strip()
    if not text.isdigit():
        return None
    weeks = int(text)
    return weeks if WEEKS_MIN <= weeks <= WEEKS_MAX else None


def chart_of(figures: Activity, t: Translator) -> StatsChart:
    """The chart's data in the reader's words."""
    return StatsChart(
        weeks=[
            t("stats.chart.week", number=monday.isocalendar().week, monday=f"{monday:%d/%m}")
            for monday in figures.weeks
        ],
        technicians=[
            Series(name=person.name, interventions=person.interventions, hours=person.hours)
            for person in figures.technicians
        ],
        statuses=[
            StatusCount(key=status, label=t(f"status.{status}"), count=number)
            for status, number in figures.by_status.items()
        ],
        texts=ChartTexts(
            title=t("stats.chart.title", count=len(figures.weeks)),
            interventions=t("stats.chart.interventions"),
            hours=t("stats.chart.hours"),
            totals=t("stats.chart.totals"),
            statuses=t("stats.chart.statuses"),
            others=t("stats.chart.others"),
            total_line=t.forms("stats.chart.total_line"),
        ),
        language=_language(t),
    )


def _language(t: Translator) -> Language:
    return "en" if t.language == "en" else "fr"


def _noon(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=tz)


@router.message(Command("stats"), office())
async def stats(
    message: Message,
    command: CommandObject,
    bot: Bot,
    session: AsyncSession,
    t: Translator,
    options: Options,
) -> None:
    """Reads the last weeks' work and the statuses, and answers with the chart
    (in words when there is nothing to draw; a bad number of weeks is explained)."""
    weeks = parse_weeks(command.args)
    if weeks is None:
        await message.answer(t("stats.bad_weeks", min=WEEKS_MIN, max=WEEKS_MAX))
        return
    now = utcnow()
    figures = await activity(session, options.tz, weeks, now=now)
    if not figures.has_interventions:
        await message.answer(t("stats.empty"))
        return
    fmt = Formatter(_language(t), options.tz)
    period = {
        "start": fmt.date(_noon(figures.weeks[0], options.tz)),
        "end": fmt.date(now),
        "weeks": weeks,
    }
    if not figures.technicians:
        lines = "\n".join(
            t("stats.status_line", status=t(f"status.{status}"), count=number)
            for status, number in figures.by_status.items()
        )
        await message.answer(t("stats.empty_period", statuses=lines, **period))
        return
    async with working(bot, message.chat.id, ChatAction.UPLOAD_PHOTO):
        png = await asyncio.to_thread(render_stats, chart_of(figures, t))
    hours = sum((person.total_hours for person in figures.technicians), Decimal(0))
    await message.answer_photo(
        BufferedInputFile(png, filename="stats.png"),
        caption=t(
            "stats.caption",
            interventions=t(
                "counts.interventions",
                count=sum(p.total_interventions for p in figures.technicians),
            ),
            hours=fmt.duration(hours),
            **period,
        ),
    )


@router.message(Command("stats"))
async def stats_refused(message: Message, t: Translator) -> None:
    """Technicians and clients do not see the office's figures."""
    await message.answer(t("errors.office_only"))
