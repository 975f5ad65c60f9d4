"""When the reminders and the office's digest are due: rules on a clock, with no
database and no Telegram. The scheduler asks them every minute with the time it is
(`now`, timezone-aware) and the company's time zone, so a test moves the clock
instead of waiting, and a bot that was down asks them again at start.

What a reminder missed while the bot was down becomes (the README says the same):
- the evening reminder (tomorrow's interventions) is sent at start until midnight;
  after midnight it is skipped, and the hour-before reminder still comes;
- the reminder before an intervention is sent at start while the intervention is
  still planned and its time still ahead; once its time has passed it is skipped
  (the office hears that it is overdue);
- the nudge for an idle report is sent at start if the report is still idle, one per
  idle period, and never at night (NIGHT_STARTS to NIGHT_ENDS): it waits for the
  morning;
- the daily digest is sent at start when it is less than DIGEST_GRACE late, and
  skipped after that (the next day's comes as usual).
"""

from __future__ import annotations

import datetime as dt

#: Nudges wait for the morning from this time of day...
NIGHT_STARTS = dt.time(21, 0)
#: ...to this one.
NIGHT_ENDS = dt.time(7, 0)
#: A digest missed while the bot was down is still sent this long after its time.
DIGEST_GRACE = dt.timedelta(hours=3)
#: A report awaiting validation longer than this is pointed out in the digest.
WAITING_TOO_LONG = dt.timedelta(days=1)


def moment(day: dt.date, at: dt.time, tz: dt.tzinfo) -> dt.datetime:
    """`at` on `day` on the company's clock, as a moment in UTC."""
    return dt.datetime.combine(day, at, tzinfo=tz).astimezone(dt.UTC)


def day_span(day: dt.date, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """The company's `day`, from its midnight (included) to the next (excluded), in UTC."""
    return moment(day, dt.time(0), tz), moment(day + dt.timedelta(days=1), dt.time(0), tz)


def evening_due(now: dt.datetime, tz: dt.tzinfo, at: dt.time) -> dt.date | None:
    """The day whose interventions the evening reminder lists at `now`: tomorrow, from
    `at` until midnight on the company's clock; None before `at`."""
    local = now.astimezone(tz)
    if local.time() < at:
        return None
    return local.date() + dt.timedelta(days=1)


def digest_due(
    now: dt.datetime, tz: dt.tzinfo, at: dt.time, grace: dt.timedelta = DIGEST_GRACE
) -> dt.date | None:
    """The day whose digest is due at `now`: the one whose `at` has come, less than
    `grace` ago (a digest late by more is skipped); None otherwise."""
    today = now.astimezone(tz).date()
    for day in (today, today - dt.timedelta(days=1)):
        due = moment(day, at, tz)
        if due <= now < due + grace:
            return day
    return None


def before_due(scheduled: dt.datetime, now: dt.datetime, lead: dt.timedelta) -> bool:
    """Whether the reminder `lead` before an intervention at `scheduled` is due at
    `now`: its time has come and the intervention's has not."""
    return scheduled - lead <= now < scheduled


def idle_due(last_activity: dt.datetime, now: dt.datetime, idle: dt.timedelta) -> bool:
    """Whether a report last worked on at `last_activity` has been idle `idle` at `now`."""
    return now - last_activity >= idle


def at_night(now: dt.datetime, tz: dt.tzinfo) -> bool:
    """Whether `now` falls in the night on the company's clock, when nudges wait."""
    local = now.astimezone(tz).time()
    return local >= NIGHT_STARTS or local < NIGHT_ENDS
