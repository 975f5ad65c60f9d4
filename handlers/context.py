"""What handlers need to know about the deployment, handed to them by the bot
(aiogram passes it to any handler that asks for `options`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from reports.data import Company
from reports.rules.pricing import CompanyPricing


def _default_company() -> Company:
    """The company block of a deployment that has not set its own."""
    return Company(name="Terrain")


@dataclass(frozen=True)
class Options:
    admin_ids: frozenset[int]
    office_chat_id: int | None
    tz: ZoneInfo
    invite_valid_for: dt.timedelta
    default_language: str
    pricing: CompanyPricing = field(default_factory=CompanyPricing)
    #: The company block printed on reports.
    company: Company = field(default_factory=_default_company)
    #: Telegram's own Bot API serves files of 20 MB at most; a self-hosted one does not.
    download_limit: int | None = 20 * 1024 * 1024
    photo_max_side: int = 1600
    #: Validated reports also go by email when the company has set up SMTP.
    email_enabled: bool = False
    #: The HTTPS address of the bot's web face (PUBLIC_URL); empty when it has none,
    #: and then no button opens a page (the signature pad) in Telegram.
    public_url: str = ""

    def local(self, moment: dt.datetime) -> str:
        """A moment as the company reads it: 22/11/2026 14:30 in its time zone."""
        return moment.astimezone(self.tz).strftime("%d/%m/%Y %H:%M")
