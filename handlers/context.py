"""What handlers need to know about the deployment, handed to them by the bot
(aiogram passes it to any handler that asks for `options`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Options:
    admin_ids: frozenset[int]
    office_chat_id: int | None
    tz: ZoneInfo
    invite_valid_for: dt.timedelta
    default_language: str

    def local(self, moment: dt.datetime) -> str:
        """A moment as the company reads it: 22/11/2026 14:30 in its time zone."""
        return moment.astimezone(self.tz).strftime("%d/%m/%Y %H:%M")
