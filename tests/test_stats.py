"""/stats: work per technician and week in the company's time zone, interventions by
status, the chart as a PNG, and who may ask for it."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import update

from reports.charts import (
    HEIGHT,
    MAX_SERIES,
    WIDTH,
    ChartTexts,
    Series,
    StatsChart,
    StatusCount,
    _series,
    render_stats,
)
from storage import stats
from storage.db import Database
from storage.models import Intervention, Role
from storage.status import Status
from tests.conftest import TECHNICIAN, Harness, plan_job, register
from tests.helpers import PARIS, paris
from tests.mocked import Person

DISPATCHER = Person(30, "Diane", "diane_office", "fr")
SOPHIE = Person(21, "Sophie", "sophie_tech", "fr")
KARIM = Person(22, "Karim", "karim_tech", "en")
ENGLISH_DISPATCHER = Person(31, "Dan", "dan_office", "en")

#: Wednesday 18 November 2026, 10:00 in Paris: the current week starts on Monday 16th.
NOW = dt.datetime(2026, 11, 18, 10, 0, tzinfo=PARIS)


async def job(
    db: Database,
    technician: Person = TECHNICIAN,
    *,
    status: Status = Status.AWAITING_VALIDATION,
    started: dt.datetime | None = None,
    ended: dt.datetime | None = None,
    hours: str | None = None,
) -> int:
    """A planned intervention moved straight to `status` with the given times."""
    made = await plan_job(db, technician=technician)
    async with db.transaction() as session:
        await session.execute(
            update(Intervention)
            .where(Intervention.id == made.id)
            .values(
                status=status,
                started_at=started,
                ended_at=ended,
                worked_hours=Decimal(hours) if hours is not None else None,
            )
        )
    return made.id


async def weekly(db: Database, weeks: int = 2) -> stats.Activity:
    async with db.sessions() as session:
        return await stats.activity(session, PARIS, weeks, now=NOW)


# Weeks and time zones ------------------------------------------------------------


def test_weeks_start_on_monday_in_the_company_time_zone() -> None:
    assert stats.week_of(paris(2026, 11, 15, 23, 30), PARIS) == dt.date(2026, 11, 9)
    assert stats.week_of(paris(2026, 11, 16, 0, 30), PARIS) == dt.date(2026, 11, 16)
    # Monday 00:30 in Paris is still Sunday in UTC: the company's clock decides.
    assert stats.week_of(paris(2026, 11, 16, 0, 30).astimezone(dt.UTC), PARIS) == dt.date(
        2026, 11, 16
    )
    assert stats.last_weeks(NOW, PARIS, 3) == (
        dt.date(2026, 11, 2),
        dt.date(2026, 11, 9),
        dt.date(2026, 11, 16),
    )


async def test_a_job_ended_sunday_2330_in_paris_counts_in_that_week_not_the_next(
    database: Database,
) -> None:
    await job(database, started=paris(2026, 11, 15, 21, 0), ended=paris(2026, 11, 15, 23, 30))
    await job(database, started=paris(2026, 11, 15, 23, 0), ended=paris(2026, 11, 16, 0, 30))
    figures = await weekly(database)
    assert figures.weeks == (dt.date(2026, 11, 9), dt.date(2026, 11, 16))
    (paul,) = figures.technicians
    assert paul.name == TECHNICIAN.first_name
    assert paul.interventions == (1, 1)


async def test_summer_time_weeks_too(database: Database) -> None:
    """Sunday 23:30 in Paris in July is 21:30 UTC: still that Sunday's week."""
    await job(database, ended=paris(2026, 7, 12, 23, 30), hours="2")
    async with database.sessions() as session:
        figures = await stats.activity(session, PARIS, 2, now=paris(2026, 7, 14, 9, 0))
    assert figures.technicians[0].interventions == (1, 0)
    assert figures.technicians[0].hours == (Decimal("2"), Decimal(0))


async def test_interventions_and_hours_add_up_per_technician_and_week(database: Database) -> None:
    await job(database, ended=paris(2026, 11, 10, 12, 0), hours="2.5")
    await job(database, ended=paris(2026, 11, 12, 17, 0), hours="3.25", status=Status.VALIDATED)
    await job(database, ended=paris(2026, 11, 17, 11, 0), hours="1", status=Status.RETURNED)
    # In progress: counted in the week it started, no hours yet.
    await job(database, status=Status.IN_PROGRESS, started=paris(2026, 11, 18, 8, 0))
    await job(database, SOPHIE, ended=paris(2026, 11, 16, 9, 0), hours="4")
    # Not counted: cancelled, before the weeks shown, planned and never started.
    await job(database, SOPHIE, status=Status.CANCELLED, started=paris(2026, 11, 17, 8, 0))
    await job(database, SOPHIE, ended=paris(2026, 11, 8, 23, 59), hours="7")
    await job(database, SOPHIE, status=Status.PLANNED)

    figures = await weekly(database)
    paul, sophie = figures.technicians
    assert (paul.name, paul.interventions, paul.hours) == (
        "Paul",
        (2, 2),
        (Decimal("5.75"), Decimal("1")),
    )
    assert (sophie.name, sophie.interventions, sophie.hours) == (
        "Sophie",
        (0, 1),
        (Decimal(0), Decimal("4")),
    )
    assert paul.total_interventions == 4 and paul.total_hours == Decimal("6.75")


async def test_two_technicians_with_the_same_name_are_told_apart(database: Database) -> None:
    other_paul = Person(23, TECHNICIAN.first_name, "paul_two", "fr")
    await job(database, ended=paris(2026, 11, 17, 11, 0), hours="1")
    await job(database, other_paul, ended=paris(2026, 11, 17, 12, 0), hours="2")
    names = [person.name for person in (await weekly(database)).technicians]
    assert len(set(names)) == 2
    assert all(name.startswith("Paul #") for name in names)  # registered without a username


async def test_status_counts_list_every_status_in_the_life_order(database: Database) -> None:
    await job(database, status=Status.VALIDATED, ended=paris(2026, 11, 10, 12, 0))
    await job(database, status=Status.VALIDATED, ended=paris(2025, 1, 10, 12, 0))
    await job(database, status=Status.PLANNED)
    await job(database, SOPHIE, status=Status.CANCELLED)
    async with database.sessions() as session:
        counts = await stats.status_counts(session)
    assert list(counts) == list(stats.STATUS_ORDER)
    assert set(counts) == set(Status)
    assert counts[Status.VALIDATED] == 2
    assert counts[Status.PLANNED] == 1
    assert counts[Status.CANCELLED] == 1
    assert counts[Status.RETURNED] == 0


# The picture ----------------------------------------------------------------------

TEXTS = ChartTexts(
    title="Activité des 8 dernières semaines",
    interventions="Interventions par semaine",
    hours="Heures travaillées par semaine",
    totals="Total par technicien",
    statuses="Toutes les interventions par statut",
    others="Autres",
    total_line="{count} interv. · {hours}",
)


def sample_chart(technicians: int = 4, weeks: int = 8) -> StatsChart:
    names = ["Paul Durand", "Sophie Martin", "Karim $5 Benali", "Élodie Lefèvre-Dupont 🔧"]
    series = [
        Series(
            name=names[i] if i < len(names) else f"Technicien {i}",
            interventions=[(i + w) % 7 for w in range(weeks)],
            hours=[Decimal((i + w) % 7) * Decimal("2.5") for w in range(weeks)],
        )
        for i in range(technicians)
    ]
    statuses = [
        StatusCount(status.value, status.value.replace("_", " "), n)
        for n, status in enumerate(stats.STATUS_ORDER)
    ]
    return StatsChart(
        weeks=[f"S{40 + w}\n{w + 1:02d}/10" for w in range(weeks)],
        technicians=series,
        statuses=statuses,
        texts=TEXTS,
        language="fr",
    )


@pytest.mark.parametrize(("technicians", "weeks"), [(4, 8), (1, 1), (12, 26), (0, 8)])
def test_the_chart_is_a_png_a_phone_can_show(technicians: int, weeks: int) -> None:
    png = render_stats(sample_chart(technicians, weeks))
    image = Image.open(io.BytesIO(png))
    image.verify()
    assert image.format == "PNG"
    assert image.size == (WIDTH, HEIGHT) == (1280, 960)
    assert len(png) < 300_000


def test_beyond_max_series_the_smallest_technicians_share_one_colour() -> None:
    chart = sample_chart(technicians=MAX_SERIES + 3, weeks=4)
    drawn = _series(chart)
    assert len(drawn) == MAX_SERIES
    assert drawn[-1].name == "Autres"
    assert sum(sum(s.interventions) for s in drawn) == sum(
        sum(s.interventions) for s in chart.technicians
    )
    assert len({s.colour for s in drawn}) == MAX_SERIES


def test_a_series_without_one_value_per_week_is_refused() -> None:
    chart = sample_chart(technicians=1, weeks=3)
    broken = StatsChart(
        weeks=chart.weeks[:2],
        technicians=chart.technicians,
        statuses=chart.statuses,
        texts=TEXTS,
    )
    with pytest.raises(ValueError, match="one value per week"):
        render_stats(broken)


# The command ----------------------------------------------------------------------


@pytest.fixture
def office_harness(harness: Harness) -> Harness:
    """The harness, for the office's /stats."""
    return harness


async def test_a_dispatcher_gets_the_chart_as_one_photo(office_harness: Harness) -> None:
    harness = office_harness
    await register(harness, DISPATCHER, Role.DISPATCHER)
    now = dt.datetime.now(dt.UTC)
    await job(harness.db, ended=now - dt.timedelta(hours=1), hours="2.5")
    await job(harness.db, SOPHIE, ended=now - dt.timedelta(days=9), hours="4")
    await job(harness.db, SOPHIE, status=Status.PLANNED)

    calls = await harness.say(DISPATCHER, "/stats")
    assert [call.method for call in calls] == ["sendChatAction", "sendPhoto"]
    action, photo = calls
    assert (action.chat_id, action.params["action"]) == (DISPATCHER.id, "upload_photo")
    assert photo.chat_id == DISPATCHER.id
    assert str(photo.params["photo"]).startswith("attach://")
    caption = str(photo.params["caption"])
    assert "8 sem." in caption
    assert "2 interventions, 6\u00a0h\u00a030 de travail" in caption


async def test_the_office_may_ask_for_more_weeks_and_a_bad_number_is_explained(
    office_harness: Harness,
) -> None:
    harness = office_harness
    await register(harness, ENGLISH_DISPATCHER, Role.ADMIN)
    await job(harness.db, ended=dt.datetime.now(dt.UTC) - dt.timedelta(days=100), hours="3")
    calls = await harness.say(ENGLISH_DISPATCHER, "/stats 26")
    assert [call.method for call in calls] == ["sendChatAction", "sendPhoto"]
    assert "26 wk" in str(calls[1].params["caption"])
    assert "1 intervention, 3\u00a0h of work" in str(calls[1].params["caption"])
    for wrong in ("/stats 0", "/stats 27", "/stats lots", "/stats -3"):
        calls = await harness.say(ENGLISH_DISPATCHER, wrong)
        assert [call.method for call in calls] == ["sendMessage"]
        assert "from 1 to 26" in calls[0].text


async def test_a_technician_is_refused_the_figures(office_harness: Harness) -> None:
    harness = office_harness
    await job(harness.db, ended=dt.datetime.now(dt.UTC), hours="1")
    calls = await harness.say(TECHNICIAN, "/stats")
    assert [call.method for call in calls] == ["sendMessage"]
    assert calls[0].text == "Cette commande est réservée au bureau."


async def test_with_no_intervention_at_all_the_office_reads_a_sentence(
    office_harness: Harness,
) -> None:
    harness = office_harness
    await register(harness, DISPATCHER, Role.DISPATCHER)
    calls = await harness.say(DISPATCHER, "/stats")
    assert [call.method for call in calls] == ["sendMessage"]
    assert "Aucune intervention enregistrée" in calls[0].text


async def test_with_nothing_in_the_weeks_the_office_reads_the_statuses(
    office_harness: Harness,
) -> None:
    harness = office_harness
    await register(harness, DISPATCHER, Role.DISPATCHER)
    await job(harness.db, status=Status.PLANNED)
    await job(harness.db, ended=dt.datetime.now(dt.UTC) - dt.timedelta(days=200), hours="1")
    calls = await harness.say(DISPATCHER, "/stats 4")
    assert [call.method for call in calls] == ["sendMessage"]
    text = calls[0].text
    assert "Aucune intervention terminée ni commencée" in text and "(4 sem.)" in text
    assert "planifiée : 1" in text and "en attente de validation : 1" in text
