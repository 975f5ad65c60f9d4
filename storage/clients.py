"""Clients: found by a few letters of their name, created on the spot, and their sites."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from difflib import SequenceMatcher

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Client, Site


def _fold(text: str) -> str:
    """Lower case without accents, so "boulangerie" finds "Boulangerie Émile"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def _score(query: str, name: str) -> float:
    """How well a typed query matches a client name, from 0 to 1 (a typo still scores)."""
    q, n = _fold(query), _fold(name)
    if not q:
        return 0.0
    if q in n:
        return 1.0 if n.startswith(q) else 0.9
    words = n.split()
    best_word = max((SequenceMatcher(None, q, w).ratio() for w in words), default=0.0)
    return max(best_word, SequenceMatcher(None, q, n).ratio()) * 0.85


async def search(session: AsyncSession, query: str, limit: int = 8) -> list[Client]:
    """The clients whose name best matches `query`, best first (typos tolerated)."""
    clients = (await session.scalars(select(Client))).all()
    scored = [(score, c) for c in clients if (score := _score(query, c.name)) >= 0.6]
    scored.sort(key=lambda pair: (-pair[0], pair[1].name))
    return [client for _, client in scored[:limit]]


def same_name(a: str, b: str) -> bool:
    """Whether two client names are the same, case, accents and spacing ignored."""
    return " ".join(_fold(a).split()) == " ".join(_fold(b).split())


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
