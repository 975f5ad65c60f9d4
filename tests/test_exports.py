"""The office's export: one row per intervention, in a workbook that opens with real
dates and numbers, a CSV for French Excel, the command line and /export."""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import io
import os
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import openpyxl
import pytest
from aiogram.methods import SendDocument
from aiogram.types import BufferedInputFile, FSInputFile
from openpyxl.worksheet.worksheet import Worksheet

from bot import export_command
from handlers import spreadsheet
from handlers.context import Options
from handlers.i18n import Translator, catalog
from handlers.technician import money
from handlers.technician.visit import Visit
from reports.exports import COLUMNS, KEYS, ExportRow, build_csv, build_xlsx
from reports.rules.periods import Period, parse_period
from reports.rules.pricing import CompanyPricing
from reports.rules.reading import ParseError
from reports.rules.templates import Template, load_templates
from reports.totals import Totals
from storage.db import Database
from storage.models import Intervention, Part, Rating, Role, Site
from tests.conftest import (
    OFFICE_CHAT,
    TECHNICIAN,
    Harness,
    Job,
    load_job,
    plan_job,
    register,
)
from tests.conftest import (
    test_options as make_options,
)
from tests.helpers import PARIS, cli_settings, paris
from tests.mocked import Person, button

DISPATCHER = Person(30, "Sophie", "sophie_bureau", "fr")
JEROME = Person(22, "Jérôme", "jerome_tech", "fr")
NOVEMBER = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30))


async def fill(
    db: Database,
    job: Job,
    *,
    started: dt.datetime | None = None,
    ended: dt.datetime | None = None,
    scheduled: dt.datetime | None = None,
    status: str | None = None,
    parts: tuple[tuple[str, str, str], ...] = (),
    rating: int | None = None,
    site: tuple[str, str] | None = None,
    **fields: Any,
) -> None:
    """Write what the wizard would have stored: times, hours, travel, parts, a rating."""
    async with db.transaction() as session:
        row = await session.get(Intervention, job.id)
        assert row is not None
        row.started_at, row.ended_at = started, ended
        if scheduled is not None:
            row.scheduled_at = scheduled
        if status is not None:
            row.status = status
        for name, value in fields.items():
            setattr(row, name, value)
        for position, (designation, quantity, price) in enumerate(parts, start=1):
            session.add(
                Part(
                    intervention_id=job.id,
                    position=position,
                    reference=f"REF-{position}",
                    designation=designation,
                    quantity=Decimal(quantity),
                    unit_price=Decimal(price),
                )
            )
        if site is not None:
            place = Site(client_id=job.client_id, name=site[0], address=site[1])
            session.add(place)
            await session.flush()
            row.site_id = place.id
        if rating is not None:
            session.add(Rating(intervention_id=job.id, client_id=job.client_id, score=rating))


async def three_jobs(db: Database) -> list[Job]:
    """November's work: a repair with parts, flat travel and a rating; a maintenance
    by kilometres at its own labour rate; an inspection still planned."""
    repair = await plan_job(
        db, template="repair", client_name="Boulangerie Émile & Fils", scheduled=paris(2026, 11, 3)
    )
    await fill(
        db,
        repair,
        started=paris(2026, 11, 3, 8, 45),
        ended=paris(2026, 11, 3, 11, 15),
        status="validated",
        worked_hours=Decimal("2.5"),
        travel_mode="flat",
        travel_flat=Decimal("30.00"),
        parts=(("Joint torique Ø 12", "3", "1.99"), ("Vanne thermostatique", "1", "48.50")),
        rating=4,
        site=("Fournil", "3 rue des Pâquerettes\n75011 Paris"),
    )
    maintenance = await plan_job(
        db,
        technician=JEROME,
        client_name="Crèche « Les Petits Loups »",
        scheduled=paris(2026, 11, 12, 14, 0),
    )
    await fill(
        db,
        maintenance,
        started=paris(2026, 11, 12, 14, 5),
        ended=paris(2026, 11, 12, 17, 35),
        status="awaiting_validation",
        worked_hours=Decimal("3.25"),
        travel_mode="km",
        travel_km=Decimal("42.5"),
        labour_rate=Decimal("72.00"),
        vat_rate=Decimal("10"),
    )
    inspection = await plan_job(
        db, template="inspection", client_name="Mairie de Sète", scheduled=paris(2026, 11, 28, 9)
    )
    return [repair, maintenance, inspection]


def report_totals(
    job: Intervention, options: Options | None = None, templates: dict[str, Template] | None = None
) -> Totals:
    """The totals the wizard and the PDF show for `job` (handlers.technician.money)."""
    visit = Visit(
        session=cast(Any, None),
        bot=cast(Any, None),
        user=cast(Any, None),
        job=job,
        client=cast(Any, None),
        template=(templates or load_templates())[job.template],
        t=Translator("fr"),
        options=options or make_options(),
        files=cast(Any, None),
        chat_id=0,
    )
    return money.totals(visit)


async def rows_of(db: Database, period: Period, language: str = "fr") -> list[ExportRow]:
    async with db.sessions() as session:
        return await spreadsheet.collect(
            session,
            period,
            tz=PARIS,
            defaults=CompanyPricing(),
            templates=load_templates(),
            language=language,
        )


def sheet_of(data: bytes) -> Worksheet:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert isinstance(sheet, Worksheet)
    return sheet


def records(sheet: Worksheet) -> list[dict[str, Any]]:
    """The data rows as {column key: cell value}."""
    return [
        dict(zip(KEYS, row, strict=True))
        for row in sheet.iter_rows(min_row=2, max_col=len(KEYS), values_only=True)
    ]


def money_of(value: object) -> Decimal:
    assert isinstance(value, int | float) and not isinstance(value, bool), repr(value)
    return Decimal(str(value)).quantize(Decimal("0.01"))


# The workbook --------------------------------------------------------------------------


async def test_workbook_has_real_dates_numbers_and_the_reports_totals(database: Database) -> None:
    jobs = await three_jobs(database)
    sheet = sheet_of(
        spreadsheet.render(await rows_of(database, NOVEMBER), "xlsx", language="fr", tz=PARIS)
    )

    assert [cell.value for cell in sheet[1]] == [
        "N°", "Client", "Site", "Technicien", "Type", "Statut", "Prévue le", "Début", "Fin",
        "Heures travaillées (décimales)", "Déplacement (km)", "Déplacement HT", "Main-d'œuvre HT",
        "Pièces HT", "Total HT", "TVA", "Total TTC", "Note client",
    ]  # fmt: skip
    repair, maintenance, inspection = records(sheet)
    assert [r["number"] for r in (repair, maintenance, inspection)] == [j.number for j in jobs]
    assert repair["client"] == "Boulangerie Émile & Fils"
    assert repair["site"] == "Fournil — 3 rue des Pâquerettes, 75011 Paris"
    assert repair["technician"] == "Paul" and maintenance["technician"] == "Jérôme"
    assert repair["kind"] == "Dépannage" and maintenance["kind"] == "Entretien"
    assert repair["status"] == "validée" and inspection["status"] == "planifiée"

    # Real dates, on the company's wall clock, not text.
    assert repair["scheduled_at"] == dt.datetime(2026, 11, 3, 0, 0)
    assert repair["started_at"] == dt.datetime(2026, 11, 3, 8, 45)
    assert maintenance["ended_at"] == dt.datetime(2026, 11, 12, 17, 35)
    assert inspection["started_at"] is None and inspection["ended_at"] is None
    for column in ("scheduled_at", "started_at", "ended_at"):
        cell = sheet.cell(row=2, column=KEYS.index(column) + 1)
        assert cell.is_date and cell.number_format == "dd/mm/yyyy hh:mm"

    # Numbers, not text; empty cells where there is nothing.
    for record in (repair, maintenance):
        for key in ("worked_hours", "travel", "labour", "parts", "excl_vat", "vat", "incl_vat"):
            assert isinstance(record[key], int | float), (key, record[key])
    assert repair["worked_hours"] == 2.5 and maintenance["worked_hours"] == 3.25
    assert repair["travel_km"] is None and maintenance["travel_km"] == 42.5
    assert repair["rating"] == 4 and isinstance(repair["rating"], int)
    assert maintenance["rating"] is None and inspection["worked_hours"] is None

    # The very totals of the report: same inputs, same pricing rules.
    for record, job in zip((repair, maintenance), jobs[:2], strict=True):
        expected = report_totals(await load_job(database, job))
        assert money_of(record["travel"]) == expected.travel
        assert money_of(record["labour"]) == expected.labour
        assert money_of(record["parts"]) == expected.parts
        assert money_of(record["excl_vat"]) == expected.excl_vat
        assert money_of(record["vat"]) == expected.vat_total
        assert money_of(record["incl_vat"]) == expected.incl_vat
    # By hand: 2.5 h at the repair template's 65.00, 30.00 flat, 3 × 1.99 + 48.50, VAT 20 %.
    assert money_of(repair["labour"]) == Decimal("162.50")
    assert money_of(repair["parts"]) == Decimal("54.47")
    assert money_of(repair["excl_vat"]) == Decimal("246.97")
    assert money_of(repair["incl_vat"]) == Decimal("296.36")
    # 3.25 h at its own 72.00, 42.5 km at the company's 0.60, VAT 10 %.
    assert money_of(maintenance["labour"]) == Decimal("234.00")
    assert money_of(maintenance["travel"]) == Decimal("25.50")
    assert money_of(maintenance["incl_vat"]) == Decimal("285.45")
    # Still planned: nothing to bill yet, so empty cells rather than 0,00.
    assert all(inspection[key] is None for key in MONEY)


MONEY = ("travel", "labour", "parts", "excl_vat", "vat", "incl_vat")


@pytest.mark.parametrize(
    ("status", "billed"),
    [
        ("planned", False),
        ("in_progress", False),
        ("postponed", False),
        ("cancelled", False),
        ("awaiting_validation", True),
        ("returned", True),
        ("validated", True),
    ],
)
async def test_money_cells_are_empty_until_the_work_is_done(
    database: Database, status: str, billed: bool
) -> None:
    job = await plan_job(database, template="repair", scheduled=paris(2026, 11, 3, 9))
    await fill(
        database,
        job,
        started=paris(2026, 11, 3, 9),
        status=status,
        worked_hours=Decimal("2"),  # typed in before the report was stopped or cancelled
        travel_mode="flat",
        travel_flat=Decimal("30.00"),
        parts=(("Joint", "1", "10.00"),),
    )
    rows = await rows_of(database, NOVEMBER)
    (row,) = records(sheet_of(spreadsheet.render(rows, "xlsx", language="fr", tz=PARIS)))
    (line,) = list(
        csv.DictReader(
            io.StringIO(
                spreadsheet.render(rows, "csv", language="fr", tz=PARIS).decode("utf-8-sig")
            ),
            fieldnames=KEYS,
            delimiter=";",
        )
    )[1:]
    assert row["worked_hours"] == 2 and line["worked_hours"] == "2,00"
    if billed:
        assert money_of(row["incl_vat"]) == Decimal("204.00") and line["incl_vat"] == "204,00"
        assert all(row[key] is not None and line[key] for key in MONEY)
    else:
        assert [row[key] for key in MONEY] == [None] * len(MONEY)
        assert [line[key] for key in MONEY] == [""] * len(MONEY)


async def test_workbook_is_ready_to_filter_and_read(database: Database) -> None:
    await three_jobs(database)
    sheet = sheet_of(
        spreadsheet.render(await rows_of(database, NOVEMBER), "xlsx", language="fr", tz=PARIS)
    )
    assert sheet.title == "Interventions"
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:R4"
    money_cell = sheet.cell(row=2, column=KEYS.index("incl_vat") + 1)
    assert money_cell.number_format == '#,##0.00 "€"'
    assert sheet.cell(row=2, column=KEYS.index("worked_hours") + 1).number_format == "0.00"
    widths = {
        c.key: sheet.column_dimensions[chr(ord("A") + i)].width for i, c in enumerate(COLUMNS)
    }
    assert widths["client"] >= len("Boulangerie Émile & Fils")
    assert widths["scheduled_at"] >= 16


async def test_a_report_filled_through_the_wizard_exports_the_total_it_showed(
    short: Harness,
) -> None:
    from tests.test_wizard import at_times, finish_acceptance, last_text

    job = await at_times(short)
    prompt = (await short.say(TECHNICIAN, "/resume"))[-1]
    await short.press(TECHNICIAN, prompt, button(prompt, "Maintenant"))
    await short.say(TECHNICIAN, "2h30")
    summary = last_text(await short.say(TECHNICIAN, "45,50 €"))
    assert "Total TTC : <b>234,60\u00a0€</b>" in summary
    prompt = (await short.say(TECHNICIAN, "/resume"))[-1]
    await short.press(TECHNICIAN, prompt, button(prompt, "Valider"))
    await finish_acceptance(short, job)  # submitted: the work is done, its amounts exported
    saved = await load_job(short.db, job)
    assert saved.started_at is not None
    today = saved.started_at.astimezone(PARIS).date()
    async with short.db.sessions() as session:
        (row,) = await spreadsheet.collect(
            session,
            Period(today, today),
            tz=PARIS,
            defaults=short.options.pricing,
            templates=short.templates,
            language="fr",
        )
    assert row.number == job.number and row.worked_hours == Decimal("2.5")
    assert (row.labour, row.travel, row.parts) == (
        Decimal("150.00"),
        Decimal("45.50"),
        Decimal("0.00"),
    )
    assert (row.excl_vat, row.vat, row.incl_vat) == (
        Decimal("195.50"),
        Decimal("39.10"),
        Decimal("234.60"),
    )
    expected = report_totals(saved, short.options, short.templates)
    assert (row.excl_vat, row.vat, row.incl_vat) == (
        expected.excl_vat,
        expected.vat_total,
        expected.incl_vat,
    )


async def test_period_includes_both_days_on_the_company_clock(database: Database) -> None:
    """November in Paris (UTC+1) runs from 31 Oct 23:00 UTC to 30 Nov 23:00 UTC."""
    utc = dt.UTC
    moments = {
        "31/10 23:59 Paris": dt.datetime(2026, 10, 31, 22, 59, tzinfo=utc),
        "01/11 00:00 Paris": dt.datetime(2026, 10, 31, 23, 0, tzinfo=utc),
        "30/11 23:59 Paris": dt.datetime(2026, 11, 30, 22, 59, tzinfo=utc),
        "01/12 00:00 Paris": dt.datetime(2026, 11, 30, 23, 0, tzinfo=utc),
    }
    numbers = {}
    for label, moment in moments.items():
        job = await plan_job(database, client_name=label, scheduled=moment)
        numbers[label] = job.number
    # Started in November although planned for October: it is November's work.
    late = await plan_job(database, client_name="late", scheduled=paris(2026, 10, 30, 9))
    await fill(database, late, started=paris(2026, 11, 2, 9), ended=paris(2026, 11, 2, 10))
    # Planned in November but started in December: December's.
    early = await plan_job(database, client_name="early", scheduled=paris(2026, 11, 30, 9))
    await fill(database, early, started=paris(2026, 12, 1, 8), ended=None)

    rows = await rows_of(database, NOVEMBER)
    assert [row.client for row in rows] == ["01/11 00:00 Paris", "late", "30/11 23:59 Paris"]
    one_day = await rows_of(database, Period(dt.date(2026, 11, 30), dt.date(2026, 11, 30)))
    assert [row.client for row in one_day] == ["30/11 23:59 Paris"]
    october = await rows_of(database, parse_period("2026-10", today=dt.date(2026, 11, 1)))
    assert [row.client for row in october] == ["31/10 23:59 Paris"]


def test_periods_are_read_as_the_office_types_them() -> None:
    today = dt.date(2026, 11, 22)
    read = parse_period
    assert read(None, today=today) == NOVEMBER
    assert read("", today=today) == NOVEMBER
    assert read("2026-11", today=today) == NOVEMBER
    assert read("11/2026", today=today) == NOVEMBER
    assert read("01/11/2026 30/11/2026", today=today) == NOVEMBER
    assert read("2026-11-01 - 2026-11-30", today=today) == NOVEMBER
    assert read("2026-11-01..2026-11-30", today=today) == NOVEMBER
    assert read("1/11 au 30/11", today=today) == NOVEMBER
    assert read("2026-02", today=today) == Period(dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert read("2026-10 2026-11", today=today) == Period(
        dt.date(2026, 10, 1), dt.date(2026, 11, 30)
    )
    day = dt.date(2026, 11, 22)
    assert read("22/11/2026", today=today) == Period(day, day)
    with pytest.raises(ParseError) as reversed_period:
        read("30/11/2026 01/11/2026", today=today)
    assert reversed_period.value.key == "exports.reversed"
    for bad in ("novembre dernier", "2026-13", "31/02/2026", "1 2 3"):
        with pytest.raises(ParseError) as unread:
            read(bad, today=today)
        assert unread.value.key == "exports.bad_period", bad
    assert NOVEMBER.file_name("xlsx") == "interventions-2026-11-01-2026-11-30.xlsx"
    # Bounds on the local clock, whatever the offset of each end.
    start, end = Period(dt.date(2026, 10, 1), dt.date(2026, 10, 31)).bounds(PARIS)
    assert start == dt.datetime(2026, 9, 30, 22, 0, tzinfo=dt.UTC)  # summer time
    assert end == dt.datetime(2026, 10, 31, 23, 0, tzinfo=dt.UTC)  # winter time


# The CSV ---------------------------------------------------------------------------------


async def test_csv_opens_in_french_excel_with_semicolons_bom_and_decimal_commas(
    database: Database,
) -> None:
    await three_jobs(database)
    data = spreadsheet.render(await rows_of(database, NOVEMBER), "csv", language="fr", tz=PARIS)
    assert data.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in data
    text = data.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert table[0][:4] == ["N°", "Client", "Site", "Technicien"]
    assert len(table) == 4 and all(len(line) == len(KEYS) for line in table)
    repair = dict(zip(KEYS, table[1], strict=True))
    assert repair["client"] == "Boulangerie Émile & Fils"
    assert repair["started_at"] == "03/11/2026 08:45"
    assert repair["worked_hours"] == "2,50"
    assert repair["labour"] == "162,50" and repair["incl_vat"] == "296,36"
    assert repair["travel_km"] == "" and repair["rating"] == "4"
    maintenance = dict(zip(KEYS, table[2], strict=True))
    assert maintenance["client"] == "Crèche « Les Petits Loups »"
    assert maintenance["travel_km"] == "42,5" and maintenance["rating"] == ""

    english = spreadsheet.render(
        await rows_of(database, NOVEMBER, "en"), "csv", language="en", tz=PARIS
    )
    lines = list(csv.reader(io.StringIO(english.decode("utf-8-sig"), newline=""), delimiter=";"))
    row = dict(zip(KEYS, lines[1], strict=True))
    assert lines[0][0] == "No." and row["kind"] == "Repair" and row["status"] == "validated"
    assert row["started_at"] == "2026-11-03 08:45" and row["incl_vat"] == "296.36"


def test_a_name_that_looks_like_a_formula_stays_text() -> None:
    row = ExportRow(
        number="OT-2026-0001",
        client='=HYPERLINK("http://evil.example","clic")',
        site="+33 1 23 45 67 89",
        technician="Zoé\x07",
        kind="Dépannage",
        status="validée",
        scheduled_at=None,
        started_at=None,
        ended_at=None,
        worked_hours=None,
        travel_km=None,
        travel=Decimal("0.00"),
        labour=Decimal("0.00"),
        parts=Decimal("0.00"),
        excl_vat=Decimal("0.00"),
        vat=Decimal("0.00"),
        incl_vat=Decimal("0.00"),
        rating=None,
    )
    headers = spreadsheet.headers("fr")
    sheet = sheet_of(build_xlsx([row], headers=headers, timezone="Europe/Paris"))
    client = sheet.cell(row=2, column=2)
    assert client.data_type == "s" and client.value == row.client
    assert sheet.cell(row=2, column=4).value == "Zoé"
    data = build_csv([row], headers=headers, timezone="Europe/Paris", language="fr")
    cells = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))[1]
    assert cells[1] == "'" + row.client and cells[2] == "'+33 1 23 45 67 89"


def test_both_languages_name_every_column() -> None:
    for language in ("fr", "en"):
        texts = catalog(language)
        assert {f"exports.columns.{key}" for key in KEYS} <= texts.keys()
    assert export_command.FORMATS == ("xlsx", "csv")


# The command line ----------------------------------------------------------------------------


def cli_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    export_command.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["export", *argv])


async def test_command_line_writes_the_workbook_and_says_where(
    database: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    jobs = await three_jobs(database)
    monkeypatch.chdir(tmp_path)
    settings = cli_settings(database, tmp_path)

    status = await export_command.run(
        settings, cli_args("--from", "2026-11-01", "--to", "30/11/2026")
    )
    assert status == 0
    written = tmp_path / "interventions-2026-11-01-2026-11-30.xlsx"
    out = capsys.readouterr().out
    assert out.strip() == f"3 interventions from 01/11/2026 to 30/11/2026 written to {written}"
    sheet = sheet_of(written.read_bytes())
    assert [r["number"] for r in records(sheet)] == [job.number for job in jobs]
    assert isinstance(records(sheet)[0]["started_at"], dt.datetime)

    target = tmp_path / "paie.csv"
    status = await export_command.run(
        settings, cli_args("--from", "2026-11-12", "--format", "csv", "--out", str(target))
    )
    assert status == 0 and str(target) in capsys.readouterr().out
    lines = target.read_bytes().decode("utf-8-sig").splitlines()
    assert len(lines) == 3 and lines[1].startswith(jobs[1].number + ";")


async def test_command_line_names_a_bad_date_and_ends_with_status_2(
    database: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = cli_settings(database, tmp_path)
    assert await export_command.run(settings, cli_args("--from", "32/11/2026")) == 2
    assert "--from '32/11/2026' is not a day" in capsys.readouterr().err
    assert (
        await export_command.run(settings, cli_args("--from", "2026-11-30", "--to", "2026-11-01"))
        == 2
    )
    assert "is before --from" in capsys.readouterr().err
    assert not [path.name for path in os.scandir(tmp_path) if path.name.startswith("interv")]


# /export ---------------------------------------------------------------------------------


@pytest.fixture
def office(harness: Harness) -> Harness:
    """The harness, for the office's /export."""
    return harness


def sent_documents(harness: Harness) -> list[BufferedInputFile]:
    """Keep the files of sendDocument calls (the recording only keeps their parameters)."""
    documents: list[BufferedInputFile] = []
    record = harness.session.make_request

    async def keep(bot: Any, method: Any, timeout: int | None = None) -> Any:
        if isinstance(method, SendDocument) and isinstance(method.document, BufferedInputFile):
            documents.append(method.document)
        elif isinstance(method, SendDocument) and isinstance(method.document, FSInputFile):
            data = await asyncio.to_thread(Path(method.document.path).read_bytes)
            documents.append(BufferedInputFile(data, filename=method.document.filename or ""))
        return await record(bot, method, timeout)

    harness.session.make_request = keep  # type: ignore[method-assign]
    return documents


async def test_export_sends_the_months_workbook_to_a_dispatcher(office: Harness) -> None:
    jobs = await three_jobs(office.db)
    await register(office, DISPATCHER, Role.DISPATCHER)
    documents = sent_documents(office)
    calls = await office.say(DISPATCHER, "/export 2026-11")
    assert [call.method for call in calls] == ["sendChatAction", "sendDocument"]
    action, sent = calls
    assert (action.chat_id, action.params["action"]) == (DISPATCHER.id, "upload_document")
    assert sent.chat_id == DISPATCHER.id
    caption = sent.params["caption"]
    assert "01/11/2026 – 30/11/2026" in caption and "Interventions : 3" in caption
    (document,) = documents
    assert document.filename == "interventions-2026-11-01-2026-11-30.xlsx"
    sheet = sheet_of(document.data)
    assert [r["number"] for r in records(sheet)] == [job.number for job in jobs]
    assert isinstance(records(sheet)[0]["incl_vat"], float)


async def test_export_in_the_office_group_answers_there(office: Harness) -> None:
    await three_jobs(office.db)
    await register(office, DISPATCHER, Role.DISPATCHER)
    calls = await office.say(DISPATCHER, "/export 01/11/2026 30/11/2026", chat_id=OFFICE_CHAT)
    assert [(call.method, call.chat_id) for call in calls] == [
        ("sendChatAction", OFFICE_CHAT),
        ("sendDocument", OFFICE_CHAT),
    ]


async def test_export_of_an_empty_month_or_an_unreadable_period_says_so(office: Harness) -> None:
    await register(office, DISPATCHER, Role.DISPATCHER)
    calls = await office.say(DISPATCHER, "/export 2026-11")
    assert [call.method for call in calls] == ["sendMessage"]
    assert "Aucune intervention sur la période 01/11/2026 – 30/11/2026" in calls[0].text
    calls = await office.say(DISPATCHER, "/export la semaine dernière")
    assert "Je n'ai pas compris la période" in calls[0].text and "/export 2026-11" in calls[0].text
    calls = await office.say(DISPATCHER, "/export 30/11/2026 01/11/2026")
    assert "finit avant de commencer" in calls[0].text


async def test_export_is_refused_to_a_technician_and_a_client(office: Harness) -> None:
    await three_jobs(office.db)
    await plan_job(office.db)  # registers TECHNICIAN
    client = Person(40, "Élodie", "elodie_m", "fr")
    await register(office, client, Role.CLIENT)
    for person in (TECHNICIAN, client):
        calls = await office.say(person, "/export 2026-11")
        assert [call.method for call in calls] == ["sendMessage"]
        assert calls[0].text == "Cette commande est réservée au bureau."
