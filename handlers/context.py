"""What handlers need to know about the deployment, handed to them by the bot
(aiogram passes it to any handler that asks for `options`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from reports.labels import Labels


@dataclass(frozen=True)
class Pricing:
    """The company's pricing defaults (excl. VAT); templates and interventions override."""

    labour_rate: Decimal = Decimal("55.00")
    vat_percent: Decimal = Decimal("20")
    travel_mode: str = "flat"
    travel_flat: Decimal = Decimal("30.00")
    travel_km_rate: Decimal = Decimal("0.60")
    payment_terms: Mapping[str, str] = field(default_factory=dict)
    """The company's own payment terms by language (PAYMENT_TERMS_FR, _EN); a language
    left out reads its catalog's default."""

    def terms(self, language: str) -> str:
        """The payment terms a reader of `language` sees."""
        own = self.payment_terms.get(language, "").strip()
        return own or Labels("en" if language == "en" else "fr")("pricing.default_terms")


@dataclass(frozen=True)
class CompanyInfo:
    """The company block printed on reports."""

    name: str = "Terrain"
    address: str = ""
    phone: str = ""
    email: str = ""
    siret: str = ""
    vat_number: str = ""
    logo: bytes | None = None


@dataclass(frozen=True)
class Options:
    admin_ids: frozenset[int]
    office_chat_id: int | None
    tz: ZoneInfo
    invite_valid_for: dt.timedelta
    default_language: str
    pricing: Pricing = field(default_factory=Pricing)
    company: CompanyInfo = field(default_factory=CompanyInfo)
    #: Telegram's own Bot API serves files of 20 MB at most; a self-hosted one does not.
    download_limit: int | None = 20 * 1024 * 1024
    photo_max_side: int = 1600
    #: Validated reports also go by email when the company has set up SMTP.
    email_enabled: bool = False

    def local(self, moment: dt.datetime) -> str:
        """A moment as the company reads it: 22/11/2026 14:30 in its time zone."""
        return moment.astimezone(self.tz).strftime("%d/%m/%Y %H:%M")
