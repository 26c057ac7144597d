"""The numbers, by the definitions of docs/METRICS.md, on plain numbers: no SQL, no Flask.

queries.py hands over grouped counts; this module turns them into rates with Wilson intervals,
Kaplan-Meier survival, cohort retention and Bayesian means, and assembles the one report that
pages, the API and exports all show.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import NormalDist
from typing import NamedTuple

import numpy as np

from tracker.domain.health import CADENCE_DAYS, CADENCE_MIN_CHECKINS, LOWEST_PROGRESS_TIER, PROGRESS_TIER_FLOORS
from tracker.domain.lifecycle import EXPERIMENT_ARMS, EXPERIMENT_HORIZONS, FLOW_OUTCOMES, PAID_MONTH, STAGES
from tracker.domain.vocabulary import (
    CHURN_REASONS,
    GOAL_CATEGORIES,
    MEETING_PREFERENCES,
    STARS_MAX,
    STARS_MIN,
    USEFULNESS_MAX,
    USEFULNESS_MIN,
)

Z95 = 1.959963984540054
BAYES_C = 5  # prior weight, in surveys, of the platform's mean stars
DAY = 86400
STAR_VALUES = range(STARS_MIN, STARS_MAX + 1)
MONTH = int(PAID_MONTH.total_seconds())
SURVIVAL_DAYS = (7, 30, 90, 180)


# --- rates ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int
    value: float | None
    low: float | None
    high: float | None

    def as_dict(self) -> dict:
        return {"value": self.value, "numerator": self.numerator, "denominator": self.denominator,
                "low": self.low, "high": self.high}


def wilson(k: int, n: int, z: float = Z95) -> Rate:
    """k successes out of n, with the Wilson score interval; all null when n = 0."""
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return Rate(k, n, None, None, None)
    z2 = z * z
    centre = (k + z2 / 2) / (n + z2)
    half = z * math.sqrt(k * (n - k) / n + z2 / 4) / (n + z2)
    return Rate(k, n, k / n, centre - half, centre + half)


# --- Kaplan-Meier -------------------------------------------------------------------------------

class Survival:
    """A Kaplan-Meier curve: S just after each distinct event time, in seconds."""

    def __init__(self, n: int, events: int, times: np.ndarray, values: np.ndarray):
        self.n, self.events = n, events
        self.times, self.values = times, values  # event times (seconds, ascending), S from each on

    @property
    def steps(self) -> tuple[tuple[int, float], ...]:
        """(event time in seconds, S from that time on)."""
        return tuple(zip(self.times.tolist(), self.values.tolist()))

    def at(self, seconds: float) -> float | None:
        """S(t): the product over event times <= t; None with no one at risk."""
        if self.n == 0:
            return None
        i = int(np.searchsorted(self.times, seconds, side="right"))
        return 1.0 if i == 0 else float(self.values[i - 1])

    @property
    def median_seconds(self) -> int | None:
        """The smallest event time with S(t) <= 0.5; None if the curve never gets there."""
        hits = np.flatnonzero(self.values <= 0.5)
        return int(self.times[hits[0]]) if hits.size else None


class DurationGroups(NamedTuple):
    """(duration in seconds, events, censored) as three arrays, one entry per distinct duration."""

    durations: np.ndarray
    events: np.ndarray
    censored: np.ndarray

    @classmethod
    def of(cls, groups) -> DurationGroups:
        if isinstance(groups, DurationGroups):
            return groups
        if isinstance(groups, EndedAndOpen):
            return groups.groups
        table = np.array(list(groups), dtype=np.int64).reshape(-1, 3)
        return cls(table[:, 0], table[:, 1], table[:, 2])


def merge_sorted(a: DurationGroups, b: DurationGroups) -> DurationGroups:
    """Two groups with distinct ascending durations, as one: b's counts are added where a has the same
    duration, and b's other durations are inserted in order. A censored of None is all zeros: with
    a's, the merged censored counts are written where b's go (not a third array inserted); with both,
    the result's censored is None too."""
    at = np.searchsorted(a.durations, b.durations)
    same = at < len(a.durations)
    same[same] = a.durations[at[same]] == b.durations[same]
    new = ~same
    where = at[new]
    durations = _insert(a.durations, where, b.durations[new])
    events = _insert(a.events, where, b.events[new])
    # Where a's entries that b meets are now: shifted by b's new durations inserted before them.
    met = at[same] + np.searchsorted(where, at[same], side="right")
    events[met] += b.events[same]  # each position once: b's durations are distinct
    if b.censored is None:
        censored = a.censored if a.censored is None else _insert(a.censored, where, np.zeros(len(where), np.int64))
    elif a.censored is None:
        censored = np.zeros(len(durations), dtype=np.int64)
        censored[where + np.arange(len(where))] = b.censored[new]
        censored[met] += b.censored[same]
    else:
        censored = _insert(a.censored, where, b.censored[new])
        censored[met] += b.censored[same]
    return DurationGroups(durations, events, censored)


def _insert(a: np.ndarray, where: np.ndarray, values: np.ndarray) -> np.ndarray:
    """np.insert(a, where, values) for ascending `where`. A few values (a day's endings into a
    million) are copied in between slices of `a`: np.insert's mask over the whole result costs more."""
    if len(where) > 1000:
        return np.insert(a, where, values)
    out = np.empty(len(a) + len(where), dtype=a.dtype)
    done = 0
    for i, (at, value) in enumerate(zip(where.tolist(), values.tolist())):
        out[done + i:at + i] = a[done:at]
        out[at + i] = value
        done = at
    out[done + len(where):] = a[done:]
    return out


class EndedAndOpen:
    """Duration groups in two parts, each with distinct ascending durations, as the fast path has them:
    `ended` (events only: the settled endings, hundreds of thousands at a million mentorships) and
    `other` (the trials still open, censored at T, and the day's own rows). event_table works on the
    parts as they are; anything else takes `groups`, the two merged (once)."""

    def __init__(self, ended: DurationGroups, other: DurationGroups):
        self.ended, self.other = ended, other
        self._groups: DurationGroups | None = None

    @property
    def groups(self) -> DurationGroups:
        if self._groups is None:
            self._groups = merge_sorted(self.ended, self.other)
        return self._groups

    def __len__(self) -> int:
        return len(self.ended.durations) + len(self.other.durations)

    def event_table(self) -> EventTable:
        other = self.other
        happened = other.events > 0  # the day's own endings: a few, merged into the ended ones
        events = merge_sorted(self.ended, DurationGroups(other.durations[happened], other.events[happened], None))
        total = int(events.events.sum()) + int(other.censored.sum())
        # A censoring at c leaves the risk set after c: it counts for every event time above c.
        first_after = np.searchsorted(events.durations, other.durations, side="right")
        censored_before = np.cumsum(np.bincount(first_after, weights=other.censored,
                                                minlength=len(events.durations) + 1))[:len(events.durations)]
        at_risk = total - (np.cumsum(events.events) - events.events) - censored_before.astype(np.int64)
        return EventTable(total, events.durations, events.events, at_risk)


class EventTable(NamedTuple):
    """What the Kaplan-Meier estimators read: everyone in the population (`total`), and at each
    distinct event time in seconds (ascending) the events there and how many were at risk just before
    it. A censoring at an event time still counts as at risk at that time."""

    total: int
    times: np.ndarray
    events: np.ndarray
    at_risk: np.ndarray


def event_table(groups: Iterable[tuple[int, int, int]] | DurationGroups | EndedAndOpen) -> EventTable:
    """groups: (duration in seconds, events, censored) with one row per distinct duration, in any order."""
    if isinstance(groups, EndedAndOpen):
        return groups.event_table()
    durations, events, censored = DurationGroups.of(groups)
    if not np.all(durations[1:] > durations[:-1]):
        order = np.argsort(durations, kind="stable")
        durations, events, censored = durations[order], events[order], censored[order]
    leaving = events + censored
    total = int(leaving.sum())
    at_risk = total - (np.cumsum(leaving) - leaving)  # at risk just before each duration
    happened = events > 0
    return EventTable(total, durations[happened], events[happened], at_risk[happened])


def kaplan_meier(groups: Iterable[tuple[int, int, int]] | DurationGroups | EndedAndOpen) -> Survival:
    """groups: as for event_table.

    S is the running product of (1 - d/n) over the event times in order, multiplied one factor at a
    time (numpy's cumprod is a sequential product), so it is the same float as the textbook loop.
    """
    table = event_table(groups)
    factors = 1.0 - table.events.astype(np.float64) / table.at_risk.astype(np.float64)
    return Survival(table.total, int(table.events.sum()), table.times, np.cumprod(factors))


# --- cohorts -------------------------------------------------------------------------------------

def cohort_retention(size: int, ended_bucket_counts: dict[int, int], months: int) -> list[float]:
    """Share still going at start + 30*m days for m = 0..months.

    ended_bucket_counts[b]: members that ended in (30*b days, 30*(b+1) days] after their trial
    started (b = -1 for ending at the very second it started); members still going are not in it.
    A member that ended at exactly start + 30*m days is not going at that moment.
    """
    retained = []
    for m in range(months + 1):
        ended_by_then = sum(count for bucket, count in ended_bucket_counts.items() if bucket < m)
        retained.append((size - ended_by_then) / size)
    return retained


def observable_months(at_seconds: int, latest_start_seconds: int) -> int:
    """How many whole 30-day steps every member of a cohort has lived through by T."""
    return (at_seconds - latest_start_seconds) // MONTH


# --- ratings -------------------------------------------------------------------------------------

def bayesian_mean(star_sum: int, n: int, prior_mean: float, c: int = BAYES_C) -> float:
    return (c * prior_mean + star_sum) / (c + n)


# --- the report ---------------------------------------------------------------------------------

@dataclass
class Counts:
    """What queries.py measured for one window, as-of moment and filter."""

    applications: int = 0
    accepted: int = 0
    declined: int = 0
    trials_decided: int = 0
    trials_converted: int = 0
    # (month ended "YYYY-MM", stage, churn_reason, goal_reached, stars) -> count; the last three
    # are None for a cancellation without a survey
    cancellations: dict | None = None
    # (duration seconds, events, censored)
    durations: list | None = None
    # cohort month "YYYY-MM" -> (size, latest start in seconds, {ended bucket: count})
    cohorts: dict | None = None
    # (mentor email, n surveys, sum of stars, goal reached "yes")
    mentors: list | None = None
    as_of_seconds: int = 0


def report(counts: Counts, as_of: str, window: dict, filters: dict) -> dict:
    """The metrics body of docs/INTERFACES.md, every key always present."""
    cancellations = counts.cancellations or {}
    by_stage = {stage: 0 for stage in STAGES}
    reasons = {reason: 0 for reason in CHURN_REASONS}
    reasons_by_stage = {stage: {reason: 0 for reason in CHURN_REASONS} for stage in STAGES}
    star_counts = {str(n): 0 for n in STAR_VALUES}
    surveys = yes = partly = star_sum = 0
    without_month = Counter()  # a few hundred keys instead of thousands
    for key, n in cancellations.items():
        without_month[key[1:]] += n
    for (stage, reason, goal, stars), n in without_month.items():
        by_stage[stage] += n
        if reason is None:
            continue
        surveys += n
        reasons[reason] += n
        reasons_by_stage[stage][reason] += n
        star_counts[str(stars)] += n
        star_sum += stars * n
        yes += n if goal == "yes" else 0
        partly += n if goal == "partly" else 0
    cancelled = sum(by_stage.values())
    mean_stars = star_sum / surveys if surveys else None

    survival = kaplan_meier(counts.durations if counts.durations is not None else [])
    median = survival.median_seconds
    return {
        "as_of": as_of,
        "window": window,
        "filters": filters,
        "applications": {"count": counts.applications, "accepted": counts.accepted,
                         "declined": counts.declined,
                         "pending": counts.applications - counts.accepted - counts.declined},
        "acceptance_rate": wilson(counts.accepted, counts.accepted + counts.declined).as_dict(),
        "trial_conversion": wilson(counts.trials_converted, counts.trials_decided).as_dict(),
        "cancellations": {"count": cancelled, "by_stage": by_stage},
        "survey_response_rate": wilson(surveys, cancelled).as_dict(),
        "success_rate": wilson(yes, surveys).as_dict(),
        "partly_rate": wilson(partly, surveys).as_dict(),
        "churn_reasons": {reason: {"count": n, "share": n / surveys if surveys else None}
                          for reason, n in reasons.items()},
        "churn_reasons_by_stage": reasons_by_stage,
        "stars": {"mean": mean_stars, "counts": star_counts},
        "retention": {"n": survival.n, "events": survival.events,
                      **{f"s{days}": survival.at(days * DAY) for days in SURVIVAL_DAYS},
                      "median_days": median / DAY if median is not None else None},
        "cohorts": cohorts(counts.cohorts or {}, counts.as_of_seconds),
        "mentors": mentor_table(counts.mentors or [], mean_stars),
    }


def cohorts(groups: dict, as_of_seconds: int) -> list[dict]:
    return [{"month": month, "size": size,
             "retained": cohort_retention(size, buckets, observable_months(as_of_seconds, latest_start))}
            for month, (size, latest_start, buckets) in sorted(groups.items())]


def mentor_table(rows: list, platform_mean: float | None) -> list[dict]:
    table = [{"mentor": email, "n": n, "mean_stars": star_sum / n,
              "bayesian_mean": bayesian_mean(star_sum, n, platform_mean),
              "success_rate": wilson(yes, n).as_dict()}
             for email, n, star_sum, yes in rows if n > 0]
    table.sort(key=lambda row: (-row["bayesian_mean"], -row["n"], row["mentor"]))
    return table


# --- series for the dashboard's charts -------------------------------------------------------------

def by_month(counts: Counts) -> list[dict]:
    """Per calendar month of cancellation: cancellations, success rate (with its interval) and
    the count of each reason."""
    months: dict[str, dict] = {}
    for (month, _stage, reason, goal, _stars), n in (counts.cancellations or {}).items():
        row = months.setdefault(month, {"cancellations": 0, "surveys": 0, "yes": 0,
                                        "reasons": {r: 0 for r in CHURN_REASONS}})
        row["cancellations"] += n
        if reason is not None:
            row["surveys"] += n
            row["yes"] += n if goal == "yes" else 0
            row["reasons"][reason] += n
    return [{"month": month, "cancellations": row["cancellations"],
             "success_rate": wilson(row["yes"], row["surveys"]).as_dict(), "reasons": row["reasons"]}
            for month, row in sorted(months.items())]


# The chart draws the curve to a tenth of a day (what its hover shows): of the steps inside one tenth,
# only the last. The numbers (S at 7, 30, 90, 180 days, the median) use every step.
CURVE_RESOLUTION = DAY // 10


def survival_curve(counts: Counts) -> list[tuple[float, float]]:
    """The Kaplan-Meier step curve as (days, S) points, starting at (0, 1): the last step of each
    tenth of a day, so a million mentorships draw a few thousand points, not a million."""
    survival = kaplan_meier(counts.durations if counts.durations is not None else [])
    if survival.n == 0:
        return []
    if not len(survival.times):  # nobody has ended yet: all still going, no step
        return [(0.0, 1.0)]
    slots = survival.times // CURVE_RESOLUTION
    last = np.flatnonzero(np.append(slots[1:] != slots[:-1], True))  # the last step in each slot
    return [(0.0, 1.0)] + list(zip((survival.times[last] / DAY).tolist(), survival.values[last].tolist()))


def by_quarter(counts: Counts) -> list[dict]:
    """Per calendar quarter of cancellation: surveys, mean stars and success rate."""
    quarters: dict[str, list[int]] = {}
    for (month, _stage, reason, goal, stars), n in (counts.cancellations or {}).items():
        if reason is None:
            continue
        year, number = month.split("-")
        row = quarters.setdefault(f"{year} Q{(int(number) - 1) // 3 + 1}", [0, 0, 0])
        row[0] += n
        row[1] += stars * n
        row[2] += n if goal == "yes" else 0
    return [{"quarter": quarter, "surveys": n, "mean_stars": star_sum / n, "success_rate": wilson(yes, n).as_dict()}
            for quarter, (n, star_sum, yes) in sorted(quarters.items())]


def better_than_share(table: list[dict], mentor: str) -> float | None:
    """The share of the other ranked mentors whose Bayesian mean is strictly lower than this one's;
    None if the mentor is not ranked or ranked alone."""
    mine = next((row["bayesian_mean"] for row in table if row["mentor"] == mentor), None)
    if mine is None or len(table) < 2:
        return None
    return sum(1 for row in table if row["mentor"] != mentor and row["bayesian_mean"] < mine) / (len(table) - 1)


def survey_count(report: dict) -> int:
    """How many exit surveys the report counts (those of its cancellations: the response rate's numerator)."""
    return report["survey_response_rate"]["numerator"]


def still_going(report: dict) -> int:
    """Trials of the retention population not ended by T (the censored durations)."""
    return report["retention"]["n"] - report["retention"]["events"]


def churn_summary(report: dict) -> dict:
    """For the churn page: how many surveys the report counts, and the share that gave a reason other
    than reaching the goal ("bad churn"), with its interval."""
    surveys = survey_count(report)
    good = report["churn_reasons"]["goal_reached"]["count"]
    return {"surveys": surveys, "other_reasons": wilson(surveys - good, surveys).as_dict()}


# Below this many exit surveys, a comment could point at the one mentee who wrote it.
FEEDBACK_MIN_SURVEYS = 3


def feedback_visible(surveys: int) -> bool:
    """Whether a mentor with this many exit surveys (all time) may read the comments about them."""
    return surveys >= FEEDBACK_MIN_SURVEYS


# --- Kaplan-Meier median with its interval ------------------------------------------------------

def median_interval(groups: Iterable[tuple[int, int, int]], z: float = Z95) -> tuple[int | None, int | None]:
    """The 95% interval of the Kaplan-Meier median, in seconds (None: not reached).

    Each bound is where the pointwise exponential-Greenwood ("log-log") band of S(t) first falls to
    0.5 or below, as lifelines' median_survival_times(confidence_interval_) computes it:
    c(t) = sum of d/(n(n-d)) over event times <= t (0 where d = n),
    band = exp(-exp(log(-log S) -/+ z*sqrt(c)/log S)).
    """
    _total, times, d, n = event_table(groups)
    if not len(times):
        return None, None
    s = np.cumprod(1.0 - d.astype(np.float64) / n.astype(np.float64))
    # n(n - d) is an exact integer well below 2**53, so each term is the correctly rounded quotient
    terms = np.where(n > d, d.astype(np.float64) / np.maximum(n * (n - d), 1).astype(np.float64), 0.0)
    c = np.cumsum(terms)  # a running sum, added in order
    with np.errstate(divide="ignore", invalid="ignore"):
        log_s = np.log(s)
        spread = z * np.sqrt(c) / log_s
        lower = np.where(s <= 0.0, 0.0, np.exp(-np.exp(np.log(-log_s) - spread)))
        upper = np.where(s <= 0.0, 0.0, np.exp(-np.exp(np.log(-log_s) + spread)))
    low, high = np.flatnonzero(lower <= 0.5), np.flatnonzero(upper <= 0.5)
    return (int(times[low[0]]) if low.size else None), (int(times[high[0]]) if high.size else None)


# --- saves: the cancel flow's offers (docs/RETENTION.md) ----------------------------------------------

def saves_report(groups: dict[tuple, int]) -> dict:
    """Per reason (and "all"): flows started, offers shown, accepted, declined, saves that lasted,
    cancelled, abandoned, open. groups: {(reason, shown, declined, outcome, save): count}."""
    blank = {"started": 0, "shown": 0, "declined": 0, "accepted": 0, "lasted": 0, "lost": 0, "too_soon": 0,
             "cancelled": 0, "abandoned": 0, "open": 0}
    tallies = {reason: dict(blank) for reason in (*CHURN_REASONS, "all")}
    for (reason, shown, declined, outcome, save), n in groups.items():
        for key in (reason, "all"):
            row = tallies[key]
            row["started"] += n
            row["shown"] += n if shown else 0
            row["declined"] += n if declined else 0
            row[outcome] += n
            if save is not None:
                row[save] += n
    return {reason: {**row,
                     "shown_rate": wilson(row["shown"], row["started"]).as_dict(),
                     "accept_rate": wilson(row["accepted"], row["shown"]).as_dict(),
                     "lasting_rate": wilson(row["lasted"], row["lasted"] + row["lost"]).as_dict(),
                     "abandon_rate": wilson(row["abandoned"], row["started"]).as_dict()}
            for reason, row in tallies.items()}


# --- offer experiments (docs/EXPERIMENTS.md) -----------------------------------------------------------

EXPERIMENT_ALPHA = 0.05  # two-sided
EXPERIMENT_POWER = 0.80


def newcombe_difference(k1: int, n1: int, k2: int, n2: int, z: float = Z95) -> dict | None:
    """k1/n1 - k2/n2 with Newcombe's hybrid score interval (his method 10: from the two Wilson
    intervals, no continuity correction); None when either sample is empty."""
    if n1 == 0 or n2 == 0:
        return None
    a, b = wilson(k1, n1, z), wilson(k2, n2, z)
    difference = a.value - b.value
    return {"value": difference,
            "low": difference - math.sqrt((a.value - a.low) ** 2 + (b.high - b.value) ** 2),
            "high": difference + math.sqrt((a.high - a.value) ** 2 + (b.value - b.low) ** 2)}


def planned_sample_size(baseline: float, effect: float, share_b: float, alpha: float = EXPERIMENT_ALPHA,
                        power: float = EXPERIMENT_POWER) -> tuple[int, int]:
    """Flows per arm (A, B) for a two-sided test at `alpha` to find, with probability `power`, arm B's
    rate differing from arm A's `baseline` by `effect` (fractions), when B gets `share_b` of the flows.

    The normal approximation with the pooled variance under no difference and the arms' own under the
    difference: n_B = ((z_{1-alpha/2} sd_0 + z_power sd_1) / effect)^2, n_A = n_B (1 - share_b) / share_b,
    each rounded up, where with r = n_A / n_B and p = (p_B + r p_A) / (1 + r),
    sd_0^2 = p(1 - p)(1 + 1/r) and sd_1^2 = p_B(1 - p_B) + p_A(1 - p_A)/r."""
    if not (0 <= baseline < 1 and 0 < effect and baseline + effect <= 1 and 0 < share_b < 1):
        raise ValueError(f"need 0 <= baseline < baseline + effect <= 1 and 0 < share_b < 1, "
                         f"got {baseline}, {effect}, {share_b}")
    p_a, p_b = baseline, baseline + effect
    ratio = (1 - share_b) / share_b
    pooled = (p_b + ratio * p_a) / (1 + ratio)
    sd_null = math.sqrt(pooled * (1 - pooled) * (1 + 1 / ratio))
    sd_alternative = math.sqrt(p_b * (1 - p_b) + p_a * (1 - p_a) / ratio)
    normal = NormalDist()
    n_b = ((normal.inv_cdf(1 - alpha / 2) * sd_null + normal.inv_cdf(power) * sd_alternative) / effect) ** 2
    # A hair of tolerance so that an exact whole number is not pushed up by rounding error.
    return math.ceil(n_b * ratio - 1e-9), math.ceil(n_b - 1e-9)


def experiment_report(groups: dict[tuple, int], planned: dict[str, int], decisive: str = "lasted") -> dict:
    """An experiment's results by arm, by assignment (intention to treat).

    groups: {(arm, in plan, path, outcome at each of EXPERIMENT_HORIZONS): count}, where "in plan" says
    the assignment is among its arm's first `planned` ones, path is what the mentee did as of T
    (lifecycle.flow_outcome: accepted, cancelled, abandoned, open) and each outcome is
    lifecycle.experiment_outcome's (lasted, going, gone, too_soon). planned: {arm: assignments planned}.
    decisive: the outcome the verdict is on, "lasted" or "going" (lifecycle.decisive_outcome).

    Per arm and horizon: the assignments whose outcome is known, the saves that lasted among them and
    those still going by any path (each with its Wilson interval), and, apart, the abandoned flows still
    going. Per horizon: B minus A for both, with Newcombe's interval, over every known outcome; and the
    verdict, on the decisive outcome of the first `planned` assignments of each arm only, once all of
    them are known (a test of the planned size, which later assignments do not move)."""
    def blank():
        return {d: {"known": 0, "lasted": 0, "going": 0, "abandoned_going": 0} for d in EXPERIMENT_HORIZONS}
    arms = {arm: {"assigned": 0, "paths": dict.fromkeys(FLOW_OUTCOMES, 0), "horizons": blank(),
                  "planned": planned[arm]} for arm in EXPERIMENT_ARMS}
    in_plan = {arm: blank() for arm in EXPERIMENT_ARMS}
    for (arm, planned_one, path, *outcomes), n in groups.items():
        row = arms[arm]
        row["assigned"] += n
        row["paths"][path] += n
        for d, outcome in zip(EXPERIMENT_HORIZONS, outcomes, strict=True):
            if outcome == "too_soon":
                continue
            for cell in (row["horizons"][d], *([in_plan[arm][d]] if planned_one else [])):
                cell["known"] += n
                if outcome in ("lasted", "going"):
                    cell[outcome] += n
                    if path == "abandoned":
                        cell["abandoned_going"] += n
    for row in arms.values():
        row["abandon_rate"] = wilson(row["paths"]["abandoned"], row["assigned"]).as_dict()
        for cell in row["horizons"].values():
            cell["lasted_rate"] = wilson(cell["lasted"], cell["known"]).as_dict()
            cell["going_rate"] = wilson(cell["lasted"] + cell["going"], cell["known"]).as_dict()
    comparisons = {}
    for d in EXPERIMENT_HORIZONS:
        a, b = arms["a"]["horizons"][d], arms["b"]["horizons"][d]
        plan_a, plan_b = in_plan["a"][d], in_plan["b"][d]
        reached = plan_a["known"] >= planned["a"] and plan_b["known"] >= planned["b"]
        comparisons[d] = {"planned_reached": reached,
                          "lasted_difference": _difference(b, a, "lasted"),
                          "going_difference": _difference(b, a, "going"),
                          "planned_difference": _difference(plan_b, plan_a, decisive) if reached else None}
        comparisons[d]["verdict"] = _verdict(comparisons[d]["planned_difference"], reached)
    return {"arms": arms, "comparisons": comparisons, "decisive": decisive}


def _difference(b: dict, a: dict, outcome: str) -> dict | None:
    """B minus A in the share with `outcome` (lasted; or going, which counts the saves too)."""
    def k(cell):
        return cell["lasted"] if outcome == "lasted" else cell["lasted"] + cell["going"]
    return newcombe_difference(k(b), b["known"], k(a), a["known"])


def _verdict(difference: dict | None, planned_reached: bool) -> str:
    """too_early until the planned size is reached in both arms; then b_better or a_better when the
    95% interval of B minus A leaves out 0, else no_difference (none as large as planned for)."""
    if difference is None or not planned_reached:
        return "too_early"
    if difference["low"] > 0:
        return "b_better"
    if difference["high"] < 0:
        return "a_better"
    return "no_difference"


# --- the monthly pulse --------------------------------------------------------------------------------

_HIGHLY, _SOMEWHAT = PROGRESS_TIER_FLOORS["highly"], PROGRESS_TIER_FLOORS["somewhat"]
PROGRESS_TIERS = {"highly": f"Highly successful ({_HIGHLY}% or more of the goal)",
                  "somewhat": f"Somewhat successful ({_SOMEWHAT}-{_HIGHLY - 1}%)",
                  LOWEST_PROGRESS_TIER: f"Less ({_SOMEWHAT - 1}% or under)"}
USEFULNESS_BANDS = {"low": (USEFULNESS_MIN, 2), "middle": (3, 3), "high": (4, USEFULNESS_MAX)}


def _usefulness_label(low: int, high: int) -> str:
    return f"Useful {low} of {USEFULNESS_MAX}" if low == high else f"Useful {low}-{high} of {USEFULNESS_MAX}"


# The bands as pages list them, most useful first.
USEFULNESS_BAND_LABELS = {band: _usefulness_label(*USEFULNESS_BANDS[band]) for band in reversed(USEFULNESS_BANDS)}


def pulse_tiers(groups: dict[str | None, int]) -> dict:
    """Shares of each success tier among mentorships with a progress answer, and how many have one."""
    answered = sum(n for tier, n in groups.items() if tier is not None)
    return {"answered": answered, "population": sum(groups.values()),
            "tiers": {tier: wilson(groups.get(tier, 0), answered).as_dict() for tier in PROGRESS_TIERS}}


class MonthOne(NamedTuple):
    """A group of mentorships with a month-1 pulse (queries.month_one_groups)."""

    usefulness: int | None
    progress_tier: str | None
    goal_reached: str | None  # of the exit survey, None without one
    observed_to_month_3: bool
    ended_before_month_3: bool


def _ending_rates(rows: list[tuple[MonthOne, int]]) -> dict:
    n = surveys = yes = observed = lasted = 0
    for key, count in rows:
        n += count
        surveys += count if key.goal_reached is not None else 0
        yes += count if key.goal_reached == "yes" else 0
        observed += count if key.observed_to_month_3 else 0
        lasted += count if key.observed_to_month_3 and not key.ended_before_month_3 else 0
    return {"n": n, "success_rate": wilson(yes, surveys).as_dict(),
            "past_month_3": wilson(lasted, observed).as_dict()}


def month_one_prediction(groups: dict[MonthOne, int]) -> dict:
    """How the month-1 pulse's answers went with the ending: per usefulness band and per progress tier,
    the success rate of those who left a survey and the share still going at the end of paid month 3
    (among those observed that long)."""
    items = list(groups.items())
    return {
        "usefulness": {band: _ending_rates([(k, n) for k, n in items
                                            if k.usefulness is not None and low <= k.usefulness <= high])
                       for band, (low, high) in USEFULNESS_BANDS.items()},
        "progress": {tier: _ending_rates([(k, n) for k, n in items if k.progress_tier == tier])
                     for tier in PROGRESS_TIERS},
    }


# --- health rules judged on how mentorships ended, and research views ---------------------------------

# The at-risk rules judged on a cancellation's whole run: the first fields of Ending, in this order.
ENDING_FLAGS = ("no_checkin", "trial_silent", "low_pulse", "progress_falling")
CADENCES = {"weekly": f"Weekly (a check-in every {CADENCE_DAYS['weekly']} days or less on average)",
            "biweekly": f"Bi-weekly (every {CADENCE_DAYS['weekly'] + 1}-{CADENCE_DAYS['biweekly']} days)",
            "monthly": f"Monthly (every {CADENCE_DAYS['biweekly'] + 1}-{CADENCE_DAYS['monthly']} days)",
            "irregular": "Irregular (one gap over twice the average, or rarer than monthly)",
            "too_few": f"Fewer than {CADENCE_MIN_CHECKINS} check-ins"}


class Ending(NamedTuple):
    """A group of cancellations by what their whole run looked like (queries.ending_groups). The first
    four fields are the at-risk rules of ENDING_FLAGS, in that order: whether each held at any time."""

    no_checkin: bool
    trial_silent: bool
    low_pulse: bool
    progress_falling: bool
    ended_early: bool  # in the trial or paid month 1
    cadence: str
    meeting_preference: str | None
    goal_category: str
    goal_reached: str | None  # of the exit survey, None without one

    @property
    def flags(self) -> tuple[bool, ...]:
        return self[:len(ENDING_FLAGS)]


def _outcomes(rows: list[tuple[Ending, int]]) -> dict:
    n = surveys = yes = early = 0
    for key, count in rows:
        n += count
        surveys += count if key.goal_reached is not None else 0
        yes += count if key.goal_reached == "yes" else 0
        early += count if key.ended_early else 0
    return {"n": n, "success_rate": wilson(yes, surveys).as_dict(), "early_rate": wilson(early, n).as_dict()}


def risk_history(groups: dict[Ending, int]) -> dict:
    """Cancellations split by whether each at-risk rule (and any rule) held while they ran:
    success rate of their surveys and the share that ended early (trial or paid month 1)."""
    items = list(groups.items())
    never = [(k, n) for k, n in items if not any(k.flags)]
    table = {rule: {"flagged": _outcomes([(k, n) for k, n in items if getattr(k, rule)]),
                    "unflagged": _outcomes(never)}
             for rule in ENDING_FLAGS}
    table["any"] = {"flagged": _outcomes([(k, n) for k, n in items if any(k.flags)]), "unflagged": _outcomes(never)}
    return table


def research(groups: dict[Ending, int], durations: dict[str, list]) -> dict:
    """Success by check-in cadence, by meeting preference and by goal category (each with its
    interval), and each goal category's Kaplan-Meier median duration with its interval."""
    items = list(groups.items())
    categories = {}
    for category in GOAL_CATEGORIES:
        rows = durations.get(category, [])
        survival = kaplan_meier(rows)
        median = survival.median_seconds
        low, high = median_interval(rows)
        categories[category] = {
            **_outcomes([(k, n) for k, n in items if k.goal_category == category]),
            "trials": survival.n, "events": survival.events,
            "median_days": median / DAY if median is not None else None,
            "median_low_days": low / DAY if low is not None else None,
            "median_high_days": high / DAY if high is not None else None,
            "s90": survival.at(90 * DAY)}
    return {
        "cadence": {cadence: _outcomes([(k, n) for k, n in items if k.cadence == cadence]) for cadence in CADENCES},
        "meeting": {pref: _outcomes([(k, n) for k, n in items if k.meeting_preference == pref])
                    for pref in (*MEETING_PREFERENCES, None)},
        "categories": categories,
    }


# --- a mentor's public rating ----------------------------------------------------------------------

@dataclass
class PublicRating:
    n: int
    mean: float | None
    bayesian_mean: float | None
    counts: dict[int, int]  # stars -> reviews
    shown: bool  # enough reviews stand behind it to show it


def public_rating(counts: dict[int, int], prior: float | None, shown_from: int) -> PublicRating:
    """A mentor's visible public reviews by stars: their mean, and the Bayesian mean shrunk towards
    `prior` (the mean of every visible review; 0 when there is none)."""
    n = sum(counts.values())
    if n == 0:
        return PublicRating(0, None, None, counts, False)
    star_sum = sum(stars * k for stars, k in counts.items())
    return PublicRating(n, star_sum / n, bayesian_mean(star_sum, n, prior if prior is not None else 0), counts,
                        n >= shown_from)


# --- review bias: public reviews against the private exit survey ------------------------------------

# Student's t, 97.5th percentile, by degrees of freedom (a mean's 95% interval on a small sample).
_T975 = {1: 12.706205, 2: 4.302653, 3: 3.182446, 4: 2.776445, 5: 2.570582, 6: 2.446912, 7: 2.364624,
         8: 2.306004, 9: 2.262157, 10: 2.228139, 11: 2.200985, 12: 2.178813, 13: 2.160369, 14: 2.144787,
         15: 2.131450, 16: 2.119905, 17: 2.109816, 18: 2.100922, 19: 2.093024, 20: 2.085963, 25: 2.059539,
         30: 2.042272, 40: 2.021075, 60: 2.000298, 120: 1.979930}


def t975(df: int) -> float:
    """t at 0.975 for `df` degrees of freedom: exact in the table, else the next smaller tabled df's
    (a slightly wider interval, never a narrower one; beyond 120, 120's, at most 1% wider than z)."""
    if df < 1:
        raise ValueError("needs at least one degree of freedom")
    return _T975[max(d for d in _T975 if d <= df)]


@dataclass(frozen=True)
class MeanInterval:
    n: int
    mean: float | None
    low: float | None
    high: float | None

    def as_dict(self) -> dict:
        return {"n": self.n, "mean": self.mean, "low": self.low, "high": self.high}


def mean_interval_of_sums(n: int, total: int, squares: int) -> MeanInterval:
    """The mean of n whole numbers with its 95% t interval, from their sum and the sum of their squares
    (exact integers, so the variance is exact too); no interval below 2 values."""
    if n == 0:
        return MeanInterval(0, None, None, None)
    mean = total / n
    if n < 2:
        return MeanInterval(n, mean, None, None)
    variance = max(0.0, (squares - total * total / n) / (n - 1))
    half = t975(n - 1) * math.sqrt(variance) / math.sqrt(n)
    return MeanInterval(n, mean, mean - half, mean + half)


def mean_interval(values: list[int]) -> MeanInterval:
    return mean_interval_of_sums(len(values), sum(values), sum(v * v for v in values))


class PairSums(NamedTuple):
    """Sums over (public stars, private stars) pairs: how many, each side's sum and sum of squares,
    and the sum of the squared differences."""

    n: int
    public: int
    private: int
    public_squares: int
    private_squares: int
    difference_squares: int

    @classmethod
    def of(cls, pairs: list[tuple[int, int]]) -> PairSums:
        return cls(len(pairs), sum(p for p, _ in pairs), sum(q for _, q in pairs), sum(p * p for p, _ in pairs),
                   sum(q * q for _, q in pairs), sum((p - q) ** 2 for p, q in pairs))


def review_bias(sums: PairSums | list[tuple[int, int]]) -> dict:
    """For mentorships with both a visible public review and an exit survey, as (public, private) stars:
    each mean with its interval, and the mean of the paired difference (public - private) with its own:
    an interval clear of 0 says the public stars differ from what the same mentees said in private."""
    s = sums if isinstance(sums, PairSums) else PairSums.of(sums)
    return {"public": mean_interval_of_sums(s.n, s.public, s.public_squares),
            "private": mean_interval_of_sums(s.n, s.private, s.private_squares),
            "difference": mean_interval_of_sums(s.n, s.public - s.private, s.difference_squares)}


# --- endings over time (competing risks) and the survey's blind spot --------------------------------

CAUSES = ("goal_reached", "other")


class Endings:
    """Cumulative incidence (Aalen-Johansen) of ending with the goal reached and of ending otherwise,
    beside the all-cause Kaplan-Meier survival: CIF_c(t) = sum over event times t_i <= t of
    S(t_i-) * d_c,i / n_i. At every t, CIF_goal_reached(t) + CIF_other(t) = 1 - S(t)."""

    def __init__(self, n: int, times: np.ndarray, goal: np.ndarray, other: np.ndarray, survival: np.ndarray):
        self.n = n
        self.times = times        # event times, seconds, ascending
        self.goal, self.other = goal, other  # each CIF from that time on
        self.survival = survival  # S from that time on

    def at(self, cause: str, seconds: float) -> float | None:
        if self.n == 0:
            return None
        i = int(np.searchsorted(self.times, seconds, side="right"))
        return 0.0 if i == 0 else float((self.goal if cause == "goal_reached" else self.other)[i - 1])

    def report(self) -> dict:
        """{cause: {"7": CIF at 7 days, "30": ..., "90": ..., "180": ...}}, null with no population."""
        return {cause: {str(days): self.at(cause, days * DAY) for days in SURVIVAL_DAYS} for cause in CAUSES}


def cumulative_incidence(groups: Iterable[tuple[int, int, int]] | DurationGroups,
                         goal_events: dict[int, int]) -> Endings:
    """groups: the retention population as for kaplan_meier; goal_events: {duration in seconds: how
    many of the events at that duration ended with the goal reached} (the rest of the events are
    "other")."""
    total, times, d, n = event_table(groups)
    d, n = d.astype(np.float64), n.astype(np.float64)
    d_goal = np.array([goal_events.get(int(t), 0) for t in times.tolist()], dtype=np.float64)
    if np.any(d_goal > d):
        raise ValueError("more goal-reached endings than endings at some duration")
    survival = np.cumprod(1.0 - d / n)
    before = np.concatenate(([1.0], survival[:-1]))  # S(t_i-)
    goal = np.cumsum(before * d_goal / n)
    other = np.cumsum(before * (d - d_goal) / n)
    return Endings(total, times, goal, other, survival)


def success_bounds(yes: int, surveys: int, cancelled: int) -> dict:
    """The success rate if no non-respondent reached the goal (y / c) and if every one did
    ((y + c - s) / c); both null with no cancellation."""
    if cancelled == 0:
        return {"low": None, "high": None}
    return {"low": yes / cancelled, "high": (yes + cancelled - surveys) / cancelled}


def success_bounds_of(report: dict) -> dict:
    return success_bounds(report["success_rate"]["numerator"], report["survey_response_rate"]["numerator"],
                          report["cancellations"]["count"])


def respondents(groups: dict[tuple[str, str, bool], int]) -> dict:
    """Who answered the exit survey, against who left: per stage (how long the mentorship ran) and per
    goal category, the cancellations, how many answered and the response rate with its interval. A
    success rate read only from respondents can be trusted as far as they look like everyone."""
    def table(index: int, keys) -> dict:
        out = {}
        for key in keys:
            left = sum(n for k, n in groups.items() if k[index] == key)
            answered = sum(n for k, n in groups.items() if k[index] == key and k[2])
            out[key] = {"cancellations": left, "answered": answered, "response_rate": wilson(answered, left).as_dict()}
        return out
    categories = sorted({k[0] for k in groups})
    return {"by_stage": table(1, STAGES), "by_goal_category": table(0, categories)}


def endings_curve(endings: Endings) -> list[tuple[float, float, float, float]]:
    """(days, CIF goal reached, CIF other, 1 - S) at the last event of each tenth of a day, from (0, 0, 0, 0)."""
    if endings.n == 0 or not len(endings.times):
        return []
    slots = endings.times // CURVE_RESOLUTION
    last = np.flatnonzero(np.append(slots[1:] != slots[:-1], True))
    return [(0.0, 0.0, 0.0, 0.0)] + list(zip((endings.times[last] / DAY).tolist(), endings.goal[last].tolist(),
                                             endings.other[last].tolist(), (1.0 - endings.survival[last]).tolist()))


def theme_shares(theme: int, size: int, texts: int, by_month: dict, months: dict, by_reason: dict,
                 reasons: dict) -> dict:
    """A theme's share of all written answers, and of each month's and each churn reason's answers.
    by_month[(theme, month)] and by_reason[(theme, reason)]: the theme's answers; months and reasons:
    every answer's."""
    return {"share": size / texts if texts else None,
            "by_month": {m: by_month.get((theme, m), 0) / n for m, n in sorted(months.items())},
            "by_reason": {r: by_reason.get((theme, r), 0) / n for r, n in sorted(reasons.items())}}
