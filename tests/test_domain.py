"""The changes in an intervention's life, without Telegram: what the office changes in
the planning, and its decision on a report, on each database. Each change is checked
against the rules and leaves one entry in the audit trail; a refused one leaves none."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clients, interventions, lifecycle, ratings, users
from storage.db import Database
from storage.models import Intervention, Role, User
from storage.status import InvalidTransition, Status

PARIS = dt.timezone(dt.timedelta(hours=1))
NINE = dt.datetime(2026, 11, 23, 9, 0, tzinfo=PARIS)
FOUR = dt.datetime(2026, 11, 24, 16, 0, tzinfo=PARIS)

SOPHIE, PAUL, MARC, JULIE = 30, 20, 21, 40


async def planned(database: Database) -> int:
    """Sophie at the office planned a maintenance for Paul at 9h; Marc is another
    technician, Julie a dispatcher."""
    async with database.transaction() as session:
        office = await users.add(session, SOPHIE, "Sophie", Role.DISPATCHER)
        paul = await users.add(session, PAUL, "Paul", Role.TECHNICIAN)
        await users.add(session, MARC, "Marc", Role.TECHNICIAN)
        await users.add(session, JULIE, "Julie", Role.DISPATCHER)
        client = await clients.create(session, name="Boulangerie Martin")
        job = await interventions.create(
            session,
            year=2026,
            client_id=client.id,
            kind="maintenance",
            template="maintenance",
            created_by=office,
            technician=paul,
            scheduled_at=NINE,
        )
        return job.id


async def person(session: AsyncSession, telegram_id: int) -> User:
    found = await users.by_telegram_id(session, telegram_id)
    assert found is not None
    return found


@asynccontextmanager
async def changing(
    database: Database, job_id: int
) -> AsyncIterator[tuple[AsyncSession, Intervention]]:
    """One unit of work on the intervention, loaded as the office's handlers load it."""
    async with database.transaction() as session:
        job = await interventions.for_planning(session, job_id)
        assert job is not None
        yield session, job


async def as_the_office_sees_it(database: Database, job_id: int) -> Intervention:
    async with database.sessions() as session:
        job = await interventions.for_planning(session, job_id)
    assert job is not None
    return job


async def trail(database: Database, job_id: int) -> list[tuple[str | None, str, str | None]]:
    async with database.sessions() as session:
        changes = await interventions.trail(session, job_id)
    return [(c.from_status, c.to_status, c.note) for c in changes]


async def submitted(database: Database) -> int:
    """A planned intervention that Paul started and submitted."""
    job_id = await planned(database)
    async with changing(database, job_id) as (session, job):
        paul = await person(session, PAUL)
        await interventions.change_status(session, job, Status.IN_PROGRESS, paul)
        await interventions.change_status(session, job, Status.AWAITING_VALIDATION, paul)
    return job_id


def test_the_office_sees_the_changes_each_status_allows() -> None:
    assert lifecycle.changes_allowed(Status.PLANNED) == [
        "reassign",
        "reschedule",
        "postpone",
        "cancel",
    ]
    assert lifecycle.changes_allowed(Status.POSTPONED) == ["reassign", "reschedule", "cancel"]
    assert lifecycle.changes_allowed(Status.IN_PROGRESS) == ["postpone", "cancel"]
    assert lifecycle.changes_allowed(Status.AWAITING_CLIENT) == ["cancel"]
    for done in (
        Status.AWAITING_VALIDATION,
        Status.RETURNED,
        Status.VALIDATED,
        Status.CANCELLED,
    ):
        assert lifecycle.changes_allowed(done) == [], done


async def test_reassigning_gives_the_job_to_marc_and_the_trail_says_it_was_pauls(
    database: Database,
) -> None:
    job_id = await planned(database)
    async with changing(database, job_id) as (session, job):
        marc = await person(session, MARC)
        change = await lifecycle.reassign(
            session, job, marc, await person(session, SOPHIE), "Réassignée : Paul → Marc"
        )
        assert change.id is not None, "written at once"
    job = await as_the_office_sees_it(database, job_id)
    assert job.technician is not None and job.technician.name == "Marc"
    assert job.status == Status.PLANNED and job.scheduled_at == NINE
    assert (await trail(database, job_id))[-1] == (
        Status.PLANNED,
        Status.PLANNED,
        "Réassignée : Paul → Marc",
    )


async def test_a_job_goes_only_to_another_active_technician(database: Database) -> None:
    job_id = await planned(database)
    async with changing(database, job_id) as (session, job):
        paul, marc = await person(session, PAUL), await person(session, MARC)
        julie = await person(session, JULIE)
        assert lifecycle.can_reassign(job, marc)
        assert not lifecycle.can_reassign(job, paul), "Paul has it already"
        assert not lifecycle.can_reassign(job, julie), "a dispatcher does no field work"
        marc.active = False
        assert not lifecycle.can_reassign(job, marc), "Marc no longer works here"
        for refused in (paul, julie, marc):
            with pytest.raises(lifecycle.ChangeRefused):
                await lifecycle.reassign(session, job, refused, None, "?")
    job = await as_the_office_sees_it(database, job_id)
    assert job.technician is not None and job.technician.name == "Paul"
    assert await trail(database, job_id) == [(None, Status.PLANNED, None)], "nothing written"


async def test_rescheduling_moves_the_date_and_the_job_stays_planned(database: Database) -> None:
    job_id = await planned(database)
    async with changing(database, job_id) as (session, job):
        await lifecycle.reschedule(session, job, FOUR, None, "Replanifiée : lundi → mardi")
    job = await as_the_office_sees_it(database, job_id)
    assert job.scheduled_at == FOUR and job.status == Status.PLANNED
    assert (await trail(database, job_id))[-1] == (
        Status.PLANNED,
        Status.PLANNED,
        "Replanifiée : lundi → mardi",
    )


async def test_postponing_then_rescheduling_plans_the_job_again(database: Database) -> None:
    job_id = await planned(database)
    async with changing(database, job_id) as (session, job):
        sophie = await person(session, SOPHIE)
        await lifecycle.postpone(session, job, NINE + dt.timedelta(days=7), sophie, "Pièce")
        assert job.status == Status.POSTPONED
        await lifecycle.reschedule(session, job, FOUR, sophie, "Replanifiée")
    job = await as_the_office_sees_it(database, job_id)
    assert job.status == Status.PLANNED and job.scheduled_at == FOUR
    assert await trail(database, job_id) == [
        (None, Status.PLANNED, None),
        (Status.PLANNED, Status.POSTPONED, "Pièce"),
        (Status.POSTPONED, Status.PLANNED, "Replanifiée"),
    ]


async def test_a_started_job_can_be_postponed_but_not_reassigned_or_rescheduled(
    database: Database,
) -> None:
    job_id = await planned(database)
    async with changing(database, job_id) as (session, job):
        paul, marc = await person(session, PAUL), await person(session, MARC)
        await interventions.change_status(session, job, Status.IN_PROGRESS, paul)
        assert not lifecycle.can_reassign(job, marc)
        with pytest.raises(lifecycle.ChangeRefused):
            await lifecycle.reassign(session, job, marc, None, "?")
        with pytest.raises(lifecycle.ChangeRefused):
            await lifecycle.reschedule(session, job, FOUR, None, "?")
        assert job.scheduled_at == NINE, "a refused change moves nothing"
        await lifecycle.postpone(session, job, FOUR, None, "Le client est absent")
    job = await as_the_office_sees_it(database, job_id)
    assert job.status == Status.POSTPONED and job.scheduled_at == FOUR
    assert job.technician is not None and job.technician.name == "Paul"
    assert (await trail(database, job_id))[-1] == (
        Status.IN_PROGRESS,
        Status.POSTPONED,
        "Le client est absent",
    )


async def test_a_cancelled_job_keeps_its_reason_and_accepts_no_further_change(
    database: Database,
) -> None:
    job_id = await planned(database)
    async with changing(database, job_id) as (session, job):
        sophie = await person(session, SOPHIE)
        await lifecycle.cancel(session, job, sophie, "Le client a résilié")
        assert lifecycle.changes_allowed(job.status) == []
        with pytest.raises(lifecycle.ChangeRefused):
            await lifecycle.cancel(session, job, sophie, "encore")
        with pytest.raises(lifecycle.ChangeRefused):
            await lifecycle.postpone(session, job, FOUR, sophie, "?")
    job = await as_the_office_sees_it(database, job_id)
    assert job.status == Status.CANCELLED and job.scheduled_at == NINE
    assert (await trail(database, job_id))[1:] == [
        (Status.PLANNED, Status.CANCELLED, "Le client a résilié")
    ]


async def test_validating_a_submitted_report_is_recorded_once(database: Database) -> None:
    job_id = await submitted(database)
    async with changing(database, job_id) as (session, job):
        sophie = await person(session, SOPHIE)
        await lifecycle.validate(session, job, sophie)
        with pytest.raises(InvalidTransition):
            await lifecycle.validate(session, job, sophie)
        with pytest.raises(InvalidTransition):
            await lifecycle.send_back(session, job, sophie, "trop tard")
    job = await as_the_office_sees_it(database, job_id)
    assert job.status == Status.VALIDATED
    assert (await trail(database, job_id))[-1] == (
        Status.AWAITING_VALIDATION,
        Status.VALIDATED,
        None,
    )


async def test_a_returned_report_brings_the_offices_comment_to_the_technician(
    database: Database,
) -> None:
    job_id = await submitted(database)
    async with changing(database, job_id) as (session, job):
        assert await interventions.return_note(session, job_id) is None
        await lifecycle.send_back(session, job, await person(session, SOPHIE), "Photo floue")
    async with database.sessions() as session:
        assert await interventions.return_note(session, job_id) == "Photo floue"
    job = await as_the_office_sees_it(database, job_id)
    assert job.status == Status.RETURNED


async def test_a_planned_job_cannot_be_validated_or_returned(database: Database) -> None:
    job_id = await planned(database)
    async with changing(database, job_id) as (session, job):
        with pytest.raises(InvalidTransition):
            await lifecycle.validate(session, job, None)
        with pytest.raises(InvalidTransition):
            await lifecycle.send_back(session, job, None, "?")
    assert await trail(database, job_id) == [(None, Status.PLANNED, None)]


async def test_a_client_rates_an_intervention_once(database: Database) -> None:
    job_id = await submitted(database)
    async with changing(database, job_id) as (session, job):
        first = await ratings.add(session, job_id, job.client_id, 5)
        again = await ratings.add(session, job_id, job.client_id, 1)
    assert first is not None and again is None
    async with database.sessions() as session:
        kept = await ratings.of_intervention(session, job_id)
        stars = await ratings.scores(session, [job_id, job_id + 1])
    assert kept is not None and kept.score == 5
    assert stars == {job_id: 5}


# Remote acceptance: the intervention waits for the client's answer ---------------

CLIENT = 50


async def started(database: Database) -> int:
    """A planned intervention that Paul started; the client has a Telegram account."""
    job_id = await planned(database)
    async with changing(database, job_id) as (session, job):
        await users.add(session, CLIENT, "M. Martin", Role.CLIENT)
        await interventions.change_status(
            session, job, Status.IN_PROGRESS, await person(session, PAUL)
        )
    return job_id


async def test_the_client_answers_and_paul_goes_on_with_the_report(database: Database) -> None:
    job_id = await started(database)
    async with changing(database, job_id) as (session, job):
        paul = await person(session, PAUL)
        change = await lifecycle.ask_client(session, job, paul, "Validation à distance demandée")
        assert change.id is not None, "written at once"
        assert job.status == Status.AWAITING_CLIENT
    job = await as_the_office_sees_it(database, job_id)
    assert job.status == Status.AWAITING_CLIENT, "the office sees it waiting"
    async with changing(database, job_id) as (session, job):
        client = await person(session, CLIENT)
        await lifecycle.client_answered(session, job, client, "Accepté sans réserve")
    async with database.sessions() as session:
        changes = await interventions.trail(session, job_id)
    assert [(c.from_status, c.to_status, c.note) for c in changes][-2:] == [
        (Status.IN_PROGRESS, Status.AWAITING_CLIENT, "Validation à distance demandée"),
        (Status.AWAITING_CLIENT, Status.IN_PROGRESS, "Accepté sans réserve"),
    ]
    async with database.sessions() as session:
        assert changes[-1].user_id == (await person(session, CLIENT)).id, "the client did it"
    assert (await as_the_office_sees_it(database, job_id)).status == Status.IN_PROGRESS


async def test_a_returned_report_asked_again_goes_back_to_returned(database: Database) -> None:
    job_id = await submitted(database)
    async with changing(database, job_id) as (session, job):
        await users.add(session, CLIENT, "M. Martin", Role.CLIENT)
        await lifecycle.send_back(session, job, await person(session, SOPHIE), "Total faux")
        await lifecycle.ask_client(session, job, await person(session, PAUL), "Redemandée")
        await lifecycle.client_answered(session, job, await person(session, CLIENT), "Accepté")
        assert job.status == Status.RETURNED
    async with database.sessions() as session:
        assert await interventions.return_note(session, job_id) == "Total faux", "still shown"
    assert (await trail(database, job_id))[-1] == (
        Status.AWAITING_CLIENT,
        Status.RETURNED,
        "Accepté",
    )


async def test_paul_takes_the_acceptance_on_site_and_the_late_answer_is_refused(
    database: Database,
) -> None:
    job_id = await started(database)
    async with changing(database, job_id) as (session, job):
        paul = await person(session, PAUL)
        await lifecycle.ask_client(session, job, paul)
        await lifecycle.accept_on_site(session, job, paul, "Réception sur place")
        assert job.status == Status.IN_PROGRESS
    before = await trail(database, job_id)
    async with changing(database, job_id) as (session, job):
        client = await person(session, CLIENT)
        with pytest.raises(InvalidTransition):
            await lifecycle.client_answered(session, job, client, "Accepté")
        with pytest.raises(InvalidTransition):
            await lifecycle.accept_on_site(session, job, await person(session, PAUL), "encore")
    assert await trail(database, job_id) == before, "nothing written"
    assert before[-1] == (Status.AWAITING_CLIENT, Status.IN_PROGRESS, "Réception sur place")


async def test_waiting_for_the_client_the_office_can_only_cancel(database: Database) -> None:
    job_id = await started(database)
    async with changing(database, job_id) as (session, job):
        await lifecycle.ask_client(session, job, await person(session, PAUL))
        assert lifecycle.changes_allowed(job.status) == ["cancel"]
        sophie = await person(session, SOPHIE)
        with pytest.raises(InvalidTransition):
            await lifecycle.validate(session, job, sophie)
        with pytest.raises(lifecycle.ChangeRefused):
            await lifecycle.postpone(session, job, FOUR, sophie, "?")
        with pytest.raises(InvalidTransition):
            await lifecycle.ask_client(session, job, sophie)
        await lifecycle.cancel(session, job, sophie, "Le client ne répond plus")
        with pytest.raises(InvalidTransition):
            await lifecycle.client_answered(session, job, await person(session, CLIENT), "?")
    assert (await trail(database, job_id))[-1] == (
        Status.AWAITING_CLIENT,
        Status.CANCELLED,
        "Le client ne répond plus",
    )


async def test_only_a_report_being_written_can_wait_for_the_client(database: Database) -> None:
    job_id = await planned(database)
    async with changing(database, job_id) as (session, job):
        with pytest.raises(InvalidTransition):
            await lifecycle.ask_client(session, job, None)
        await interventions.change_status(session, job, Status.IN_PROGRESS, None)
        await interventions.change_status(session, job, Status.AWAITING_VALIDATION, None)
        with pytest.raises(InvalidTransition):
            await lifecycle.ask_client(session, job, None)
    assert (await trail(database, job_id))[-1][1] == Status.AWAITING_VALIDATION
