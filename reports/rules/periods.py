"""The period of an export: a day, a month, or a range of them, both ends included, in
the company's time zone. The office types it after /export, the command line takes it
from --from and --to; both read it here.

    2026-11  (or 11/2026)            that month
    22/11/2026  (or 2026-11-22)      that day
    01/11/2026 30/11/2026            from the first day to the last, both included

What cannot be read raises `ParseError` (see `reports.rules.reading`).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reports.rules.reading import ParseError, parse_date

if TYPE_CHECKING:
    from reports.exports import Format


@dataclass(frozen=True)
class Period:
    """From `first` to `last`, both days included, in the company's time zone."""

    first: dt.date
    last: dt.date

    def bounds(self, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
        """The moments [first 00:00, the day after last 00:00) local time."""
        start = dt.datetime.combine(self.first, dt.time(), tzinfo=tz)
        end = dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), tzinfo=tz)
        return start, end

    def file_name(self, fmt: Format) -> str:
        """interventions-2026-11-01-2026-11-30.xlsx"""
        return f"interventions-{self.first.isoformat()}-{self.last.isoformat()}.{fmt}"

    def shown(self) -> str:
        """01/11/2026 – 30/11/2026 (a single day once)."""
        first = self.first.strftime("%d/%m/%Y")
        if self.first == self.last:
            return first
        return f"{first} – {self.last.strftime('%d/%m/%Y')}"


def month(year: int, number: int) -> Period:
    last_day = calendar.monthrange(year, number)[1]
    return Period(dt.date(year, number, 1), dt.date(year, number, last_day))


#: A month: "2026-11", "2026/11", "11/2026", "11-2026", "11.2026".
_MONTH = re.compile(
    r"(?P<y1>[0-9]{4})[-/.](?P<m1>[0-9]{1,2})|(?P<m2>[0-9]{1,2})[-/.](?P<y2>[0-9]{4})"
)
#: Between the two ends of a range: "..", or " - ", " au ", " to "... between spaces.
_RANGE = re.compile(r"\s*(?:\.\.|\s(?:-|–|—|→|au|à|a|to|until)\s)\s*", re.IGNORECASE)


def _month(text: str) -> Period | None:
    found = _MONTH.fullmatch(text.strip())
    if found is None:
        return None
    year, number = int(found["y1"] or found["y2"]), int(found["m1"] or found["m2"])
    if not (1 <= number <= 12 and 1900 <= year <= 2099):
        return None
    return month(year, number)


def parse_span(text: str, *, today: dt.date) -> Period:
    """A month ("2026-11", "11/2026") or a day ("22/11/2026", "2026-11-22") as a period;
    ParseError otherwise."""
    whole = _month(text)
    if whole is not None:
        return whole
    day = parse_date(text, today=today)
    return Period(day, day)


def parse_period(text: str | None, *, today: dt.date) -> Period:
    """The period typed after /export (see the module's docstring); this month when empty.

    Raises ParseError("exports.bad_period") when it cannot be read, and
    ParseError("exports.reversed") when it ends before it starts.
    """
    text = " ".join((text or "").split())
    if not text:
        return month(today.year, today.month)
    splits = [_RANGE.split(text, maxsplit=1)]
    words = text.split(" ")
    if len(words) == 2:
        splits.append(words)
    splits.append([text])
    for pieces in splits:
        try:
            ends = [parse_span(piece, today=today) for piece in pieces]
        except ParseError:
            continue
        period = Period(ends[0].first, ends[-1].last)
        if period.last < period.first:
            raise ParseError("exports.reversed")
        return period
    raise ParseError("exports.bad_period")
