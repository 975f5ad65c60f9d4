"""The office's export: one row per intervention, as an Excel workbook or a CSV file.

A pure function of plain rows, like the PDF: no database, no Telegram. The caller
fills `ExportRow`s (amounts from `reports.totals.compute_totals`, labels already in
the reader's language) and the column headers from its text catalogs.

The workbook (`build_xlsx`) holds real values, so sums, filters and pivot tables work
in Excel and LibreOffice alike: moments are date cells in the company's time zone
(Excel has no time zones: naive local times, shown "dd/mm/yyyy hh:mm"), hours,
kilometres and amounts are numbers (money shown with two decimals and "€"), the
rating is an integer, and a missing value is an empty cell. The header row is bold,
frozen and filtered; columns are sized to their content; printing is landscape, one
page wide, the header repeated on each page.

The CSV (`build_csv`) is made for a spreadsheet opened by a double click in France:
UTF-8 with a byte order mark (without it Excel reads accents as "Ã©"), ";" between
fields (French Excel's list separator), CRLF line ends, and numbers written the way
the export's language writes them: a decimal comma in French ("12,50"), a point in
English, never a thousands separator or a currency sign, so every spreadsheet reads
them as numbers. Moments are "dd/mm/yyyy hh:mm" in French and "yyyy-mm-dd hh:mm" in
English (which no reader misreads), in the company's time zone. A text that a
spreadsheet would run as a formula (starting with =, +, -, @) is prefixed with an
apostrophe in the CSV; in the workbook it is stored as text, never as a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from reports.data import Language

Format = Literal["xlsx", "csv"]
FORMATS: tuple[Format, ...] = ("xlsx", "csv")

MEDIA_TYPES: dict[Format, str] = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


class Kind(StrEnum):
    """What a column holds, which decides how its cells are written."""

    TEXT = "text"
    MOMENT = "moment"
    HOURS = "hours"
    KM = "km"
    MONEY = "money"
    SCORE = "score"


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    """The `ExportRow` field, and the header's key in the caller's catalog."""
    kind: Kind
    width: float
    """The narrowest width in the workbook, in characters; wider when the content is."""


#: The columns, in order. `key` is both the `ExportRow` attribute and the header key.
COLUMNS: tuple[Column, ...] = (
    Column("number", Kind.TEXT, 14),
    Column("client", Kind.TEXT, 18),
    Column("site", Kind.TEXT, 18),
    Column("technician", Kind.TEXT, 14),
    Column("kind", Kind.TEXT, 12),
    Column("status", Kind.TEXT, 12),
    Column("scheduled_at", Kind.MOMENT, 16.5),
    Column("started_at", Kind.MOMENT, 16.5),
    Column("ended_at", Kind.MOMENT, 16.5),
    Column("worked_hours", Kind.HOURS, 10),
    Column("travel_km", Kind.KM, 10),
    Column("travel", Kind.MONEY, 12),
    Column("labour", Kind.MONEY, 12),
    Column("parts", Kind.MONEY, 12),
    Column("excl_vat", Kind.MONEY, 13),
    Column("vat", Kind.MONEY, 12),
    Column("incl_vat", Kind.MONEY, 13),
    Column("rating", Kind.SCORE, 8),
)
KEYS: tuple[str, ...] = tuple(column.key for column in COLUMNS)

DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
MONEY_FORMAT = '#,##0.00 "€"'
NUMBER_FORMATS: dict[Kind, str] = {
    Kind.MOMENT: DATETIME_FORMAT,
    Kind.HOURS: "0.00",
    Kind.KM: "0.0",
    Kind.MONEY: MONEY_FORMAT,
    Kind.SCORE: "0",
}
#: Decimal places of the numbers written in the CSV.
PLACES: dict[Kind, int] = {Kind.HOURS: 2, Kind.KM: 1, Kind.MONEY: 2}
CSV_MOMENTS: dict[Language, str] = {"fr": "%d/%m/%Y %H:%M", "en": "%Y-%m-%d %H:%M"}
MAX_WIDTH = 50
BOM = "\ufeff"

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One intervention as the export prints it. Texts are ready to read (labels in
    the reader's language); moments are timezone-aware; amounts are `Decimal`,
    rounded to the cent by `compute_totals`; None is an empty cell."""

    number: str
    client: str
    site: str
    technician: str
    kind: str
    status: str
    scheduled_at: dt.datetime | None
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    worked_hours: Decimal | None
    travel_km: Decimal | None
    """Kilometres driven when travel is charged by distance; None for a flat fee."""
    travel: Decimal | None
    """The amounts: None (empty cells) while the work is not done, so a planned or a
    cancelled intervention is never read as work billed at 0,00."""
    labour: Decimal | None
    parts: Decimal | None
    excl_vat: Decimal | None
    vat: Decimal | None
    incl_vat: Decimal | None
    rating: int | None


Value = str | dt.datetime | Decimal | int | None


def _zone(timezone: str | dt.tzinfo) -> dt.tzinfo:
    return ZoneInfo(timezone) if isinstance(timezone, str) else timezone


def _local(moment: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """The moment as a naive local time (what a spreadsheet date cell holds)."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime in an export row: {moment!r}")
    return moment.astimezone(tz).replace(tzinfo=None, microsecond=0)


def _clean(text: str) -> str:
    """One line, without the control characters a workbook cannot hold."""
    return _ILLEGAL.sub("", " ".join(text.split()))


def _header_labels(headers: Mapping[str, str]) -> list[str]:
    missing = [key for key in KEYS if key not in headers]
    if missing:
        raise KeyError(f"no header for the export columns {missing}")
    return [_clean(headers[key]) for key in KEYS]


def _values(row: ExportRow) -> list[Value]:
    return [getattr(row, key) for key in KEYS]


def build_xlsx(
    rows: Iterable[ExportRow],
    *,
    headers: Mapping[str, str],
    timezone: str | dt.tzinfo,
    title: str = "Interventions",
) -> bytes:
    """The workbook: one sheet named `title`, a header row, one row per intervention."""
    tz = _zone(timezone)
    labels = _header_labels(headers)
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has one sheet
    sheet.title = _sheet_title(title)
    book.properties.title = title
    book.properties.creator = "Terrain"

    bold = Font(bold=True)
    fill = PatternFill("solid", start_color="DDE4EE")
    for index, (column, label) in enumerate(zip(COLUMNS, labels, strict=True), start=1):
        cell = sheet.cell(row=1, column=index, value=label)
        cell.font = bold
        cell.fill = fill
        # Over numbers and dates (right-aligned by the spreadsheet), the header is too.
        side = "left" if column.kind is Kind.TEXT else "right"
        cell.alignment = Alignment(horizontal=side, vertical="center", wrap_text=True)
    sheet.row_dimensions[1].height = 32

    widths = [column.width for column in COLUMNS]
    for label_index, label in enumerate(labels):
        longest_word = max((len(word) for word in label.split()), default=0)
        widths[label_index] = max(widths[label_index], longest_word + 2)
    count = 0
    for count, row in enumerate(rows, start=1):
        for index, (column, value) in enumerate(zip(COLUMNS, _values(row), strict=True)):
            if value is None:
                continue  # an empty cell, not a zero or a dash
            if column.kind is Kind.TEXT:
                text = _clean(str(value))
                written = sheet.cell(row=count + 1, column=index + 1, value=text)
                written.data_type = "s"  # a client named "=1+1" stays text, never a formula
                widths[index] = max(widths[index], min(len(text) + 2, MAX_WIDTH))
                continue
            if isinstance(value, dt.datetime):
                value = _local(value, tz)
            written = sheet.cell(row=count + 1, column=index + 1, value=value)
            written.number_format = NUMBER_FORMATS[column.kind]

    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    last = get_column_letter(len(COLUMNS))
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{last}{count + 1}"
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True  # type: ignore[union-attr]

    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sheet_title(title: str) -> str:
    """A title Excel accepts: 31 characters at most, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", " ", _clean(title))[:31].strip() or "Interventions"


def _csv_number(value: Decimal | int, places: int | None, language: Language) -> str:
    text = str(value) if places is None else f"{value:.{places}f}"
    return text.replace(".", ",") if language == "fr" else text


def _csv_text(text: str) -> str:
    text = _clean(text)
    return "'" + text if text.startswith(_FORMULA_START) else text


def build_csv(
    rows: Iterable[ExportRow],
    *,
    headers: Mapping[str, str],
    timezone: str | dt.tzinfo,
    language: Language,
) -> bytes:
    """The CSV: UTF-8 with BOM, ";" separated, CRLF, numbers in `language`'s way."""
    tz = _zone(timezone)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([_csv_text(label) for label in _header_labels(headers)])
    for row in rows:
        cells: list[str] = []
        for column, value in zip(COLUMNS, _values(row), strict=True):
            if value is None:
                cells.append("")
            elif column.kind is Kind.TEXT:
                cells.append(_csv_text(str(value)))
            elif column.kind is Kind.MOMENT:
                assert isinstance(value, dt.datetime)
                cells.append(_local(value, tz).strftime(CSV_MOMENTS[language]))
            else:
                assert isinstance(value, Decimal | int)
                cells.append(_csv_number(value, PLACES.get(column.kind), language))
        writer.writerow(cells)
    return (BOM + buffer.getvalue()).encode("utf-8")


def build_export(
    rows: Sequence[ExportRow],
    fmt: Format,
    *,
    headers: Mapping[str, str],
    timezone: str | dt.tzinfo,
    language: Language,
    title: str = "Interventions",
) -> bytes:
    """The export in `fmt` ("xlsx" or "csv"). CPU-bound: run it off the event loop."""
    if fmt == "xlsx":
        return build_xlsx(rows, headers=headers, timezone=timezone, title=title)
    if fmt == "csv":
        return build_csv(rows, headers=headers, timezone=timezone, language=language)
    raise ValueError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
