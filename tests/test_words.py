"""The right words: counts in the plural their language asks for, durations as people
say them (and read as they type them), checklist labels never cut inside a word, and
a /help where each command has one line and one meaning."""

from __future__ import annotations

import re
import string

import pytest
from sqlalchemy import update

from handlers.i18n import LANGUAGES, Translator, catalog
from reports.labels import catalog as report_catalog
from reports.plurals import Plural, category
from storage.models import Intervention
from tests.conftest import TECHNICIAN, Harness, Job, plan_job
from tests.mocked import Person, button
from tests.test_wizard import jpeg

ENGLISH_TECHNICIAN = Person(22, "Jane", "jane_tech", "en")
COUNTS = (0, 1, 2, 12)


def every_text(language: str) -> dict[str, str]:
    """Every chat and report text of `language`, each form of a plural text apart."""
    texts: dict[str, str] = {}
    for key, text in catalog(language).items():
        if isinstance(text, Plural):
            texts.update({f"{key}.{form}": value for form, value in text.forms.items()})
        else:
            texts[key] = text
    texts.update({f"report:{key}": value for key, value in report_catalog(language).items()})
    return texts


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


# Plural forms ----------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_text_writes_a_plural_in_brackets(language: str) -> None:
    bracketed = {
        key: text
        for key, text in every_text(language).items()
        if re.search(r"\w\((?:e?s|e|x)\)", text)
    }
    assert bracketed == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_count_followed_by_a_word_is_a_plural_text(language: str) -> None:
    """ "{count} photos" is only ever in a plural text (the plain texts that count are
    labels, "Interventions : {count}", or fixed limits of several, "{max} caractères")."""
    plain = {
        key: text
        for key, text in catalog(language).items()
        if isinstance(text, str) and re.search(r"\{count\} [^\W\d_]", text)
    }
    assert plain == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_plural_text_has_a_singular_and_a_plural(language: str) -> None:
    plurals = {key: text for key, text in catalog(language).items() if isinstance(text, Plural)}
    assert len(plurals) >= 12
    for key, text in plurals.items():
        assert set(text.forms) == {"one", "other"}, key


@pytest.mark.parametrize(
    ("language", "count", "expected"),
    [
        ("fr", 0, "📷 0 photo enregistrée pour OT-2026-0001."),
        ("fr", 1, "📷 1 photo enregistrée pour OT-2026-0001."),
        ("fr", 2, "📷 2 photos enregistrées pour OT-2026-0001."),
        ("fr", 12, "📷 12 photos enregistrées pour OT-2026-0001."),
        ("en", 0, "📷 0 photos saved for OT-2026-0001."),
        ("en", 1, "📷 1 photo saved for OT-2026-0001."),
        ("en", 2, "📷 2 photos saved for OT-2026-0001."),
        ("en", 12, "📷 12 photos saved for OT-2026-0001."),
    ],
)
def test_photos_saved_follow_the_languages_plural_rule(
    language: str, count: int, expected: str
) -> None:
    assert Translator(language)("photos.saved", count=count, number="OT-2026-0001") == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", ["0 intervention", "1 intervention", "2 interventions", "12 interventions"]),
        ("en", ["0 interventions", "1 intervention", "2 interventions", "12 interventions"]),
    ],
)
def test_interventions_are_counted_with_zero_singular_in_french(
    language: str, expected: list[str]
) -> None:
    t = Translator(language)
    assert [t("counts.interventions", count=n) for n in COUNTS] == expected


@pytest.mark.parametrize(
    ("key", "values", "french", "english"),
    [
        (
            "plan.imported",
            {"file": "in.csv"},
            [
                "📥 <b>0 intervention planifiée</b> par import (in.csv) :",
                "📥 <b>1 intervention planifiée</b> par import (in.csv) :",
                "📥 <b>2 interventions planifiées</b> par import (in.csv) :",
                "📥 <b>12 interventions planifiées</b> par import (in.csv) :",
            ],
            [
                "📥 <b>0 interventions planned</b> by import (in.csv):",
                "📥 <b>1 intervention planned</b> by import (in.csv):",
                "📥 <b>2 interventions planned</b> by import (in.csv):",
                "📥 <b>12 interventions planned</b> by import (in.csv):",
            ],
        ),
        (
            "wizard.parts.more",
            {},
            [
                "… 0 ligne plus haut, comprise dans le total",
                "… 1 ligne plus haut, comprise dans le total",
                "… 2 lignes plus haut, comprises dans le total",
                "… 12 lignes plus haut, comprises dans le total",
            ],
            [
                "… 0 more lines above, included in the total",
                "… 1 more line above, included in the total",
                "… 2 more lines above, included in the total",
                "… 12 more lines above, included in the total",
            ],
        ),
        (
            "photos.duplicates",
            {},
            [
                "♻️ 0 déjà reçue : gardée une seule fois.",
                "♻️ 1 déjà reçue : gardée une seule fois.",
                "♻️ 2 déjà reçues : gardées une seule fois.",
                "♻️ 12 déjà reçues : gardées une seule fois.",
            ],
            [
                "♻️ 0 were already received: kept only once.",
                "♻️ 1 was already received: kept only once.",
                "♻️ 2 were already received: kept only once.",
                "♻️ 12 were already received: kept only once.",
            ],
        ),
        (
            "review.checklist",
            {"total": 7},
            [
                "0 point coché sur 7",
                "1 point coché sur 7",
                "2 points cochés sur 7",
                "12 points cochés sur 7",
            ],
            [
                "0 of 7 items ticked",
                "1 of 7 items ticked",
                "2 of 7 items ticked",
                "12 of 7 items ticked",
            ],
        ),
    ],
)
def test_counted_texts_in_both_languages(
    key: str, values: dict[str, object], french: list[str], english: list[str]
) -> None:
    for language, expected in (("fr", french), ("en", english)):
        t = Translator(language)
        assert [t(key, count=n, **values) for n in COUNTS] == expected, language


def test_the_count_is_written_the_languages_way_and_cannot_be_forgotten() -> None:
    assert Translator("fr")("counts.photos", count=1234) == "1\u202f234 photos"
    assert Translator("en")("counts.photos", count=1234) == "1,234 photos"
    with pytest.raises(TypeError, match=r"photos\.saved counts"):
        Translator("fr")("photos.saved", number="OT-2026-0001")
    assert (category("fr", 0), category("fr", 1), category("fr", 2)) == ("one", "one", "other")
    assert (category("en", 0), category("en", 1), category("en", 2)) == ("other", "one", "other")


def test_a_plural_text_needs_its_other_form() -> None:
    with pytest.raises(ValueError, match="other"):
        Plural({"one": "{count} photo"})
    assert Plural({"one": "une", "other": "{count}"}).fill("fr", 3) == "3"


async def jump(harness: Harness, person: Person, step: str, **values: object) -> Job:
    """A started intervention of `person` put straight at `step` (the earlier steps are
    tested elsewhere)."""
    job = await plan_job(harness.db, template="short", technician=person)
    listing = (await harness.say(person, "/today"))[0]
    card = (await harness.press(person, listing, button(listing, job.number)))[-1]
    await harness.press(person, card, button(card, "▶️"))
    async with harness.db.transaction() as session:
        await session.execute(
            update(Intervention).where(Intervention.id == job.id).values(wizard_step=step, **values)
        )
    return job


@pytest.mark.parametrize(
    ("person", "expected"),
    [
        (TECHNICIAN, "📎 1 document gardé en pièce jointe.\nAu total : 0 photo, 1 document."),
        (
            ENGLISH_TECHNICIAN,
            "📎 1 document kept as an attachment.\nIn all: 0 photos, 1 document.",
        ),
    ],
)
async def test_a_first_document_is_counted_in_the_singular_beside_no_photo(
    short: Harness, person: Person, expected: str
) -> None:
    await jump(short, person, "photos")
    plan = short.updates.document(
        person, short.session, b"%PDF-1.7\n", "plan.pdf", "application/pdf"
    )
    await short.feed(plan)
    (confirmation,) = [c for c in await short.deliver(now=True) if c.chat_id == person.id]
    assert confirmation.text.startswith(expected), confirmation.text


async def test_twelve_photos_are_counted_in_the_plural_and_one_more_in_the_singular(
    short: Harness,
) -> None:
    await jump(short, TECHNICIAN, "photos")
    album = [
        short.updates.photo(TECHNICIAN, short.session, jpeg(color=f"#{n * 20:02x}4080"),
                            media_group_id="A1")
        for n in range(12)
    ]  # fmt: skip
    await short.feed(*album)
    (first,) = [c for c in await short.deliver(now=True) if c.chat_id == TECHNICIAN.id]
    assert first.text.startswith(
        "📷 12 photos enregistrées pour OT-2026-0001.\nAu total : 12 photos, 0 document."
    ), first.text
    await short.feed(short.updates.photo(TECHNICIAN, short.session, jpeg(color="blue")))
    (second,) = [c for c in await short.deliver(now=True) if c.chat_id == TECHNICIAN.id]
    assert second.text.startswith("📷 1 photo enregistrée pour OT-2026-0001.\nAu total : 13 photos")
    assert button(second, "Terminé (13)")
