"""SQLite in the event loop's own thread, for SQLAlchemy's asyncio engine.

aiosqlite runs each SQLite call in a thread of its own and hands the result back
through the event loop: about forty hops for one update handled by the bot, each
costing more than the statement it carries (SQLite answers most of ours in tens of
microseconds, from a file in WAL mode with no fsync at commit). This module
speaks aiosqlite's interface, as SQLAlchemy's aiosqlite dialect uses it, but
runs each call at once in the calling thread.

Why that is safe here: the statements are short; writers of this process take
their turn on an asyncio lock before SQLite's write lock (storage.db), so none
waits for another inside SQLite; and the busy timeout is short, so a write
another process holds (a command-line import) makes a unit of work fail with
"database is locked" and be tried again, rather than stop the event loop.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Generator, Iterable, Sequence
from types import SimpleNamespace
from typing import Any

DatabaseError = sqlite3.DatabaseError
Error = sqlite3.Error
IntegrityError = sqlite3.IntegrityError
NotSupportedError = sqlite3.NotSupportedError
OperationalError = sqlite3.OperationalError
ProgrammingError = sqlite3.ProgrammingError
sqlite_version = sqlite3.sqlite_version
sqlite_version_info = sqlite3.sqlite_version_info


class Cursor:
    """An sqlite3 cursor behind aiosqlite's coroutine methods."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def __await__(self) -> Generator[Any, None, Cursor]:
        # aiosqlite's cursor() is awaited, or entered with "async with": both give it.
        return self
        yield  # pragma: no cover  (makes this a generator, as __await__ must be)

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = None) -> Cursor:
        if parameters is None:
            self._cursor.execute(sql)
        else:
            self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> Cursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> Sequence[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _AtOnce:
    """Stands for aiosqlite's queue of calls to its thread: a call put in it is run
    at once and its future resolved (SQLAlchemy sets the isolation level this way)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def put_nowait(self, item: tuple[Any, Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as error:  # handed to whoever awaits the future
            future.set_exception(error)


class Connection:
    """An sqlite3 connection behind aiosqlite's coroutine methods; awaiting it opens it."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        self._connector = connector
        self._connection: sqlite3.Connection | None = None
        self._tx = _AtOnce(self)
        #: aiosqlite's worker thread, which SQLAlchemy marks a daemon: there is none.
        self._thread = SimpleNamespace(daemon=True)

    def __await__(self) -> Generator[Any, None, Connection]:
        if self._connection is None:
            self._connection = self._connector()
        return self
        yield  # pragma: no cover  (makes this a generator, as __await__ must be)

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: Any) -> None:
        self._conn.isolation_level = value

    def cursor(self) -> Cursor:
        """A new cursor (awaitable, or entered with "async with", as aiosqlite's)."""
        return Cursor(self._conn.cursor())

    async def execute(self, sql: str, parameters: Any = None) -> Cursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def stop(self) -> None:
        """Close at once (SQLAlchemy's last resort for a connection it gives up)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def connect(database: str, **kwargs: Any) -> Connection:
    """What aiosqlite.connect returns: a connection opened when awaited."""
    return Connection(lambda: sqlite3.connect(database, **kwargs))
