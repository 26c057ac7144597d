"""The maths of docs/METRICS.md on plain numbers: hand-worked cases at every edge, and agreement with
reference libraries (statsmodels for Wilson, lifelines for Kaplan-Meier) to 1e-9."""
import math
import random

import numpy as np
import pytest

from tracker.reports import metrics
from tracker.reports.metrics import DAY, kaplan_meier, wilson

# --- Wilson ------------------------------------------------------------------------------------

def test_wilson_hand_worked():
    # k=5, n=10: centre (5 + z²/2)/(10 + z²) = 0.5; half = z*sqrt(2.5 + z²/4)/(10 + z²)
    z2 = metrics.Z95 ** 2
    half = metrics.Z95 * math.sqrt(2.5 + z2 / 4) / (10 + z2)
    rate = wilson(5, 10)
    assert rate.value == 0.5
    assert rate.low == pytest.approx(0.5 - half, abs=1e-15) and rate.high == pytest.approx(0.5 + half, abs=1e-15)
    assert (round(rate.low, 4), round(rate.high, 4)) == (0.2366, 0.7634)


def test_wilson_with_no_data_is_null_not_zero():
    assert wilson(0, 0).as_dict() == {"value": None, "numerator": 0, "denominator": 0, "low": None, "high": None}


def test_wilson_at_the_extremes_stays_inside_0_1():
    none, every = wilson(0, 7), wilson(7, 7)
    assert none.value == 0 and none.low == pytest.approx(0, abs=1e-15) and 0 < none.high < 1
    assert every.value == 1 and every.high == pytest.approx(1, abs=1e-15) and 0 < every.low < 1


def test_wilson_refuses_impossible_counts():
    with pytest.raises(ValueError):
        wilson(3, 2)


def test_wilson_agrees_with_statsmodels():
    from statsmodels.stats.proportion import proportion_confint
    rng = random.Random(5)
    cases = [(0, 1), (1, 1), (1, 2), (3, 1000), (999, 1000)] + \
        [(k, n) for n in (rng.randint(1, 100_000) for _ in range(300)) for k in [rng.randint(0, n)]]
    for k, n in cases:
        low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
        rate = wilson(k, n)
        assert abs(rate.low - low) < 1e-9 and abs(rate.high - high) < 1e-9, (k, n)


# --- Kaplan-Meier -------------------------------------------------------------------------------

def _kaplan_meier_loop(groups):
    """The textbook loop the numpy version must equal bit for bit: (n, events, [(time, S)])."""
    rows = sorted(groups)
    at_risk = sum(e + c for _, e, c in rows)
    total, events, s, steps = at_risk, 0, 1.0, []
    for duration, e, c in rows:
        if e:
            s *= 1.0 - e / at_risk
            steps.append((duration, s))
            events += e
        at_risk -= e + c
    return total, events, steps


def test_kaplan_meier_is_the_same_float_as_the_textbook_loop():
    rng = random.Random(11)
    for size in (0, 1, 2, 50, 5000, 60000):
        durations = rng.sample(range(1, 400 * DAY), size)
        groups = [(d, rng.choice((0, 1, 1, 2)), rng.choice((0, 0, 1))) for d in durations]
        groups = [g for g in groups if g[1] or g[2]]
        km = kaplan_meier(groups)
        assert (km.n, km.events, list(km.steps)) == _kaplan_meier_loop(groups)  # == on floats: identical


def _random_parts(rng, span: int):
    """An EndedAndOpen as the fast path builds it: distinct ascending durations in both parts, events
    only in `ended`, and in `other` censorings with now and then an event (a day's own ending)."""
    ended = sorted(rng.sample(range(span), rng.randint(0, min(span, 40))))
    other = sorted(rng.sample(range(span), rng.randint(0, min(span, 40))))
    ended_events = [rng.randint(1, 3) for _ in ended]
    other_events = [rng.choice((0, 0, 0, 1, 2)) for _ in other]
    other_censored = [rng.randint(0 if e else 1, 3) for e in other_events]
    as_array = lambda values: np.array(values, dtype=np.int64)  # noqa: E731
    return metrics.EndedAndOpen(
        metrics.DurationGroups(as_array(ended), as_array(ended_events), None),
        metrics.DurationGroups(as_array(other), as_array(other_events), as_array(other_censored)))


def test_the_fast_paths_two_parts_give_the_same_estimates_as_the_merged_groups():
    """EndedAndOpen's own event table (no merge) against the same groups merged, and the merge against
    a plain sum per duration; spans from 1 second make ties between and within the parts common."""
    rng = random.Random(5)
    for _ in range(3000):
        parts = _random_parts(rng, rng.choice((1, 3, 10, 100, 10**6)))
        summed = {}
        for (durations, events, censored) in (parts.ended, parts.other):
            censored = [0] * len(durations) if censored is None else censored.tolist()
            for d, e, c in zip(durations.tolist(), events.tolist(), censored):
                summed[d] = tuple(map(sum, zip(summed.get(d, (0, 0)), (e, c))))
        merged = parts.groups
        assert list(zip(merged.durations.tolist(), merged.events.tolist(), merged.censored.tolist())) == \
            [(d, e, c) for d, (e, c) in sorted(summed.items())]
        fast, reference = metrics.event_table(parts), metrics.event_table(list(summed_rows(summed)))
        assert fast.total == reference.total
        for mine, theirs in zip(fast[1:], reference[1:]):
            assert mine.tolist() == theirs.tolist()
        km = kaplan_meier(parts)
        assert (km.n, km.events, list(km.steps)) == _kaplan_meier_loop(list(summed_rows(summed)))
        assert metrics.median_interval(parts) == metrics.median_interval(list(summed_rows(summed)))


def test_inserting_a_few_or_many_values_is_np_insert():
    rng = np.random.default_rng(3)
    for size, k in ((0, 0), (0, 3), (5, 0), (10, 10), (1000, 1), (1000, 999), (5000, 1001), (3, 2000)):
        a = np.sort(rng.integers(0, 100, size)).astype(np.int64)
        where = np.sort(rng.integers(0, size + 1, k))
        values = rng.integers(-5, 5, k).astype(np.int64)
        assert metrics._insert(a, where, values).tolist() == np.insert(a, where, values).tolist()


def summed_rows(summed: dict):
    return ((d, e, c) for d, (e, c) in summed.items())


def test_kaplan_meier_hand_worked_with_ties_of_events_and_censorings():
    # Durations in days: event 1; events 2, 2 and a censoring at 2; censoring 3; event 4.
    groups = [(1 * DAY, 1, 0), (2 * DAY, 2, 1), (3 * DAY, 0, 1), (4 * DAY, 1, 0)]
    km = kaplan_meier(groups)
    assert (km.n, km.events) == (6, 4)
    assert km.at(1 * DAY - 1) == 1.0
    assert km.at(1 * DAY) == pytest.approx(5 / 6)
    assert km.at(2 * DAY) == pytest.approx(5 / 6 * 3 / 5)       # 5 at risk at 2: the censoring counts
    assert km.at(3.5 * DAY) == pytest.approx(0.5)
    assert km.at(4 * DAY) == 0.0
    assert km.median_seconds == 2 * DAY                         # S(2) = 0.5 exactly: <= 0.5


def test_kaplan_meier_with_no_data_is_null():
    km = kaplan_meier([])
    assert (km.n, km.events, km.at(7 * DAY), km.median_seconds) == (0, 0, None, None)


def test_kaplan_meier_all_censored_stays_at_one_with_no_median():
    km = kaplan_meier([(3 * DAY, 0, 2), (10 * DAY, 0, 1)])
    assert km.at(180 * DAY) == 1.0 and km.median_seconds is None and km.events == 0


def test_kaplan_meier_one_mentorship():
    km = kaplan_meier([(40 * DAY, 1, 0)])
    assert km.at(30 * DAY) == 1.0 and km.at(40 * DAY) == 0.0 and km.median_seconds == 40 * DAY


def test_kaplan_meier_median_is_none_when_survival_stays_above_half():
    km = kaplan_meier([(1 * DAY, 1, 0), (2 * DAY, 0, 3)])
    assert km.at(2 * DAY) == 0.75 and km.median_seconds is None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kaplan_meier_agrees_with_lifelines(seed):
    from lifelines import KaplanMeierFitter
    rng = random.Random(seed)
    durations, observed = [], []
    for _ in range(5000):
        # Whole seconds with many ties (durations rounded to the hour half the time).
        seconds = rng.randint(0, 400 * DAY)
        if rng.random() < 0.5:
            seconds -= seconds % 3600
        durations.append(seconds)
        observed.append(rng.random() < 0.7)
    groups: dict[int, list[int]] = {}
    for d, e in zip(durations, observed, strict=True):
        groups.setdefault(d, [0, 0])[0 if e else 1] += 1
    km = kaplan_meier([(d, e, c) for d, (e, c) in groups.items()])

    reference = KaplanMeierFitter().fit([d / DAY for d in durations], observed)
    for days in (7, 30, 90, 180):
        expected = float(reference.survival_function_at_times(days).iloc[0])
        assert abs(km.at(days * DAY) - expected) < 1e-9, days
    assert abs(km.median_seconds / DAY - reference.median_survival_time_) < 1e-9
    assert (km.n, km.events) == (5000, sum(observed))


# --- cohorts and ratings ---------------------------------------------------------------------------

def test_cohort_retention_hand_worked():
    # 4 members: one ended at its start (bucket -1), one at exactly 30 days (bucket 0),
    # one at 30 days + 1 s (bucket 1), one still going.
    assert metrics.cohort_retention(4, {-1: 1, 0: 1, 1: 1}, months=2) == [0.75, 0.5, 0.25]


def test_observable_months():
    month = metrics.MONTH
    assert metrics.observable_months(10 * month - 1, 0) == 9
    assert metrics.observable_months(10 * month, 0) == 10


def test_bayesian_mean_keeps_two_fives_below_forty_ratings_of_4_8():
    prior = 4.0
    two_fives = metrics.bayesian_mean(10, 2, prior)
    forty = metrics.bayesian_mean(int(4.8 * 40), 40, prior)
    assert two_fives == pytest.approx((5 * 4 + 10) / 7)
    assert forty > two_fives
    table = metrics.mentor_table([("a@x", 2, 10, 2), ("b@x", 40, 192, 30)], prior)
    assert [row["mentor"] for row in table] == ["b@x", "a@x"]


def test_mentor_table_ties_go_to_more_surveys_then_email():
    table = metrics.mentor_table([("c@x", 2, 8, 1), ("b@x", 2, 8, 1), ("a@x", 1, 4, 0)], 4.0)
    assert [row["mentor"] for row in table] == ["b@x", "c@x", "a@x"]


def test_report_with_no_data_has_every_key_and_no_false_zeros():
    body = metrics.report(metrics.Counts(), "2026-01-01T00:00:00+00:00", {"from": "a", "to": "b"},
                          {"goal_category": None, "mentor": None})
    assert body["success_rate"] == {"value": None, "numerator": 0, "denominator": 0, "low": None, "high": None}
    assert body["stars"] == {"mean": None, "counts": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}}
    assert body["retention"] == {"n": 0, "events": 0, "s7": None, "s30": None, "s90": None, "s180": None,
                                 "median_days": None}
    assert set(body["churn_reasons"]) == {"goal_reached", "too_expensive", "no_time", "mentor_fit",
                                          "mentor_unresponsive", "switched_mentor", "platform_issue", "other"}
    assert all(v == {"count": 0, "share": None} for v in body["churn_reasons"].values())
    assert body["cohorts"] == [] and body["mentors"] == []


def test_the_survival_chart_keeps_the_last_step_of_each_tenth_of_a_day():
    from tracker.reports.metrics import CURVE_RESOLUTION, Counts, survival_curve
    groups = [(DAY, 1, 0), (DAY + 60, 1, 0), (DAY + CURVE_RESOLUTION, 1, 0), (3 * DAY, 0, 1), (4 * DAY, 1, 1)]
    km = kaplan_meier(groups)
    curve = survival_curve(Counts(durations=groups))
    steps = dict(km.steps)
    assert curve == [(0.0, 1.0), ((DAY + 60) / DAY, steps[DAY + 60]), (1.1, steps[DAY + CURVE_RESOLUTION]),
                     (4.0, steps[4 * DAY])]
    assert curve[-1][1] == km.at(4 * DAY) == 0.25


def test_the_survival_chart_of_mentorships_that_all_still_run_is_its_start():
    from tracker.reports.metrics import Counts, survival_curve
    assert survival_curve(Counts(durations=[(DAY, 0, 2), (3 * DAY, 0, 1)])) == [(0.0, 1.0)]
    assert survival_curve(Counts(durations=[])) == []
