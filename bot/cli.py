"""The command line: `python -m bot [run|migrate|check|users ...]`.

Any problem an operator can fix (a setting, the database, the token) ends the
program with one line naming it and exit status 2, never a traceback.

Each command loads what it needs when it runs: aiogram (seconds) only for the ones
that talk to Telegram (`run`, `check`), Alembic (a good fraction of a second) only for
the ones that migrate or read the schema's revision; `export` and `import` need
neither (tests/test_cli_imports.py checks it).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import export_command, import_command
from bot.config import ConfigError, Settings, load_settings, parse_user_id
from bot.logs import setup_logging
from bot.options import build_options
from storage import clients, lock, users
from storage.db import (
    SQLITE_BOT_BUSY_TIMEOUT_MS,
    SQLITE_BUSY_TIMEOUT_MS,
    Database,
    DatabaseUnavailable,
    describe_db_error,
)
from storage.models import Client, Role, User

EXIT_PROBLEM = 2
#: Longest name the database keeps (users.name).
NAME_MAX = 200


class Problem(Exception):
    """Something the operator must fix; the message is the one line printed."""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Terrain, the field intervention assistant."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("run", help="run the bot (the default)")
    commands.add_parser("migrate", help="bring the database schema up to date")
    commands.add_parser("check", help="check settings, database and token, and say what was found")
    people = commands.add_parser("users", help="manage who may use the bot").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    add = people.add_parser(
        "add", help="register a person, or change their role and enable them again"
    )
    add.add_argument("--telegram-id", required=True, metavar="N", help="their Telegram user id")
    add.add_argument("--role", choices=[r.value for r in Role], required=True)
    add.add_argument("--name", required=True)
    add.add_argument(
        "--client",
        metavar="NAME",
        help="with --role client: the client whose reports this login receives "
        "(its name, case and accents ignored)",
    )
    people.add_parser("list", help="list everyone registered")
    disable = people.add_parser("disable", help="stop a person from using the bot")
    disable.add_argument("--telegram-id", required=True, metavar="N")
    enable = people.add_parser("enable", help="let a disabled person use the bot again")
    enable.add_argument("--telegram-id", required=True, metavar="N")
    export_command.add_parser(commands)
    import_command.add_parser(commands)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = load_settings()
        setup_logging(settings.log_level, settings.bot_token)
        command: Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]] = {
            None: _run,
            "run": _run,
            "migrate": _migrate,
            "check": _check,
            "users": _users,
            "export": export_command.run,
            "import": import_command.run,
        }[args.command]
        return asyncio.run(command(settings, args))
    except (ConfigError, DatabaseUnavailable, Problem) as problem:
        print(f"terrain: {problem}", file=sys.stderr)
        return EXIT_PROBLEM
    except KeyboardInterrupt:
        return 130


async def _open_database(settings: Settings, *, bot: bool = False) -> Database:
    """The database, checked to answer; the running bot's waits only briefly for a
    write of another process (see storage.db)."""
    busy = SQLITE_BOT_BUSY_TIMEOUT_MS if bot else SQLITE_BUSY_TIMEOUT_MS
    db = Database(settings.db_url, pool_size=settings.workers + 4, busy_timeout_ms=busy)
    await db.ping()
    return db


async def _migrate_or_fail(db: Database) -> None:
    from alembic.util.exc import CommandError

    from storage import migrate

    try:
        await migrate.upgrade(db.engine)
    except (SQLAlchemyError, CommandError, OSError) as exc:
        raise Problem(f"could not migrate the schema: {describe_db_error(db.url, exc)}") from None


async def _run(settings: Settings, _args: argparse.Namespace) -> int:
    # Telegram's side is imported only by the commands that talk to it: it takes seconds.
    from aiogram.exceptions import TelegramUnauthorizedError

    from bot import app
    from bot.web import WebProblem
    from reports.rules.templates import TemplateError

    db = await _open_database(settings, bot=True)
    held: lock.InstanceLock | None = None
    try:
        # Before migrating: two bots started at once must not both migrate.
        try:
            held = await lock.take(db)
        except lock.AlreadyRunning as exc:
            raise Problem(str(exc)) from None
        await _migrate_or_fail(db)
        try:
            await app.run(settings, db)
        except (TemplateError, WebProblem) as exc:
            raise Problem(str(exc)) from None
        except TelegramUnauthorizedError:
            raise Problem(
                f"BOT_TOKEN was rejected by the Bot API at {settings.telegram_api_url}"
            ) from None
    finally:
        if held is not None:
            await held.release()
        await db.close()
    return 0


async def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from storage import migrate

    db = await _open_database(settings)
    try:
        before = await migrate.current_revision(db.engine)
        await _migrate_or_fail(db)
        after = await migrate.current_revision(db.engine)
    finally:
        await db.close()
    if before == after:
        print(f"schema already up to date (revision {after})")
    else:
        print(f"schema migrated from {before or 'empty'} to {after}")
    return 0


async def _check(settings: Settings, _args: argparse.Namespace) -> int:
    """Print what was found; exit 2 if anything is wrong."""
    from aiogram.exceptions import (
        TelegramNetworkError,
        TelegramServerError,
        TelegramUnauthorizedError,
    )

    from bot import app
    from reports.rules.templates import TemplateError, load_templates
    from storage import migrate

    ok = True
    print(f"settings: ok (language {settings.default_language}, time zone {settings.timezone})")
    print(f"Bot API: {settings.telegram_api_url}")
    print(f"data folder: {settings.data_dir.resolve()}")
    print(f"updates: {_updates_line(settings)}")
    office = settings.office_chat_id if settings.office_chat_id is not None else "not set"
    print(f"office chat: {office}; admins: {', '.join(map(str, settings.admin_ids)) or 'none'}")
    pricing = build_options(settings).pricing
    for language in ("fr", "en"):
        origin = settings.company_text_origin("payment_terms", language) or "default"
        print(f"payment terms ({language}, {origin}): {pricing.terms(language)}")
    try:
        templates = load_templates(settings.templates_dir)
        print(f"templates: ok ({', '.join(sorted(templates))})")
    except TemplateError as exc:
        print(f"templates: FAILED, {exc}")
        ok = False
    db: Database | None = None
    try:
        db = Database(settings.db_url)
        await db.ping()
        where = db.engine.url.render_as_string(hide_password=True)
        try:
            current = await migrate.current_revision(db.engine)
        except SQLAlchemyError as exc:
            raise DatabaseUnavailable(describe_db_error(db.url, exc)) from None
        state = _schema_state(current)
        print(f"database: {'ok' if migrate.is_known(current) else 'FAILED'} ({where}, {state})")
        ok = ok and migrate.is_known(current)
        running = await lock.holder(db)
        if running is None:
            print("bot: none running on this database")
        else:
            who = f" ({running.holder})" if running.holder else ""
            print(f"bot: one is running on this database{who}")
    except DatabaseUnavailable as exc:
        print(f"database: FAILED, {exc}")
        ok = False
    finally:
        if db is not None:
            await db.close()
    bot = app.build_bot(settings)
    try:
        me = await app.identify(bot)
        print(f"token: ok, this is @{me.username} (id {me.id}, {me.first_name})")
    except TelegramUnauthorizedError:
        print("token: FAILED, BOT_TOKEN was rejected by the Bot API")
        ok = False
    except (TelegramNetworkError, TelegramServerError) as exc:
        print(f"token: FAILED, the Bot API cannot be reached ({exc.message})")
        ok = False
    finally:
        await bot.session.close()
    return 0 if ok else EXIT_PROBLEM


def _updates_line(settings: Settings) -> str:
    """How updates arrive and where the web face listens, as `check` says it."""
    if not settings.web_enabled:
        return "long polling; web server off (PUBLIC_URL not set)"
    how = "webhook at " if settings.updates == "webhook" else "long polling; web server for "
    return f"{how}{settings.public_url}, listening on {settings.web_host}:{settings.web_port}"


def _schema_state(current: str | None) -> str:
    """The schema as `check` describes it, next to what this version would do with it."""
    from storage import migrate

    head = migrate.head_revision()
    if current is None:
        return "schema not created yet: it will be when the bot starts (or by migrate)"
    if current == head:
        return f"schema up to date (revision {current})"
    if migrate.is_known(current):
        return f"schema at revision {current}: it will be migrated to {head} when the bot starts"
    return (
        f"schema at revision {current}, which this version of Terrain does not know "
        f"(its latest is {head}): was the database used by a newer version?"
    )


async def _users(settings: Settings, args: argparse.Namespace) -> int:
    """users add|list|disable|enable: print what changed; a problem is one line, exit 2."""
    telegram_id = _telegram_id(args.telegram_id) if args.action != "list" else 0
    db = await _open_database(settings)
    try:
        await _migrate_or_fail(db)
        try:
            async with db.transaction() as session:
                if args.action == "add":
                    await _add_user(session, telegram_id, args)
                elif args.action in ("disable", "enable"):
                    await _set_active(session, telegram_id, enabled=args.action == "enable")
                else:
                    await _list_users(session)
        except SQLAlchemyError as exc:
            raise Problem(f"could not change the users: {describe_db_error(db.url, exc)}") from None
    finally:
        await db.close()
    return 0


def _telegram_id(text: str) -> int:
    """--telegram-id, range-checked (Telegram ids are signed 64-bit integers)."""
    try:
        return parse_user_id(text)
    except ValueError as exc:
        raise Problem(f"--telegram-id {exc}") from None


def _who(user: User) -> str:
    return f"{user.name} (Telegram id {user.telegram_id})"


async def _client_named(session: AsyncSession, name: str) -> Client:
    """The one client called `name` (case and accents ignored), or a Problem saying why not."""
    found = await clients.named(session, name)
    exact = [client for client in found if client.name == name]
    if len(found) == 1 or len(exact) == 1:
        return (exact or found)[0]
    if found:
        names = "; ".join(f"{c.name} (client {c.id})" for c in found)
        raise Problem(
            f"--client {name!r} is ambiguous: {len(found)} clients have that name ({names}); "
            "give the name exactly as written"
        )
    close = await clients.search(session, name, limit=3)
    hint = f"; did you mean {' or '.join(repr(c.name) for c in close)}?" if close else ""
    raise Problem(f"--client {name!r}: no client has that name{hint}")


async def _add_user(session: AsyncSession, telegram_id: int, args: argparse.Namespace) -> None:
    """Register (or re-role, or enable again) one person; a client login is linked to
    its client record."""
    name = " ".join(args.name.split())
    role = Role(args.role)
    if not name:
        raise Problem("--name must not be empty")
    if len(name) > NAME_MAX:
        raise Problem(f"--name is {len(name)} characters long; {NAME_MAX} at most")
    client_name = " ".join((args.client or "").split())
    if role == Role.CLIENT and not client_name:
        raise Problem(
            "--role client needs --client NAME: the client whose reports this login receives"
        )
    if client_name and role != Role.CLIENT:
        raise Problem(f"--client is for --role client only (not {role})")
    client = await _client_named(session, client_name) if client_name else None
    before = await users.by_telegram_id(session, telegram_id)
    was = (before.role, before.active) if before is not None else None
    user = await users.add(session, telegram_id, name, role)
    if was is None:
        line = f"{_who(user)} is registered as {role}"
    elif not was[1]:
        line = f"{_who(user)} was disabled and is enabled again, as {role}"
    elif was[0] != role:
        line = f"{_who(user)} is now {role} (was {was[0]})"
    else:
        line = f"{_who(user)} was already registered as {role}"
    if client is not None:
        line += await _link(session, user, client)
    print(line)


async def _link(session: AsyncSession, user: User, client: Client) -> str:
    """Link the login to the client (and to no other); what changed, to add to the line."""
    notes = []
    if client.user_id is not None and client.user_id != user.id:
        previous = await session.get(User, client.user_id)
        if previous is not None:
            notes.append(f"instead of {_who(previous)}")
    for other in await clients.linked_to(session, user.id):
        if other.id != client.id:
            other.user_id = None
            notes.append(f"no longer for {other.name}")
    already = client.user_id == user.id
    client.user_id = user.id
    await session.flush()
    if already and not notes:
        return f", and receives the reports of {client.name} (already did)"
    return f", and receives the reports of {client.name}" + "".join(f" ({n})" for n in notes)


async def _set_active(session: AsyncSession, telegram_id: int, *, enabled: bool) -> None:
    """users disable / users enable."""
    user = await users.by_telegram_id(session, telegram_id)
    if user is None:
        hint = "; register them with users add" if enabled else ""
        raise Problem(f"nobody is registered with Telegram id {telegram_id}{hint}")
    if user.active == enabled:
        print(f"{_who(user)} is already {'enabled' if enabled else 'disabled'}")
        return
    users.set_active(session, user, enabled)
    if enabled:
        print(f"{_who(user)} is enabled again, as {user.role}")
    else:
        print(f"{_who(user)} is disabled")


async def _list_users(session: AsyncSession) -> None:
    """Everyone registered, under a heading, with the client a client login is for."""
    everyone = await users.all_users(session)
    if not everyone:
        print("nobody is registered yet (add someone with: python -m bot users add ...)")
        return
    linked: dict[int, list[str]] = {}
    for client in await clients.all_linked(session):
        assert client.user_id is not None
        linked.setdefault(client.user_id, []).append(client.name)
    print(f"{'Telegram id':>19}  {'role':<11} {'state':<9} name")
    for person in everyone:
        state = "active" if person.active else "disabled"
        line = f"{person.telegram_id:>19}  {person.role:<11} {state:<9} {person.name}"
        if person.id in linked:
            line += f" (client: {', '.join(linked[person.id])})"
        print(line)
    count = len(everyone)
    active = sum(person.active for person in everyone)
    print(f"{count} {'person' if count == 1 else 'people'}, {active} active")
