"""Payment terms: one text per language, set by the company or taken from the catalogs,
and each reader (the technician in the wizard, the client on the report) reads theirs."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.config import load_settings
from bot.options import build_options
from reports.rules.pricing import CompanyPricing as Pricing
from storage.models import AttachmentKind, Client
from tests.conftest import TECHNICIAN, Harness, load_job
from tests.helpers import pdf_text
from tests.mocked import button
from tests.test_wizard import at_times, finish_acceptance, last_text

FRENCH_DEFAULT = "Paiement à réception de facture, sous 30 jours."
ENGLISH_DEFAULT = "Payment on receipt of the invoice, within 30 days."


@pytest.mark.parametrize(
    ("lines", "french", "english"),
    [
        ([], FRENCH_DEFAULT, ENGLISH_DEFAULT),
        (["PAYMENT_TERMS_FR=", "PAYMENT_TERMS_EN="], FRENCH_DEFAULT, ENGLISH_DEFAULT),
        # An .env from before there were two: PAYMENT_TERMS is the DEFAULT_LANGUAGE's.
        (["PAYMENT_TERMS=Paiement à 45 jours."], "Paiement à 45 jours.", ENGLISH_DEFAULT),
        (
            ["DEFAULT_LANGUAGE=en", "PAYMENT_TERMS=Payment within 45 days."],
            FRENCH_DEFAULT,
            "Payment within 45 days.",
        ),
        (
            ["PAYMENT_TERMS=Ancien texte.", "PAYMENT_TERMS_FR=Comptant.", "PAYMENT_TERMS_EN=Cash."],
            "Comptant.",
            "Cash.",
        ),
        (["PAYMENT_TERMS_EN=Cash."], FRENCH_DEFAULT, "Cash."),
    ],
)
def test_payment_terms_have_a_value_per_language(
    clean_env: Path, lines: list[str], french: str, english: str
) -> None:
    (clean_env / ".env").write_text("\n".join(["BOT_TOKEN=1:abc", *lines]) + "\n")
    pricing = build_options(load_settings()).pricing
    assert (pricing.terms("fr"), pricing.terms("en")) == (french, english)


def test_check_says_where_each_languages_terms_come_from(clean_env: Path) -> None:
    (clean_env / ".env").write_text("BOT_TOKEN=1:abc\nPAYMENT_TERMS=Paiement à 45 jours.\n")
    settings = load_settings()
    assert settings.company_text_origin("payment_terms", "fr") == "PAYMENT_TERMS"
    assert settings.company_text_origin("payment_terms", "en") is None  # the catalog's


@pytest.fixture(params=["catalog", "company"])
async def terms(request: pytest.FixtureRequest, short: Harness) -> AsyncIterator[Harness]:
    """The short-report harness with the catalogs' terms, or the company's own."""
    own = {"fr": "Paiement à 45 jours fin de mois.", "en": "Payment at 45 days, end of month."}
    pricing = Pricing(payment_terms=own if request.param == "company" else {})
    options = dataclasses.replace(short.options, pricing=pricing)
    harness = Harness(short.db, short.files, options, short.templates)
    harness.updates = short.updates
    try:
        yield harness
    finally:
        await harness.bot.session.close()


async def test_an_english_report_prints_the_english_terms_the_wizard_the_french(
    terms: Harness,
) -> None:
    pricing = terms.options.pricing
    job = await at_times(terms)
    calls: list = []
    for choice in ("Maintenant", "C'est juste", "Pas de déplacement"):
        prompt = (await terms.say(TECHNICIAN, "/resume"))[-1]
        calls = await terms.press(TECHNICIAN, prompt, button(prompt, choice))
    summary = last_text(calls)  # the technician's pricing step, in French
    assert f"Conditions de paiement : {pricing.terms('fr')}" in summary
    assert pricing.terms("en") not in summary
    prompt = (await terms.say(TECHNICIAN, "/resume"))[-1]
    await terms.press(TECHNICIAN, prompt, button(prompt, "Valider"))
    async with terms.db.transaction() as session:
        await session.execute(
            update(Client).where(Client.id == job.client_id).values(language="en")
        )

    await finish_acceptance(terms, job)

    saved = await load_job(terms.db, job)
    (report,) = [a for a in saved.attachments if a.kind == AttachmentKind.REPORT]
    text = " ".join(pdf_text(terms.files.read(report.path)).split())
    assert f"Payment terms {pricing.terms('en')}" in text
    assert pricing.terms("fr") not in text and "Conditions de paiement" not in text
