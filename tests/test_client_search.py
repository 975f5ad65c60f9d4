"""Finding a client from a few letters typed with typos (storage.clients.search), on
both databases: what /new, /plan, /client and `users add --client` offer."""

from __future__ import annotations

from sqlalchemy import insert

from storage import clients
from storage.db import Database
from storage.models import Client


async def add(database: Database, *names: str) -> None:
    async with database.transaction() as session:
        for name in names:
            await clients.create(session, name=name)


async def found(database: Database, typed: str, limit: int = 8) -> list[str]:
    async with database.sessions() as session:
        return [client.name for client in await clients.search(session, typed, limit=limit)]


async def test_a_few_letters_with_typos_find_the_client(database: Database) -> None:
    await add(database, "Garage Dupont", "Boulangerie Martin", "Pharmacie Morel")
    assert await found(database, "garag dupon") == ["Garage Dupont"]
    assert await found(database, "dupon") == ["Garage Dupont"]
    assert await found(database, "boulangeri martn") == ["Boulangerie Martin"]
    assert await found(database, "pharmacy moro") == ["Pharmacie Morel"]


async def test_the_words_typed_in_another_order_still_find_the_client(database: Database) -> None:
    await add(database, "Garage Dupont", "Boulangerie Martin")
    assert await found(database, "dupont garage") == ["Garage Dupont"]


async def test_accents_and_case_are_ignored(database: Database) -> None:
    await add(database, "Électricité Martin", "Pâtisserie Émile", "Garage Dupont")
    assert await found(database, "electricite") == ["Électricité Martin"]
    assert await found(database, "ELECTRICITÉ MARTIN") == ["Électricité Martin"]
    assert await found(database, "patisserie  emile") == ["Pâtisserie Émile"]


async def test_names_starting_with_the_letters_come_first_then_containing_then_alike(
    database: Database,
) -> None:
    await add(
        database,
        "Boulangerie du Port",  # contains "port"
        "Portail Services",  # starts with "port"
        "Porte Automatique Lyon",  # starts with "port" too: by name after the first
        "Sport Plus",  # contains "port"
        "Fort Conseil",  # only alike ("fort" for "port")
        "Garage Dupont",  # not alike
    )
    assert await found(database, "port") == [
        "Portail Services",
        "Porte Automatique Lyon",
        "Boulangerie du Port",
        "Sport Plus",
        "Fort Conseil",
    ]


async def test_the_closest_resemblance_comes_first(database: Database) -> None:
    await add(database, "Boulangerie Marty", "Boulangerie Martin", "Garage Dupont")
    assert await found(database, "boulangeri martn") == ["Boulangerie Martin", "Boulangerie Marty"]


async def test_nothing_alike_finds_nobody(database: Database) -> None:
    await add(database, "Garage Dupont", "Boulangerie Martin")
    assert await found(database, "pharmacie") == []
    assert await found(database, "zzkq") == []
    assert await found(database, "   ") == []


async def test_no_more_than_the_limit_are_offered(database: Database) -> None:
    await add(database, *(f"Garage Dupont {n}" for n in range(12)))
    assert await found(database, "garage", limit=3) == [
        "Garage Dupont 0",
        "Garage Dupont 1",
        "Garage Dupont 10",
    ]


async def test_a_client_added_elsewhere_is_found_at_the_next_search(database: Database) -> None:
    """The names are kept between searches; a client written by another process (the
    command line's import), even without the ORM, is found all the same."""
    await add(database, "Garage Dupont")
    assert await found(database, "martin") == []
    async with database.transaction() as session:
        await session.execute(insert(Client), [{"name": "Boulangerie Martin"}])
    assert await found(database, "martin") == ["Boulangerie Martin"]


async def test_a_name_corrected_is_searched_under_its_new_name(database: Database) -> None:
    await add(database, "Garage Dupond")
    assert await found(database, "garage dupond") == ["Garage Dupond"]
    async with database.transaction() as session:
        (client,) = await clients.named(session, "Garage Dupond")
        client.name = "Carrosserie Lemoine"
    assert await found(database, "lemoine") == ["Carrosserie Lemoine"]
    assert await found(database, "garage") == []


async def test_a_client_removed_is_no_longer_offered(database: Database) -> None:
    await add(database, "Garage Dupont", "Garage Durand")
    assert await found(database, "garage") == ["Garage Dupont", "Garage Durand"]
    async with database.transaction() as session:
        (client,) = await clients.named(session, "Garage Durand")
        await session.delete(client)
    assert await found(database, "garage") == ["Garage Dupont"]


async def test_a_name_corrected_while_another_search_runs_is_searched_once_committed(
    database: Database,
) -> None:
    await add(database, "Garage Dupond")
    async with database.transaction() as session:
        (client,) = await clients.named(session, "Garage Dupond")
        client.name = "Carrosserie Lemoine"
        await session.flush()
        # Another chat searches before the correction is committed: it sees the old name.
        assert await found(database, "garage dupond") == ["Garage Dupond"]
    assert await found(database, "lemoine") == ["Carrosserie Lemoine"]
