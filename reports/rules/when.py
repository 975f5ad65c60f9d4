"""Reading when an intervention is to happen, as the office types it in /plan and /change:
"jeudi 14h", "lundi prochain 9h", "le 3 à 14h", "dans 2 jours", "demain matin",
"thursday 2pm", "next monday 9am", "on the 3rd at 2pm", "tomorrow 9", and the forms
`reading.parse_datetime` reads ("22/11/2026 14h30", "demain 9h", "14h30"...).

`parse_appointment(text, now=...)` gives the moment, in `now`'s time zone, or raises
`WhenError` (a `ParseError`): the handler answers `t(error.key,
**error.display_values(language))` and keeps the step where it was. A date library was
measured first and read "lundi 9h", "jeudi 14h" and "demain 9h" wrong; this reader is
ours, and tests/test_when.py tries each form in both languages against a fixed now.

Nothing is guessed silently. Decisions:

- Day first, in both languages ("3/4" is 3 April), as everywhere in Terrain; "12/25",
  which can only be month first, is refused and the day-first rule is said
  (`when.day_first`). /plan shows what it read in words ("jeudi 3 avril 2026 à
  14:00") as it asks for the technician; /change's confirmation names the date.
- A weekday alone ("jeudi 14h", "ce jeudi", "thursday 2pm") is the next such day whose
  moment is still ahead: said on a Thursday at 10:00, "jeudi 14h" is today at 14:00;
  at 15:00, it is next Thursday. "jeudi prochain", "next thursday" is the next such day
  after today (1 to 7 days on), never today.
- A day of the month alone ("le 3 à 14h", "on the 3rd at 2pm", "le 1er") is the next
  one still ahead: this month's, else next month's (a month without a 31st is skipped).
- A day and month without a year ("22/11", "22 novembre") is the next such date: in
  May "22/11" is this November, in December "05/01" is next January. One passed by a
  month at most is refused as past (most likely a slip: in May, "22/04"), rather than
  moved eleven months ahead.
- A weekday with a date ("jeudi 3", "jeudi 3 juin") must agree with it; otherwise the
  date is named with its real weekday and the person is asked again
  (`when.weekday_mismatch`).
- "dans 2 jours", "dans une semaine", "in 3 days", "in two weeks" count from today.
- Parts of the day stand for a stated hour: matin / morning 8:00, midi / noon 12:00,
  après-midi / afternoon 14:00, soir / evening / tonight 18:00 ("demain matin" is
  tomorrow at 8:00, "ce soir" today at 18:00). With an hour they say which half of
  the day it is: "demain soir 8h", "8h du soir", "3 in the afternoon" are 20:00, 15:00.
- An hour needs a mark ("14h", "14:30", "2pm") after a written date ("22 nov 2026" is not
  20:26), but not after a day said in words ("tomorrow 9", "lundi prochain 9") or after
  "à" / "at" ("le 3 à 14"). A number right after a weekday is a day of the month, as in
  "jeudi 14 juin": "jeudi 14" is Thursday the 14th (then the hour is asked), and when
  the 14th is no Thursday the refusal says so and shows how to write an hour. A bare
  hour from 1 to 6 ("demain 3", "at 2") could be at night or in the afternoon: it is
  refused and both are offered (`when.hour_ambiguous`); 0 and 7 to 23 are read on the
  24-hour clock.
- No hour ("dans 2 jours", "jeudi", "22/11"): the hour is asked for, naming the day
  understood (`when.hour_missing`), never guessed. The error's `day_kept` is the day
  as typed: the conversation keeps it and passes it back as `day_text`, so that the
  hour alone ("14h", "matin") answers. It is kept too when the hour was wrong
  ("demain 25h") or ambiguous.
- A time alone ("14h30") is today. A moment already past (today 8:00 at 10:00,
  "hier 9h", "01/01/2020 10h") is refused, naming it (`when.past`); nothing moves it
  to tomorrow by itself.

Catalog keys raised (`handlers/locales/*/when.toml`, and `[parse]` for the two
borrowed from `reading`): `when.unreadable`, `when.hour_missing` {day},
`when.hour_ambiguous` {hour, later}, `when.past` {when}, `when.weekday_mismatch` {date,
weekday}, `when.day_first` {typed, example}, `parse.date` (a day that does not exist:
"31/02 14h"), `parse.time` (a day read, an hour that cannot be: "demain 25h").
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from reports.formatting import say_day, say_moment, weekday_name
from reports.rules.reading import (
    _DATE_NUMERIC,
    _RELATIVE_DAYS,
    ParseError,
    _calendar_parts,
    _clock,
    _short,
)

__all__ = ["KEYS", "WhenError", "parse_appointment"]

KEYS = (
    "when.unreadable",
    "when.hour_missing",
    "when.hour_ambiguous",
    "when.past",
    "when.weekday_mismatch",
    "when.day_first",
    "parse.date",
    "parse.time",
)
"""Every catalog key this module raises."""

MORNING = datetime.time(8)
NOON = datetime.time(12)
AFTERNOON = datetime.time(14)
EVENING = datetime.time(18)


class WhenError(ParseError):
    """What was typed gives no moment to plan at. `day_kept` is the day as typed when
    it was understood and only the hour is missing, wrong or ambiguous."""

    day_kept: str | None

    def __init__(self, key: str, *, day_kept: str | None = None, **values: object) -> None:
        super().__init__(key, **values)
        self.day_kept = day_kept

    def display_values(self, language: str) -> dict[str, object]:
        """Days and moments in words, a weekday by its name, in `language`."""
        shown = super().display_values(language)
        for name, value in self.values.items():
            if isinstance(value, datetime.datetime):
                shown[name] = say_moment(value, language)
            elif isinstance(value, datetime.date):
                shown[name] = say_day(value, language)
            elif name == "weekday" and isinstance(value, int):
                shown[name] = weekday_name(value, language)
        return shown


# --- what a day can be --------------------------------------------------------------------

_WEEKDAYS = {
    name: number
    for number, names in enumerate(
        (
            "lundi lun monday mon",
            "mardi tuesday tue tues",
            "mercredi mer wednesday wed",
            "jeudi jeu thursday thu thur thurs",
            "vendredi ven friday fri",
            "samedi sam saturday sat",
            "dimanche dim sunday sun",
        )
    )
    for name in names.split()
}
_WEEKDAY_NAMES = "|".join(sorted(_WEEKDAYS, key=len, reverse=True))
_WEEKDAY = f"(?P<weekday>{_WEEKDAY_NAMES})"
#: "jeudi", "ce jeudi", "le jeudi", "this thursday", "on thursday".
_WEEKDAY_THIS = re.compile(rf"(?:(?:ce|le|this|on) )?{_WEEKDAY}\.?")
#: "jeudi prochain", "next thursday", "thursday next".
_WEEKDAY_NEXT = re.compile(
    rf"(?:le |on )?(?:(?:next|coming) {_WEEKDAY}|(?P<named>{_WEEKDAY_NAMES})\.? "
    r"(?:prochain|suivant|next))"
)
_WEEKDAY_THEN = re.compile(rf"(?:(?:ce|le|this|on) )?{_WEEKDAY}\.?,? (?P<rest>.+)")
_ORDINAL = r"(?:er|re|eme|e|st|nd|rd|th)"
#: "le 3", "le 1er", "the 3rd", "on the 3rd", "3rd": the prefix or the ending says it is a day.
_DAY_OF_MONTH = re.compile(
    rf"(?:le|on the|the|on) (?P<day>[0-9]{{1,2}}){_ORDINAL}?"
    rf"|(?:on )?(?P<nth>[0-9]{{1,2}}){_ORDINAL}"
)
#: After a weekday the day of the month needs nothing: "jeudi 3".
_BARE_DAY_OF_MONTH = re.compile(rf"(?:le |the )?(?P<day>[0-9]{{1,2}}){_ORDINAL}?")
_NUMBERS = {
    **dict.fromkeys(("un", "une", "a", "an", "one"), 1),
    **dict.fromkeys(("deux", "two"), 2),
    **dict.fromkeys(("trois", "three"), 3),
    **dict.fromkeys(("quatre", "four"), 4),
    **dict.fromkeys(("cinq", "five"), 5),
    "six": 6,
    **dict.fromkeys(("sept", "seven"), 7),
    **dict.fromkeys(("huit", "eight"), 8),
    **dict.fromkeys(("neuf", "nine"), 9),
    **dict.fromkeys(("dix", "ten"), 10),
    **dict.fromkeys(("quinze", "fifteen"), 15),
}
_IN_DAYS = re.compile(
    r"(?:dans|d'ici|in) (?P<count>[0-9]{1,3}|[a-z]+) "
    r"(?P<unit>jours?|semaines?|days?|weeks?)"
)
_MORE_DAYS = {"le surlendemain": 2, "day after tomorrow": 2, "the day after tomorrow": 2}


@dataclass(frozen=True)
class _Day:
    """A day as typed, before it is placed in time: one of a calendar date (`year`
    None when not written), a count of days from today, a weekday (`following`: never
    today), a day of the month; a weekday may come with a date to agree with."""

    year: int | None = None
    month: int | None = None
    day: int | None = None
    offset: int | None = None
    weekday: int | None = None
    following: bool = False


def _day(text: str) -> _Day | None:
    """The day in folded `text`, or None; raises `when.day_first` for "12/25"."""
    if text in _RELATIVE_DAYS:
        return _Day(offset=_RELATIVE_DAYS[text])
    if text in _MORE_DAYS:
        return _Day(offset=_MORE_DAYS[text])
    match = _IN_DAYS.fullmatch(text)
    if match is not None:
        count = match["count"]
        number = int(count) if count.isdigit() else _NUMBERS.get(count)
        if number is None:
            return None
        weeks = match["unit"].startswith(("s", "w"))
        return _Day(offset=number * 7 if weeks else number)
    match = _WEEKDAY_NEXT.fullmatch(text)
    if match is not None:
        return _Day(weekday=_WEEKDAYS[match["weekday"] or match["named"]], following=True)
    match = _WEEKDAY_THIS.fullmatch(text)
    if match is not None:
        return _Day(weekday=_WEEKDAYS[match["weekday"]])
    match = _WEEKDAY_THEN.fullmatch(text)
    if match is not None:
        dated = _date(match["rest"], bare_day=True)
        if dated is None:
            return None
        return _Day(dated.year, dated.month, dated.day, weekday=_WEEKDAYS[match["weekday"]])
    return _date(text, bare_day=False)


def _date(text: str, *, bare_day: bool) -> _Day | None:
    """A calendar date, or a day of the month ("le 3"; "3" too when `bare_day`)."""
    match = (_BARE_DAY_OF_MONTH if bare_day else _DAY_OF_MONTH).fullmatch(text)
    if match is not None:
        return _Day(day=int(match["day"] or match.groupdict().get("nth") or 0))
    numeric = _DATE_NUMERIC.fullmatch(text.removeprefix("le ").removeprefix("on "))
    if numeric is not None and int(numeric["month"]) > 12 >= int(numeric["day"]) >= 1:
        typed = f"{numeric['day']}{numeric['sep']}{numeric['month']}"
        example = f"{numeric['month']}{numeric['sep']}{numeric['day']}"
        raise WhenError("when.day_first", typed=typed, example=example)
    parts = _calendar_parts(text)
    if parts is None:
        return None
    year, month, day = parts
    return _Day(year, month, day)


# --- what an hour can be ------------------------------------------------------------------

_PARTS = {
    **dict.fromkeys(
        (
            *("matin", "le matin", "ce matin", "au matin", "matinee", "en matinee"),
            *("dans la matinee", "morning", "in the morning", "this morning"),
        ),
        MORNING,
    ),
    **dict.fromkeys(("midday", "a midi"), NOON),
    **dict.fromkeys(
        (
            *("apres-midi", "apres midi", "l'apres-midi", "l'apres midi", "cet apres-midi"),
            *("cet apres midi", "dans l'apres-midi", "dans l'apres midi", "aprem", "cet aprem"),
            *("afternoon", "in the afternoon", "this afternoon"),
        ),
        AFTERNOON,
    ),
    **dict.fromkeys(
        (
            *("soir", "le soir", "ce soir", "au soir", "soiree", "en soiree"),
            *("dans la soiree", "evening", "in the evening", "this evening", "tonight"),
        ),
        EVENING,
    ),
}
_PART_WORDS = "|".join(re.escape(part) for part in sorted(_PARTS, key=len, reverse=True))
_HALVES = {
    **dict.fromkeys(("du matin", "in the morning"), MORNING),
    **dict.fromkeys(
        ("de l'apres-midi", "de l'apres midi", "de l'aprem", "in the afternoon"), AFTERNOON
    ),
    **dict.fromkeys(("du soir", "in the evening", "at night"), EVENING),
}
_HALF_WORDS = "|".join(re.escape(half) for half in sorted(_HALVES, key=len, reverse=True))
#: "soir 20h", "ce soir à 8h", "demain matin vers 9h".
_PART_THEN_CLOCK = re.compile(rf"(?P<part>{_PART_WORDS}) (?:(?:a|at|vers|around) )?(?P<clock>.+)")
#: "8h du soir", "3 in the afternoon".
_CLOCK_THEN_HALF = re.compile(rf"(?P<clock>.+?) (?P<half>{_HALF_WORDS})")
_BARE_HOUR = re.compile(r"[0-9]{1,2}")
#: Bare hours that could be at night or in the afternoon.
_AMBIGUOUS_HOURS = range(1, 7)
_CONNECTORS = frozenset({"a", "at", "@", "vers", "around", "pour", "for"})


@dataclass(frozen=True)
class _Ambiguous:
    """A bare hour from 1 to 6: at night, or twelve hours later?"""

    hour: int


def _half(clock: datetime.time, part: datetime.time) -> datetime.time | None:
    """`clock` in the half of the day `part` names (8 in the evening is 20:00), or None
    when they disagree (15h in the morning)."""
    if part == MORNING:
        return clock if clock.hour < 12 else None
    if part == NOON:
        return None
    if clock.hour < 12:
        return clock.replace(hour=clock.hour + 12)
    return clock


def _hour(text: str, *, bare: bool) -> datetime.time | _Ambiguous | None:
    """The hour in folded `text`, or None. Bare digits ("9") only when `bare`, and
    those from 1 to 6 are `_Ambiguous`."""
    if text in _PARTS:
        return _PARTS[text]
    if _BARE_HOUR.fullmatch(text):
        if not bare or int(text) > 23:
            return None
        if int(text) in _AMBIGUOUS_HOURS:
            return _Ambiguous(int(text))
        return datetime.time(int(text))
    clock = _clock(text, bare=bare)
    if clock is not None:
        return clock
    for pattern, kinds in ((_PART_THEN_CLOCK, _PARTS), (_CLOCK_THEN_HALF, _HALVES)):
        match = pattern.fullmatch(text)
        if match is not None:
            clock = _clock(match["clock"], bare=True)
            named = kinds[match["part" if kinds is _PARTS else "half"]]
            if clock is not None:
                return _half(clock, named)
    return None


# --- reading and placing in time ----------------------------------------------------------

#: A day and month without a year, passed by this much at most, is refused as past (a
#: slip, most likely) rather than taken as next year's.
_SLIP = datetime.timedelta(days=31)
_ISO_T = re.compile(r"([0-9]{4}-[0-9]{1,2}-[0-9]{1,2})t(?=[0-9])")
_SEPARATORS = re.compile(r"(?<![0-9]),|,(?![0-9])|\.$")


@dataclass(frozen=True)
class _Read:
    day: _Day | None
    hour: datetime.time | _Ambiguous | None
    day_text: str | None


def _read(text: str) -> _Read:
    """The day and the hour in `text`, as typed (not yet placed in time)."""
    try:
        folded = _short(text, "when.unreadable")
    except ParseError:
        raise WhenError("when.unreadable") from None
    folded = _SEPARATORS.sub(" ", _ISO_T.sub(r"\1 ", folded))
    folded = " ".join(folded.split())
    first, _, rest = folded.partition(" ")
    if first in _CONNECTORS and rest:  # "à 14h demain", "at 9am"
        folded = rest
    day = _day(folded)
    if day is not None:
        return _Read(day, None, folded)
    hour = _hour(folded, bare=True)
    if hour is not None:
        return _Read(None, hour, None)
    words = folded.split(" ")
    day_text = None
    hour_read = False
    for cut in range(1, len(words)):
        head, tail = " ".join(words[:cut]), words[cut:]
        day = _day(head)
        if day is not None:
            connector = len(tail) > 1 and tail[0] in _CONNECTORS
            rest = " ".join(tail[1:] if connector else tail)
            hour = _hour(rest, bare=connector or words[cut - 1].isalpha())
            if hour is not None:
                return _Read(day, hour, head)
            day_text = day_text or head
        if _hour(head, bare=False) is not None:
            rest = " ".join(tail)
            day = _day(rest)
            if day is not None:
                return _Read(day, _hour(head, bare=False), rest)
            hour_read = True
    if day_text is not None:
        raise WhenError("parse.time", day_kept=day_text)
    if hour_read:
        raise WhenError("parse.date")
    raise WhenError("when.unreadable")


def _month_day(year: int, month: int, day: int) -> datetime.date | None:
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def _place(day: _Day, hour: datetime.time | None, now: datetime.datetime) -> datetime.date:
    """The date `day` means, said at `now`, for a moment at `hour` (None: not said yet,
    so any moment of the day may still be ahead)."""
    today = now.date()

    def ahead(date: datetime.date) -> bool:
        if hour is None:
            return date >= today
        return datetime.datetime.combine(date, hour, tzinfo=now.tzinfo) > now

    if day.offset is not None:
        return today + datetime.timedelta(days=day.offset)
    if day.month is None and day.day is None:
        assert day.weekday is not None
        days = (day.weekday - today.weekday()) % 7
        if day.following and days == 0:
            days = 7
        date = today + datetime.timedelta(days=days)
        if not day.following and not ahead(date):
            date += datetime.timedelta(days=7)
        return date
    assert day.day is not None
    if day.month is None:
        for months in range(13):
            year, month = divmod(today.month - 1 + months, 12)
            found = _month_day(today.year + year, month + 1, day.day)
            if found is not None and ahead(found):
                return _agreeing(found, day)
        raise WhenError("parse.date")
    if day.year is not None:
        written = _month_day(day.year, day.month, day.day)
        if written is None or not 1900 <= day.year <= 2099:
            raise WhenError("parse.date")
        return _agreeing(written, day)
    for year in (today.year - 1, today.year, today.year + 1):
        found = _month_day(year, day.month, day.day)
        if found is not None and (ahead(found) or today - found <= _SLIP):
            return _agreeing(found, day)
    raise WhenError("parse.date")


def _agreeing(date: datetime.date, day: _Day) -> datetime.date:
    """`date`, checked against the weekday said with it."""
    if day.weekday is not None and date.weekday() != day.weekday:
        raise WhenError("when.weekday_mismatch", date=date, weekday=day.weekday)
    return date


def parse_appointment(
    text: str, *, now: datetime.datetime, day_text: str | None = None
) -> datetime.datetime:
    """The moment `text` names, said at `now` (in the company's zone), in that zone.

    `day_text` is a day kept from the answer before (`WhenError.day_kept`): an hour
    alone now falls on that day. See the module's docstring for what each form means.
    """
    read = _read(text)
    if read.day is None and day_text is not None:
        kept = _read(day_text)
        if kept.day is not None:
            read = _Read(kept.day, read.hour, kept.day_text)
    if isinstance(read.hour, _Ambiguous):
        hour = read.hour.hour
        raise WhenError("when.hour_ambiguous", day_kept=read.day_text, hour=hour, later=hour + 12)
    date = now.date() if read.day is None else _place(read.day, read.hour, now)
    if read.hour is None:
        if date < now.date():
            raise WhenError("when.past", when=date)
        raise WhenError("when.hour_missing", day_kept=read.day_text, day=date)
    moment = datetime.datetime.combine(date, read.hour, tzinfo=now.tzinfo)
    if moment < now:
        raise WhenError("when.past", when=moment)
    return moment
