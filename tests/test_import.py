"""`python -m bot import interventions FILE.csv`: all the file's rows planned, or none."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot import import_command
from storage import outbox, users
from storage.db import Database
from storage.models import (
    Client,
    Counter,
    Delivery,
    Intervention,
    Role,
    Site,
    StatusChange,
    User,
)
from tests.conftest import OFFICE_CHAT, TECHNICIAN, Harness, plan_job
from tests.helpers import cli_settings
from tests.mocked import Person, button

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
    assert capsys.readouterr().out.splitlines() == [
        f"line 2: planned {numbers[0]} (Boulangerie Martin, maintenance, 22/11/2026 14:30, Paul)",
        f"line 3: planned {numbers[1]} (Café Élysée, repair, 23/11/2026 09:00, Paul)",
        f"line 4: planned {numbers[2]} (Café Élysée, installation, 24/11/2026 08:00, "
        "no technician)",
        f"3 interventions planned: {', '.join(numbers)}",
        "messages queued for Paul: the bot sends them as soon as it runs",
    ]
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
    assert "2 interventions planned: " in capsys.readouterr().out
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


ZOE = Person(21, "Zoé", "zoe_tech", "en")


async def test_technicians_and_the_office_are_told_as_plan_tells_them(
    harness: Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each assigned technician gets /plan's message in their language with an Open
    button, and the office group one summary; all through the outbox."""
    await plan_job(harness.db)  # registers Paul (French)
    async with harness.db.transaction() as session:
        await users.add(session, ZOE.id, "Zoé", Role.TECHNICIAN, language="en")
    path = write(
        tmp_path,
        [
            "client;type;scheduled;technician;address",
            "Garage Dupont;repair;22/11/2026 14h30;Paul;5 rue du Port, 69007 Lyon",
            "Garage Dupont;maintenance;23/11/2026 9h;Zoé;",
            "Hôtel du Parc;inspection;24/11/2026 8h;;",
        ],
    )
    settings = cli_settings(harness.db, tmp_path, office_chat_id=OFFICE_CHAT)
    assert await import_command.run(settings, cli_args(path)) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == (
        "messages queued for Paul, Zoé and the office group: the bot sends them as soon as it runs"
    )
    async with harness.db.sessions() as session:
        repair, maintenance, inspection = (
            await session.scalars(
                select(Intervention).order_by(Intervention.id).where(Intervention.id > 1)
            )
        ).all()
        queued = (await session.scalars(select(Delivery).order_by(Delivery.id))).all()
    # Registering them queued their menus too; the import's messages name their work.
    told = [d for d in queued if d.chat_id in (TECHNICIAN.id, ZOE.id) and d.kind != outbox.MENU]
    assert {d.intervention_id for d in told} == {repair.id, maintenance.id}

    sent = await harness.deliver()
    to_paul = [call for call in sent if call.chat_id == TECHNICIAN.id]
    to_zoe = [call for call in sent if call.chat_id == ZOE.id]
    to_office = [call for call in sent if call.chat_id == OFFICE_CHAT]
    assert [call.text for call in to_paul] == [
        f"🆕 Nouvelle intervention <b>{repair.number}</b> le 22/11/2026 14:30 chez "
        "Garage Dupont (5 rue du Port, 69007 Lyon)."
    ]
    assert [call.text for call in to_zoe] == [
        f"🆕 New intervention <b>{maintenance.number}</b> on 23/11/2026 09:00 at "
        "Garage Dupont (5 rue du Port, 69007 Lyon)."
    ]
    assert [call.text for call in to_office] == [
        "📥 <b>3 interventions planifiées</b> par import (in.csv) :\n"
        f"• <b>{repair.number}</b> le 22/11/2026 14:30 · Garage Dupont · Paul\n"
        f"• <b>{maintenance.number}</b> le 23/11/2026 09:00 · Garage Dupont · Zoé\n"
        f"• <b>{inspection.number}</b> le 24/11/2026 08:00 · Hôtel du Parc · sans technicien"
    ]
    assert len(sent) == 3
    card = (await harness.press(TECHNICIAN, to_paul[0], button(to_paul[0], "Ouvrir")))[-1]
    assert repair.number in card.text and "Garage Dupont" in card.text
    card = (await harness.press(ZOE, to_zoe[0], button(to_zoe[0], "Open")))[-1]
    assert maintenance.number in card.text


async def test_a_long_import_is_one_office_message_that_says_how_many_more(
    harness: Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = ["client;type;scheduled"] + [
        f"Client numéro {n:03d} au nom assez long pour remplir;repair;{1 + n % 28}/12/2026 "
        f"{8 + n % 10}h"
        for n in range(120)
    ]
    settings = cli_settings(harness.db, tmp_path, office_chat_id=OFFICE_CHAT)
    assert await import_command.run(settings, cli_args(write(tmp_path, lines))) == 0
    capsys.readouterr()
    (summary,) = [call.text for call in await harness.deliver() if call.chat_id == OFFICE_CHAT]
    assert len(summary) < 4096 and summary.startswith("📥 <b>120 interventions planifiées</b>")
    listed = summary.count("\n• ")
    assert 20 < listed < 120
    assert summary.endswith(f"… et {120 - listed} autres : /today et /find les montrent.")


REFERENCED = [
    "reference;client;type;scheduled;technician",
    "BC-101;Boulangerie Martin;maintenance;22/11/2026 14h30;Paul",
    "BC-102;Café Élysée;repair;23/11/2026 9h;",
]


async def test_importing_a_file_with_references_twice_plans_nothing_twice(
    harness: Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await plan_job(harness.db)
    settings = cli_settings(harness.db, tmp_path, office_chat_id=OFFICE_CHAT)
    path = write(tmp_path, REFERENCED)
    assert await import_command.run(settings, cli_args(path)) == 0
    capsys.readouterr()
    first = await imported(harness.db, 1)
    assert [job.reference for job in first] == ["BC-101", "BC-102"]
    await harness.deliver()
    before = await counts(harness.db)

    again = write(tmp_path, [*REFERENCED, "BC-103;Café Élysée;repair;24/11/2026 9h;"])
    assert await import_command.run(settings, cli_args(again)) == 0
    third = (await imported(harness.db, first[-1].id))[0]
    assert capsys.readouterr().out.splitlines() == [
        f"line 2: skipped, reference 'BC-101' is already planned as {first[0].number}",
        f"line 3: skipped, reference 'BC-102' is already planned as {first[1].number}",
        f"line 4: planned {third.number} (Café Élysée, repair, 24/11/2026 09:00, no technician)",
        f"1 intervention planned: {third.number}; 2 lines skipped (already planned)",
        "messages queued for the office group: the bot sends them as soon as it runs",
    ]
    assert await counts(harness.db) != before
    sent = await harness.deliver()
    assert [call.chat_id for call in sent] == [OFFICE_CHAT]  # Paul is not told twice
    assert third.number in sent[0].text and first[0].number not in sent[0].text


async def test_without_references_the_same_client_type_and_time_is_already_planned(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await plan_job(database)
    settings = cli_settings(database, tmp_path)
    path = write(tmp_path, GOOD)
    assert await import_command.run(settings, cli_args(path)) == 0
    capsys.readouterr()
    first = await imported(database, 1)
    before = await counts(database)
    async with database.transaction() as session:
        cancelled = await session.get(Intervention, first[1].id)
        assert cancelled is not None
        cancelled.status = "cancelled"

    assert await import_command.run(settings, cli_args(path)) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"line 2: skipped, already planned as {first[0].number} (same client, type and time)",
        f"line 3: skipped, already planned as {first[1].number}, now cancelled "
        "(same client, type and time)",
        f"line 4: skipped, already planned as {first[2].number} (same client, type and time)",
        "0 interventions planned; 3 lines skipped (already planned)",
    ]
    assert await counts(database) == before

    # Once without references, then with them: still the same interventions.
    referenced = write(
        tmp_path, ["reference;" + GOOD[0]] + [f"R{n};{line}" for n, line in enumerate(GOOD[1:])]
    )
    assert await import_command.run(settings, cli_args(referenced)) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "0 interventions planned; 3 lines skipped (already planned)"
    )
    assert await counts(database) == before


async def test_a_line_repeating_another_is_skipped_and_a_repeated_reference_refused(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = cli_settings(database, tmp_path)
    twice = ["client;type;scheduled", *["Hôtel du Parc;repair;1/12/2026 10h"] * 2]
    assert await import_command.run(settings, cli_args(write(tmp_path, twice))) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == (
        "line 3: skipped, same client, type and time as line 2 "
        "(give each line a reference to plan both)"
    )
    assert out[2].startswith("1 intervention planned: ")

    before = await counts(database)
    path = write(
        tmp_path,
        [
            "reference;client;type;scheduled",
            "A1;Hôtel du Parc;repair;2/12/2026 10h",
            "A1;Hôtel du Parc;repair;3/12/2026 10h",
        ],
    )
    assert await import_command.run(settings, cli_args(path)) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"terrain: {path}: line 3: reference 'A1' is also on line 2 "
        "(a reference names one intervention)",
        f"terrain: nothing was imported from {path}",
    ]
    assert await counts(database) == before
