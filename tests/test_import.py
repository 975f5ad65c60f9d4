"""`python -m bot import interventions FILE.csv`: all the file's rows planned, or none."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot import import_command
from bot.config import Settings
from storage.db import Database
from storage.models import Client, Counter, Intervention, Site, StatusChange, User
from tests.conftest import plan_job

HEADER = "client;contact;phone;email;address;site;type;scheduled;technician;request"
GOOD = [
    HEADER,
    "boulangerie martin;;;;;Fournil;maintenance;22/11/2026 14h30;paul;Four à contrôler",
    "Café Élysée;Mme Dubois;01 02 03 04 05;cafe@example.fr;3 place de l'Église;;repair;"
    "23/11/2026 9h;20;Machine à café en panne",
    'Café Élysée;;;;;;Installation;2026-11-24 08:00;;"Pose d\'un ""adoucisseur""; ici"',
]


def cli_args(path: Path) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    import_command.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["import", "interventions", str(path)])


def cli_settings(database: Database, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token="1:unused",
        database_url=database.url,
        data_dir=tmp_path / "data",
        timezone="Europe/Paris",
        default_language="fr",
    )


def write(tmp_path: Path, lines: list[str], *, bom: bool = False, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + "\r\n".join(lines).encode("utf-8"))
    return path


async def counts(db: Database) -> tuple[int, ...]:
    async with db.sessions() as session:
        return tuple(
            [
                int(await session.scalar(select(func.count()).select_from(table)) or 0)
                for table in (Intervention, Client, Site, StatusChange)
            ]
            + [int(await session.scalar(select(func.sum(Counter.value))) or 0)]
        )


async def imported(db: Database, after: int) -> list[Intervention]:
    async with db.sessions() as session:
        query = select(Intervention).where(Intervention.id > after).order_by(Intervention.id)
        return list((await session.scalars(query)).all())


async def test_a_good_file_plans_every_row_and_prints_the_numbers(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = await plan_job(database)  # Boulangerie Martin, technician Paul (id 20)
    path = write(tmp_path, GOOD, bom=True)

    assert await import_command.run(cli_settings(database, tmp_path), cli_args(path)) == 0

    jobs = await imported(database, existing.id)
    numbers = [job.number for job in jobs]
    assert capsys.readouterr().out.strip() == f"3 interventions planned: {', '.join(numbers)}"
    assert len(set(numbers)) == 3
    martin, repair, install = jobs
    assert martin.client_id == existing.client_id  # matched by name, case ignored
    assert (martin.template, martin.kind, martin.request) == (
        "maintenance",
        "maintenance",
        "Four à contrôler",
    )
    assert martin.scheduled_at == dt.datetime(2026, 11, 22, 13, 30, tzinfo=dt.UTC)  # 14h30 Paris
    assert repair.client_id == install.client_id != existing.client_id
    assert install.template == "installation" and install.technician_id is None
    assert install.request == 'Pose d\'un "adoucisseur"; ici'
    async with database.sessions() as session:
        paul = await session.scalar(select(User).where(User.telegram_id == 20))
        cafe = await session.get(Client, repair.client_id)
        site = await session.get(Site, martin.site_id or 0)
        trail = await session.scalar(
            select(func.count()).where(StatusChange.intervention_id == install.id)
        )
    assert paul is not None and martin.technician_id == repair.technician_id == paul.id
    assert cafe is not None and (cafe.name, cafe.contact_name, cafe.email) == (
        "Café Élysée",
        "Mme Dubois",
        "cafe@example.fr",
    )
    assert site is not None and site.name == "Fournil" and site.client_id == existing.client_id
    assert trail == 1 and all(job.status == "planned" for job in jobs)


async def test_commas_without_bom_are_read_too(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await plan_job(database)
    lines = [
        "Client, Type, Scheduled, Technician",
        'Hôtel du Parc,repair,"1/12/2026 à 10h",Paul',
        "",
        "Hôtel du Parc,inspection,02/12/2026 11:00,",
    ]
    path = write(tmp_path, lines, name="virgules.csv")
    assert await import_command.run(cli_settings(database, tmp_path), cli_args(path)) == 0
    assert capsys.readouterr().out.startswith("2 interventions planned: ")
    async with database.sessions() as session:
        hotels = (await session.scalars(select(Client).where(Client.name == "Hôtel du Parc"))).all()
    assert len(hotels) == 1


async def test_a_bad_file_names_each_line_and_writes_nothing(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await plan_job(database)
    before = await counts(database)
    bad = [
        HEADER,
        "Nouveau client;;;;;;repair;22/11/2026 10h;Paul;",
        "Boulangerie Martin;;;;;;repair;32/11/2026 10h;Paul;",
        "Boulangerie Martin;;;;;;repair;23/11/2026 10h;Marcel;",
    ]
    for separator in (";", ","):
        lines = [line.replace(";", separator) for line in bad]
        path = write(tmp_path, lines, bom=separator == ";")
        assert await import_command.run(cli_settings(database, tmp_path), cli_args(path)) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        err = captured.err.splitlines()
        assert err == [
            f"terrain: {path}: line 3: scheduled '32/11/2026 10h' is not a date and time, "
            "e.g. 22/11/2026 14h30",
            f"terrain: {path}: line 4: no active technician has the Telegram id or name 'Marcel'",
            f"terrain: nothing was imported from {path}",
        ]
        assert await counts(database) == before


async def test_a_wrong_header_or_encoding_is_named_and_ends_with_status_2(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = cli_settings(database, tmp_path)
    path = write(tmp_path, ["client;type;date", "A;repair;22/11/2026 10h"])
    assert await import_command.run(settings, cli_args(path)) == 2
    assert "line 1: unknown column 'date'" in capsys.readouterr().err
    path = write(tmp_path, ["client;type", "A;repair"])
    assert await import_command.run(settings, cli_args(path)) == 2
    assert "line 1: missing column scheduled" in capsys.readouterr().err
    path = tmp_path / "latin1.csv"
    path.write_bytes("client;type;scheduled\nCafé;repair;22/11/2026 10h\n".encode("latin-1"))
    assert await import_command.run(settings, cli_args(path)) == 2
    assert "is not UTF-8" in capsys.readouterr().err
    assert await import_command.run(settings, cli_args(tmp_path / "absent.csv")) == 2
    assert "cannot read" in capsys.readouterr().err
    assert await counts(database) == (0, 0, 0, 0, 0)
