"""`python -m bot import interventions FILE.csv`: plan many interventions at once.

The file is UTF-8 (with or without BOM), `;` or `,` separated (found from the header
line), one intervention per line after a header naming the columns (see COLUMNS and
README, "Importing interventions"). Every row is checked first; if any is wrong, each
problem is printed with its line number, the command ends with status 2 and nothing
is written. Otherwise everything is written in one transaction and the numbers of the
planned interventions are printed.

Clients are matched by exact name (case ignored), else created with the row's contact,
phone, email and address; sites likewise within their client. Technicians are named
by Telegram id or exact name (case ignored) and must be active technicians.

Importing the same file twice plans nothing twice. The optional `reference` column is
the office's key for a line (kept in Intervention.reference): a line whose reference
is already planned is skipped, and its number printed. A line without one is skipped
when an intervention of the same client, type and scheduled time exists (or an earlier
line of the file plans one); so is a line with a new reference that matches one
planned without any (a file imported once without references, then with them).

As /plan does, each assigned technician is told through the outbox, in their language,
with an Open button, and the office group gets one message listing what was planned;
they are written in the same transaction as the interventions, and the running bot
sends them.

Wiring in `bot/cli.py`: `import_command.add_parser(commands)` in `parse_args`, and
`"import": import_command.run` in the table of commands of `main`.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import io
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from handlers.context import Options
    from reports.rules.templates import Template
    from storage.models import Intervention, User

EXIT_PROBLEM = 2
#: Column -> required. Header names are matched ignoring case and surrounding spaces.
COLUMNS: dict[str, bool] = {
    "client": True,
    "contact": False,
    "phone": False,
    "email": False,
    "address": False,
    "site": False,
    "type": True,
    "scheduled": True,
    "technician": False,
    "request": False,
    "reference": False,
}
#: Longest texts the database keeps, per column.
#: Where read_table notes a row with more cells than the header names.
EXTRA = "\0extra"
LIMITS = {
    "client": 200,
    "contact": 200,
    "phone": 50,
    "email": 254,
    "site": 200,
    "reference": 100,
}


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `import` command to the command line's sub-commands."""
    parser = subparsers.add_parser(
        "import",
        help="plan many interventions from a CSV file",
        description=(
            "Plan one intervention per line of a CSV file (columns: "
            + ", ".join(COLUMNS)
            + "). Nothing is written unless every line is right."
        ),
    )
    parser.add_argument("what", choices=("interventions",), help="what the file holds")
    parser.add_argument("file", type=Path, metavar="FILE.csv")


class _Problem(Exception):
    """Something the operator must fix; the message is the one line printed."""


@dataclass(frozen=True)
class Row:
    """One line of the file, checked."""

    line: int
    client: str
    contact: str | None
    phone: str | None
    email: str | None
    address: str | None
    site: str | None
    template: str
    kind: str
    scheduled_at: dt.datetime
    technician_id: int | None
    request: str | None
    reference: str | None = None


@dataclass(frozen=True)
class Planned:
    """A line that became an intervention (its client, site and technician loaded)."""

    line: int
    job: Intervention


@dataclass(frozen=True)
class Skipped:
    """A line left out because what it plans is planned already."""

    line: int
    reason: str
    """What the operator reads after "line N: skipped, "."""


@dataclass
class Outcome:
    """What an import did, line by line, in file order."""

    planned: list[Planned]
    skipped: list[Skipped]


def read_table(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """The rows of the file as (line number, column -> text), blank lines skipped.

    Raises _Problem for an undecodable file or a header with unknown or missing columns.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _Problem(f"the file is not UTF-8 (byte {exc.start})") from None
    header_line = text.split("\n", 1)[0]
    delimiter = ";" if header_line.count(";") >= header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if header is None or not any(cell.strip() for cell in header):
        raise _Problem("the file is empty: its first line must name the columns")
    names = [cell.strip().casefold() for cell in header]
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        raise _Problem(
            f"line 1: unknown column {unknown[0]!r} (known: {', '.join(COLUMNS)}, "
            f"separated by ; or ,)"
        )
    missing = [name for name, required in COLUMNS.items() if required and name not in names]
    if missing:
        raise _Problem(f"line 1: missing column {', '.join(missing)}")
    rows = []
    start = reader.line_num + 1
    for cells in reader:
        if any(cell.strip() for cell in cells):
            values = {name: cell.strip() for name, cell in zip(names, cells, strict=False)}
            if len(cells) > len(names):
                values[EXTRA] = str(len(cells))
            rows.append((start, values))
        start = reader.line_num + 1
    return rows


def _technician(text: str, technicians: Sequence[User]) -> User | str:
    """The technician a cell names, or the problem to report."""
    if text.isdigit():
        found = [u for u in technicians if u.telegram_id == int(text)]
    else:
        found = [u for u in technicians if u.name.casefold() == text.casefold()]
    if len(found) == 1:
        return found[0]
    if found:
        return f"several technicians are called {text!r}: give the Telegram id"
    return f"no active technician has the Telegram id or name {text!r}"


def check_row(
    line: int,
    values: Mapping[str, str],
    *,
    templates: Mapping[str, Template],
    technicians: Sequence[User],
    today: dt.date,
    tz: dt.tzinfo,
) -> Row | list[str]:
    """The checked row, or every problem it has (without the line number)."""
    from reports.rules.reading import ParseError, parse_datetime

    problems = []
    if EXTRA in values:
        problems.append(f"{values[EXTRA]} cells where the header names {len(values) - 1}")

    def cell(name: str) -> str | None:
        value = values.get(name, "")
        if not value:
            if COLUMNS[name]:
                problems.append(f"{name} is empty")
            return None
        if name in LIMITS and len(value) > LIMITS[name]:
            problems.append(f"{name} is longer than {LIMITS[name]} characters")
        return value

    client, template_name, when = cell("client"), cell("type"), cell("scheduled")
    email, technician_text = cell("email"), cell("technician")
    if email is not None and "@" not in email:
        problems.append(f"email {email!r} is not an address")
    template = templates.get(template_name.casefold()) if template_name else None
    if template_name and template is None:
        problems.append(f"type {template_name!r} is not a template (known: {', '.join(templates)})")
    scheduled_at = None
    if when:
        try:
            day, hour = parse_datetime(when, today=today)
        except ParseError:
            day = None
        if day is None:
            problems.append(f"scheduled {when!r} is not a date and time, e.g. 22/11/2026 14h30")
        else:
            scheduled_at = dt.datetime.combine(day, hour, tzinfo=tz).astimezone(dt.UTC)
    technician_id = None
    if technician_text:
        technician = _technician(technician_text, technicians)
        if isinstance(technician, str):
            problems.append(technician)
        else:
            technician_id = technician.id
    if problems:
        return problems
    assert client and template and scheduled_at
    return Row(
        line=line,
        client=client,
        contact=cell("contact"),
        phone=cell("phone"),
        email=email,
        address=cell("address"),
        site=cell("site"),
        template=template.name,
        kind=template.kind,
        scheduled_at=scheduled_at,
        technician_id=technician_id,
        request=cell("request"),
        reference=cell("reference"),
    )


async def _already_planned(
    session: AsyncSession, row: Row, client_id: int | None, lines: Mapping[int, int]
) -> str | None:
    """Why `row` is planned already (see the module's docstring), or None.

    `lines` maps the interventions this import planned to their line."""
    from storage import interventions

    if row.reference is not None:
        found = await interventions.by_reference(session, row.reference)
        if found is not None:
            return f"reference {row.reference!r} is already planned as {found.number}"
    if client_id is None:
        return None
    found = await interventions.same_slot(
        session,
        client_id=client_id,
        template=row.template,
        scheduled_at=row.scheduled_at,
        without_reference=row.reference is not None,
    )
    if found is None:
        return None
    if found.id in lines:
        return (
            f"same client, type and time as line {lines[found.id]} "
            "(give each line a reference to plan both)"
        )
    status = "" if found.status == "planned" else f", now {found.status.replace('_', ' ')}"
    return f"already planned as {found.number}{status} (same client, type and time)"


async def plan_rows(session: AsyncSession, rows: Sequence[Row], *, year: int) -> Outcome:
    """Write the interventions of checked rows that are not planned already (clients
    and sites found or created), in file order. The caller commits."""
    from sqlalchemy import select

    from storage import clients, interventions
    from storage.models import Client, Site, User

    known = {c.name.casefold(): c for c in (await session.scalars(select(Client))).all()}
    sites = {
        (s.client_id, s.name.casefold()): s for s in (await session.scalars(select(Site))).all()
    }
    outcome = Outcome(planned=[], skipped=[])
    lines: dict[int, int] = {}
    for row in rows:
        client = known.get(row.client.casefold())
        reason = await _already_planned(session, row, client.id if client else None, lines)
        if reason is not None:
            outcome.skipped.append(Skipped(row.line, reason))
            continue
        if client is None:
            client = await clients.create(
                session,
                name=row.client,
                contact_name=row.contact,
                phone=row.phone,
                email=row.email,
                address=row.address,
            )
            known[row.client.casefold()] = client
        site = None
        if row.site:
            site = sites.get((client.id, row.site.casefold()))
            if site is None:
                site = Site(client_id=client.id, name=row.site, address=row.address)
                session.add(site)
                await session.flush()
                sites[(client.id, row.site.casefold())] = site
        technician = await session.get(User, row.technician_id) if row.technician_id else None
        made = await interventions.create(
            session,
            year=year,
            client_id=client.id,
            kind=row.kind,
            template=row.template,
            technician=technician,
            site_id=site.id if site else None,
            scheduled_at=row.scheduled_at,
            request=row.request,
            reference=row.reference,
        )
        job = await interventions.for_planning(session, made.id)
        assert job is not None
        lines[job.id] = row.line
        outcome.planned.append(Planned(row.line, job))
    return outcome


def _repeated_references(rows: Sequence[Row]) -> list[str]:
    """ "line N: ..." for each line repeating an earlier line's reference."""
    first: dict[str, int] = {}
    problems = []
    for row in rows:
        if row.reference is None:
            continue
        if row.reference in first:
            problems.append(
                f"line {row.line}: reference {row.reference!r} is also on line "
                f"{first[row.reference]} (a reference names one intervention)"
            )
        first.setdefault(row.reference, row.line)
    return problems


def tell(session: AsyncSession, outcome: Outcome, options: Options, file_name: str) -> None:
    """Queue what /plan would say: each assigned technician hears of their new
    intervention (with an Open button), and the office group gets one summary."""
    from handlers.planning_notices import tell_office_imported, tell_technician

    for planned in outcome.planned:
        job = planned.job
        tell_technician(session, options, job.technician, "plan.told_new", job, open_button=True)
    tell_office_imported(session, options, [p.job for p in outcome.planned], file_name)


async def import_file(
    session: AsyncSession,
    data: bytes,
    *,
    templates: Mapping[str, Template],
    tz: dt.tzinfo,
    now: dt.datetime,
    options: Options | None = None,
    file_name: str = "",
) -> tuple[Outcome, list[str]]:
    """(what was planned and skipped, problems "line N: ..."); with problems, nothing
    was added to `session` and the caller must not commit anything. With `options`,
    technicians and the office are told (through the outbox, in `session`)."""
    from sqlalchemy import select

    from storage.models import Role, User

    table = read_table(data)
    if not table:
        raise _Problem("the file has a header but no intervention")
    technicians = (
        await session.scalars(
            select(User).where(User.role == Role.TECHNICIAN, User.active.is_(True))
        )
    ).all()
    today = now.astimezone(tz).date()
    checked: list[Row] = []
    problems: list[str] = []
    for line, values in table:
        result = check_row(
            line, values, templates=templates, technicians=technicians, today=today, tz=tz
        )
        if isinstance(result, Row):
            checked.append(result)
        else:
            problems += [f"line {line}: {problem}" for problem in result]
    problems += _repeated_references(checked)
    if problems:
        return Outcome(planned=[], skipped=[]), sorted(problems, key=_line_number)
    outcome = await plan_rows(session, checked, year=now.astimezone(tz).year)
    if options is not None:
        tell(session, outcome, options, file_name)
    return outcome, []


def _line_number(problem: str) -> int:
    return int(problem.split(":", 1)[0].removeprefix("line "))


def report(outcome: Outcome, options: Options) -> list[str]:
    """What the command prints: each line's fate, then the totals and who is told."""
    printed = []
    events: list[tuple[int, str]] = [
        (
            p.line,
            f"line {p.line}: planned {p.job.number} ({p.job.client.name}, {p.job.template}, "
            + (options.local(p.job.scheduled_at) if p.job.scheduled_at else "no date")
            + f", {p.job.technician.name if p.job.technician else 'no technician'})",
        )
        for p in outcome.planned
    ]
    events += [(s.line, f"line {s.line}: skipped, {s.reason}") for s in outcome.skipped]
    printed += [text for _, text in sorted(events)]
    count = len(outcome.planned)
    summary = f"{count} intervention{'s' if count != 1 else ''} planned"
    if count:
        summary += ": " + ", ".join(p.job.number for p in outcome.planned)
    skipped = len(outcome.skipped)
    if skipped:
        summary += f"; {skipped} line{'s' if skipped != 1 else ''} skipped (already planned)"
    printed.append(summary)
    told = sorted({p.job.technician.name for p in outcome.planned if p.job.technician})
    if count and options.office_chat_id is not None:
        told.append("the office group")
    if told:
        names = ", ".join(told[:-1]) + " and " + told[-1] if len(told) > 1 else told[0]
        printed.append(f"messages queued for {names}: the bot sends them as soon as it runs")
    return printed


class _Rejected(Exception):
    """Raised inside the transaction so that it rolls back."""


async def run(settings: Settings, args: argparse.Namespace) -> int:
    """Plan the file's interventions, tell whoever /plan would, and print what was
    planned and skipped; 2 and the problems on stderr (nothing written) otherwise."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.options import build_options
    from reports.rules.templates import TemplateError, load_templates
    from storage.db import Database, describe_db_error

    path: Path = args.file
    problems: list[str] = []
    options = build_options(settings)
    try:
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise _Problem(f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            templates = load_templates(settings.templates_dir)
        except TemplateError as exc:
            raise _Problem(str(exc)) from None
        db = Database(settings.db_url, pool_size=2)
        try:
            await db.ping()
            async with db.transaction() as session:
                outcome, problems = await import_file(
                    session,
                    data,
                    templates=templates,
                    tz=settings.tz,
                    now=dt.datetime.now(dt.UTC),
                    options=options,
                    file_name=path.name,
                )
                if problems:
                    raise _Rejected
        except _Rejected:
            pass
        except SQLAlchemyError as exc:
            raise _Problem(
                f"could not plan the interventions: {describe_db_error(db.url, exc)}"
            ) from None
        finally:
            await db.close()
    except _Problem as problem:
        print(f"terrain: {path}: {problem}", file=sys.stderr)
        return EXIT_PROBLEM
    if problems:
        for line in problems:
            print(f"terrain: {path}: {line}", file=sys.stderr)
        print(f"terrain: nothing was imported from {path}", file=sys.stderr)
        return EXIT_PROBLEM
    for line in report(outcome, options):
        print(line)
    return 0
