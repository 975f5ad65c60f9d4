"""`python -m tests.bench.search`: finding a client by a few letters, at 5,000 clients.

It fills a fresh SQLite database (or the PostgreSQL one given, emptied first) with
5,000 clients whose names are made from common trades and family names, then times
`storage.clients.search` for a handful of queries typed with typos, beside the way it
was done before, measured in the same run on the same data: every client loaded as an
ORM row and scored with difflib in the event loop. A ratio holds on this shared
machine; an absolute time does not.

    python -m tests.bench.search [--clients 5000] [--rounds 20] [--postgres-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import unicodedata
from collections.abc import Awaitable, Callable
from difflib import SequenceMatcher
from pathlib import Path

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clients, migrate
from storage.db import Database
from storage.models import Client

TRADES = (
    "Garage",
    "Boulangerie",
    "Pharmacie",
    "Électricité",
    "Plomberie",
    "Café",
    "Hôtel",
    "Mairie de",
    "Cabinet",
    "Atelier",
    "Pâtisserie",
    "Menuiserie",
    "Clinique",
    "Brasserie",
    "Auto-école",
)
FAMILIES = (
    "Dupont",
    "Martin",
    "Bernard",
    "Thomas",
    "Petit",
    "Robert",
    "Richard",
    "Durand",
    "Dubois",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Lefèvre",
    "Leroy",
    "Roux",
    "David",
    "Bertrand",
    "Morel",
    "Fournier",
)
#: What people type: typos, missing letters, no accents, one word, nothing alike.
QUERIES = ("garag dupon", "boulangeri martn", "electricite", "pharmacy moro", "zzkq")


def names(count: int, seed: int = 1) -> list[str]:
    """`count` client names, a trade, a family name and sometimes a town."""
    rng = random.Random(seed)
    towns = ("Lyon", "Nantes", "Lille", "Brest", "Albi", "")
    return [
        " ".join(
            part for part in (rng.choice(TRADES), rng.choice(FAMILIES), rng.choice(towns)) if part
        )
        + f" {n}"
        for n in range(count)
    ]


def _old_fold(text_: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text_.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def _old_score(query: str, name: str) -> float:
    q, n = _old_fold(query), _old_fold(name)
    if not q:
        return 0.0
    if q in n:
        return 1.0 if n.startswith(q) else 0.9
    best_word = max((SequenceMatcher(None, q, w).ratio() for w in n.split()), default=0.0)
    return max(best_word, SequenceMatcher(None, q, n).ratio()) * 0.85


async def old_search(session: AsyncSession, query: str, limit: int = 8) -> list[Client]:
    """The search as it was: every client loaded, scored with difflib."""
    every = (await session.scalars(select(Client))).all()
    scored = [(score, c) for c in every if (score := _old_score(query, c.name)) >= 0.6]
    scored.sort(key=lambda pair: (-pair[0], pair[1].name))
    return [client for _, client in scored[:limit]]


Search = Callable[[AsyncSession, str], Awaitable[list[Client]]]


async def timed(db: Database, search: Search, query: str, rounds: int) -> tuple[float, list[str]]:
    """The median time of `rounds` searches, each in its own session as in a handler,
    in milliseconds, and the names found by the last."""
    times = []
    found: list[Client] = []
    for _ in range(rounds):
        async with db.sessions() as session:
            start = time.perf_counter()
            found = await search(session, query)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), [client.name for client in found]


async def fill(db: Database, count: int) -> None:
    async with db.transaction() as session:
        await session.execute(
            insert(Client),
            [
                {"name": name, "address": f"{n} rue des Lilas"}
                for n, name in enumerate(names(count))
            ],
        )


async def bench(db: Database, count: int, rounds: int) -> None:
    await fill(db, count)
    async with db.sessions() as session:  # a first search: connections opened, names folded
        await clients.search(session, "warm up")
    print(f"{count} clients, median of {rounds} searches, in milliseconds")
    print(
        f"{'typed':<20} {'difflib (before)':>17} {'rapidfuzz (now)':>16} {'ratio':>7}  first found"
    )
    for query in QUERIES:
        before, old_found = await timed(db, old_search, query, rounds)
        now, found = await timed(db, clients.search, query, rounds)
        first = found[0] if found else "(none)"
        same = "" if found[:1] == old_found[:1] else f"  (before: {old_found[:1] or '(none)'})"
        print(f"{query:<20} {before:>17.1f} {now:>16.1f} {before / now:>6.0f}x  {first}{same}")


async def main_async(args: argparse.Namespace) -> None:
    if args.postgres_url:
        db = Database(args.postgres_url)
        async with db.engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await migrate.upgrade(db.engine)
        where = "PostgreSQL"
    else:
        folder = Path(tempfile.mkdtemp(prefix="terrain-search-"))
        db = Database(f"sqlite+aiosqlite:///{folder / 'terrain.sqlite3'}")
        await migrate.upgrade(db.engine)
        where = "SQLite"
    print(f"database: {where}")
    try:
        await bench(db, args.clients, args.rounds)
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.search", description=__doc__)
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument(
        "--postgres-url", default="", help="a PostgreSQL database to use (emptied first)"
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
