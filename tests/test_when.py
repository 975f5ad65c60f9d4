"""When the office says an intervention is to happen (reports.rules.when), read in French
and in English against a fixed now, and what the person reads when it cannot be."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest

from handlers.i18n import LANGUAGES, catalog, gettext
from reports.formatting import say_day, say_moment
from reports.rules.reading import MAX_TEXT
from reports.rules.when import KEYS, WhenError, parse_appointment

PARIS = ZoneInfo("Europe/Paris")
#: Thursday 14 May 2026, 10:00 and 15:00 in Paris.
THURSDAY_10 = dt.datetime(2026, 5, 14, 10, 0, tzinfo=PARIS)
THURSDAY_15 = dt.datetime(2026, 5, 14, 15, 0, tzinfo=PARIS)


def at(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=PARIS)


def read(typed: str, now: dt.datetime = THURSDAY_10, day_text: str | None = None) -> dt.datetime:
    return parse_appointment(typed, now=now, day_text=day_text)


def refusal(call: Callable[[], object]) -> WhenError:
    """The WhenError raised by `call`, checked to use a key this module declares."""
    with pytest.raises(WhenError) as caught:
        call()
    assert caught.value.key in KEYS
    return caught.value


def shown(error: WhenError, language: str) -> str:
    """The message the person reads, as the handlers write it."""
    return gettext(language, error.key, **error.display_values(language))


# --- each form, said on Thursday 14 May 2026 at 10:00 -----------------------------------


@pytest.mark.parametrize(
    ("typed", "moment"),
    [
        # French
        ("jeudi 14h", at(5, 14, 14)),
        ("Jeudi à 14h30", at(5, 14, 14, 30)),
        ("ce jeudi 16h", at(5, 14, 16)),
        ("vendredi 9h", at(5, 15, 9)),
        ("lundi 9h", at(5, 18, 9)),
        ("lundi prochain 9h", at(5, 18, 9)),
        ("mercredi prochain à 8h", at(5, 20, 8)),
        ("le 3 à 14h", at(6, 3, 14)),
        ("le 1er à 8h", at(6, 1, 8)),
        ("le 20 à 9h", at(5, 20, 9)),
        ("le 14 à 16h", at(5, 14, 16)),
        ("dans 2 jours à 10h", at(5, 16, 10)),
        ("dans une semaine 9h", at(5, 21, 9)),
        ("dans deux semaines à 9h", at(5, 28, 9)),
        ("demain matin", at(5, 15, 8)),
        ("demain après-midi", at(5, 15, 14)),
        ("demain soir", at(5, 15, 18)),
        ("demain midi", at(5, 15, 12)),
        ("ce soir", at(5, 14, 18)),
        ("cet après-midi", at(5, 14, 14)),
        ("lundi matin", at(5, 18, 8)),
        ("demain soir 8h", at(5, 15, 20)),
        ("demain 8h du soir", at(5, 15, 20)),
        ("demain 3h de l'après-midi", at(5, 15, 15)),
        ("demain matin vers 9h30", at(5, 15, 9, 30)),
        ("demain 9h", at(5, 15, 9)),
        ("demain 9", at(5, 15, 9)),
        ("Demain à 9h", at(5, 15, 9)),
        ("après-demain 8h", at(5, 16, 8)),
        ("14h demain", at(5, 15, 14)),
        ("à 14h demain", at(5, 15, 14)),
        ("9h le 22/11", at(11, 22, 9)),
        ("22/11/2026 14h30", at(11, 22, 14, 30)),
        ("22/11/2026, 14h30", at(11, 22, 14, 30)),
        ("22/11 à 14h30", at(11, 22, 14, 30)),
        ("le 22/11 à 14h", at(11, 22, 14)),
        ("22 novembre 2026 à 14h30", at(11, 22, 14, 30)),
        ("vendredi 15 mai 14h", at(5, 15, 14)),
        ("jeudi 21 à 9h", at(5, 21, 9)),
        ("14h30", at(5, 14, 14, 30)),
        ("midi", at(5, 14, 12)),
        ("2026-11-22T14:30", at(11, 22, 14, 30)),
        # English
        ("thursday 2pm", at(5, 14, 14)),
        ("Thursday at 2:30 pm", at(5, 14, 14, 30)),
        ("this thursday 4pm", at(5, 14, 16)),
        ("friday 9am", at(5, 15, 9)),
        ("next monday 9am", at(5, 18, 9)),
        ("monday next 9am", at(5, 18, 9)),
        ("on the 3rd at 2pm", at(6, 3, 14)),
        ("the 1st at 8am", at(6, 1, 8)),
        ("3rd at 2pm", at(6, 3, 14)),
        ("in 2 days at 10am", at(5, 16, 10)),
        ("in a week at 9", at(5, 21, 9)),
        ("in two weeks 9am", at(5, 28, 9)),
        ("tomorrow morning", at(5, 15, 8)),
        ("tomorrow afternoon", at(5, 15, 14)),
        ("tomorrow evening", at(5, 15, 18)),
        ("tonight", at(5, 14, 18)),
        ("tomorrow 9", at(5, 15, 9)),
        ("tomorrow at 9", at(5, 15, 9)),
        ("tomorrow 9am", at(5, 15, 9)),
        ("tomorrow noon", at(5, 15, 12)),
        ("tomorrow 3 in the afternoon", at(5, 15, 15)),
        ("the day after tomorrow 10am", at(5, 16, 10)),
        ("at 2pm tomorrow", at(5, 15, 14)),
        ("friday 15 may 2pm", at(5, 15, 14)),
        ("nov 22, 2026 at 2:30 pm", at(11, 22, 14, 30)),
        ("2pm", at(5, 14, 14)),
    ],
)
def test_each_way_of_saying_when_is_understood(typed: str, moment: dt.datetime) -> None:
    assert read(typed) == moment


# --- the weekday of today ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "at_10", "at_15"),
    [
        ("jeudi 14h", at(5, 14, 14), at(5, 21, 14)),
        ("thursday 2pm", at(5, 14, 14), at(5, 21, 14)),
        ("jeudi 16h", at(5, 14, 16), at(5, 14, 16)),
        ("jeudi 9h", at(5, 21, 9), at(5, 21, 9)),
        ("jeudi prochain 16h", at(5, 21, 16), at(5, 21, 16)),
        ("next thursday 4pm", at(5, 21, 16), at(5, 21, 16)),
        ("le 14 à 14h", at(5, 14, 14), at(6, 14, 14)),
        ("on the 14th at 2pm", at(5, 14, 14), at(6, 14, 14)),
    ],
)
def test_a_weekday_or_day_of_today_is_today_while_its_hour_is_ahead_else_the_next(
    typed: str, at_10: dt.datetime, at_15: dt.datetime
) -> None:
    """Said on Thursday at 10:00, "jeudi 14h" is today; at 15:00, next Thursday.
    "prochain" / "next" is never today. A day of the month goes to the next month."""
    assert read(typed, THURSDAY_10) == at_10
    assert read(typed, THURSDAY_15) == at_15


def test_a_day_of_the_month_that_this_month_lacks_is_the_next_month_that_has_it() -> None:
    june_first = at(6, 1, 10)
    assert read("le 31 à 9h", june_first) == at(7, 31, 9)
    assert read("on the 30th at 9am", dt.datetime(2027, 2, 1, 10, tzinfo=PARIS)) == at(
        3, 30, 9, year=2027
    )


def test_a_day_and_month_without_a_year_is_the_nearest_such_date() -> None:
    december = dt.datetime(2026, 12, 20, 10, tzinfo=PARIS)
    assert read("05/01 9h", december) == at(1, 5, 9, year=2027)
    assert read("5 janvier 9h", december) == at(1, 5, 9, year=2027)
    assert read("22/06 9h") == at(6, 22, 9)


def test_the_week_and_month_turn_over() -> None:
    sunday = dt.datetime(2026, 5, 31, 10, tzinfo=PARIS)
    assert read("lundi 9h", sunday) == at(6, 1, 9)
    assert read("lundi prochain 9h", sunday) == at(6, 1, 9)
    assert read("demain 9h", dt.datetime(2026, 12, 31, 10, tzinfo=PARIS)) == at(1, 1, 9, year=2027)


def test_the_moment_is_in_the_zone_of_now_across_a_change_of_clock() -> None:
    """The evening before the clocks go forward (29 March 2026), "demain 9h" is 9:00
    local, that is 7:00 UTC and not 8:00."""
    before = dt.datetime(2026, 3, 28, 18, tzinfo=PARIS)
    moment = read("demain 9h", before)
    assert moment == at(3, 29, 9) and moment.astimezone(dt.UTC).hour == 7


# --- a day without an hour, then the hour ------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "day", "fr", "en"),
    [
        (
            "dans 2 jours",
            dt.date(2026, 5, 16),
            "Le samedi 16 mai 2026, à quelle heure ?",
            "Saturday 16 May 2026: at what time?",
        ),
        (
            "jeudi",
            dt.date(2026, 5, 14),
            "Le jeudi 14 mai 2026, à quelle heure ?",
            "Thursday 14 May 2026: at what time?",
        ),
        (
            "lundi prochain",
            dt.date(2026, 5, 18),
            "Le lundi 18 mai 2026, à quelle heure ?",
            "Monday 18 May 2026: at what time?",
        ),
        (
            "le 1er",
            dt.date(2026, 6, 1),
            "Le lundi 1er juin 2026, à quelle heure ?",
            "Monday 1 June 2026: at what time?",
        ),
        (
            "in 3 days",
            dt.date(2026, 5, 17),
            "Le dimanche 17 mai 2026, à quelle heure ?",
            "Sunday 17 May 2026: at what time?",
        ),
        (
            "22/11",
            dt.date(2026, 11, 22),
            "Le dimanche 22 novembre 2026, à quelle heure ?",
            "Sunday 22 November 2026: at what time?",
        ),
    ],
)
def test_a_day_without_an_hour_asks_for_the_hour_naming_the_day(
    typed: str, day: dt.date, fr: str, en: str
) -> None:
    error = refusal(lambda: read(typed))
    assert (error.key, error.values, error.day_kept) == ("when.hour_missing", {"day": day}, typed)
    assert shown(error, "fr").startswith(fr)
    assert "« matin » (8h), « après-midi » (14h), « soir » (18h)" in shown(error, "fr")
    assert shown(error, "en").startswith(en)


@pytest.mark.parametrize(
    ("kept", "typed", "moment"),
    [
        ("dans 2 jours", "14h", at(5, 16, 14)),
        ("dans 2 jours", "matin", at(5, 16, 8)),
        ("jeudi", "16h", at(5, 14, 16)),
        ("jeudi", "9h", at(5, 21, 9)),
        ("demain", "15h", at(5, 15, 15)),
        ("tomorrow", "afternoon", at(5, 15, 14)),
        ("dans 2 jours", "vendredi 9h", at(5, 15, 9)),
    ],
)
def test_the_hour_alone_then_falls_on_the_day_kept(
    kept: str, typed: str, moment: dt.datetime
) -> None:
    """The kept day applies to an hour alone; a new day replaces it."""
    assert read(typed, day_text=kept) == moment


def test_a_wrong_or_ambiguous_hour_keeps_the_day_understood() -> None:
    assert refusal(lambda: read("demain 25h")).day_kept == "demain"
    assert refusal(lambda: read("demain 3")).day_kept == "demain"
    assert refusal(lambda: read("01/01/2020 10h")).day_kept is None
    assert refusal(lambda: read("n'importe quoi")).day_kept is None


# --- refusals, and what the person reads ------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "key", "fr", "en"),
    [
        (
            "01/01/2020 10h",
            "when.past",
            "Cette date est déjà passée : mercredi 1er janvier 2020 à 10:00.",
            "That date has already passed: Wednesday 1 January 2020 at 10:00.",
        ),
        (
            "9h",
            "when.past",
            "Cette date est déjà passée : jeudi 14 mai 2026 à 09:00.",
            "That date has already passed: Thursday 14 May 2026 at 09:00.",
        ),
        (
            "ce matin",
            "when.past",
            "Cette date est déjà passée : jeudi 14 mai 2026 à 08:00.",
            "That date has already passed: Thursday 14 May 2026 at 08:00.",
        ),
        (
            "hier 9h",
            "when.past",
            "Cette date est déjà passée : mercredi 13 mai 2026 à 09:00.",
            "That date has already passed: Wednesday 13 May 2026 at 09:00.",
        ),
        (
            "yesterday",
            "when.past",
            "Cette date est déjà passée : mercredi 13 mai 2026.",
            "That date has already passed: Wednesday 13 May 2026.",
        ),
        (
            "22/04 9h",
            "when.past",
            "Cette date est déjà passée : mercredi 22 avril 2026 à 09:00.",
            "That date has already passed: Wednesday 22 April 2026 at 09:00.",
        ),
        (
            "demain 3",
            "when.hour_ambiguous",
            "« 3 » : 3 h du matin ou 15 h ? Répondez « 3h » ou « 15h ».",
            '"3": 3 at night or 15:00? Answer "3am" or "3pm".',
        ),
        (
            "tomorrow at 2",
            "when.hour_ambiguous",
            "« 2 » : 2 h du matin ou 14 h ?",
            '"2": 2 at night or 14:00?',
        ),
        (
            "jeudi 3",
            "when.weekday_mismatch",
            "Le mercredi 3 juin 2026 n'est pas un jeudi.",
            "Wednesday 3 June 2026 is not a Thursday.",
        ),
        (
            "vendredi 16 mai 14h",
            "when.weekday_mismatch",
            "Le samedi 16 mai 2026 n'est pas un vendredi.",
            "Saturday 16 May 2026 is not a Friday.",
        ),
        (
            "12/25 14h",
            "when.day_first",
            "« 12/25 » : les dates s'écrivent le jour d'abord, puis le mois",
            '"12/25": dates are written day first, then the month, for example "25/12".',
        ),
        (
            "31/02 14h",
            "parse.date",
            "Je n'ai pas compris cette date.",
            "I didn't understand this date.",
        ),
        (
            "le 32 à 9h",
            "parse.date",
            "Je n'ai pas compris cette date.",
            "I didn't understand this date.",
        ),
        (
            "demain 25h",
            "parse.time",
            "Je n'ai pas compris cette heure.",
            "I didn't understand this time.",
        ),
        (
            "demain matin 15h",
            "parse.time",
            "Je n'ai pas compris cette heure.",
            "I didn't understand this time.",
        ),
        (
            "22 nov 2026 9",
            "parse.time",
            "Je n'ai pas compris cette heure.",
            "I didn't understand this time.",
        ),
        (
            "la semaine prochaine",
            "when.unreadable",
            "Je n'ai pas compris le jour et l'heure. Exemples : « jeudi 14h »",
            'I didn\'t understand the day and time. Examples: "thursday 2pm"',
        ),
        ("", "when.unreadable", "Je n'ai pas compris le jour", "I didn't understand the day"),
        (
            "1" * (MAX_TEXT + 1),
            "when.unreadable",
            "Je n'ai pas compris le jour",
            "I didn't understand the day",
        ),
    ],
)
def test_what_cannot_be_planned_is_refused_saying_why(
    typed: str, key: str, fr: str, en: str
) -> None:
    error = refusal(lambda: read(typed))
    assert error.key == key
    assert shown(error, "fr").startswith(fr), shown(error, "fr")
    assert shown(error, "en").startswith(en), shown(error, "en")


def test_an_ambiguous_day_number_is_not_read_month_first() -> None:
    """Day first in both languages: "3/4" is 3 April, never 4 March."""
    december = dt.datetime(2026, 12, 20, 10, tzinfo=PARIS)
    assert read("3/4 9h", december) == at(4, 3, 9, year=2027)
    assert read("3/4/2027 9am", december) == at(4, 3, 9, year=2027)


def test_a_language_other_than_french_reads_the_english_words() -> None:
    day = dt.date(2026, 5, 14)
    assert say_day(day, "de") == say_day(day, "en") == "Thursday 14 May 2026"
    assert say_moment(at(5, 14, 14), "fr") == "jeudi 14 mai 2026 à 14:00"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_key_this_reader_raises_has_a_text(language: str) -> None:
    texts = catalog(language)
    assert [key for key in KEYS if key not in texts] == []
    assert "when.planned_for" in texts
