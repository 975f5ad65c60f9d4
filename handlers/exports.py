"""/export: the office's spreadsheet of the interventions of a period, one row each,
for billing and payroll (built by `handlers.spreadsheet`, as the command line's
`python -m bot export` builds it).

    /export                          this month, in the company's time zone
    /export 2026-11  (or 11/2026)    that month
    /export 22/11/2026               that day
    /export 01/11/2026 30/11/2026    from the first day to the last, both included

The period is read by `reports.rules.periods`, as the command line's --from and --to are.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from aiogram import Bot, Router
from aiogram.enums import ChatAction
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.actions import working
from handlers.context import Options
from handlers.filters import office
from handlers.i18n import Translator
from handlers.spreadsheet import collect, render
from reports.rules.periods import parse_period
from reports.rules.reading import ParseError
from reports.rules.templates import Template

router = Router(name="exports")


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
