"""The numbers of issue 8 (docs/RETENTION.md) against hand-worked cases: saves per reason, pulse tiers,
the month-1 pulse against the ending, flagged against never-flagged endings, and the research views."""
from datetime import timedelta

import numpy as np
import pytest

from tracker.core.extensions import db
from tracker.data.models import CancelFlow, Pulse
from tracker.reports import metrics, queries
from tracker.reports.metrics import wilson
from tracker.reports.scope import Scope

from .factories import mentorship, user
from .helpers import T0

DAY = timedelta(days=1)
SCOPE = Scope(as_of=T0, start=T0 - 365 * DAY, end=T0 + DAY)


def _add(app, *rows):
    with app.app_context():
        db.session.add_all(rows)
        db.session.commit()


def _mentees(app, n):
    return [user(app, "mentee", f"m{i}@example.com") for i in range(n)]


def _measure(app, fn):
    with app.app_context():
        return fn()


def test_saves_per_reason(app, world):
    people = _mentees(app, 8)
    running = lambda who, days: mentorship(app, who, world.mentor, T0 - days * DAY, trial_started_at=T0 - days * DAY)  # noqa: E731
    m1, m3, m4, m5, m6, m7, m8 = (running(people[i], 80) for i in (0, 2, 3, 4, 5, 6, 7))
    m2 = mentorship(app, people[1], world.mentor, T0 - 80 * DAY, trial_started_at=T0 - 80 * DAY,
                    ended_at=T0 - 10 * DAY)  # ended 25 days after accepting its pause
    flow = lambda mid, reason, offer, started, **kw: CancelFlow(  # noqa: E731
        mentorship_id=mid, reason=reason, offer=offer, started_at=started,
        offer_shown_at=started if offer != "none" else None, **kw)
    _add(app,
         flow(m1, "no_time", "pause", T0 - 40 * DAY, offer_accepted_at=T0 - 40 * DAY, kept_mentorship_id=m1),
         flow(m2, "no_time", "pause", T0 - 35 * DAY, offer_accepted_at=T0 - 35 * DAY, kept_mentorship_id=m2),
         flow(m3, "no_time", "pause", T0 - 5 * DAY, offer_accepted_at=T0 - 5 * DAY, kept_mentorship_id=m3),
         flow(m4, "no_time", "pause", T0 - 4 * DAY, offer_declined_at=T0 - 4 * DAY, cancelled_at=T0 - 4 * DAY),
         flow(m5, "too_expensive", "plan_reminder", T0 - 2 * DAY),                      # abandoned
         flow(m6, "goal_reached", "none", T0 - 3 * DAY, cancelled_at=T0 - 3 * DAY),
         flow(m7, "too_expensive", "plan_reminder", T0 - timedelta(hours=1)),           # still open
         flow(m8, "mentor_fit", "none", T0 - 6 * DAY, superseded_at=T0 - 6 * DAY),    # not counted
         flow(m8, "mentor_fit", "none", T0 + DAY))                                       # after T: not yet
    saves = _measure(app, lambda: metrics.saves_report(queries.save_groups(SCOPE)))
    no_time = saves["no_time"]
    assert {k: no_time[k] for k in ("started", "shown", "accepted", "declined", "lasted", "lost", "too_soon",
                                    "cancelled", "abandoned", "open")} == \
        {"started": 4, "shown": 4, "accepted": 3, "declined": 1, "lasted": 1, "lost": 1, "too_soon": 1,
         "cancelled": 1, "abandoned": 0, "open": 0}
    assert no_time["accept_rate"] == wilson(3, 4).as_dict()
    assert no_time["lasting_rate"] == wilson(1, 2).as_dict()
    every = saves["all"]
    assert (every["started"], every["shown"], every["accepted"], every["cancelled"], every["abandoned"],
            every["open"]) == (7, 6, 3, 2, 1, 1)
    assert every["abandon_rate"] == wilson(1, 7).as_dict()
    assert saves["too_expensive"]["accept_rate"] == wilson(0, 2).as_dict()
    assert saves["mentor_fit"]["started"] == 0 and saves["mentor_fit"]["lasting_rate"]["value"] is None
    # as of 31 days after the first acceptance: the second is 26 days old (too soon, though its mentorship
    # has already ended), the third and fourth flows do not exist yet
    earlier = Scope(as_of=T0 - 9 * DAY, start=SCOPE.start, end=SCOPE.end)
    saves = _measure(app, lambda: metrics.saves_report(queries.save_groups(earlier)))
    assert (saves["no_time"]["started"], saves["no_time"]["lasted"], saves["no_time"]["lost"],
            saves["no_time"]["too_soon"]) == (2, 1, 0, 1)


def test_pulse_tiers_and_the_month_one_pulse_against_the_ending(app, world):
    people = _mentees(app, 4)
    start = T0 - 150 * DAY
    goes_on = mentorship(app, people[0], world.mentor, start, trial_started_at=start, ended_at=T0 - 10 * DAY,
                         survey=dict(stars=5, goal_reached="yes", churn_reason="goal_reached"))
    drops = mentorship(app, people[1], world.mentor, start, trial_started_at=start, ended_at=start + 60 * DAY,
                       survey=dict(stars=2, goal_reached="no", churn_reason="no_time"))
    middle = mentorship(app, people[2], world.mentor, T0 - 40 * DAY, trial_started_at=T0 - 40 * DAY)
    silent = mentorship(app, people[3], world.mentor, T0 - 40 * DAY, trial_started_at=T0 - 40 * DAY)
    at = lambda mid_start, days: mid_start + days * DAY  # noqa: E731
    _add(app,
         Pulse(mentorship_id=goes_on, period=0, progress=40, usefulness=4, submitted_at=at(start, 6)),
         Pulse(mentorship_id=goes_on, period=1, progress=85, usefulness=5, submitted_at=at(start, 36)),
         Pulse(mentorship_id=drops, period=1, progress=30, usefulness=2, submitted_at=at(start, 36)),
         Pulse(mentorship_id=middle, period=1, progress=70, usefulness=None, submitted_at=T0 - 4 * DAY),
         Pulse(mentorship_id=silent, period=1, progress=95, usefulness=5, submitted_at=T0 + DAY))  # after T
    tiers = _measure(app, lambda: metrics.pulse_tiers(queries.pulse_tier_groups(SCOPE)))
    assert (tiers["answered"], tiers["population"]) == (3, 4)
    assert tiers["tiers"] == {"highly": wilson(1, 3).as_dict(), "somewhat": wilson(1, 3).as_dict(),
                              "less": wilson(1, 3).as_dict()}
    m1 = _measure(app, lambda: metrics.month_one_prediction(queries.month_one_groups(SCOPE)))
    assert m1["usefulness"]["high"] == {"n": 1, "success_rate": wilson(1, 1).as_dict(),
                                        "past_month_3": wilson(1, 1).as_dict()}
    assert m1["usefulness"]["low"] == {"n": 1, "success_rate": wilson(0, 1).as_dict(),
                                       "past_month_3": wilson(0, 1).as_dict()}
    assert m1["usefulness"]["middle"]["n"] == 0
    # "middle" answered progress only, and is not yet observed to the end of month 3
    assert m1["progress"]["somewhat"] == {"n": 1, "success_rate": wilson(0, 0).as_dict(),
                                          "past_month_3": wilson(0, 0).as_dict()}
    assert m1["progress"]["highly"]["n"] == 1 and m1["progress"]["less"]["n"] == 1


def _three_endings(app, world):
    people = _mentees(app, 3)
    s1, s2, s3 = T0 - 100 * DAY, T0 - 60 * DAY, T0 - 20 * DAY
    weekly = [(s1 + (1 + 7 * k) * DAY, 45) for k in range(13)]
    c1 = mentorship(app, people[0], world.mentor, s1, trial_started_at=s1, ended_at=s1 + 90 * DAY, checkins=weekly,
                    goal_category="change_careers",
                    survey=dict(stars=5, goal_reached="yes", churn_reason="goal_reached"))
    c2 = mentorship(app, people[1], world.mentor, s2, trial_started_at=s2, ended_at=s2 + 55 * DAY,
                    checkins=[(s2 + 5 * DAY, 30), (s2 + 20 * DAY, 30), (s2 + 30 * DAY, 30)],
                    goal_category="get_promoted", meeting_preference="in_person",
                    survey=dict(stars=2, goal_reached="no", churn_reason="mentor_fit"))
    c3 = mentorship(app, people[2], world.mentor, s3, trial_started_at=s3, ended_at=s3 + 5 * DAY,
                    goal_category="land_first_job")
    _add(app,
         Pulse(mentorship_id=c2, period=0, progress=50, usefulness=3, submitted_at=s2 + 6 * DAY),
         Pulse(mentorship_id=c2, period=1, progress=40, usefulness=1, submitted_at=s2 + 36 * DAY),
         Pulse(mentorship_id=c2, period=2, progress=30, usefulness=None, submitted_at=s2 + 50 * DAY))
    return c1, c2, c3


def test_flagged_endings_against_never_flagged(app, world):
    _three_endings(app, world)
    risk = _measure(app, lambda: metrics.risk_history(queries.ending_groups(SCOPE)))
    never = {"n": 1, "success_rate": wilson(1, 1).as_dict(), "early_rate": wilson(0, 1).as_dict()}
    assert risk["any"] == {"flagged": {"n": 2, "success_rate": wilson(0, 1).as_dict(),
                                       "early_rate": wilson(1, 2).as_dict()}, "unflagged": never}
    assert risk["trial_silent"]["flagged"]["n"] == 2
    for rule in ("no_checkin", "low_pulse", "progress_falling"):
        assert risk[rule] == {"flagged": {"n": 1, "success_rate": wilson(0, 1).as_dict(),
                                          "early_rate": wilson(0, 1).as_dict()}, "unflagged": never}


def test_research_by_cadence_meeting_and_goal(app, world):
    _three_endings(app, world)
    research = _measure(app, lambda: metrics.research(queries.ending_groups(SCOPE),
                                                      queries.duration_groups_by_category(SCOPE)))
    assert research["cadence"]["weekly"]["success_rate"] == wilson(1, 1).as_dict()
    assert research["cadence"]["biweekly"]["success_rate"] == wilson(0, 1).as_dict()
    assert research["cadence"]["too_few"] == {"n": 1, "success_rate": wilson(0, 0).as_dict(),
                                              "early_rate": wilson(1, 1).as_dict()}
    assert research["cadence"]["monthly"]["n"] == research["cadence"]["irregular"]["n"] == 0
    assert (research["meeting"]["video"]["n"], research["meeting"]["in_person"]["n"],
            research["meeting"]["mixed"]["n"]) == (2, 1, 0)
    careers = research["categories"]["change_careers"]
    assert (careers["n"], careers["trials"], careers["events"], careers["median_days"]) == (1, 1, 1, 90.0)
    assert research["categories"]["other"]["median_days"] is None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_median_interval_matches_lifelines(seed):
    lifelines = pytest.importorskip("lifelines")
    from lifelines.utils import median_survival_times
    rng = np.random.default_rng(seed)
    durations = rng.integers(1, 200, size=400) * 86400
    observed = rng.random(400) < 0.7
    groups = {}
    for d, e in zip(durations.tolist(), observed.tolist(), strict=True):
        events, censored = groups.get(d, (0, 0))
        groups[d] = (events + e, censored + (not e))
    low, high = metrics.median_interval([(d, e, c) for d, (e, c) in groups.items()])
    kmf = lifelines.KaplanMeierFitter().fit(durations, observed)
    reference = median_survival_times(kmf.confidence_interval_)
    assert (low, high) == (reference.iloc[0, 0], reference.iloc[0, 1])
