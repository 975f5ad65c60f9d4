"""The right words: counts in the plural their language asks for, durations as people
say them (and read as they type them), checklist labels never cut inside a word, and
a /help where each command has one line and one meaning."""

from __future__ import annotations

import datetime as dt
import re
import string
from decimal import Decimal

import pytest
from aiogram.utils.text_decorations import html_decoration as hd
from sqlalchemy import update

from handlers.common import HELP
from handlers.i18n import LANGUAGES, Translator, catalog
from handlers.technician.checklist import LABEL_WIDTH, cut
from reports.formatting import Formatter
from reports.labels import catalog as report_catalog
from reports.plurals import Plural, category
from reports.rules.templates import load_templates
from storage.models import Intervention, Role
from tests.conftest import TECHNICIAN, Harness, Job, load_job, plan_job, register, scratch
from tests.mocked import Call, Person, button
from tests.test_checklist_parts import METHODS, edited, prompt_in, reach
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
        (
            "stats.chart.title",
            {},
            [
                "Activité de la semaine",
                "Activité de la semaine",
                "Activité des 2 dernières semaines",
                "Activité des 12 dernières semaines",
            ],
            [
                "Activity over the last 0 weeks",
                "This week's activity",
                "Activity over the last 2 weeks",
                "Activity over the last 12 weeks",
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
    assert expected in confirmation.text, confirmation.text


async def test_twelve_photos_are_counted_in_the_plural_and_one_more_in_the_singular(
    short: Harness,
) -> None:
    await jump(short, TECHNICIAN, "photos")
    album = [
        short.updates.photo(TECHNICIAN, short.session, jpeg(color=f"#{n * 20:02x}4080"),
                            media_group_id="A1")
        for n in range(12)
    ]  # fmt: skip
    await short.say(TECHNICIAN, "/resume")  # the photo step's question
    await short.feed(*album)
    (first,) = [c for c in await short.deliver(now=True) if c.chat_id == TECHNICIAN.id]
    assert (
        "📷 12 photos enregistrées pour OT-2026-0001.\nAu total : 12 photos, 0 document."
    ) in first.text, first.text
    # One more, below the album: a new count, of that one photo.
    await short.feed(short.updates.photo(TECHNICIAN, short.session, jpeg(color="blue")))
    second = [c for c in await short.deliver(now=True) if c.chat_id == TECHNICIAN.id][-1]
    assert "📷 1 photo enregistrée pour OT-2026-0001.\nAu total : 13 photos" in second.text
    assert button(second, "Terminé (13)")


# Durations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "french", "english"),
    [
        ("2.52", "2\u00a0h\u00a031", "2\u00a0h\u00a031\u00a0min"),
        ("2.5", "2\u00a0h\u00a030", "2\u00a0h\u00a030\u00a0min"),
        ("2.08", "2\u00a0h\u00a005", "2\u00a0h\u00a05\u00a0min"),
        ("3", "3\u00a0h", "3\u00a0h"),
        ("0.75", "45\u00a0min", "45\u00a0min"),
        ("0.02", "1\u00a0min", "1\u00a0min"),
        ("0", "0\u00a0min", "0\u00a0min"),
        ("152.5", "152\u00a0h\u00a030", "152\u00a0h\u00a030\u00a0min"),
        ("1234.5", "1\u202f234\u00a0h\u00a030", "1,234\u00a0h\u00a030\u00a0min"),
    ],
)
def test_a_duration_is_written_as_people_say_it(hours: str, french: str, english: str) -> None:
    assert Formatter("fr").duration(Decimal(hours)) == french
    assert Formatter("en").duration(Decimal(hours)) == english


def test_hours_a_rate_multiplies_show_the_decimal_beside_the_duration() -> None:
    assert Formatter("fr").labour_hours(Decimal("2.52")) == "2\u00a0h\u00a031 (2,52\u00a0h)"
    english = Formatter("en").labour_hours(Decimal("2.52"))
    assert english == "2\u00a0h\u00a031\u00a0min (2.52\u00a0h)"
    assert Formatter("fr").labour_hours(Decimal(3)) == "3\u00a0h"


def test_every_minute_reads_back_the_same_from_hundredths_of_an_hour() -> None:
    """Worked hours are kept to 0.01 h; each minute typed is shown as that minute."""
    fr = Formatter("fr")
    for minutes in range(24 * 60 + 1):
        stored = (Decimal(minutes) / 60).quantize(Decimal("0.01"))
        whole, rest = divmod(minutes, 60)
        shown = fr.duration(stored)
        if whole == 0:
            assert shown == f"{rest}\u00a0min"
        elif rest == 0:
            assert shown == f"{whole}\u00a0h"
        else:
            assert shown == f"{whole}\u00a0h\u00a0{rest:02d}"


async def at_hours(harness: Harness, person: Person) -> tuple[Job, Call]:
    """An intervention at the question of the time worked: arrived 08:00, ended 10:31."""
    arrival = dt.datetime(2026, 11, 20, 8, 0, tzinfo=harness.options.tz)
    job = await jump(
        harness,
        person,
        "times",
        wizard_data={"stage": "hours"},
        started_at=arrival,
        ended_at=arrival + dt.timedelta(hours=2, minutes=31),
        worked_hours=Decimal("2.52"),
    )
    return job, prompt_in(await harness.say(person, "/resume"))


@pytest.mark.parametrize(
    ("person", "expected"),
    [
        (TECHNICIAN, "Temps travaillé : <b>2\u00a0h\u00a031</b>."),
        (ENGLISH_TECHNICIAN, "Time worked: <b>2\u00a0h\u00a031\u00a0min</b>."),
    ],
)
async def test_the_time_worked_is_shown_in_hours_and_minutes(
    short: Harness, person: Person, expected: str
) -> None:
    _, prompt = await at_hours(short, person)
    assert expected in prompt.text
    assert "2,52" not in prompt.text and "2.52" not in prompt.text


@pytest.mark.parametrize(
    ("typed", "hours", "shown"),
    [
        ("2h30", "2.50", "2\u00a0h\u00a030"),
        ("2 h 30", "2.50", "2\u00a0h\u00a030"),
        ("2,5", "2.50", "2\u00a0h\u00a030"),
        ("2.5", "2.50", "2\u00a0h\u00a030"),
        ("150 min", "2.50", "2\u00a0h\u00a030"),
        ("1h", "1.00", "1\u00a0h"),
        ("45min", "0.75", "45\u00a0min"),
        ("2:30", "2.50", "2\u00a0h\u00a030"),
        ("2,30", "2.30", "2\u00a0h\u00a018"),  # decimal hours, and the technician sees it
        ("2\u00a0h\u00a031", "2.52", "2\u00a0h\u00a031"),
    ],
)
async def test_each_way_of_typing_the_time_worked_is_read_and_shown_back(
    short: Harness, typed: str, hours: str, shown: str
) -> None:
    job, _ = await at_hours(short, TECHNICIAN)
    calls = await short.say(TECHNICIAN, typed)
    assert f"✅ Temps travaillé : <b>{shown}</b>." in prompt_in(calls).text
    assert "Déplacement" in prompt_in(calls).text
    assert (await load_job(short.db, job)).worked_hours == Decimal(hours)


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("2h30", "2\u00a0h\u00a030\u00a0min"),
        ("45min", "45\u00a0min"),
        ("1.5", "1\u00a0h\u00a030\u00a0min"),
    ],
)
async def test_the_time_worked_is_read_in_english_too(
    short: Harness, typed: str, shown: str
) -> None:
    await at_hours(short, ENGLISH_TECHNICIAN)
    calls = await short.say(ENGLISH_TECHNICIAN, typed)
    assert f"✅ Time worked: <b>{shown}</b>." in prompt_in(calls).text


@pytest.mark.parametrize(
    ("person", "typed", "answer"),
    [
        (TECHNICIAN, "-2h", "Un temps de travail ne peut pas être négatif."),
        (TECHNICIAN, "0", "Ce temps de travail est nul."),
        (TECHNICIAN, "30h", "Plus de 24 heures de travail pour une intervention"),
        (TECHNICIAN, "abc", "Je n'ai pas compris ce temps de travail."),
        (TECHNICIAN, "2h75", "les minutes vont de 00 à 59"),
        (ENGLISH_TECHNICIAN, "-2h", "Time worked can't be negative."),
        (ENGLISH_TECHNICIAN, "0", "This time worked is zero."),
        (ENGLISH_TECHNICIAN, "30h", "More than 24 hours of work for one intervention"),
        (ENGLISH_TECHNICIAN, "abc", "I didn't understand this time worked."),
    ],
)
async def test_a_bad_time_worked_is_answered_in_the_persons_language_and_nothing_changes(
    short: Harness, person: Person, typed: str, answer: str
) -> None:
    job, _ = await at_hours(short, person)
    calls = await short.say(person, typed)
    assert [c.method for c in calls] == ["sendMessage"]
    assert answer in calls[0].text
    saved = await load_job(short.db, job)
    assert saved.worked_hours == Decimal("2.52")
    assert (saved.wizard_step, scratch(saved)) == ("times", {"stage": "hours"})


async def test_the_review_says_the_time_worked_in_hours_and_minutes(short: Harness) -> None:
    arrival = dt.datetime(2026, 11, 20, 8, 0, tzinfo=short.options.tz)
    await jump(
        short,
        TECHNICIAN,
        "review",
        started_at=arrival,
        ended_at=arrival + dt.timedelta(hours=2, minutes=31),
        worked_hours=Decimal("2.52"),
    )
    review = prompt_in(await short.say(TECHNICIAN, "/resume"))
    assert "20/11/2026 08:00 → 20/11/2026 10:31, 2\u00a0h\u00a031 de travail" in review.text
    assert "2\u00a0h\u00a031 (2,52\u00a0h) × 60,00\u00a0€" in review.text
    assert "0 photo, 0 autre document" in review.text


# Checklist labels ------------------------------------------------------------------------


def default_labels() -> list[str]:
    return [
        label
        for template in load_templates().values()
        for language in LANGUAGES
        for label in template.checklist_labels(language)
    ]


@pytest.mark.parametrize("label", default_labels())
def test_a_label_on_a_button_is_cut_after_a_whole_word(label: str) -> None:
    shown = cut(label)
    assert len(shown) <= LABEL_WIDTH
    if shown == label:
        return
    assert shown.endswith("…")
    kept = shown.removesuffix("…")
    assert label.startswith(kept) and label[len(kept)] == " ", "cut inside a word"


def test_a_cut_drops_a_dangling_linking_word_and_only_a_huge_word_is_split() -> None:
    assert cut("Contrôle visuel de l'installation", 20) == "Contrôle visuel…"
    assert cut("Test des DAF et de la VMC", 13) == "Test des DAF…"
    assert cut("Anticonstitutionnellement", 10) == "Anticonst…"
    assert cut("Deux\nlignes", 20) == "Deux lignes"


@pytest.mark.parametrize("template", ["maintenance", "installation", "inspection", "repair"])
@pytest.mark.parametrize("person", [TECHNICIAN, ENGLISH_TECHNICIAN])
async def test_the_checklist_lists_the_full_labels_numbered_and_the_buttons_are_short(
    harness: Harness, template: str, person: Person
) -> None:
    job = await plan_job(harness.db, template=template, technician=person)
    title = METHODS if person == TECHNICIAN else "Methods and equipment"
    prompt = await reach(harness, job, title, person)
    labels = load_templates()[template].checklist_labels(person.language_code or "fr")
    ticks = [text for text, _ in prompt.buttons() if text[0] in "⬜✅"]
    assert len(ticks) == len(labels)
    for number, (label, tick) in enumerate(zip(labels, ticks, strict=True), start=1):
        assert f"<b>{number}.</b> {hd.quote(label)}" in prompt.text
        assert tick == f"{tick[0]} {number}. {cut(label)}"

    picker = edited(await harness.press(person, prompt, button(prompt, "📝")))
    for number, label in enumerate(labels, start=1):
        assert f"• <b>{number}.</b> {hd.quote(label)}" in picker.text
        assert button(picker, f"{number}. {cut(label)}")


async def test_a_long_checklist_still_fits_in_one_message(harness: Harness) -> None:
    job = await plan_job(harness.db)
    prompt = await reach(harness, job, METHODS)
    async with harness.db.transaction() as session:
        found = await session.get(Intervention, job.id)
        assert found is not None
        await session.refresh(found, ["checklist"])
        for item in found.checklist:
            item.label = ("Vérification complète " * 15).strip()[:300]
            item.note = "n" * 900
    prompt = prompt_in(await harness.say(TECHNICIAN, "/resume"))
    assert len(prompt.text) < 4096
    assert all(f"<b>{number}.</b> Vérification complète" in prompt.text for number in range(1, 8))
    assert "n…</i>" in prompt.text, "the notes are shortened to fit"
    assert all(len(text) <= 40 for text, _ in prompt.buttons())


# /help -----------------------------------------------------------------------------------


def commands_in(text: str) -> list[str]:
    return [line.split()[0].rstrip(":") for line in text.splitlines() if line.startswith("/")]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("role", list(Role))
async def test_help_lists_each_command_once_with_one_meaning(
    harness: Harness, role: Role, language: str
) -> None:
    person = Person(60, "Claire", "claire", language)
    await register(harness, person, role)
    (answer,) = await harness.say(person, "/help")
    commands = commands_in(answer.text)
    assert len(commands) == len(set(commands)), commands
    assert commands.count("/cancel") == 1
    assert len(commands) == len(HELP[role]) == len(answer.text.splitlines()) - 1
    assert {"/help", "/lang", "/verify", "/cancel"} <= set(commands)
    expected = {
        Role.TECHNICIAN: {"/today", "/list", "/new", "/resume"},
        Role.DISPATCHER: {"/plan", "/change", "/today", "/export", "/find", "/client"},
        Role.ADMIN: {"/plan", "/change", "/invite", "/stats"},
        Role.CLIENT: {"/reports", "/visit"},
    }[role]
    assert expected <= set(commands)
    if role != Role.TECHNICIAN:
        assert "/new" not in commands and "/resume" not in commands


def test_help_lines_exist_in_both_languages_and_name_their_command() -> None:
    for language in LANGUAGES:
        t = Translator(language)
        for role, keys in HELP.items():
            for key in keys:
                line = t(f"help.{key}")
                assert line.startswith("/") and not placeholders(line), (role, key)
