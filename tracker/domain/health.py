"""Health of a running mentorship: the at-risk rules, pure and readable (docs/RETENTION.md).

No Flask, no database, no clock. Each rule says when it began to hold ("since"), so an operator's
"handled" covers the flags raised up to that moment and a new one shows again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tracker.domain.lifecycle import State

NO_CHECKIN_DAYS = 14
TRIAL_SILENT_DAYS = 3
LOW_USEFULNESS = 2  # a pulse of 1 or 2 out of 5
FALLING_ANSWERS = 3  # progress falling two months running: the last three answers strictly decrease

# Check-in cadence, for the research view: from the average gap between check-ins, (last - first) /
# (n - 1); "irregular" when one gap is over twice that average. Fewer than 3 check-ins: too few to tell.
CADENCE_MIN_CHECKINS = 3
IRREGULAR_GAP_FACTOR = 2
CADENCE_DAYS = {"weekly": 10, "biweekly": 21, "monthly": 45}

# Success tiers of the progress a mentee reports (0-100% of the goal): each tier from its floor up,
# the first that fits; below the last floor, LOWEST_PROGRESS_TIER.
PROGRESS_TIER_FLOORS = {"highly": 81, "somewhat": 61}
LOWEST_PROGRESS_TIER = "less"

# What each at-risk rule says, for people (the rules themselves are `flags` below).
RISK_RULE_TEXTS = {
    "no_checkin": f"No check-in in the last {NO_CHECKIN_DAYS} days",
    "low_pulse": f"The last pulse rated the month {LOW_USEFULNESS} or less out of 5",
    "progress_falling": "Progress towards the goal fell two months running",
    "trial_silent": f"A trial with no check-in by day {TRIAL_SILENT_DAYS}",
}


@dataclass(frozen=True)
class Flag:
    rule: str
    since: datetime

    @property
    def text(self) -> str:
        return RISK_RULE_TEXTS[self.rule]


@dataclass(frozen=True)
class PulseAnswer:
    period: int
    progress: int | None
    usefulness: int | None
    submitted_at: datetime


def flags(state: State | None, trial_started_at: datetime | None, last_checkin_at: datetime | None,
          pulses: list[PulseAnswer], at: datetime) -> list[Flag]:
    """The rules that hold for a mentorship as of `at`. Only a running one (trial or paid) is
    judged: pending, paused and ended mentorships have no health flags.

    `last_checkin_at` and `pulses` must already leave out anything after `at`."""
    if state is None or not state.is_running:
        return []
    found = []
    if state.status == "trial" and last_checkin_at is None \
            and at >= trial_started_at + timedelta(days=TRIAL_SILENT_DAYS):
        found.append(Flag("trial_silent", trial_started_at + timedelta(days=TRIAL_SILENT_DAYS)))
    quiet_since = (last_checkin_at or trial_started_at) + timedelta(days=NO_CHECKIN_DAYS)
    if at >= quiet_since:
        found.append(Flag("no_checkin", quiet_since))
    ordered = sorted(pulses, key=lambda p: p.period)
    rated = [p for p in ordered if p.usefulness is not None]
    if rated and rated[-1].usefulness <= LOW_USEFULNESS:
        found.append(Flag("low_pulse", rated[-1].submitted_at))
    recent = [p for p in ordered if p.progress is not None][-FALLING_ANSWERS:]
    if len(recent) == FALLING_ANSWERS and all(a.progress > b.progress for a, b in zip(recent, recent[1:])):
        found.append(Flag("progress_falling", recent[-1].submitted_at))
    return found


def progress_tier(progress: int | None) -> str | None:
    """The success tier of a progress answer; None without one. The reports group by the same tiers in
    SQL (queries.progress_tier_expression); tests/test_rule_twins.py holds the two together."""
    if progress is None:
        return None
    return next((tier for tier, floor in PROGRESS_TIER_FLOORS.items() if progress >= floor), LOWEST_PROGRESS_TIER)


def cadence(checkins: list[datetime]) -> str:
    """How regularly check-ins happened over a whole run: a key of CADENCE_DAYS, "irregular" or "too_few".
    The research view classifies in SQL (queries.ending_groups); this is its statement in Python, held to it
    by tests/test_rule_twins.py."""
    times = sorted(checkins)
    n = len(times)
    if n < CADENCE_MIN_CHECKINS:
        return "too_few"
    span = times[-1] - times[0]
    longest = max(later - earlier for earlier, later in zip(times, times[1:]))
    if longest * (n - 1) > IRREGULAR_GAP_FACTOR * span:
        return "irregular"
    return next((name for name, days in CADENCE_DAYS.items() if span <= timedelta(days=days) * (n - 1)),
                "irregular")


def unhandled(found: list[Flag], handled_at: datetime | None) -> list[Flag]:
    """The flags raised after the last time an operator marked the mentorship handled."""
    return [f for f in found if handled_at is None or f.since > handled_at]


@dataclass(frozen=True)
class Assessment:
    mentorship: object
    flags: list[Flag]
    open_flags: list[Flag]  # raised since an operator last marked it handled
    handled_at: datetime | None
    handled_note: str | None

    @property
    def status(self) -> str:
        return "at_risk" if self.flags else "healthy"


def assess(inputs, at: datetime) -> list[Assessment]:
    """Health of each running mentorship (queries.health_inputs): unhandled flags first, then flags
    already handled, then the healthy; oldest flag first within each."""
    found = []
    for row in inputs:
        m = row.mentorship
        raised = flags(m.state(at), m.trial_started_at, row.last_checkin_at, row.pulses, at)
        found.append(Assessment(m, raised, unhandled(raised, row.handled_at), row.handled_at, row.handled_note))
    far = datetime.max.replace(tzinfo=at.tzinfo)
    return sorted(found, key=lambda a: (not a.open_flags, not a.flags,
                                        min((f.since for f in a.flags), default=far), a.mentorship.id))
