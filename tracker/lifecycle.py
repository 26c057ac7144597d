"""Pure time rules of a mentorship (METRICS.md, "Vocabulary").

No Flask, no database, no clock: every function takes the moment it is asked about.
A timestamp later than that moment is treated as not having happened yet, so the state
of a mentorship as of any past moment is reproducible.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

TRIAL_LENGTH = timedelta(days=7)
PAID_MONTH = timedelta(days=30)

GOAL_CATEGORIES = {
    "change_careers": "Change careers",
    "extend_skillset": "Extend my skill set",
    "get_promoted": "Get promoted",
    "land_first_job": "Land my first job",
    "start_business": "Start a business",
    "other": "Something else",
}
MEETING_PREFERENCES = {"video": "Video calls", "in_person": "In person", "mixed": "A mix of both"}
CHECKIN_MODES = {"video": "Video", "in_person": "In person", "phone": "Phone", "chat": "Chat"}
GOAL_REACHED = {"yes": "Yes", "partly": "Partly", "no": "No"}
CHURN_REASONS = {
    "goal_reached": "I reached my goal",
    "too_expensive": "It is too expensive",
    "no_time": "I don't have the time right now",
    "mentor_fit": "The mentor was not the right fit",
    "mentor_unresponsive": "The mentor was unresponsive",
    "switched_mentor": "I am switching to another mentor",
    "platform_issue": "A problem with the platform",
    "other": "Something else",
}
STAGES = ("trial", "month_1", "months_2_3", "later")
END_REASONS = ("declined", "withdrawn", "cancelled")


def _happened(moment: datetime | None, at: datetime) -> datetime | None:
    """The timestamp if it is at or before `at`, else None: nothing after T exists."""
    return moment if moment is not None and moment <= at else None


def trial_end(trial_started_at: datetime) -> datetime:
    return trial_started_at + TRIAL_LENGTH


def paid_month_bounds(trial_started_at: datetime, k: int) -> tuple[datetime, datetime]:
    """Paid month k (1, 2, ...) as the half-open interval [start, end)."""
    if k < 1:
        raise ValueError("paid months are numbered from 1")
    start = trial_end(trial_started_at) + (k - 1) * PAID_MONTH
    return start, start + PAID_MONTH


def period_at(trial_started_at: datetime, moment: datetime) -> int | None:
    """0 during the trial, k during paid month k, None before the trial started."""
    if moment < trial_started_at:
        return None
    end = trial_end(trial_started_at)
    if moment < end:
        return 0
    return (moment - end) // PAID_MONTH + 1


def converted(trial_started_at: datetime, ended_at: datetime | None) -> bool:
    """Whether the trial turned into paid months: it did unless it ended before trial end."""
    return ended_at is None or ended_at >= trial_end(trial_started_at)


def stage_of_end(trial_started_at: datetime, ended_at: datetime) -> str:
    end = trial_end(trial_started_at)
    if ended_at < end:
        return "trial"
    if ended_at < end + PAID_MONTH:
        return "month_1"
    if ended_at < end + 3 * PAID_MONTH:
        return "months_2_3"
    return "later"


@dataclass(frozen=True)
class State:
    """Where a mentorship stands as of a moment.

    status: "pending", "trial", "paid", "ended" (after a trial) or "closed" (ended with no
    trial: declined or withdrawn). `month` is the paid month while paid, and the period
    it ended in (0 = trial) once ended.
    """

    status: str
    month: int | None = None
    trial_ends_at: datetime | None = None
    time_left_in_trial: timedelta | None = None

    @property
    def is_open(self) -> bool:
        return self.status in ("pending", "trial", "paid")

    @property
    def is_running(self) -> bool:
        return self.status in ("trial", "paid")


def state_as_of(applied_at: datetime, trial_started_at: datetime | None,
                ended_at: datetime | None, at: datetime) -> State | None:
    """The state at moment `at`; None if the application had not been made yet."""
    if applied_at > at:
        return None
    started = _happened(trial_started_at, at)
    ended = _happened(ended_at, at)
    if started is None:
        return State("closed") if ended is not None else State("pending")
    end = trial_end(started)
    if ended is not None:
        return State("ended", month=period_at(started, ended), trial_ends_at=end)
    if at < end:
        return State("trial", month=0, trial_ends_at=end, time_left_in_trial=end - at)
    return State("paid", month=period_at(started, at), trial_ends_at=end)


def periods_until(trial_started_at: datetime, last_moment: datetime) -> list[tuple[int, datetime, datetime]]:
    """The trial (0) and every paid month that has begun by `last_moment`, as (k, start, end)."""
    end = trial_end(trial_started_at)
    periods = [(0, trial_started_at, end)]
    k = 1
    while last_moment >= end + (k - 1) * PAID_MONTH:
        start, stop = paid_month_bounds(trial_started_at, k)
        periods.append((k, start, stop))
        k += 1
    return periods


@dataclass(frozen=True)
class PeriodActivity:
    month: int  # 0 = trial
    start: datetime
    end: datetime
    checkins: int
    minutes: int
    complete: bool  # the period is over (a running month with no check-in yet is not idle)


def activity_by_period(trial_started_at: datetime, last_moment: datetime,
                       checkins: list[tuple[datetime, int]]) -> list[PeriodActivity]:
    """Check-ins and minutes in the trial and each paid month begun by `last_moment`.

    `checkins` are (occurred_at, minutes); an idle period shows as zeros.
    """
    periods = periods_until(trial_started_at, last_moment)
    counts = {k: [0, 0] for k, _, _ in periods}
    for occurred_at, minutes in checkins:
        k = period_at(trial_started_at, occurred_at)
        if k in counts:
            counts[k][0] += 1
            counts[k][1] += minutes
    return [PeriodActivity(k, start, end, *counts[k], complete=end <= last_moment) for k, start, end in periods]
