"""The web face in this process (aiohttp's test server): /healthz when the database
cannot be reached, and the pages. The rest runs through `python -m bot` in
tests/test_e2e_web.py."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiogram import Dispatcher
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.exc import OperationalError

from bot.app import build_bot, build_options
from bot.config import Settings
from bot.ingest import Ingest
from bot.web import CONTEXT, WebContext, build_app
from bot.web.health import examine
from bot.web.webhook import PATH, SECRET, SECRET_HEADER
from storage import inbox, outbox
from storage.db import Database
from storage.files import FileStore
from storage.models import utcnow
from tests.mocked import Person, Updates


def web_settings(tmp_path: Path, **changes: object) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token="123456:TEST-token",
        data_dir=tmp_path / "data",
        public_url="http://127.0.0.1:8080",
        **changes,  # type: ignore[arg-type]
    )


@contextlib.asynccontextmanager
async def web_client(settings: Settings, db: Database) -> AsyncIterator[TestClient]:
    bot = build_bot(settings)
    context = WebContext(
        settings=settings,
        db=db,
        bot=bot,
        options=build_options(settings),
        files=FileStore(settings.data_dir),
        templates={},
        ingest=Ingest(bot, Dispatcher(), db),
        after_commit=lambda deliveries: None,
    )
    async with TestClient(TestServer(build_app(context))) as client:
        yield client
    await bot.session.close()


UNREACHABLE = {
    # Nothing listens on port 1: the connection is refused at once.
    "postgresql": "postgresql+asyncpg://terrain@127.0.0.1:1/terrain",
    # A folder where the database file should be.
    "sqlite": "sqlite+aiosqlite:///{tmp}",
}


@pytest.mark.parametrize("backend", sorted(UNREACHABLE))
async def test_healthz_is_503_when_the_database_cannot_be_reached(
    tmp_path: Path, backend: str
) -> None:
    db = Database(UNREACHABLE[backend].format(tmp=tmp_path))
    try:
        async with web_client(web_settings(tmp_path), db) as client:
            response = await client.get("/healthz")
            report = await response.json()
    finally:
        await db.close()
    assert response.status == 503
    assert response.headers["Cache-Control"] == "no-store"
    assert report == {
        "healthy": False,
        "problems": ["the database cannot be reached"],
        "database": "unreachable",
        "updates": "polling",
        "updates_waiting": None,
        "deliveries_waiting": None,
        "oldest_delivery_waiting_seconds": None,
        "last_update_received": None,
    }
    print(f"\n/healthz with the {backend} database unreachable: {response.status} {report}")


async def test_a_delivery_held_back_on_purpose_does_not_make_the_bot_unhealthy(
    database: Database,
) -> None:
    """An album's confirmation or a rating's notice waits on purpose, never tried:
    counted as waiting, but its age counts only once it is due."""
    now = utcnow()
    limit = dt.timedelta(minutes=15)
    async with database.transaction() as session:
        held = outbox.message(session, 42, "Merci pour votre note")
        held.created_at = now - dt.timedelta(minutes=20)
        held.next_attempt_at = now + dt.timedelta(minutes=1)
    health = await examine(database, updates="polling", delivery_limit=limit, now=now)
    assert health.healthy and health.deliveries_waiting == 1
    assert health.oldest_delivery_waiting_seconds is None
    later = now + dt.timedelta(minutes=2)
    health = await examine(database, updates="polling", delivery_limit=limit, now=later)
    assert health.problems == ["a delivery has waited 22 minutes (more than 15)"]
    assert health.oldest_delivery_waiting_seconds == 22 * 60


async def test_the_pages_are_ours_and_nothing_else_is_served(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'terrain.sqlite3'}")
    try:
        async with web_client(web_settings(tmp_path), db) as client:
            index = await client.get("/")
            style = await client.get("/static/terrain.css")
            outside = await client.get("/static/../context.py")
            webhook = await client.post("/telegram/webhook", data=b"{}")
            page = await index.text()
    finally:
        await db.close()
    assert index.status == 200 and index.content_type == "text/html"
    assert "Terrain" in page and "https://" not in page, "no page loads anything from elsewhere"
    assert index.headers["X-Content-Type-Options"] == "nosniff"
    assert style.status == 200 and style.content_type == "text/css"
    assert outside.status in (403, 404)
    assert webhook.status == 404, "polling mode opens no webhook"


async def test_an_update_the_database_cannot_take_is_not_acknowledged(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database briefly unavailable: the webhook answers 503, so Telegram posts
    the update again, and the next post is stored."""
    settings = web_settings(tmp_path, updates="webhook")
    update = Updates().message(Person(20, "Paul"), "bonjour")
    async with web_client(settings, database) as client:
        app = client.server.app
        headers = {SECRET_HEADER: app[SECRET]}
        ingest = app[CONTEXT].ingest
        store = ingest.store

        async def locked(payloads: list[dict[str, Any]]) -> list[int]:
            raise OperationalError("INSERT", {}, Exception("database is locked"))

        monkeypatch.setattr(ingest, "store", locked)
        refused = await client.post(PATH, json=update, headers=headers)
        monkeypatch.setattr(ingest, "store", store)
        taken = await client.post(PATH, json=update, headers=headers)
        again = await client.post(PATH, json=update, headers=headers)
        await ingest.wait_idle()
    assert (refused.status, taken.status, again.status) == (503, 200, 200)
    async with database.sessions() as session:
        assert await inbox.waiting_count(session) == 0
        assert await inbox.last_received_at(session) is not None
