"""Shared fixtures: a migrated database (SQLite always, PostgreSQL when
TEST_DATABASE_URL is set), a working folder without Terrain's settings, a harness
that feeds updates to the real Dispatcher and the helpers that go with it, and the
fake Bot API with a deployment of `python -m bot` for the end-to-end tests. Helpers
that need none of these are in tests/helpers.py."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiogram import Dispatcher
from sqlalchemy import make_url, select, text, update
from sqlalchemy.ext.asyncio import create_async_engine

from bot import middlewares
from bot.app import build_dispatcher
from bot.config import Settings
from bot.ingest import Ingest
from bot.ratelimit import RateLimiter
from bot.replies import background_calls_done
from bot.sender import OutboxSender
from handlers.context import Options
from reports.rules.templates import Template, _parse, load_templates
from storage import interventions, migrate, outbox, users
from storage.db import Database
from storage.files import FileStore
from storage.models import Base, Client, Delivery, DeliveryState, Intervention, Role
from tests.fakeapi import FakeBotAPI
from tests.mocked import Call, Person, RecordingSession, Updates, button, recording_bot
from tests.test_e2e import Deployment

ADMIN = Person(1, "Alice", "alice_admin", "fr")
#: The Bot API calls that set a chat's menu.
MENU_CALLS = frozenset({"setMyCommands", "deleteMyCommands"})
OFFICE_CHAT = -100500

BACKENDS = ["sqlite"]
if os.environ.get("TEST_DATABASE_URL"):
    BACKENDS.append("postgresql")

_dispatcher: Dispatcher | None = None
_postgres_migrated = False


def postgres_url() -> str:
    return os.environ["TEST_DATABASE_URL"]


def pytest_configure(config: pytest.Config) -> None:
    """Tests run in parallel processes (pytest-xdist) each empty the PostgreSQL database
    as they go: each process gets a database of its own beside TEST_DATABASE_URL's
    (`test_gw0`, `test_gw1`...), created the first time."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    base = os.environ.get("TEST_DATABASE_URL")
    if not worker or not base:
        return
    url = make_url(base)
    own = url.set(database=f"{url.database}_{worker}")

    async def create() -> None:
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                found = await connection.scalar(
                    text("SELECT 1 FROM pg_database WHERE datname = :name"),
                    {"name": own.database},
                )
                if not found:
                    await connection.execute(text(f'CREATE DATABASE "{own.database}"'))
        finally:
            await engine.dispose()

    asyncio.run(create())
    os.environ["TEST_DATABASE_URL"] = own.render_as_string(hide_password=False)


async def reset_postgres(db: Database) -> None:
    """Empty every table (the schema is migrated once per test run)."""
    global _postgres_migrated
    if not _postgres_migrated:
        async with db.engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await migrate.upgrade(db.engine)
        _postgres_migrated = True
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    async with db.engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'terrain.sqlite3'}")
        await migrate.upgrade(db.engine)
    else:
        db = Database(postgres_url())
        await reset_postgres(db)
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty working folder and no Terrain setting in the environment."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def shared_dispatcher() -> Dispatcher:
    """One Dispatcher for the whole run (routers can be attached only once)."""
    global _dispatcher
    if _dispatcher is None:
        _dispatcher = build_dispatcher()
    return _dispatcher


def test_options(**overrides: Any) -> Options:
    values: dict[str, Any] = {
        "admin_ids": frozenset({ADMIN.id}),
        "office_chat_id": OFFICE_CHAT,
        "tz": ZoneInfo("Europe/Paris"),
        "invite_valid_for": dt.timedelta(days=7),
        "default_language": "fr",
    }
    values.update(overrides)
    return Options(**values)


class Harness:
    """Sends updates through store-then-handle, as the running bot does, and
    returns the Bot API calls each one caused."""

    def __init__(
        self,
        db: Database,
        files: FileStore,
        options: Options,
        templates: dict[str, Template] | None = None,
    ) -> None:
        self.db = db
        self.templates = templates if templates is not None else load_templates()
        self.files = files
        self.options = options
        self.limiter = RateLimiter(
            per_chat_interval=0, group_per_minute=10_000, total_per_second=10_000
        )
        self.bot, self.session = recording_bot(self.limiter)
        self.updates = Updates()
        self.sender = OutboxSender(
            self.bot,
            db,
            files,
            limiter=self.limiter,
            office_chat_id=options.office_chat_id,
        )
        #: What the units of work of the updates fed so far committed to the outbox.
        self.committed: list[Delivery] = []
        self.ingest = Ingest(
            self.bot,
            shared_dispatcher(),
            db,
            after_commit=self.committed.extend,
            handler_kwargs={"options": options, "files": files, "templates": self.templates},
        )

    @property
    def calls(self) -> RecordingSession:
        return self.session

    async def feed(self, *payloads: dict[str, Any]) -> list[Call]:
        """Store and handle updates, then send their replies as the running bot does
        right after each commit; the calls that made (the outbox's other deliveries,
        notices to the office and such, wait for `deliver`)."""
        before = len(self.session.calls)
        self.committed.clear()
        await self.ingest.store(list(payloads))
        await self.ingest.wait_idle()
        await background_calls_done()
        replies = [d for d in self.committed if d.kind == "call"]
        self.committed.clear()
        await self.sender.send_now(replies)
        return self.session.calls[before:]

    async def say(self, person: Person, text: str, **extra: Any) -> list[Call]:
        return await self.feed(self.updates.message(person, text, **extra))

    async def press(self, person: Person, on: Call, data: str) -> list[Call]:
        return await self.feed(self.updates.press(person, on, data))

    async def deliver(self, *, now: bool = False, menus: bool = False) -> list[Call]:
        """Send everything the outbox holds that is due (with now=True, also what waits
        to be merged, such as a photo confirmation); the calls that made, but those
        setting chat menus unless `menus` (what a menu shows: `calls.menu_seen`)."""
        if now:
            async with self.db.transaction() as session:
                past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
                await session.execute(
                    update(Delivery)
                    .where(Delivery.state == DeliveryState.PENDING)
                    .values(next_attempt_at=past)
                )
        before = len(self.session.calls)
        while await self.sender.send_due() == 0.0:
            pass
        made = self.session.calls[before:]
        return made if menus else [call for call in made if call.method not in MENU_CALLS]


@pytest.fixture
async def harness(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Harness]:
    # "typing…" is shown when an answer takes over a second, which a loaded machine
    # makes of any answer: the tests that look for it bring the delay down themselves.
    monkeypatch.setattr(middlewares, "TYPING_AFTER", 3600.0)
    files = FileStore(tmp_path / "data")
    harness = Harness(database, files, test_options())
    try:
        yield harness
    finally:
        await harness.bot.session.close()


def texts(calls: list[Call], method: str = "sendMessage") -> list[str]:
    return [call.text for call in calls if call.method == method]


async def register(harness: Harness, person: Person, role: Role) -> None:
    async with harness.db.transaction() as session:
        await users.add(session, person.id, person.first_name, role)


async def deliveries(harness: Harness, *, menus: bool = False) -> list[Delivery]:
    """Every delivery written so far, in order; those setting a chat's menu (which
    registering someone queues) only with `menus`."""
    query = select(Delivery).order_by(Delivery.id)
    if not menus:
        query = query.where(Delivery.kind != outbox.MENU)
    async with harness.db.sessions() as session:
        return list((await session.scalars(query)).all())


async def make_due(harness: Harness, *, resume_email: bool = False) -> None:
    """Pretend the waiting time of every pending delivery has passed (with
    resume_email, also the pause of email after the mail server failed)."""
    async with harness.db.transaction() as session:
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        await session.execute(update(Delivery).values(next_attempt_at=past))
    if resume_email:
        harness.sender.email_paused_until = 0.0


TECHNICIAN = Person(20, "Paul", "paul_tech", "fr")


@dataclass
class Job:
    """A planned intervention assigned to TECHNICIAN, for wizard tests."""

    id: int
    number: str
    client_id: int


async def plan_job(
    db: Database,
    *,
    template: str = "maintenance",
    technician: Person = TECHNICIAN,
    client_name: str = "Boulangerie Martin",
    scheduled: dt.datetime | None = None,
) -> Job:
    """Register the technician (if needed), a client and a planned intervention."""
    async with db.transaction() as session:
        person = await users.by_telegram_id(session, technician.id)
        if person is None:
            person = await users.add(session, technician.id, technician.first_name, Role.TECHNICIAN)
        client = Client(
            name=client_name,
            contact_name="Mme Martin",
            phone="01 23 45 67 89",
            address="12 rue de la Paix, 75002 Paris",
        )
        session.add(client)
        await session.flush()
        made = await interventions.create(
            session,
            year=2026,
            client_id=client.id,
            kind=template,
            template=template,
            technician=person,
            scheduled_at=scheduled or dt.datetime.now(dt.UTC),
            request="La chaudière fait un bruit anormal.",
        )
        return Job(made.id, made.number, client.id)


async def start_job(harness: Harness, job: Job, technician: Person = TECHNICIAN) -> list[Call]:
    """/today, open the intervention, press Start: the calls of the last press."""
    listing = (await harness.say(technician, "/today"))[0]
    card = (await harness.press(technician, listing, button(listing, job.number)))[-1]
    return await harness.press(technician, card, button(card, "Commencer"))


async def load_job(db: Database, job: Job) -> Intervention:
    async with db.sessions() as session:
        found = await interventions.get(session, job.id)
        assert found is not None
        await interventions.load(found, *interventions.COLLECTIONS)
    return found


def scratch(job: Intervention) -> dict[str, Any]:
    """Where the wizard stands within the step (`wizard_data`), without which message
    asks the current question."""
    return {key: value for key, value in (job.wizard_data or {}).items() if key != "asked"}


#: A short report: text sections, photos, results, times and pricing (no checklist or parts).
SHORT = """
kind = "repair"
title = { fr = "Dépannage court", en = "Short repair" }
labour_rate = "60"
[sections]
context = "required"
work_done = "optional"
photos = "required"
results = "required"
remarks = "optional"
times = "required"
pricing = "required"
"""


def with_short(harness: Harness) -> Harness:
    """`harness` with the SHORT template available as "short"."""
    templates = load_templates()
    templates["short"] = _parse("short", tomllib.loads(SHORT), "short.toml")
    harness.templates.clear()
    harness.templates.update(templates)
    return harness


@pytest.fixture
def short(harness: Harness) -> Harness:
    """The harness with the SHORT template available as "short"."""
    return with_short(harness)


# The fake Bot API and `python -m bot` against it ------------------------------------


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
def deployment_env() -> dict[str, str]:
    """Settings the deployments of a module add to the default environment; a module
    overrides this fixture to give its own (an office chat, templates, SMTP)."""
    return {}


@pytest.fixture
async def deployment(
    api: FakeBotAPI, tmp_path: Path, deployment_env: dict[str, str]
) -> AsyncIterator[Deployment]:
    here = Deployment(api, tmp_path)
    here.env.update(deployment_env)  # the bot process shares this dict
    try:
        yield here
    finally:
        await here.bot.stop()  # whatever happened, the bot does not outlive its test
