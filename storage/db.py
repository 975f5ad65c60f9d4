"""The database: one engine per process, one session per unit of work.

SQLite (the embedded default) runs in WAL mode with a busy timeout and foreign
keys on. It has one writer at a time, so a unit of work reads without holding
anything (each read sees the latest committed data, as PostgreSQL's default
isolation does) and takes the write lock with BEGIN IMMEDIATE just before its
first write, keeping it until it commits; the units of work of this process take
that turn in order. Units of work of different chats thus run side by side and
only queue for the short moment they write; none fails halfway with "database is
locked". SQLite's calls run in the event loop's thread (storage.sqlite_inline):
they are shorter than a hop to a thread and back. PostgreSQL needs none of this.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_

from storage import sqlite_inline

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: The running bot's: a write of another process (a command-line import) that holds
#: SQLite longer makes the unit of work fail as "database is locked" and be tried
#: again, instead of holding the event loop.
SQLITE_BOT_BUSY_TIMEOUT_MS = 250
#: Statements that change the database: the first one of a unit of work takes the write lock.
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER", "SAVEPOINT")
#: Marks a SQLite connection whose unit of work has its turn to write (see _tune_sqlite).
_HOLDS_TURN = "terrain.holds_write_turn"


class DatabaseUnavailable(Exception):
    """The database cannot be reached or opened; the message is one line."""


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_file(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def create_engine(
    url: str, pool_size: int = 20, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS
) -> AsyncEngine:
    """An async engine for `url`, set up for durability and concurrency. On SQLite,
    `busy_timeout_ms` is how long a write waits for another process's (the bot keeps
    it short: it waits in the event loop)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUnavailable(f"DATABASE_URL is not a database URL: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        file = sqlite_file(url)
        if file is not None:
            try:
                file.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                where = parsed.render_as_string(hide_password=True)
                raise DatabaseUnavailable(
                    f"database {where} cannot be created: its folder {file.parent} "
                    f"cannot be made ({exc.strerror or exc})"
                ) from None
        # As many connections as chats handled at once, kept open: each one takes a few
        # PRAGMAs to open, and a unit of work waiting for one waits for nothing.
        engine = create_async_engine(
            url,
            connect_args={"timeout": busy_timeout_ms / 1000},
            pool_size=pool_size,
            max_overflow=pool_size,
            module=AsyncAdapt_aiosqlite_dbapi(sqlite_inline, sqlite3),
        )
        _tune_sqlite(engine, busy_timeout_ms)
        return engine
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def _tune_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver must not open transactions by itself: see lock_before_first_write.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # One writer at a time: the units of work of this process take their turn for the
    # write lock in the order they asked (an asyncio lock, waited for without blocking
    # the event loop), instead of polling SQLite's busy handler against each other,
    # which sleeps up to 100 ms between tries and lets a late writer overtake.
    turn = asyncio.Lock()

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def lock_before_first_write(connection: Any, cursor: Any, statement: str, *_args: Any) -> None:
        driver = connection.connection.driver_connection
        if not driver.in_transaction and statement.lstrip()[:9].upper().startswith(_WRITES):
            info = connection.connection.info
            if not info.get(_HOLDS_TURN):
                await_(turn.acquire())
                info[_HOLDS_TURN] = True
            cursor.execute("BEGIN IMMEDIATE")

    def give_turn(info: dict[str, Any]) -> None:
        if info.pop(_HOLDS_TURN, False):
            turn.release()

    @event.listens_for(engine.sync_engine, "commit")
    def after_commit(connection: Any) -> None:
        give_turn(connection.connection.info)

    @event.listens_for(engine.sync_engine, "rollback")
    def after_rollback(connection: Any) -> None:
        give_turn(connection.connection.info)

    @event.listens_for(engine.sync_engine.pool, "reset")
    def on_reset(_dbapi_connection: Any, record: Any, _state: Any = None) -> None:
        give_turn(record.info)

    @event.listens_for(engine.sync_engine.pool, "invalidate")
    def on_invalidate(_dbapi_connection: Any, record: Any, _exception: Any = None) -> None:
        give_turn(record.info)


class Database:
    """The engine and its session factory, handed to whoever needs a session."""

    def __init__(
        self, url: str, pool_size: int = 20, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS
    ) -> None:
        self.url = url
        self.engine = create_engine(url, pool_size=pool_size, busy_timeout_ms=busy_timeout_ms)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: committed if the block ends normally, rolled back otherwise."""
        async with self.sessions() as session, session.begin():
            yield session

    async def ping(self) -> None:
        """Check the database answers, or raise DatabaseUnavailable with a short reason."""
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError) as exc:
            raise DatabaseUnavailable(describe_db_error(self.url, exc)) from None

    async def close(self) -> None:
        await self.engine.dispose()


def describe_db_error(url: str, exc: BaseException) -> str:
    """One line saying which database failed and why, without the password."""
    where = make_url(url).render_as_string(hide_password=True)
    cause: BaseException = exc
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        cause = exc.orig
    reason = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    return f"database {where} is unreachable: {reason}"
