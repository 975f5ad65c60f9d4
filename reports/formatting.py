"""Money, numbers, dates and sizes written the way the document's language writes them.

Babel does the locale rules. French: "1 234,56 €" (narrow no-break space between
thousands, no-break space before the euro sign), "22/11/2026 14:30", "20 %".
English: "€1,234.56", "22 Nov 2026, 14:30" (day first and the month in letters,
so that neither a British nor an American reader can misread it; 24-hour clock as
on the French side), "20%".

Durations are written as people say them, to the minute: "2 h 31", "45 min",
"3 h" in French, "2 h 31 min" and "2 h 5 min" in English. Decimal hours ("2,52 h", which reads
like two hours fifty-two) appear only beside such a duration, where they are the
quantity a rate multiplies.

The chat handlers may use the same `Formatter` for their summaries.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, get_day_names
from babel.numbers import format_currency, format_decimal, format_percent

from reports.data import Language

_LOCALES: dict[Language, str] = {"fr": "fr_FR", "en": "en_GB"}
_DATETIME_PATTERNS: dict[Language, str] = {"fr": "dd/MM/yyyy HH:mm", "en": "d MMM yyyy, HH:mm"}
_DATE_PATTERNS: dict[Language, str] = {"fr": "dd/MM/yyyy", "en": "d MMM yyyy"}
_SIZE_UNITS: dict[Language, tuple[str, ...]] = {
    "fr": ("o", "Ko", "Mo", "Go"),
    "en": ("B", "KB", "MB", "GB"),
}


_DAY_IN_WORDS = "EEEE d MMMM y"
_MOMENT_IN_WORDS = {"fr": "EEEE d MMMM y 'à' HH:mm", "en": "EEEE d MMMM y 'at' HH:mm"}


def _locale_of(language: str) -> str:
    """Babel's locale for `language`; English for any language but French."""
    return _LOCALES["fr"] if language == "fr" else _LOCALES["en"]


def _first_of_month(pattern: str, language: str, day: int) -> str:
    """French says "1er mai", then "2 mai"."""
    return pattern.replace(" d ", " d'er' ", 1) if language == "fr" and day == 1 else pattern


def say_day(day: dt.date, language: str) -> str:
    """A day in words, to say which one was understood: "jeudi 14 mai 2026" /
    "Thursday 14 May 2026"."""
    pattern = _first_of_month(_DAY_IN_WORDS, language, day.day)
    return format_date(day, pattern, locale=_locale_of(language))


def say_moment(moment: dt.datetime, language: str) -> str:
    """A moment in words, in its own zone: "jeudi 14 mai 2026 à 14:00" /
    "Thursday 14 May 2026 at 14:00"."""
    pattern = _MOMENT_IN_WORDS["fr" if language == "fr" else "en"]
    pattern = _first_of_month(pattern, language, moment.day)
    return format_datetime(moment, pattern, locale=_locale_of(language))


def weekday_name(weekday: int, language: str) -> str:
    """The name of a weekday (0 is Monday): "jeudi" / "Thursday"."""
    return str(get_day_names("wide", locale=_locale_of(language))[weekday])


class Formatter:
    """Formats values for one language and one time zone."""

    def __init__(self, language: Language, timezone: str | dt.tzinfo = "Europe/Paris") -> None:
        if language not in _LOCALES:
            raise ValueError(f"unsupported language: {language!r}")
        self.language: Language = language
        self.locale = _LOCALES[language]
        self.tz: dt.tzinfo = ZoneInfo(timezone) if isinstance(timezone, str) else timezone

    def money(self, amount: Decimal, currency: str = "EUR") -> str:
        """An amount with its currency: "1 234,56 €" / "€1,234.56"."""
        return format_currency(amount, currency, locale=self.locale)

    def number(self, value: Decimal | int | float) -> str:
        """A quantity with as many decimals as it has (up to 3): "2,5" / "2.5"."""
        return format_decimal(value, format="#,##0.###", locale=self.locale)

    def hours(self, value: Decimal) -> str:
        """Decimal hours, a quantity to multiply: "2,52 h" / "2.52 h". Not for a
        duration on its own (see `duration`)."""
        return f"{self.number(value)}\u00a0h"

    def duration(self, hours: Decimal) -> str:
        """Hours as people say them, to the nearest minute: "2 h 31", "45 min", "3 h"
        (French); "2 h 31 min", "45 min", "3 h" (English)."""
        minutes = int((hours * 60).to_integral_value(rounding=ROUND_HALF_UP))
        sign, minutes = ("-" if minutes < 0 else ""), abs(minutes)
        whole, rest = divmod(minutes, 60)
        shown = format_decimal(whole, format="#,##0", locale=self.locale)
        if whole == 0:
            return f"{sign}{rest}\u00a0min"
        if rest == 0:
            return f"{sign}{shown}\u00a0h"
        if self.language == "fr":
            return f"{sign}{shown}\u00a0h\u00a0{rest:02d}"
        return f"{sign}{shown}\u00a0h\u00a0{rest}\u00a0min"

    def labour_hours(self, hours: Decimal) -> str:
        """The hours a labour rate multiplies: the duration, and the decimal hours
        beside it when they are not whole: "2 h 31 (2,52 h)", "3 h"."""
        if hours == hours.to_integral_value():
            return self.duration(hours)
        return f"{self.duration(hours)} ({self.hours(hours)})"

    def percent(self, fraction: Decimal) -> str:
        """A rate given as a fraction: 0.055 -> "5,5 %" / "5.5%"."""
        return format_percent(fraction, locale=self.locale, decimal_quantization=False)

    def local(self, moment: dt.datetime) -> dt.datetime:
        """`moment` in the document's time zone. Naive datetimes are refused."""
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"a timezone-aware datetime is required, got {moment!r}")
        return moment.astimezone(self.tz)

    def datetime(self, moment: dt.datetime) -> str:
        """Date and time: "22/11/2026 14:30" / "22 Nov 2026, 14:30"."""
        return format_datetime(
            self.local(moment), _DATETIME_PATTERNS[self.language], locale=self.locale
        )

    def date(self, moment: dt.datetime) -> str:
        """The date alone: "22/11/2026" / "22 Nov 2026"."""
        return format_datetime(
            self.local(moment), _DATE_PATTERNS[self.language], locale=self.locale
        )

    def time(self, moment: dt.datetime) -> str:
        """The time alone, 24-hour clock: "14:30"."""
        return format_datetime(self.local(moment), "HH:mm", locale=self.locale)

    def span(self, start: dt.datetime, end: dt.datetime) -> str:
        """A start and an end, the date said once when both fall on the same day."""
        if self.local(start).date() == self.local(end).date():
            return f"{self.datetime(start)} – {self.time(end)}"
        return f"{self.datetime(start)} – {self.datetime(end)}"

    def recording(self, seconds: int) -> str:
        """The length of a recording: "0:42" (see `recording_length`)."""
        return recording_length(seconds)

    def size(self, size: int) -> str:
        """A file size: "1,2 Mo" / "1.2 MB"."""
        units = _SIZE_UNITS[self.language]
        value = Decimal(max(size, 0))
        unit = 0
        while value >= 1024 and unit < len(units) - 1:
            value /= 1024
            unit += 1
        shown = format_decimal(
            value, format="#,##0" if unit == 0 else "#,##0.#", locale=self.locale
        )
        return f"{shown}\u00a0{units[unit]}"


def recording_length(seconds: int) -> str:
    """The length of a recording as a player shows it, in every language: "0:42",
    "12:05", "1:02:03"."""
    minutes, rest = divmod(max(seconds, 0), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{rest:02d}"
    return f"{minutes}:{rest:02d}"
