"""/board (or /today) for the office: today's interventions, grouped by technician,
with their status."""

from __future__ import annotations

import datetime as dt

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.text_decorations import html_decoration as hd

from handlers.filters import office
from handlers.i18n import Translator
from handlers.planner import Planner
from handlers.provide import provide
from storage import interventions
from storage.models import Intervention

router = Router(name="board")
provide(router, "planner", Planner.from_data)


@router.message(Command("board", "today"), office())
async def board(message: Message, planner: Planner) -> None:
    """Today's interventions, grouped by technician, with their status."""
    p, t = planner, planner.t
    today = p.now().astimezone(p.options.tz).date()
    start = dt.datetime.combine(today, dt.time(), tzinfo=p.options.tz)
    jobs = await interventions.scheduled_between(
        p.session, start.astimezone(dt.UTC), (start + dt.timedelta(days=1)).astimezone(dt.UTC)
    )
    title = t("plan.board_title", date=today.strftime("%d/%m/%Y"))
    if not jobs:
        await message.answer(f"{title}\n\n{t('plan.board_empty')}")
        return
    groups: dict[str, list[Intervention]] = {}
    for job in jobs:
        name = job.technician.name if job.technician else t("plan.board_nobody")
        groups.setdefault(name, []).append(job)
    lines = [title]
    for name in sorted(groups):
        lines.append(f"\n<b>{hd.quote(name)}</b>")
        for job in groups[name]:
            assert job.scheduled_at is not None
            hour = job.scheduled_at.astimezone(p.options.tz).strftime("%H:%M")
            status = t(f"status.{job.status}")
            lines.append(f"• {hour} <b>{job.number}</b> · {hd.quote(job.client.name)} · {status}")
    await message.answer("\n".join(lines))


@router.message(Command("board"))
async def refused(message: Message, t: Translator) -> None:
    """The board is the office's."""
    await message.answer(t("errors.office_only"))
