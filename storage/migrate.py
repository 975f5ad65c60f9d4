"""Schema migrations (Alembic), run from code: at start, by `python -m bot migrate`,
and by the tests that upgrade, downgrade and upgrade again.

Developers create a revision with:
    alembic -c pyproject.toml -x url=sqlite+aiosqlite:///dev.sqlite3 \\
        revision --autogenerate -m "what changes"
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.ext.asyncio import AsyncEngine


def alembic_config() -> Config:
    """An Alembic configuration pointing at the migrations installed with this package."""
    config = Config()
    config.set_main_option("script_location", str(files("storage") / "migrations"))
    return config


def _run(connection: Any, action: str, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    if action == "upgrade":
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (the latest by default)."""
    async with engine.begin() as connection:
        await connection.run_sync(_run, "upgrade", revision)


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_run, "downgrade", revision)


def _current(connection: Any) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_current)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def is_known(revision: str | None) -> bool:
    """Whether this version's migrations know `revision` (None, no schema yet, is known)."""
    if revision is None:
        return True
    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False
