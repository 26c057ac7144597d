"""Pure time rules of a mentorship: its states, periods, stages, offers and pulse windows.

No Flask, no database, no clock: every function takes the moment it is asked about.
A timestamp later than that moment is treated as not having happened yet, so the state
of a mentorship as of any past moment is reproducible.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

TRIAL_LENGTH = timedelta(days=7)
PAID_MONTH = timedelta(days=30)  # the one definition of a month: reports and charts derive from it
# The end of paid month 1 and of paid month 3, counted from the start of the trial.
MONTH_1_ENDS = TRIAL_LENGTH + PAID_MONTH
MONTH_3_ENDS = TRIAL_LENGTH + 3 * PAID_MONTH

# What `state_as_of` can answer, in the order reports list them.
STATUSES = ("pending", "trial", "paid", "paused", "ended", "closed")
# The stage a mentorship ended in, by how long after the start of its trial it ended: the first stage
# whose end is later than that, else LAST_STAGE. The SQL of the reports is built from the same list.
STAGE_ENDS = (("trial", TRIAL_LENGTH), ("month_1", MONTH_1_ENDS), ("months_2_3", MONTH_3_ENDS))
LAST_STAGE = "later"
STAGES = (*(stage for stage, _ in STAGE_ENDS), LAST_STAGE)
# A check-in lasts from 1 to 600 minutes (forms, services, the history import and the table's check).
CHECKIN_MINUTES_MIN, CHECKIN_MINUTES_MAX = 1, 600
END_REASONS = ("declined", "withdrawn", "cancelled")

# --- the cancel flow's save offers (docs/RETENTION.md) ---
# What each reason is offered until an operator changes it. "I reached my goal" is a success and
# never gets an offer: it is congratulated and goes straight to the survey.
DEFAULT_OFFERS = {
    "goal_reached": "none", "too_expensive": "plan_reminder", "no_time": "pause",
    "mentor_fit": "switch_mentor", "mentor_unresponsive": "switch_mentor",
    "switched_mentor": "none", "platform_issue": "none", "other": "none",
}
FIXED_OFFERS = {"goal_reached": "none"}
PAUSE_MONTHS = (1, 2)
# A cancel flow with neither a cancellation nor an accepted offer this long after it started was
# abandoned; a save counts once the kept mentorship is still going this long after the acceptance.
FLOW_ABANDONED_AFTER = timedelta(hours=24)
SAVE_LASTS = timedelta(days=30)
FLOW_OUTCOMES = ("accepted", "cancelled", "abandoned", "open")
# --- offer experiments (docs/EXPERIMENTS.md) ---
# An experiment's outcome: the mentee's mentorship still going this many days after they were assigned.
EXPERIMENT_HORIZONS = (30, 60, 90)
EXPERIMENT_ARMS = ("a", "b")

# --- the monthly pulse ---
# The pulse of period k (0 = the trial, k = paid month k) can be answered from a little before the
# period ends until a week after it.
PULSE_OPENS_BEFORE_END = {0: timedelta(days=2)}
PULSE_OPENS_BEFORE_MONTH_END = timedelta(days=7)
PULSE_CLOSES_AFTER_END = timedelta(days=7)


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
    return ended_at is None or converted_after(_seconds(ended_at - trial_started_at))


def converted_after(lived_seconds: float) -> bool:
    """converted, for a mentorship that ended this many seconds after its trial started."""
    return lived_seconds >= _TRIAL_SECONDS


def stage_of_end(trial_started_at: datetime, ended_at: datetime) -> str:
    return stage_after(_seconds(ended_at - trial_started_at))


def stage_after(lived_seconds: float) -> str:
    """stage_of_end, for a mentorship that ended this many seconds after its trial started (the
    rollups work in whole seconds: a million of them, without a datetime each)."""
    return next((stage for stage, end in _STAGE_END_SECONDS if lived_seconds < end), LAST_STAGE)


def _seconds(length: timedelta) -> float:
    """A length in seconds, exact to the microsecond for any length a mentorship can have."""
    return length / _ONE_SECOND


_ONE_SECOND = timedelta(seconds=1)
_TRIAL_SECONDS = _seconds(TRIAL_LENGTH)
_STAGE_END_SECONDS = tuple((stage, _seconds(end)) for stage, end in STAGE_ENDS)


def ended_early(trial_started_at: datetime, ended_at: datetime) -> bool:
    """Ended in the trial or in paid month 1 (the reports ask this in SQL, queries.ending_groups; held
    together by tests/test_rule_twins.py)."""
    return ended_at - trial_started_at < MONTH_1_ENDS


@dataclass(frozen=True)
class State:
    """Where a mentorship stands as of a moment.

    status: "pending", "trial", "paid", "paused" (a paid month inside an accepted pause),
    "ended" (after a trial) or "closed" (ended with no trial: declined or withdrawn). `month`
    is the paid month while paid or paused, and the period it ended in (0 = trial) once ended.
    """

    status: str
    month: int | None = None
    trial_ends_at: datetime | None = None
    time_left_in_trial: timedelta | None = None
    paused_until: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.status in ("pending", "trial", "paid", "paused")

    @property
    def can_cancel(self) -> bool:
        return self.status in ("trial", "paid", "paused")

    @property
    def is_running(self) -> bool:
        return self.status in ("trial", "paid")

    @property
    def can_decide(self) -> bool:
        """The mentor may accept or decline: the application is still pending."""
        return self.status == "pending"

    @property
    def can_withdraw(self) -> bool:
        """The mentee may withdraw: the application is still pending."""
        return self.status == "pending"

    @property
    def can_resume(self) -> bool:
        """The mentee may end a pause early."""
        return self.status == "paused"


def pause_covering(pauses, at: datetime) -> tuple[datetime, datetime] | None:
    """The (starts_at, ends_at) pause that `at` falls in, half-open; None if none does."""
    return next(((start, end) for start, end in pauses if start <= at < end), None)


def state_as_of(applied_at: datetime, trial_started_at: datetime | None,
                ended_at: datetime | None, at: datetime, pauses=()) -> State | None:
    """The state at moment `at`; None if the application had not been made yet.

    `pauses` are (starts_at, ends_at) pairs; a pause changes nothing about the paid months'
    boundaries, it only marks the time inside it as paused. It ends by itself at ends_at."""
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
    pause = pause_covering(pauses, at)
    if pause is not None:
        return State("paused", month=period_at(started, at), trial_ends_at=end, paused_until=pause[1])
    return State("paid", month=period_at(started, at), trial_ends_at=end)


# --- save offers, cancel flows and pulses ---------------------------------------------------------

def offers_in_force(configured: dict[str, str]) -> dict[str, str]:
    """{reason: offer}: the operators' choices over the defaults, the fixed ones always as fixed."""
    return {**DEFAULT_OFFERS, **configured, **FIXED_OFFERS}


def offer_for(reason: str, configured: dict[str, str], status: str) -> str:
    """The offer a cancel flow shows for `reason`, given the operators' settings and the state.

    A pause is for paid months only: a trial has nothing to pause (it is seven days), and a
    paused mentorship is already paused."""
    offer = offers_in_force(configured)[reason]
    if offer == "pause" and status != "paid":
        return "none"
    if status == "paused" and offer != "none":
        return "none"
    return offer


def flow_outcome(started_at: datetime, accepted_at: datetime | None, cancelled_at: datetime | None,
                 at: datetime) -> str | None:
    """A cancel flow's outcome as of `at`: accepted, cancelled, abandoned or open (None: not yet started)."""
    if started_at > at:
        return None
    if _happened(accepted_at, at):
        return "accepted"
    if _happened(cancelled_at, at):
        return "cancelled"
    if at >= started_at + FLOW_ABANDONED_AFTER:
        return "abandoned"
    return "open"


def save_outcome(accepted_at: datetime, kept_trial_started_at: datetime | None,
                 kept_ended_at: datetime | None, at: datetime) -> str:
    """"lasted", "lost" or "too_soon": whether the kept mentorship was going (its trial started, not
    ended) SAVE_LASTS after the offer was accepted, or that moment is still after `at`."""
    check = accepted_at + SAVE_LASTS
    if check > at:
        return "too_soon"
    started = kept_trial_started_at is not None and kept_trial_started_at <= check
    ended = kept_ended_at is not None and kept_ended_at <= check
    return "lasted" if started and not ended else "lost"


def still_going(ended_at: datetime | None, switched_at: datetime | None, kept_trial_started_at: datetime | None,
                kept_ended_at: datetime | None, at: datetime) -> bool:
    """Whether a mentee who set out to cancel still had a mentorship going at `at`: theirs had not
    ended, or they took a switch (at `switched_at`) and the mentorship it opened had its trial
    started and had not ended. An end at exactly `at` is not going; nothing after `at` counts."""
    if ended_at is None or ended_at > at:
        return True
    if switched_at is None or switched_at > at:
        return False
    started = kept_trial_started_at is not None and kept_trial_started_at <= at
    return started and (kept_ended_at is None or kept_ended_at > at)


def experiment_outcome(assigned_at: datetime, accepted_at: datetime | None, ended_at: datetime | None,
                       switched_at: datetime | None, kept_trial_started_at: datetime | None,
                       kept_ended_at: datetime | None, horizon_days: int, at: datetime) -> str:
    """One assignment's outcome `horizon_days` after it, as of `at`: "too_soon" while that moment is
    after `at`; else, at that moment, "lasted" if an offer of the experiment had been accepted and the
    mentee was still going (`still_going`), "going" if still going without having accepted one (they
    walked away, or nothing was offered), "gone" if not going."""
    check = assigned_at + timedelta(days=horizon_days)
    if check > at:
        return "too_soon"
    if not still_going(ended_at, switched_at, kept_trial_started_at, kept_ended_at, check):
        return "gone"
    return "lasted" if accepted_at is not None and accepted_at <= check else "going"


def decisive_outcome(offer_a: str, offer_b: str) -> str:
    """What an experiment's verdict is on: saves that lasted when both arms make an offer; against a
    holdout (an arm with no offer, whose saves are 0 by definition), mentees still going by any path."""
    return "going" if "none" in (offer_a, offer_b) else "lasted"


def pulse_window(trial_started_at: datetime, period: int) -> tuple[datetime, datetime]:
    """[opens, closes) for the pulse of period `period` (0 = the trial, k = paid month k)."""
    if period == 0:
        end = trial_end(trial_started_at)
        return end - PULSE_OPENS_BEFORE_END[0], end + PULSE_CLOSES_AFTER_END
    _, end = paid_month_bounds(trial_started_at, period)
    return end - PULSE_OPENS_BEFORE_MONTH_END, end + PULSE_CLOSES_AFTER_END


def pulse_due(trial_started_at: datetime, state: State, answered: set[int], at: datetime) -> int | None:
    """The period whose pulse the mentee can answer now, or None.

    Only while the mentorship runs (trial or paid, not paused, not ended); each period once."""
    if state is None or not state.is_running:
        return None
    current = period_at(trial_started_at, at)
    for period in (current - 1, current):
        if period is None or period < 0 or period in answered:
            continue
        opens, closes = pulse_window(trial_started_at, period)
        if opens <= at < closes:
            return period
    return None


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
