"""One bot per database: a lock held for the life of the process.

Two bots on one database would both long-poll Telegram, which answers the second with
409 Conflict, forever, while both send the same outbox. So the running bot holds a
lock that the operating system or the database server frees when the process ends,
however it ends (SIGTERM, a crash, kill -9, a power cut for PostgreSQL once the
connection times out):

- PostgreSQL: a session-level advisory lock on a connection kept open for the bot's
  life (`pg_try_advisory_lock`); the server frees it when that connection closes. The
  connection's application_name says which process holds it.
- SQLite: `flock` on a file beside the database (`terrain.sqlite3.lock`, holding the
  pid of its holder); the kernel frees it when the process's file is closed.

An in-memory SQLite database cannot be shared between processes and takes no lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import Database, DatabaseUnavailable, describe_db_error, is_sqlite, sqlite_file

#: The advisory lock's two keys: "terr" in ASCII, then 1 for "the bot".
PG_KEYS = {"a": int.from_bytes(b"terr", "big"), "b": 1}
#: The holder of the advisory lock (pg_locks shows a two-key lock with objsubid 2).
_PG_HOLDER = text(
    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :a AND l.objid = :b "
    "AND l.objsubid = 2 AND l.database = "
    "(SELECT oid FROM pg_database WHERE datname = current_database())"
)


class AlreadyRunning(Exception):
    """Another process holds the lock; the message is one line for the operator."""

    def __init__(self, where: str, holder: str) -> None:
        self.holder = holder
        """Which process holds it ("pid 1234", "pid 1234 on host web1"), or ""."""
        who = f" ({holder})" if holder else ""
        super().__init__(
            f"another Terrain bot{who} is already running on the database {where}; "
            "stop it first (two bots on one database fight over Telegram's updates)"
        )


class InstanceLock:
    """The lock while it is held; `release()` frees it (the process's end does too)."""

    def __init__(
        self, *, file: int | None = None, connection: AsyncConnection | None = None
    ) -> None:
        self._file = file
        self._connection = connection

    async def release(self) -> None:
        """Free the lock (idempotent)."""
        if self._file is not None:
            os.close(self._file)  # closing the last descriptor releases the flock
            self._file = None
        if self._connection is not None:
            connection, self._connection = self._connection, None
            with contextlib.suppress(SQLAlchemyError, OSError):
                await connection.execute(text("SELECT pg_advisory_unlock(:a, :b)"), PG_KEYS)
                await connection.commit()
            with contextlib.suppress(SQLAlchemyError, OSError):
                await connection.close()


def lock_path(database_file: Path) -> Path:
    """The lock file of a SQLite database: beside it, same name plus `.lock`."""
    return database_file.with_name(database_file.name + ".lock")


def _where(db: Database) -> str:
    return db.engine.url.render_as_string(hide_password=True)


def _take_file(db: Database, path: Path) -> InstanceLock:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise DatabaseUnavailable(
            f"cannot open the lock file {path} ({exc.strerror or exc})"
        ) from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip()
        os.close(descriptor)
        raise AlreadyRunning(_where(db), f"pid {pid}" if pid.isdigit() else "") from None
    except OSError as exc:
        os.close(descriptor)
        raise DatabaseUnavailable(f"cannot lock {path} ({exc.strerror or exc})") from None
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, f"{os.getpid()}\n".encode("ascii"), 0)
    return InstanceLock(file=descriptor)


async def _take_advisory(db: Database) -> InstanceLock:
    try:
        connection = await db.engine.connect()
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnavailable(describe_db_error(db.url, exc)) from None
    me = f"terrain bot, pid {os.getpid()} on host {socket.gethostname()}"[:63]
    try:
        taken = await connection.scalar(text("SELECT pg_try_advisory_lock(:a, :b)"), PG_KEYS)
        if taken:
            await connection.execute(
                text("SELECT set_config('application_name', :name, false)"), {"name": me}
            )
            holder = ""
        else:
            name = await connection.scalar(_PG_HOLDER, PG_KEYS)
            holder = str(name or "").removeprefix("terrain bot, ")
        await connection.commit()  # the lock is the session's: it outlives the transaction
    except (SQLAlchemyError, OSError) as exc:
        await connection.close()
        raise DatabaseUnavailable(describe_db_error(db.url, exc)) from None
    if not taken:
        await connection.close()
        raise AlreadyRunning(_where(db), holder)
    return InstanceLock(connection=connection)


async def take(db: Database) -> InstanceLock:
    """Take the bot's lock on `db`, or raise AlreadyRunning (DatabaseUnavailable when
    the lock itself cannot be reached)."""
    if is_sqlite(db.url):
        file = sqlite_file(db.url)
        if file is None:
            return InstanceLock()
        return _take_file(db, lock_path(file.resolve()))
    return await _take_advisory(db)


async def holder(db: Database) -> AlreadyRunning | None:
    """Who holds the bot's lock on `db`, or None when no bot runs on it.

    Takes the lock and frees it at once (a bot starting in that very instant is
    refused; starting it again works)."""
    try:
        lock = await take(db)
    except AlreadyRunning as refused:
        return refused
    await lock.release()
    return None
