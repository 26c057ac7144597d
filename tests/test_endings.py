"""Endings over time (competing risks) and the survey's blind spot: the Aalen-Johansen cumulative
incidence against a textbook loop (ties and censoring) and against lifelines (no ties, where it does
not jitter), the identity CIF_goal + CIF_other = 1 - S, the success bounds by hand, and API v2 with
its OpenAPI document."""
from __future__ import annotations

import random
from datetime import timedelta

import numpy as np
import pytest
from lifelines import AalenJohansenFitter

from tracker import services
from tracker.reports import metrics, queries
from tracker.reports.scope import Scope

from .factories import mentorship
from .helpers import T0

DAY = 86400


def _textbook(subjects: list[tuple[int, int]], t: float) -> tuple[float, float, float]:
    """(CIF goal, CIF other, S) at t, by the definition in docs/METRICS.md, one event time at a time.
    subjects: (duration, cause) with cause 0 = censored, 1 = goal reached, 2 = other."""
    times = sorted({d for d, c in subjects if c and d <= t})
    s, goal, other = 1.0, 0.0, 0.0
    for ti in times:
        at_risk = sum(1 for d, _ in subjects if d >= ti)
        d_goal = sum(1 for d, c in subjects if d == ti and c == 1)
        d_other = sum(1 for d, c in subjects if d == ti and c == 2)
        goal += s * d_goal / at_risk
        other += s * d_other / at_risk
        s *= 1 - (d_goal + d_other) / at_risk
    return goal, other, s


def _groups(subjects):
    by: dict[int, list[int]] = {}
    for d, c in subjects:
        row = by.setdefault(d, [0, 0])
        row[0 if c else 1] += 1
    groups = [(d, e, cen) for d, (e, cen) in by.items()]
    goal = {}
    for d, c in subjects:
        if c == 1:
            goal[d] = goal.get(d, 0) + 1
    return groups, goal


@pytest.mark.parametrize("seed", range(12))
def test_cumulative_incidence_matches_the_textbook_with_ties_and_censoring(seed):
    rng = random.Random(seed)
    subjects = [(rng.choice(range(0, 200 * DAY, DAY // 2)), rng.choice((0, 1, 2, 2)))
                for _ in range(rng.randint(1, 300))]
    groups, goal = _groups(subjects)
    endings = metrics.cumulative_incidence(groups, goal)
    survival = metrics.kaplan_meier(groups)
    for t in [0, 7 * DAY, 30 * DAY, 90 * DAY, 180 * DAY, *[d for d, _ in subjects[:20]]]:
        expected = _textbook(subjects, t)
        got = (endings.at("goal_reached", t), endings.at("other", t), survival.at(t))
        assert got == pytest.approx(expected, abs=1e-9)
        assert got[0] + got[1] == pytest.approx(1 - got[2], abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_cumulative_incidence_matches_lifelines_without_ties(seed):
    rng = np.random.default_rng(seed)
    n = 400
    durations = rng.permutation(np.arange(1, n + 1)) * 3600 + rng.integers(0, 60, n)  # distinct seconds
    causes = rng.choice([0, 1, 2], size=n, p=[0.3, 0.3, 0.4])
    groups, goal = _groups(list(zip(durations.tolist(), causes.tolist())))
    endings = metrics.cumulative_incidence(groups, goal)
    for cause, name in ((1, "goal_reached"), (2, "other")):
        fitter = AalenJohansenFitter(calculate_variance=False).fit(durations, causes, event_of_interest=cause)
        curve = fitter.cumulative_density_
        for t in np.quantile(durations, [0.1, 0.3, 0.5, 0.7, 0.9, 1.0]):
            expected = float(curve[curve.index <= t].iloc[-1, 0])
            assert endings.at(name, float(t)) == pytest.approx(expected, abs=1e-9)


def test_an_empty_population_has_null_endings():
    assert metrics.cumulative_incidence([], {}).report() == {
        cause: {"7": None, "30": None, "90": None, "180": None} for cause in ("goal_reached", "other")}


def test_success_bounds_by_hand():
    # 10 cancellations, 6 surveys, 3 say yes: 3/10 if no non-respondent did, (3 + 4)/10 if all did.
    assert metrics.success_bounds(3, 6, 10) == {"low": 0.3, "high": 0.7}
    assert metrics.success_bounds(0, 0, 0) == {"low": None, "high": None}


# --- the fast path and API v2 ------------------------------------------------------------------------

def _history(app, world):
    started = T0 - timedelta(days=60)
    for i, (days, goal) in enumerate([(5, "yes"), (20, "no"), (20, "yes"), (40, None), (50, "partly")]):
        mentorship(app, world.mentee if i % 2 else world.other_mentee, world.mentor if i < 3 else world.other_mentor,
                   applied_at=started - timedelta(hours=i + 1), trial_started_at=started + timedelta(hours=i),
                   ended_at=started + timedelta(days=days, hours=i),
                   survey=None if goal is None else dict(stars=4, goal_reached=goal, churn_reason="other"))
    mentorship(app, world.mentee, world.other_mentor, applied_at=started, trial_started_at=started + timedelta(days=1))


def test_api_v2_is_v1_plus_the_new_keys(app, world, login):
    _history(app, world)
    with app.app_context():
        token = services.create_api_token(world.operator.email, at=T0)
    headers = {"Authorization": f"Bearer {token}"}
    query = {"from": "2025-12-01"}
    v1 = login(None).get("/api/v1/metrics", query_string=query, headers=headers).get_json()
    v2 = login(None).get("/api/v2/metrics", query_string=query, headers=headers).get_json()
    assert {k: v2[k] for k in v1} == v1
    assert set(v2) - set(v1) == {"endings", "success_bounds", "saves", "pulse_tiers", "month_one", "risk_history",
                                 "research"}
    assert v2["success_bounds"] == {"low": 2 / 5, "high": 3 / 5}
    with app.app_context():
        scope = Scope(as_of=T0, start=T0.replace(year=2025, month=12, day=1, hour=0), end=T0.replace(
            hour=0) + timedelta(days=1))
        expected = metrics.cumulative_incidence(queries.duration_groups(scope), queries.goal_event_groups(scope))
    assert v2["endings"] == expected.report()
    assert v2["endings"]["goal_reached"]["7"] == pytest.approx(1 / 6)  # the one reached on day 5, of 6


def test_api_v2_refuses_as_v1_does(world, login):
    assert login(None).get("/api/v2/metrics").status_code == 401
    assert login(world.mentee).get("/api/v2/metrics").status_code == 403
    bad = login(world.operator).get("/api/v2/metrics?from=yesterday")
    assert bad.status_code == 400 and "from" in bad.get_json()["error"]


def test_the_openapi_document_describes_both_versions(login):
    document = login(None).get("/api/v2/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {"/api/v1/metrics", "/api/v2/metrics"}
    v2 = document["components"]["schemas"]["MetricsV2"]["allOf"][1]
    assert set(v2["required"]) == {"endings", "success_bounds", "saves", "pulse_tiers", "month_one",
                                   "risk_history", "research"}
    parameters = {p["name"] for p in document["paths"]["/api/v2/metrics"]["get"]["parameters"]}
    assert parameters == {"from", "to", "as_of", "goal_category", "mentor"}


def test_the_pages_show_the_bounds_the_endings_and_who_answered(app, world, login):
    _history(app, world)
    operator = login(world.operator)
    query = "?from=2025-12-01"
    home = operator.get("/ops/" + query).get_data(as_text=True)
    assert "Success rate, counting everyone who left" in home and "40.0%–60.0%" in home
    retention = operator.get("/ops/retention" + query).get_data(as_text=True)
    assert "How they ended, over time" in retention and f"{100 / 6:.1f}%" in retention
    with app.app_context():
        scope = Scope(as_of=T0, start=T0.replace(year=2025, month=12, day=1, hour=0),
                      end=T0.replace(hour=0) + timedelta(days=1))
        table = metrics.respondents(queries.response_groups(scope))
    # Five cancellations: ended in the trial (day 5, answered), month 1 (days 20 and 20, both answered),
    # months 2-3 (day 40, no survey; day 50, answered).
    assert {stage: (row["cancellations"], row["answered"]) for stage, row in table["by_stage"].items()} == {
        "trial": (1, 1), "month_1": (2, 2), "months_2_3": (2, 1), "later": (0, 0)}
    churn = operator.get("/ops/churn" + query).get_data(as_text=True)
    assert "Who answered the exit survey" in churn and "50.0%" in churn
