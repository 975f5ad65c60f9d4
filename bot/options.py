"""What the handlers are told about the deployment (`handlers.context.Options`), made
from the settings; the command line's `export` and `import` use it too, without the
bot around it."""

from __future__ import annotations

import datetime as dt

from bot.config import Settings
from handlers.context import Options
from reports.data import Company
from reports.rules.pricing import CompanyPricing


def build_options(settings: Settings) -> Options:
    logo = settings.company_logo.read_bytes() if settings.company_logo else None
    return Options(
        admin_ids=frozenset(settings.admin_ids),
        office_chat_id=settings.office_chat_id,
        tz=settings.tz,
        invite_valid_for=dt.timedelta(days=settings.invite_days),
        default_language=settings.default_language,
        pricing=CompanyPricing(
            labour_rate=settings.labour_rate,
            vat_percent=settings.vat_rate,
            travel_mode=settings.travel_mode,
            travel_flat=settings.travel_flat,
            travel_km_rate=settings.travel_km_rate,
            payment_terms=settings.company_texts("payment_terms"),
        ),
        company=Company(
            name=settings.company_name,
            address=settings.company_address,
            phone=settings.company_phone,
            email=settings.company_email,
            siret=settings.company_siret,
            vat_number=settings.company_vat_number,
            logo=logo,
        ),
        download_limit=20 * 1024 * 1024 if settings.public_bot_api else None,
        photo_max_side=settings.photo_max_side,
        email_enabled=settings.email_enabled,
        public_url=settings.public_url,
    )
