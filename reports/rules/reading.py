"""Reading what people type in chat: numbers, money, quantities, hours, dates, text, yes/no,
phone numbers and e-mail addresses.

Technicians type on a phone, often with gloves, the French way or the English way. Each
function turns the text into a typed value or raises `ParseError(key, **values)`; the chat
handler answers `t(error.key, **error.display_values(language))` and keeps the step where it
was, and the command line names the problem in its own words. Pure functions: no aiogram, no
I/O, no dependence on the global decimal context.

Catalog keys raised, for the `[parse]` section of `handlers/locales/*.toml` (the phone and the
e-mail address: `[new]`, where a new client's details are asked), and what each message should
say (always what is expected, with an example):

- `parse.number`: the text is not a number (also money, quantity, kilometres). Example "12,5".
- `parse.too_small` {minimum}: below the smallest accepted value, which the message names.
  Quantities use 0.001 as their minimum (they must be more than zero); durations have
  their own keys, below.
- `parse.too_large` {maximum}: above the largest accepted value, which the message names.
- `parse.too_many_decimals` {places}: more digits after the decimal separator than allowed.
- `parse.negative`: a negative amount (money, kilometres); the message asks for a positive one.
- `parse.time`: not a time of day: hours 0 to 23, minutes 00 to 59. Examples "14h30",
  "9h05", "2h30".
- `parse.duration`: not a duration (`parse_hours`), or minutes over 59. Examples "2h30",
  "2,5", "150 min", "2:30".
- `parse.duration_negative`: a duration below zero ("-2h").
- `parse.duration_zero`: no time at all once rounded to the hundredth of an hour ("0",
  "0h00", "0,004").
- `parse.duration_too_long` {maximum}: more hours than the step accepts (24 by default).
- `parse.date`: not a date, or a date that does not exist ("31/02"). Examples "22/11/2026",
  "22/11", "demain".
- `parse.datetime`: neither "date and time" nor a time alone. Examples "22/11/2026 14h30",
  "demain 9h", "14h30".
- `parse.empty`: nothing left once the text is cleaned.
- `parse.too_long` {maximum, length}: the cleaned text has `length` characters, `maximum` at most.
- `parse.yes_no`: neither yes nor no; the message asks for "oui" or "non".
- `new.bad_phone`: not a phone number (6 to 20 digits, with spaces, dots, dashes, slashes,
  brackets and a leading "+"). Example "01 23 45 67 89".
- `new.bad_email`: not an address of the shape name@domain.tld, without spaces.

`{minimum}` and `{maximum}` are `Decimal` (an `int` in `parse.too_long`): pass them through
`ParseError.display_values(language)` so French reads "1 000 000" and "0,01".

Decisions on ambiguous input:

- A single "," or "." is the decimal separator, whatever follows: "1,234" and "1.234" are
  1.234, never 1234. Money allows two decimals, so "1,234 €" and "1.000 €" are refused (too
  many decimals) rather than misread. Thousands need a second separator or groups of three:
  "1.234,56", "1,234.56", "1.234.567", "1 234,5" (space, U+00A0, U+202F).
- "12," and "12." are refused (the text may have been cut); ",5" and ".5" are 0.5.
- Durations: "2,30" and "2.30" are decimal hours (2.3 h = 2 h 18), like "2,5"; "2h30" and
  "2:30" are two and a half hours. The confirmation should show the value read.
- Minutes after "h" take two digits ("2h05"); one digit only with a unit ("2h5min").
- Times: "0930" and "930" are 09:30, "14" is 14:00 (bare digits only when the whole answer is
  a time, not after a date), "14.30" is 14:30, "midi"/"noon" and "minuit"/"midnight" are
  understood.
- Dates are day first ("02/03" is 2 March). "22/11" is in the year of `today`; a two-digit
  year is 20yy; four-digit years run from 1900 to 2099. Month names in French and English
  ("22 novembre", "nov 22, 2026") are understood too.
- Quantities accept "x2", "2x", "×2" and a known unit after the number ("2 u", "3,5 m",
  "2 pcs", "1,5 kg", "4 m²", "2 rouleaux"...); an unknown word is refused as `parse.number`.
- Money knows only the euro ("€", "EUR", "euro", "euros", before or after, and "12€50");
  another currency or a "HT"/"TTC" suffix is refused rather than silently dropped.
- Kilometres: zero allowed, one decimal at most.
- Short answers (numbers, dates, times, yes/no) longer than 100 characters are refused with
  their usual key without being read: no real answer is that long.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from decimal import ROUND_HALF_UP, Context, Decimal

__all__ = [
    "KEYS",
    "MAX_TEXT",
    "ParseError",
    "clean_text",
    "format_decimal",
    "one_line",
    "parse_date",
    "parse_datetime",
    "parse_decimal",
    "parse_hours",
    "parse_km",
    "parse_money",
    "parse_quantity",
    "parse_time",
    "parse_yes_no",
    "read_email",
    "read_phone",
]

MAX_TEXT = 4096
"""Telegram's limit on the length of a message."""

KEYS = (
    "parse.number",
    "parse.too_small",
    "parse.too_large",
    "parse.too_many_decimals",
    "parse.negative",
    "parse.time",
    "parse.duration",
    "parse.duration_negative",
    "parse.duration_zero",
    "parse.duration_too_long",
    "parse.date",
    "parse.datetime",
    "parse.empty",
    "parse.too_long",
    "parse.yes_no",
    "new.bad_phone",
    "new.bad_email",
)
"""Every catalog key this module raises."""

_MAX_FIELD = 100
_CONTEXT = Context(prec=60, rounding=ROUND_HALF_UP)
_CENT = Decimal("0.01")
_HOURS_MINIMUM = Decimal("0.01")
_QUANTITY_MINIMUM = Decimal("0.001")


class ParseError(ValueError):
    """What was typed could not be read: `key` names the message, `values` fill it."""

    key: str
    values: dict[str, object]

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values

    def __str__(self) -> str:
        if not self.values:
            return self.key
        shown = ", ".join(f"{name}={value}" for name, value in self.values.items())
        return f"{self.key} ({shown})"

    def display_values(self, language: str) -> dict[str, object]:
        """The values with numbers written the way `language` reads them."""
        return {
            name: format_decimal(Decimal(value), language)
            if isinstance(value, Decimal | int) and not isinstance(value, bool)
            else value
            for name, value in self.values.items()
        }


def format_decimal(value: Decimal, language: str) -> str:
    """`value` as written in `language`: "1 234,5" in French, "1,234.5" in English."""
    text = format(value, ",f")
    if language == "fr":
        return text.replace(",", "\u00a0").replace(".", ",")
    return text


# --- text helpers -------------------------------------------------------------------------

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "´": "'"})


def _squash(text: str) -> str:
    """Whitespace of any kind (no-break spaces included) collapsed to single spaces."""
    return " ".join(text.split())


def _fold(text: str) -> str:
    """Lower case, accents removed, apostrophes straightened, spaces squashed."""
    decomposed = unicodedata.normalize("NFD", text.translate(_APOSTROPHES))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _squash(bare.lower())


def _short(text: str, key: str) -> str:
    """`text` folded, refused with `key` when it is far longer than any real answer."""
    if len(text) > _MAX_FIELD:
        raise ParseError(key)
    return _fold(text)


# --- numbers ------------------------------------------------------------------------------

_SIGN = r"[-+\u2212]"
# A number's body: digits, separators and spaces, ending with a digit. `_read_number` checks it.
_NUM = r"[0-9.,](?:[0-9., ]*[0-9])?"
_SIGNED_NUMBER = re.compile(rf"(?P<sign>{_SIGN}?) ?(?P<body>{_NUM})")
_DIGITS = re.compile(r"[0-9]+")


def _grouped(integer: str, separator: str) -> bool:
    """Whether `integer` is digits, in groups of three after the first when `separator` splits."""
    groups = integer.split(separator)
    if not all(_DIGITS.fullmatch(group) for group in groups):
        return False
    return len(groups) == 1 or (
        len(groups[0]) <= 3 and all(len(group) == 3 for group in groups[1:])
    )


def _read_body(body: str) -> tuple[str, str] | None:
    """The integer and fraction digits of an unsigned number, or None."""
    last = max(body.rfind(","), body.rfind("."))
    if last == -1:
        return (body.replace(" ", ""), "") if _grouped(body, " ") else None
    decimal_mark = body[last]
    other = "." if decimal_mark == "," else ","
    integer, fraction = body[:last], body[last + 1 :]
    if decimal_mark in integer:
        # The same mark more than once: it separates thousands ("1.234.567").
        if other in body or " " in body or not _grouped(body, decimal_mark):
            return None
        return body.replace(decimal_mark, ""), ""
    if not _DIGITS.fullmatch(fraction):
        return None
    if other in integer:
        if " " in integer or not _grouped(integer, other):
            return None
        return integer.replace(other, ""), fraction
    if integer == "":
        return "0", fraction
    return (integer.replace(" ", ""), fraction) if _grouped(integer, " ") else None


def _read_number(text: str) -> Decimal | None:
    """The number written in `text` (already squashed), or None when it is not one."""
    match = _SIGNED_NUMBER.fullmatch(text)
    if match is None:
        return None
    parts = _read_body(match["body"])
    if parts is None:
        return None
    integer, fraction = parts
    sign = "" if match["sign"] in ("", "+") else "-"
    value = Decimal(f"{sign}{integer}.{fraction}" if fraction else f"{sign}{integer}")
    return value.copy_abs() if value.is_zero() else value


def _decimals(value: Decimal) -> int:
    """How many digits were written after the decimal separator."""
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite: `_read_number` never makes nan or inf
    return max(0, -exponent)


def _check_range(value: Decimal, minimum: Decimal | None, maximum: Decimal | None) -> None:
    if minimum is not None and value < minimum:
        raise ParseError("parse.too_small", minimum=minimum)
    if maximum is not None and value > maximum:
        raise ParseError("parse.too_large", maximum=maximum)


def _check_places(value: Decimal, places: int | None) -> None:
    if places is not None and _decimals(value) > places:
        raise ParseError("parse.too_many_decimals", places=places)


def parse_decimal(
    text: str,
    *,
    minimum: Decimal | None = None,
    maximum: Decimal | None = None,
    places: int | None = None,
) -> Decimal:
    """A number written the French or English way: "12,5", "1 234,5", "1,234.56", "+3".

    Bounds are inclusive. Checks run in order: readable, minimum, maximum, decimals.
    """
    value = _read_number(_squash(text)) if len(text) <= _MAX_FIELD else None
    if value is None:
        raise ParseError("parse.number")
    _check_range(value, minimum, maximum)
    _check_places(value, places)
    return value


_CURRENCY = r"(?:€|eur|euros?)"
_MONEY = re.compile(
    rf"(?P<sign>{_SIGN}?) ?{_CURRENCY} ?(?P<after>{_SIGN}? ?{_NUM})"
    rf"|(?P<before>{_SIGN}? ?{_NUM}) ?{_CURRENCY}?"
)
_MONEY_CENTS = re.compile(rf"(?P<units>{_SIGN}? ?[0-9][0-9 ]*?) ?€ ?(?P<cents>[0-9]{{2}})")


def _money_number(folded: str) -> Decimal | None:
    cents = _MONEY_CENTS.fullmatch(folded)
    if cents is not None:
        return _read_number(f"{cents['units']}.{cents['cents']}")
    match = _MONEY.fullmatch(folded)
    if match is None:
        return None
    if match["after"] is None:
        return _read_number(match["before"])
    if match["sign"] and match["after"][0] in "-+\u2212":
        return None
    return _read_number(match["sign"] + match["after"])


def parse_money(text: str, *, maximum: Decimal = Decimal("1000000")) -> Decimal:
    """An amount in euros, 0 or more, as Decimal with two places: "12,50 €", "€12.50", "12€50"."""
    value = _money_number(_short(text, "parse.number"))
    if value is None:
        raise ParseError("parse.number")
    if value < 0:
        raise ParseError("parse.negative")
    _check_range(value, None, maximum)
    _check_places(value, 2)
    return value.quantize(_CENT, rounding=ROUND_HALF_UP, context=_CONTEXT)


_UNITS = frozenset(
    {
        # counts
        *("u", "un", "une", "unite", "unites", "unit", "units", "ex"),
        *("pc", "pcs", "pce", "pces", "piece", "pieces"),
        # lengths, areas, volumes, weights
        *("m", "m2", "m²", "m3", "m³", "ml", "mm", "cm", "km"),
        *("metre", "metres", "meter", "meters"),
        *("l", "cl", "litre", "litres", "liter", "liters", "kg", "g"),
        # packaging
        *("boite", "boites", "box", "boxes", "sac", "sacs", "bag", "bags"),
        *("rouleau", "rouleaux", "roll", "rolls", "lot", "lots", "kit", "kits"),
        *("paire", "paires", "pair", "pairs", "carton", "cartons"),
    }
)
_QUANTITY = re.compile(
    rf"[x×] ?(?P<times>{_SIGN}? ?{_NUM})"
    rf"|(?P<number>{_SIGN}? ?{_NUM}) ?(?:[x×]|(?P<unit>[a-z][a-z0-9²³]*)\.?)?"
)


def parse_quantity(text: str, *, maximum: Decimal = Decimal("100000")) -> Decimal:
    """A count or measure, more than 0, three decimals at most: "2", "3,5 m", "x2", "2 pcs".

    A known unit or "x" around the number is accepted and dropped: the number is returned.
    """
    match = _QUANTITY.fullmatch(_short(text, "parse.number"))
    if match is None or (match["unit"] is not None and match["unit"] not in _UNITS):
        raise ParseError("parse.number")
    value = _read_number(match["times"] or match["number"])
    if value is None:
        raise ParseError("parse.number")
    _check_range(value, _QUANTITY_MINIMUM, maximum)
    _check_places(value, 3)
    return value


_KM = re.compile(rf"(?P<number>{_SIGN}? ?{_NUM}) ?(?:km|kms|kilometres?|kilometers?)?")


def parse_km(text: str, *, maximum: Decimal = Decimal("2000")) -> Decimal:
    """A distance in kilometres, 0 or more, one decimal at most: "35", "35 km", "35,5km"."""
    match = _KM.fullmatch(_short(text, "parse.number"))
    value = None if match is None else _read_number(match["number"])
    if value is None:
        raise ParseError("parse.number")
    if value < 0:
        raise ParseError("parse.negative")
    _check_range(value, None, maximum)
    _check_places(value, 1)
    return value


# --- hours, times and dates ---------------------------------------------------------------

_HOUR_UNIT = r"(?:h|hr|hrs|heures?|hours?)"
_MINUTE_UNIT = r"(?:m|mn|min|mins|minutes?)"
_SIGNED = re.compile(rf"(?P<sign>{_SIGN}?) ?(?P<rest>.*)")
_DURATION_HM = re.compile(
    rf"(?P<hours>[0-9]+) ?{_HOUR_UNIT} ?"
    rf"(?:(?P<minutes>[0-9]{{2}})(?: ?{_MINUTE_UNIT})?|(?P<minute>[0-9]) ?{_MINUTE_UNIT})"
)
_DURATION_COLON = re.compile(r"(?P<hours>[0-9]+) ?: ?(?P<minutes>[0-9]{2})")
_DURATION_HOURS = re.compile(rf"(?P<number>{_NUM})(?: ?{_HOUR_UNIT})?")
_DURATION_MINUTES = re.compile(rf"(?P<number>{_NUM}) ?{_MINUTE_UNIT}")


def _duration(text: str) -> Decimal | None:
    """Unsigned hours in `text`, exact, or None; raises `parse.duration` for minutes over 59."""
    match = _DURATION_HM.fullmatch(text) or _DURATION_COLON.fullmatch(text)
    if match is not None:
        minutes = int(match["minutes"] or match.groupdict().get("minute") or 0)
        if minutes > 59:
            raise ParseError("parse.duration")
        return _CONTEXT.divide(Decimal(int(match["hours"]) * 60 + minutes), Decimal(60))
    match = _DURATION_HOURS.fullmatch(text)
    if match is not None:
        return _read_number(match["number"])
    match = _DURATION_MINUTES.fullmatch(text)
    if match is not None:
        minutes_value = _read_number(match["number"])
        return None if minutes_value is None else _CONTEXT.divide(minutes_value, Decimal(60))
    return None


def parse_hours(text: str, *, maximum: Decimal = Decimal("24")) -> Decimal:
    """A duration in hours, rounded to 0.01: "2h30", "2 h 30", "2,5", "2.5", "150 min",
    "1h", "45min", "2:30", and what the bot shows ("2 h 31", "2 h 31 min")."""
    signed = _SIGNED.fullmatch(_short(text, "parse.duration"))
    assert signed is not None  # the pattern matches any text
    hours = _duration(signed["rest"])
    if hours is None:
        raise ParseError("parse.duration")
    if signed["sign"] in ("-", "\u2212") and hours > 0:
        raise ParseError("parse.duration_negative")
    rounded = hours.quantize(_CENT, rounding=ROUND_HALF_UP, context=_CONTEXT)
    if rounded < _HOURS_MINIMUM:
        raise ParseError("parse.duration_zero")
    if hours > maximum:
        raise ParseError("parse.duration_too_long", maximum=maximum)
    return rounded


_MERIDIEM = r"(?: ?(?P<meridiem>a\.?m\.?|p\.?m\.?))?"
_CLOCK = re.compile(
    rf"(?P<hour>[0-9]{{1,2}}) ?"
    rf"(?:(?:h|heures?) ?(?P<minute>[0-9]{{2}})?|[:.] ?(?P<minutes>[0-9]{{2}})){_MERIDIEM}"
)
_CLOCK_DIGITS = re.compile(rf"(?P<hour>[0-9]{{1,2}})(?P<minute>[0-9]{{2}})?{_MERIDIEM}")
_NAMED_TIMES = {
    "midi": datetime.time(12),
    "noon": datetime.time(12),
    "minuit": datetime.time(0),
    "midnight": datetime.time(0),
}


def _clock(text: str, *, bare: bool) -> datetime.time | None:
    """The time of day in folded `text`, or None; bare digits ("14", "0930") when `bare`."""
    if text in _NAMED_TIMES:
        return _NAMED_TIMES[text]
    match = _CLOCK.fullmatch(text)
    if match is None:
        match = _CLOCK_DIGITS.fullmatch(text)
        if match is None or not (bare or match["meridiem"]):
            return None
    hour = int(match["hour"])
    minute = int(match["minute"] or match.groupdict().get("minutes") or 0)
    meridiem = match["meridiem"]
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem.startswith("p") else 0)
    if hour > 23 or minute > 59:
        return None
    return datetime.time(hour, minute)


def parse_time(text: str) -> datetime.time:
    """A time of day: "14h30", "14:30", "14h", "9h05", "0930", "2:30 pm", "2pm", "midi"."""
    value = _clock(_short(text, "parse.time"), bare=True)
    if value is None:
        raise ParseError("parse.time")
    return value


_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            "janvier janv jan january",
            "fevrier fevr fev february feb",
            "mars mar march",
            "avril avr april apr",
            "mai may",
            "juin june jun",
            "juillet juil july jul",
            "aout august aug",
            "septembre sept sep september",
            "octobre oct october",
            "novembre nov november",
            "decembre dec december",
        ),
        start=1,
    )
    for name in names.split()
}
_RELATIVE_DAYS = {
    "aujourd'hui": 0,
    "aujourdhui": 0,
    "aujourd hui": 0,
    "today": 0,
    "demain": 1,
    "tomorrow": 1,
    "hier": -1,
    "yesterday": -1,
    "apres-demain": 2,
    "apres demain": 2,
    "avant-hier": -2,
    "avant hier": -2,
}
_DATE_PREFIX = re.compile(r"(?:le|on) ")
_DATE_NUMERIC = re.compile(
    r"(?P<day>[0-9]{1,2}) ?(?P<sep>[/.-]) ?(?P<month>[0-9]{1,2})"
    r"(?: ?(?P=sep) ?(?P<year>[0-9]{4}|[0-9]{2}))?"
)
_DATE_ISO = re.compile(
    r"(?P<year>[0-9]{4})(?P<sep>[/.-])(?P<month>[0-9]{1,2})(?P=sep)(?P<day>[0-9]{1,2})"
)
_DATE_DAY_NAME = re.compile(
    r"(?P<day>[0-9]{1,2})(?:er|st|nd|rd|th)? (?:of )?(?P<name>[a-z]+)\.?"
    r"(?:,? (?P<year>[0-9]{4}))?"
)
_DATE_NAME_DAY = re.compile(
    r"(?P<name>[a-z]+)\.? (?P<day>[0-9]{1,2})(?:st|nd|rd|th)?(?:,? (?P<year>[0-9]{4}))?"
)


def _calendar_parts(text: str) -> tuple[int | None, int, int] | None:
    """The year (None when not written), month and day written in folded `text` (a
    "le"/"on" before them allowed), or None; whether they make a date is not checked."""
    prefix = _DATE_PREFIX.match(text)
    if prefix is not None:
        text = text[prefix.end() :]
    match = _DATE_NUMERIC.fullmatch(text) or _DATE_ISO.fullmatch(text)
    if match is not None:
        month = int(match["month"])
    else:
        match = _DATE_DAY_NAME.fullmatch(text) or _DATE_NAME_DAY.fullmatch(text)
        if match is None or match["name"] not in _MONTHS:
            return None
        month = _MONTHS[match["name"]]
    year = None if match["year"] is None else int(match["year"])
    if year is not None and len(match["year"]) == 2:
        year += 2000
    return year, month, int(match["day"])


def _calendar(text: str, today: datetime.date) -> datetime.date | None:
    """The date in folded `text`, or None."""
    if text in _RELATIVE_DAYS:
        return today + datetime.timedelta(days=_RELATIVE_DAYS[text])
    parts = _calendar_parts(text)
    if parts is None:
        return None
    year, month, day = parts
    year = today.year if year is None else year
    if not 1900 <= year <= 2099:
        return None
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def parse_date(text: str, *, today: datetime.date) -> datetime.date:
    """A date, day first: "22/11/2026", "22/11", "2026-11-22", "demain", "22 novembre"."""
    value = _calendar(_short(text, "parse.date"), today)
    if value is None:
        raise ParseError("parse.date")
    return value


_CONNECTORS = frozenset({"a", "at", "@", "vers"})
_ISO_T = re.compile(r"([0-9]{4}-[0-9]{1,2}-[0-9]{1,2})t(?=[0-9])")


def parse_datetime(
    text: str, *, today: datetime.date
) -> tuple[datetime.date | None, datetime.time]:
    """A date and a time ("22/11/2026 14h30", "demain 9h", "22/11 à 14h30"), or a time alone.

    A time alone ("14:30") gives the date None: the caller decides which day it is. After a
    date, the time needs a mark ("14h", "14:00", "2pm"): "22 nov 2026" is not 20:26.
    """
    folded = _ISO_T.sub(r"\1 ", _short(text, "parse.datetime"))
    alone = _clock(folded, bare=True)
    if alone is not None:
        return None, alone
    words = folded.split(" ")
    date_read = time_read = False
    for cut in range(1, len(words)):
        head, tail = " ".join(words[:cut]).rstrip(","), words[cut:]
        if tail[0] in _CONNECTORS:  # "22/11 à 14h30", "22/11/2026 at 2:30 pm"
            tail = tail[1:]
        day, hour = _calendar(head, today), _clock(" ".join(tail), bare=False)
        if day is not None and hour is not None:
            return day, hour
        date_read, time_read = date_read or day is not None, time_read or hour is not None
        # The other order: "14h30 demain", "9h le 22/11".
        hour, day = _clock(head, bare=False), _calendar(" ".join(words[cut:]), today)
        if day is not None and hour is not None:
            return day, hour
        date_read, time_read = date_read or day is not None, time_read or hour is not None
    if _calendar(folded, today) is None:
        if date_read:
            raise ParseError("parse.time")
        if time_read:
            raise ParseError("parse.date")
    raise ParseError("parse.datetime")


# --- free text and answers ----------------------------------------------------------------

_LINE_BREAKS = re.compile(r"\r\n|[\r\u0085\u2028\u2029]")
_INVISIBLE = frozenset("\u200b\u2060\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_BLANK_LINES = re.compile(r"\n{4,}")


def _kept(char: str) -> bool:
    if char in "\n\t":
        return True
    return unicodedata.category(char) not in ("Cc", "Cs") and char not in _INVISIBLE


def clean_text(text: str, *, maximum: int = 4000) -> str:
    """Free text made safe to store and print: control characters removed, ends stripped.

    Line breaks of any kind become "\\n", trailing spaces go, runs of more than two blank
    lines become two. Bidirectional overrides and zero-width spaces are removed; the joiners
    that build emoji are kept. Refuses an empty result and more than `maximum` characters.
    """
    text = _LINE_BREAKS.sub("\n", unicodedata.normalize("NFC", text))
    text = "".join(char for char in text if _kept(char))
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = _BLANK_LINES.sub("\n\n\n", text).strip()
    if not text:
        raise ParseError("parse.empty")
    if len(text) > maximum:
        raise ParseError("parse.too_long", maximum=maximum, length=len(text))
    return text


_YES = frozenset({"oui", "o", "yes", "y", "ok", "okay", "ouais", "yep", "yeah", "👍", "✅", "✔"})
_NO = frozenset({"non", "n", "no", "nope", "nan", "👎", "❌", "✖"})
_EMOJI_TRIMMINGS = re.compile("[\ufe0f\U0001f3fb-\U0001f3ff]")
_END_PUNCTUATION = re.compile(r"[ !.]+$")


def parse_yes_no(text: str) -> bool:
    """Yes or no, French or English, any case or accent, "!" or "." after: "Oui !", "no.", "👍"."""
    word = _END_PUNCTUATION.sub("", _EMOJI_TRIMMINGS.sub("", _short(text, "parse.yes_no")))
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise ParseError("parse.yes_no")


# --- contact details ----------------------------------------------------------------------


def one_line(text: str, maximum: int) -> str:
    """Free text (see `clean_text`) on one line: line breaks and runs of spaces become one."""
    return " ".join(clean_text(text, maximum=maximum).split())


_PHONE = re.compile(r"\+?[0-9 .\-/()]+")


def read_phone(text: str) -> str:
    """A phone number as people write it: "01 23 45 67 89", "+33 (0)1 23 45 67 89"."""
    phone = one_line(text, 50)
    digits = sum(char.isdigit() for char in phone)
    if not _PHONE.fullmatch(phone) or not 6 <= digits <= 20:
        raise ParseError("new.bad_phone")
    return phone


_EMAIL = re.compile(
    r"[^\s@<>()\[\],;:\"]+@(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,}", re.IGNORECASE
)


def read_email(text: str) -> str:
    """An e-mail address of the shape name@domain.tld, without spaces."""
    email = clean_text(text, maximum=254)
    if not _EMAIL.fullmatch(email) or ".." in email:
        raise ParseError("new.bad_email")
    return email
