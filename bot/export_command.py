"""`python -m bot export`: the interventions of a period as a spreadsheet file, the same
file the office gets with /export (see `handlers.spreadsheet` and `reports.exports`).

    python -m bot export --from 2026-11-01 --to 30/11/2026 --format csv --out nov.csv

--from and --to are days ("2026-11-01", "01/11/2026") or months ("2026-11"), both
included, in TIMEZONE. A missing bound is taken from the other's month; without
either, the period is the current month. The file goes to --out (a file, or a folder
to put it in), else to `interventions-<from>-<to>.<ext>` in the current folder, and
the command prints where. Headers and labels are in DEFAULT_LANGUAGE unless --lang
says otherwise. The database is only read.

Wiring in `bot/cli.py`: `export_command.add_parser(commands)` in `parse_args`, and
`"export": export_command.run` in the table of commands of `main`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Settings

if TYPE_CHECKING:
    from reports.rules.periods import Period

EXIT_PROBLEM = 2
#: The formats of `reports.exports.FORMATS` (not imported here: it loads openpyxl,
#: and every command line run builds this parser).
FORMATS = ("xlsx", "csv")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `export` command to the command line's sub-commands."""
    parser = subparsers.add_parser(
        "export",
        help="write the interventions of a period to an xlsx or csv file",
        description=(
            "Write one row per intervention (dates, hours, travel, parts, totals, rating) "
            "for billing and payroll. Days are included and read in TIMEZONE."
        ),
    )
    parser.add_argument(
        "--from",
        dest="first",
        metavar="DATE",
        help="first day (2026-11-01 or 01/11/2026) or month (2026-11); "
        "default: the first day of --to's month, or of this month",
    )
    parser.add_argument(
        "--to",
        dest="last",
        metavar="DATE",
        help="last day, included, or month; default: the last day of --from's month, "
        "or of this month",
    )
    parser.add_argument("--format", choices=FORMATS, default="xlsx", help="default: xlsx")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="where to write; default: interventions-<from>-<to>.<format> here",
    )
    parser.add_argument(
        "--lang", choices=("fr", "en"), help="language of headers and labels; default: the bot's"
    )


class _Problem(Exception):
    """Something the operator must fix; the message is the one line printed."""


def _period(first: str | None, last: str | None, today: dt.date) -> Period:
    from reports.rules.periods import Period, month, parse_span
    from reports.rules.reading import ParseError

    def read(text: str, option: str) -> Period:
        try:
            return parse_span(text, today=today)
        except ParseError:
            raise _Problem(
                f"{option} {text!r} is not a day (2026-11-01, 01/11/2026) or a month (2026-11)"
            ) from None

    start = read(first, "--from") if first else None
    end = read(last, "--to") if last else None
    if start is None and end is None:
        return month(today.year, today.month)
    if start is None:
        assert end is not None
        start = month(end.last.year, end.last.month)
    if end is None:
        end = month(start.first.year, start.first.month)
    if end.last < start.first:
        raise _Problem(f"--to ({end.last:%d/%m/%Y}) is before --from ({start.first:%d/%m/%Y})")
    return Period(start.first, end.last)


def _destination(out: Path | None, default_name: str) -> Path:
    if out is None:
        return Path(default_name)
    if out.is_dir():
        return out / default_name
    return out


async def run(settings: Settings, args: argparse.Namespace) -> int:
    """Write the export and print where; 2 with one line on stderr for a problem."""
    # Imported here: the workbook library takes a while to load, and the other
    # commands do not need it.
    from sqlalchemy.exc import SQLAlchemyError

    from bot.options import build_options
    from handlers import spreadsheet
    from reports.rules.templates import TemplateError, load_templates
    from storage.db import Database, describe_db_error

    try:
        tz = settings.tz
        period = _period(args.first, args.last, dt.datetime.now(tz).date())
        try:
            templates = load_templates(settings.templates_dir)
        except TemplateError as exc:
            raise _Problem(str(exc)) from None
        language = args.lang or settings.default_language
        path = _destination(args.out, period.file_name(args.format))

        db = Database(settings.db_url, pool_size=2)
        try:
            await db.ping()
            async with db.sessions() as session:
                rows = await spreadsheet.collect(
                    session,
                    period,
                    tz=tz,
                    defaults=build_options(settings).pricing,
                    templates=templates,
                    language=language,
                )
        except SQLAlchemyError as exc:
            raise _Problem(
                f"could not read the interventions: {describe_db_error(db.url, exc)}"
            ) from None
        finally:
            await db.close()

        data = spreadsheet.render(rows, args.format, language=language, tz=tz)
        try:
            path.write_bytes(data)
        except OSError as exc:
            raise _Problem(f"cannot write {path}: {exc.strerror or exc}") from None
    except _Problem as problem:
        print(f"terrain: {problem}", file=sys.stderr)
        return EXIT_PROBLEM
    print(
        f"{len(rows)} intervention{'s' if len(rows) != 1 else ''} "
        f"from {period.first:%d/%m/%Y} to {period.last:%d/%m/%Y} written to {path.resolve()}"
    )
    return 0
