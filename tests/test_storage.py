"""The data layer: statuses, numbering, timestamps, files and migrations, on each database."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from decimal import Decimal
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import Connection

from storage import interventions, migrate
from storage.db import Database
from storage.files import FileStore
from storage.models import Base, Client, Intervention, Part, StatusChange, User
from storage.status import ALLOWED, InvalidTransition, Status, can_move


def test_the_field_statuses_and_their_moves() -> None:
    assert set(ALLOWED) == set(Status)
    assert can_move(Status.PLANNED, Status.IN_PROGRESS)
    assert can_move(Status.AWAITING_VALIDATION, Status.RETURNED)
    assert can_move(Status.RETURNED, Status.AWAITING_VALIDATION)
    assert not can_move(Status.PLANNED, Status.VALIDATED)
    assert not can_move(Status.VALIDATED, Status.IN_PROGRESS)
    assert not any(can_move(Status.CANCELLED, target) for target in Status)
    for writing in (Status.IN_PROGRESS, Status.RETURNED):
        assert can_move(writing, Status.AWAITING_CLIENT)
        assert can_move(Status.AWAITING_CLIENT, writing)
    assert ALLOWED[Status.AWAITING_CLIENT] == {
        Status.IN_PROGRESS,
        Status.RETURNED,
        Status.CANCELLED,
    }, "the client's answer is checked by the technician's report, then the office's"


async def new_client(database: Database, name: str = "Boulangerie Martin") -> int:
    async with database.transaction() as session:
        client = Client(name=name, address="12 rue de la Paix, 75002 Paris")
        session.add(client)
        await session.flush()
        return client.id


async def test_numbers_follow_each_other_within_a_year_and_restart_the_next(
    database: Database,
) -> None:
    client_id = await new_client(database)
    async with database.transaction() as session:
        made = [
            await interventions.create(
                session, year=year, client_id=client_id, kind="repair", template="repair"
            )
            for year in (2026, 2026, 2026, 2027)
        ]
    assert [i.number for i in made] == [
        "OT-2026-0001",
        "OT-2026-0002",
        "OT-2026-0003",
        "OT-2027-0001",
    ]


async def test_interventions_created_at_the_same_time_never_share_a_number(
    database: Database,
) -> None:
    client_id = await new_client(database)

    async def create_one() -> str:
        async with database.transaction() as session:
            await session.scalar(select(func.count()).select_from(Intervention))
            await asyncio.sleep(random.uniform(0, 0.02))  # a reply on the way, say
            made = await interventions.create(
                session, year=2026, client_id=client_id, kind="maintenance", template="x"
            )
            await asyncio.sleep(random.uniform(0, 0.02))
            return made.number

    numbers = await asyncio.gather(*(create_one() for _ in range(30)))
    assert sorted(numbers) == [f"OT-2026-{n:04d}" for n in range(1, 31)]


async def test_a_status_change_is_checked_and_kept_in_the_audit_trail(
    database: Database,
) -> None:
    client_id = await new_client(database)
    async with database.transaction() as session:
        tech = User(telegram_id=20, name="Paul", role="technician")
        session.add(tech)
        await session.flush()
        job = await interventions.create(
            session, year=2026, client_id=client_id, kind="repair", template="repair"
        )
        await interventions.change_status(session, job, Status.IN_PROGRESS, tech)
        await interventions.change_status(
            session, job, Status.POSTPONED, tech, note="pièce manquante"
        )
        with pytest.raises(InvalidTransition):
            await interventions.change_status(session, job, Status.VALIDATED, tech)
        job_id = job.id
    async with database.sessions() as session:
        trail = (
            await session.scalars(
                select(StatusChange)
                .where(StatusChange.intervention_id == job_id)
                .order_by(StatusChange.id)
            )
        ).all()
        current = await session.get(Intervention, job_id)
    assert [(c.from_status, c.to_status) for c in trail] == [
        (None, "planned"),
        ("planned", "in_progress"),
        ("in_progress", "postponed"),
    ]
    assert trail[-1].note == "pièce manquante" and trail[-1].user_id is not None
    assert current is not None and current.status == Status.POSTPONED


async def test_times_come_back_in_utc_and_money_as_decimal(database: Database) -> None:
    client_id = await new_client(database)
    paris = dt.timezone(dt.timedelta(hours=1))
    moment = dt.datetime(2026, 11, 22, 14, 30, tzinfo=paris)
    async with database.transaction() as session:
        job = await interventions.create(
            session,
            year=2026,
            client_id=client_id,
            kind="repair",
            template="repair",
            scheduled_at=moment,
        )
        session.add(
            Part(
                intervention_id=job.id,
                position=1,
                designation="Joint torique 12 mm",
                quantity=Decimal("2.5"),
                unit_price=Decimal("1234.56"),
            )
        )
        job_id = job.id
    async with database.sessions() as session:
        job = await session.get(Intervention, job_id)
        part = await session.scalar(select(Part))
    assert job is not None and job.scheduled_at == moment
    assert job.scheduled_at is not None and job.scheduled_at.utcoffset() == dt.timedelta(0)
    assert part is not None and part.unit_price == Decimal("1234.56")
    assert part.quantity == Decimal("2.5")


def test_stored_files_get_generated_names_and_stay_inside_the_data_folder(
    tmp_path: Path,
) -> None:
    store = FileStore(tmp_path)
    first = store.save("photos", b"jpeg bytes", ".JPG")
    second = store.save("photos", b"jpeg bytes", "../../etc/passwd")
    assert first.path.startswith("photos/") and first.path.endswith(".jpg")
    assert second.path.endswith(".bin") and first.path != second.path
    assert store.read(first.path) == b"jpeg bytes" and first.size == 10
    assert len(first.sha256) == 64
    with pytest.raises(ValueError):
        store.absolute("../outside.txt")
    assert not list(tmp_path.rglob("*.part"))


def _schema_differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_upgrade_downgrade_and_upgrade_again(database: Database) -> None:
    head = migrate.head_revision()
    assert await migrate.current_revision(database.engine) == head
    await migrate.downgrade(database.engine, "base")
    assert await migrate.current_revision(database.engine) is None
    async with database.engine.connect() as connection:
        tables = await connection.run_sync(
            lambda sync: sync.dialect.get_table_names(sync)  # type: ignore[no-any-return]
        )
    assert set(tables) <= {"alembic_version"}
    await migrate.upgrade(database.engine)
    assert await migrate.current_revision(database.engine) == head
    async with database.engine.connect() as connection:
        differences = await connection.run_sync(_schema_differences)
    assert differences == [], "the models and the migrations disagree"


def _revisions_oldest_first() -> list[tuple[str, str]]:
    """(revision, the one below it or "base") for every migration, oldest first."""
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    steps = []
    for script in reversed(list(scripts.walk_revisions("base", "heads"))):
        below = script.down_revision
        assert below is None or isinstance(below, str), f"{script.revision} merges {below}"
        steps.append((script.revision, below or "base"))
    return steps


def _schema(connection: Connection) -> dict[str, object]:
    """What a migration may change: tables, their columns, keys, indexes and constraints
    (and PostgreSQL's enum types)."""
    inspector = inspect(connection)
    columns = inspector.get_multi_columns()
    keys = inspector.get_multi_pk_constraint()
    foreign = inspector.get_multi_foreign_keys()
    unique = inspector.get_multi_unique_constraints()
    indexes = inspector.get_multi_indexes()
    shape: dict[str, object] = {
        str(table): (
            [(c["name"], str(c["type"]), c["nullable"]) for c in columns[(schema, table)]],
            keys[(schema, table)]["constrained_columns"],
            sorted(
                (f["name"], f["constrained_columns"], f["referred_table"])
                for f in foreign[(schema, table)]
            ),
            sorted((u["name"], u["column_names"]) for u in unique[(schema, table)]),
            sorted((i["name"], i["column_names"], i["unique"]) for i in indexes[(schema, table)]),
        )
        for schema, table in columns
    }
    if connection.dialect.name == "postgresql":
        shape["enum types"] = sorted(e["name"] for e in inspector.get_enums())  # type: ignore[attr-defined]
    return shape


async def test_every_migration_downgrades_and_upgrades_again_one_step_at_a_time(
    database: Database,
) -> None:
    """The stairway: from an empty database, each revision in order is upgraded to,
    downgraded one step and upgraded to again. A downgrade that fails, or leaves
    behind a table, column, index or type that the next upgrade trips over, fails
    here at its own revision."""

    async def schema() -> dict[str, object]:
        async with database.engine.connect() as connection:
            return await connection.run_sync(_schema)

    await migrate.downgrade(database.engine, "base")
    steps = _revisions_oldest_first()
    assert steps and steps[-1][0] == migrate.head_revision()
    before = await schema()
    for revision, below in steps:
        await migrate.upgrade(database.engine, revision)
        upgraded = await schema()
        await migrate.downgrade(database.engine, below)
        assert await migrate.current_revision(database.engine) == (
            None if below == "base" else below
        )
        assert await schema() == before, f"the downgrade of {revision} did not undo its upgrade"
        await migrate.upgrade(database.engine, revision)
        assert await migrate.current_revision(database.engine) == revision
        before = await schema()
        assert before == upgraded, f"{revision} upgraded again is not what it was"


async def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}")
    try:
        async with database.engine.connect() as connection:
            mode = await connection.scalar(text("PRAGMA journal_mode"))
            timeout = await connection.scalar(text("PRAGMA busy_timeout"))
            foreign = await connection.scalar(text("PRAGMA foreign_keys"))
    finally:
        await database.close()
    assert mode == "wal" and timeout == 30_000 and foreign == 1
