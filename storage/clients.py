"""Clients: found by a few letters of their name, created on the spot, and their sites."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, object_session

from storage.models import Client, Site


def _fold(text: str) -> str:
    """Lower case without accents, spaces squashed, so "boulangerie" finds "Boulangerie Émile"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


#: A name scoring less than this (from 0 to 1) is not offered.
KEEP = 0.6
#: A name that contains what was typed scores 1 (at its start) or 0.9 (further on); a
#: name that only resembles it scores its similarity times this, so that a name holding
#: the very letters typed always comes before one that merely looks like them.
FUZZY_WEIGHT = 0.85
#: The similarity (rapidfuzz's ratio, 0 to 100) a resemblance needs to reach KEEP.
_CUTOFF = 100 * KEEP / FUZZY_WEIGHT


@dataclass(frozen=True)
class _Index:
    """The clients' names as the search compares them.

    `ids[i]` and `shown[i]` are a client's id and name, `names[i]` the name folded and
    `name_words[i]` its words; `words` holds each word of the names once, and
    `owners[j]` the positions of the names with `words[j]` in them. `seen` is what the
    database said of the table when the index was built (how many clients, the
    highest id).
    """

    seen: tuple[int, int]
    ids: list[int]
    shown: list[str]
    names: list[str]
    name_words: list[list[str]]
    words: list[str]
    owners: list[list[int]]

    @classmethod
    def of(cls, seen: tuple[int, int], rows: Sequence[tuple[int, str]]) -> _Index:
        names = [_fold(name) for _, name in rows]
        name_words = [name.split() for name in names]
        owners: dict[str, list[int]] = {}
        for position, split in enumerate(name_words):
            for word in split:
                owners.setdefault(word, []).append(position)
        return cls(
            seen,
            [client_id for client_id, _ in rows],
            [name for _, name in rows],
            names,
            name_words,
            list(owners),
            list(owners.values()),
        )


class _Names:
    """The index of this process, built again when the clients change.

    Another process (the command line's import) adds clients: the count and the
    highest id, asked at each search, show it. A change made here through the ORM (a
    name corrected, a client removed) marks the index stale when it is flushed, and
    again when its transaction commits (a search in another transaction meanwhile
    built it from the names before the change)."""

    index: _Index | None = None

    @classmethod
    def stale(cls) -> None:
        cls.index = None

    @classmethod
    def changed(cls, _mapper: object, _connection: object, client: Client) -> None:
        cls.stale()
        session = object_session(client)
        if session is not None:
            session.info[_CHANGED] = True

    @classmethod
    def committed(cls, session: Session) -> None:
        if session.info.pop(_CHANGED, False):
            cls.stale()

    @classmethod
    async def current(cls, session: AsyncSession) -> _Index:
        counted = (await session.execute(select(func.count(Client.id), func.max(Client.id)))).one()
        seen = (int(counted[0]), int(counted[1] or 0))
        if cls.index is None or cls.index.seen != seen:
            rows = (await session.execute(select(Client.id, Client.name))).all()
            cls.index = _Index.of(seen, rows)
        return cls.index


_CHANGED = "terrain.clients_changed"
for _change in ("after_insert", "after_update", "after_delete"):
    event.listen(Client, _change, _Names.changed)
event.listen(Session, "after_commit", _Names.committed)


def _closest(typed: str, words: list[str]) -> float:
    return max((fuzz.ratio(typed, word) for word in words), default=0.0)


def _scores(query: str, index: _Index) -> dict[int, float]:
    """Position -> score from 0 to 1 of the names that reach KEEP for a folded query.

    A name containing the query scores 1 or 0.9. Otherwise it scores its resemblance
    times FUZZY_WEIGHT: the better of the whole name against the query, and the mean,
    over the words typed, of each one against the name's closest word. rapidfuzz finds
    in C the names and words close enough to count; a name with no word close to any
    word typed cannot have a mean that counts."""
    typed = query.split()
    scores = {
        position: 1.0 if name.startswith(query) else 0.9
        for position, name in enumerate(index.names)
        if query in name
    }
    whole = {
        position: score
        for _, score, position in process.extract(
            query, index.names, scorer=fuzz.ratio, score_cutoff=_CUTOFF, limit=None
        )
    }
    near: list[dict[int, float]] = []
    for word in typed:
        closest: dict[int, float] = {}
        for _, score, at in process.extract(
            word, index.words, scorer=fuzz.ratio, score_cutoff=_CUTOFF, limit=None
        ):
            for position in index.owners[at]:
                closest[position] = max(score, closest.get(position, 0.0))
        near.append(closest)
    for position in set(whole).union(*near):
        if position in scores:
            continue
        words = index.name_words[position]
        each = [
            found.get(position) or _closest(word, words)
            for word, found in zip(typed, near, strict=True)
        ]
        by_word = sum(each) / len(typed)
        score = max(whole.get(position, 0.0), by_word) / 100 * FUZZY_WEIGHT
        if score >= KEEP:
            scores[position] = score
    return scores


async def search(session: AsyncSession, query: str, limit: int = 8) -> list[Client]:
    """The clients whose name best matches `query`, best first, then by name (typos,
    case and accents tolerated: "garag dupon" finds "Garage Dupont")."""
    folded = _fold(query)
    if not folded:
        return []
    index = await _Names.current(session)
    ranked = sorted(
        (-score, index.shown[position], index.ids[position])
        for position, score in _scores(folded, index).items()
    )[:limit]
    if not ranked:
        return []
    ids = [client_id for _, _, client_id in ranked]
    loaded = {c.id: c for c in await session.scalars(select(Client).where(Client.id.in_(ids)))}
    return [loaded[client_id] for client_id in ids if client_id in loaded]


def same_name(a: str, b: str) -> bool:
    """Whether two client names are the same, case, accents and spacing ignored."""
    return _fold(a) == _fold(b)


async def named(session: AsyncSession, name: str) -> list[Client]:
    """The clients called `name` (case, accents and spacing ignored), by id."""
    clients = (await session.scalars(select(Client).order_by(Client.id))).all()
    return [client for client in clients if same_name(client.name, name)]


async def get(session: AsyncSession, client_id: int) -> Client | None:
    """The client: no query when this unit of work has it already."""
    return await session.get(Client, client_id)


async def of_user(session: AsyncSession, user_id: int) -> Client | None:
    """A client whose reports the login `user_id` receives (the client behind a client's
    chat)."""
    return await session.scalar(select(Client).where(Client.user_id == user_id).limit(1))


async def linked_to(session: AsyncSession, user_id: int) -> list[Client]:
    """The clients whose reports the login `user_id` receives."""
    query = select(Client).where(Client.user_id == user_id).order_by(Client.id)
    return list((await session.scalars(query)).all())


async def all_linked(session: AsyncSession) -> list[Client]:
    """Every client linked to a login."""
    query = select(Client).where(Client.user_id.is_not(None)).order_by(Client.id)
    return list((await session.scalars(query)).all())


async def create(
    session: AsyncSession,
    *,
    name: str,
    contact_name: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    address: str | None = None,
) -> Client:
    """A new client, flushed so it has its id (the unit of work commits it)."""
    client = Client(name=name, contact_name=contact_name, phone=phone, email=email, address=address)
    session.add(client)
    await session.flush()
    return client


async def sites(session: AsyncSession, client_id: int) -> Sequence[Site]:
    """The client's sites, by name."""
    query = select(Site).where(Site.client_id == client_id).order_by(Site.name)
    return (await session.scalars(query)).all()


async def site(session: AsyncSession, site_id: int) -> Site | None:
    """The site: no query when this unit of work has it already."""
    return await session.get(Site, site_id)


async def add_site(session: AsyncSession, client_id: int, name: str, address: str) -> Site:
    """A new site of the client (flushed, so it has its id)."""
    site = Site(client_id=client_id, name=name, address=address)
    session.add(site)
    await session.flush()
    return site
