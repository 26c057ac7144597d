"""Offer experiments: the plan's sample size and the difference's interval against statsmodels and
Newcombe's own worked example, the random sticky assignment recorded on each flow, the results by
assignment (intention to treat) at 30, 60 and 90 days worked out by hand, ending that keeps the
results, the saves numbers unchanged, and every refusal changing nothing."""
import math
import random
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from statsmodels.stats.proportion import confint_proportions_2indep, samplesize_proportions_2indep_onetail

from tracker import services
from tracker.core import clock
from tracker.core.extensions import db
from tracker.data.models import AuditEntry, CancelFlow, OfferAssignment, OfferExperiment
from tracker.domain import lifecycle
from tracker.reports import experiments as experiment_queries
from tracker.reports import metrics, queries, rollup_queries
from tracker.reports.scope import Scope
from tracker.services import experiments
from tracker.services.audit import Actor

from .factories import count, mentorship, users
from .helpers import T0, table_state

DAY = timedelta(days=1)
PLAN = {"name": "Pause or nothing", "reason": "no_time", "offer_a": "pause", "offer_b": "none", "share_b": "50",
        "baseline_percent": "30", "minimum_effect_points": "10"}
SURVEY = {"stars": "3", "goal_reached": "no", "churn_reason": "no_time", "feedback_platform": "",
          "feedback_mentor": "", "feedback_other": ""}


# --- the numbers ---------------------------------------------------------------------------------

def test_planned_sizes_match_statsmodels():
    rng = random.Random(7)
    for _ in range(500):
        baseline, share_b = rng.uniform(0, 0.9), rng.uniform(0.1, 0.9)
        effect = rng.uniform(0.01, 1 - baseline)
        ratio = (1 - share_b) / share_b
        reference = samplesize_proportions_2indep_onetail(effect, baseline, 0.8, ratio=ratio, alpha=0.05)
        assert metrics.planned_sample_size(baseline, effect, share_b) == (math.ceil(reference * ratio),
                                                                          math.ceil(reference))


def test_planned_size_by_hand():
    # 30% against 40%, even split: p = 0.35, sd0 = sqrt(2 * 0.35 * 0.65) = 0.674537,
    # sd1 = sqrt(0.21 + 0.24) = 0.670820; n = ((1.959964 * 0.674537 + 0.841621 * 0.670820) / 0.1)^2 = 355.4
    assert metrics.planned_sample_size(0.30, 0.10, 0.5) == (356, 356)
    # A quarter to B: n_B from the same formula with r = 3, n_A = 3 n_B.
    # A quarter to B (r = 3): p = 0.325, sd0 = sqrt(0.325 * 0.675 * 4/3) = 0.540833,
    # sd1 = sqrt(0.24 + 0.21/3) = 0.556776; n_B = ((1.959964 * 0.540833 + 0.841621 * 0.556776) / 0.1)^2
    # = 233.66, so 234 in B, and 3 * 233.66 = 700.99, so 701 in A.
    assert metrics.planned_sample_size(0.30, 0.10, 0.25) == (701, 234)
    with pytest.raises(ValueError):
        metrics.planned_sample_size(0.95, 0.10, 0.5)


def test_newcombe_matches_his_worked_example_and_statsmodels():
    # Newcombe (1998), Statistics in Medicine 17:873, example (a): 56/70 against 48/80, method 10.
    d = metrics.newcombe_difference(56, 70, 48, 80)
    assert (round(d["value"], 4), round(d["low"], 4), round(d["high"], 4)) == (0.2, 0.0524, 0.3339)
    rng = random.Random(3)
    for _ in range(500):
        n1, n2 = rng.randint(1, 400), rng.randint(1, 400)
        k1, k2 = rng.randint(0, n1), rng.randint(0, n2)
        low, high = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff")
        d = metrics.newcombe_difference(k1, n1, k2, n2)
        assert d["low"] == pytest.approx(low, abs=1e-12) and d["high"] == pytest.approx(high, abs=1e-12)
    assert metrics.newcombe_difference(0, 0, 3, 5) is None


def test_report_from_groups_by_hand():
    groups = {("a", True, "accepted", "lasted", "lasted", "gone"): 3,
              ("a", True, "cancelled", "gone", "gone", "gone"): 5,
              ("a", False, "abandoned", "going", "going", "too_soon"): 2,
              ("b", True, "cancelled", "gone", "gone", "too_soon"): 4,
              ("b", True, "abandoned", "going", "gone", "too_soon"): 1,
              ("b", False, "open", "too_soon", "too_soon", "too_soon"): 1}
    report = metrics.experiment_report(groups, {"a": 8, "b": 5})
    a, b = report["arms"]["a"], report["arms"]["b"]
    assert (a["assigned"], a["paths"]) == (10, {"accepted": 3, "cancelled": 5, "abandoned": 2, "open": 0})
    assert a["horizons"][30] == {**a["horizons"][30], "known": 10, "lasted": 3, "going": 2, "abandoned_going": 2}
    assert a["horizons"][90]["known"] == 8 and a["horizons"][90]["lasted"] == 0
    assert b["horizons"][30]["known"] == 5 and b["horizons"][60]["abandoned_going"] == 0
    assert a["horizons"][30]["going_rate"]["numerator"] == 5
    c30 = report["comparisons"][30]
    assert c30["lasted_difference"] == metrics.newcombe_difference(0, 5, 3, 10)  # every known outcome
    # The verdict is on the 8 planned in A (3 lasted) and the 5 in B (0), not on A's later 2.
    assert c30["planned_reached"] and c30["planned_difference"] == metrics.newcombe_difference(0, 5, 3, 8)
    assert c30["verdict"] == "no_difference"
    assert report["comparisons"][90]["verdict"] == "too_early"  # 8 of 8 in A, 0 of 5 in B
    big = {("a", True, "accepted", "lasted", "lasted", "lasted"): 60,
           ("a", True, "cancelled", "gone", "gone", "gone"): 40,
           ("b", True, "cancelled", "gone", "gone", "gone"): 70,
           ("b", True, "abandoned", "going", "going", "going"): 30}
    assert metrics.experiment_report(big, {"a": 100, "b": 100})["comparisons"][30]["verdict"] == "a_better"
    # Against a holdout the verdict is on mentees still going: B's 30 who walked away and stayed count.
    holdout = metrics.experiment_report(big, {"a": 100, "b": 100}, decisive="going")["comparisons"][30]
    assert holdout["planned_difference"] == metrics.newcombe_difference(30, 100, 60, 100)
    assert holdout["verdict"] == "a_better"
    # Later assignments, past the planned size, do not move the verdict.
    later = {**big, ("b", False, "accepted", "lasted", "lasted", "lasted"): 500}
    assert metrics.experiment_report(later, {"a": 100, "b": 100})["comparisons"][30]["verdict"] == "a_better"
    assert lifecycle.decisive_outcome("pause", "none") == "going" == lifecycle.decisive_outcome("none", "switch_mentor")
    assert lifecycle.decisive_outcome("pause", "plan_reminder") == "lasted"


def test_outcome_boundaries():
    at = T0 + 100 * DAY
    going = lifecycle.experiment_outcome
    assert going(T0, None, None, None, None, None, 30, T0 + 30 * DAY - timedelta(seconds=1)) == "too_soon"
    assert going(T0, None, None, None, None, None, 30, T0 + 30 * DAY) == "going"
    assert going(T0, T0, None, None, None, None, 30, at) == "lasted"
    assert going(T0, T0, T0 + 30 * DAY, None, None, None, 30, at) == "gone"  # ended at exactly the check
    assert going(T0, T0, T0 + 30 * DAY + timedelta(seconds=1), None, None, None, 30, at) == "lasted"
    assert going(T0, T0 + 31 * DAY, None, None, None, None, 30, at) == "going"  # accepted after the check
    # a switch: the old mentorship ended at the switch, the new one is followed
    assert going(T0, T0, T0, T0, T0 + 30 * DAY, None, 30, at) == "lasted"
    assert going(T0, T0, T0, T0, T0 + 30 * DAY + timedelta(seconds=1), None, 30, at) == "gone"
    assert going(T0, T0, T0, T0, None, None, 30, at) == "gone"  # the new mentor never accepted
    assert going(T0, T0, T0, T0, T0 + DAY, T0 + 20 * DAY, 30, at) == "gone"


# --- starting, assigning, ending -----------------------------------------------------------------

def _start(client, mid, reason="no_time"):
    response = client.post(f"/mentorships/{mid}/cancel/reason", data={"churn_reason": reason})
    assert response.status_code == 302, response.get_data(as_text=True)[-400:]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _flow(app, flow_id):
    with app.app_context():
        flow = db.session.get(CancelFlow, flow_id)
        a = flow.assignment
        return flow.offer, a and a.experiment_id, a and a.arm


def _draws(monkeypatch, *arms):
    """The arms the next draws give, in order (a test chooses them; the app draws from the OS)."""
    values = iter([0.99 if arm == "a" else 0.0 for arm in arms])
    monkeypatch.setattr(experiments._draw, "random", lambda: next(values))


def test_the_calculator_starts_nothing_and_start_records_the_plan(app, world, login):
    operator = login(world.operator)
    page = operator.post("/ops/experiments", data={**PLAN, "calculate": "1"})
    assert page.status_code == 200 and count(app, OfferExperiment) == 0
    assert "<strong>356</strong> flows in arm A and <strong>356</strong> in arm B" in page.get_data(as_text=True)
    response = operator.post("/ops/experiments", data={**PLAN, "start": "1"})
    assert response.status_code == 302
    with app.app_context():
        e = db.session.scalar(select(OfferExperiment))
        assert (e.reason, e.offer_a, e.offer_b, e.share_b, e.planned_a, e.planned_b, e.started_at, e.ended_at,
                e.started_by_id) == ("no_time", "pause", "none", 50, 356, 356, T0, None, world.operator.id)
        assert db.session.scalar(select(AuditEntry.action)) == "experiment_started"
    assert response.headers["Location"] == f"/ops/experiments/{e.id}"
    page = operator.get(response.headers["Location"]).get_data(as_text=True)
    assert "Too early to call: the verdict waits for the 30-day outcome of the first 356" in page


@pytest.mark.parametrize("change, message", [
    ({"name": "  "}, "Give the experiment a name."),
    ({"reason": "goal_reached"}, "Not a valid choice"),
    ({"offer_b": "pause"}, "The two arms must show different offers."),
    ({"offer_a": "discount"}, "Not a valid choice"),
    ({"share_b": "5"}, "Enter a number from 10 to 90."),
    ({"share_b": "٥٠"}, "Enter a whole number using the digits 0-9."),
    ({"baseline_percent": "12.55"}, "Enter a percentage such as 25 or 12.5"),
    ({"baseline_percent": "abc"}, "Enter a percentage such as 25 or 12.5"),
    ({"baseline_percent": "95", "minimum_effect_points": "10"}, "cannot pass 100%"),
    ({"minimum_effect_points": "0.5"}, "Enter a number from 1 to 100."),
    ({"name": "x" * 121}, "Keep the name under 120 characters."),
    ({"name": "bad\x00name"}, ""),
])
@pytest.mark.parametrize("button", ["calculate", "start"])
def test_bad_plans_are_refused_and_change_nothing(app, world, login, change, message, button):
    operator = login(world.operator)
    before = table_state(app)
    response = operator.post("/ops/experiments", data={**PLAN, **change, button: "1"})
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert table_state(app) == before


def test_one_running_experiment_per_reason(app, world, login):
    world.experiment()
    operator = login(world.operator)
    before = table_state(app)
    response = operator.post("/ops/experiments", data={**PLAN, "start": "1"})
    assert response.status_code == 400 and experiments.ALREADY_RUNNING in response.get_data(as_text=True)
    assert table_state(app) == before
    assert operator.post("/ops/experiments", data={**PLAN, "reason": "too_expensive", "start": "1"}).status_code == 302


def test_flows_are_assigned_their_arm_and_shown_its_offer(app, world, login, monkeypatch):
    experiment_id = world.experiment(offer_a="pause", offer_b="none")
    _draws(monkeypatch, "a", "b")
    paid = world.in_trial(days_in=20)
    mentee = login(world.mentee)
    first = _start(mentee, paid)
    assert _flow(app, first) == ("pause", experiment_id, "a")
    # Going back and starting again keeps the arm (no new draw: the next one would give B).
    again = _start(mentee, paid)
    assert _flow(app, again) == ("pause", experiment_id, "a")
    # Another mentee, drawn B: the holdout, straight to the survey.
    other = mentorship(app, world.other_mentee, world.mentor, T0 - 21 * DAY, trial_started_at=T0 - 20 * DAY)
    page_flow = _start(login(world.other_mentee), other)
    assert _flow(app, page_flow) == ("none", experiment_id, "b")
    # Another reason is not part of it: the usual offer, no arm.
    plain = mentorship(app, world.other_mentee, world.other_mentor, T0 - 21 * DAY, trial_started_at=T0 - 20 * DAY)
    assert _flow(app, _start(login(world.other_mentee), plain, "too_expensive")) == ("plan_reminder", None, None)
    with app.app_context():
        assert experiment_queries.assigned_counts([experiment_id]) == {experiment_id: {"a": 1, "b": 1}}


def test_an_arm_whose_offer_cannot_apply_still_counts_in_its_arm(app, world, login, monkeypatch):
    experiment_id = world.experiment(offer_a="none", offer_b="pause")
    _draws(monkeypatch, "b")
    trial = world.in_trial(days_in=3)  # a trial has nothing to pause
    assert _flow(app, _start(login(world.mentee), trial)) == ("none", experiment_id, "b")


def test_the_draw_follows_the_split(app, world):
    mentees = users(app, [("mentee", f"m{i}@example.com", f"Mentee {i}", True) for i in range(300)])
    world.experiment(offer_a="pause", offer_b="none", share_b=30)
    with app.app_context():
        ids = [mentorship(app, m, world.mentor, T0 - 21 * DAY, trial_started_at=T0 - 20 * DAY) for m in mentees]
        for mentee, mid in zip(mentees, ids, strict=True):
            services.start_cancel_flow(mentee.id, mid, "no_time", T0)
        arms = [arm for (arm,) in db.session.execute(select(OfferAssignment.arm))]
    # 300 draws at 30%: 90 expected, sd 7.9; six sd either side would fail once in 10^9 runs.
    assert len(arms) == 300 and 43 <= arms.count("b") <= 137 and arms.count("b") + arms.count("a") == 300


def test_ending_stops_the_assignment_and_keeps_the_results(app, world, login, monkeypatch):
    experiment_id = world.experiment(offer_a="pause", offer_b="none")
    _draws(monkeypatch, "a")
    mid = world.in_trial(days_in=20)
    mentee = login(world.mentee)
    flow = _start(mentee, mid)
    mentee.post(f"/mentorships/{mid}/cancel/{flow}/accept", data={"months": "1"})
    operator = login(world.operator)
    timeline = operator.get(f"/ops/mentorships/{mid}").get_data(as_text=True)
    assert f"offer experiment {experiment_id}, arm A" in timeline
    with app.app_context():  # the person's export says which arm decided the offer they saw
        export = services.export_user(world.mentee.email, Actor.command("test"), T0)
        assert [f["experiment_arm"] for f in export["mentorships_as_mentee"][0]["cancel_flows"]] == ["a"]
    before = operator.get(f"/ops/experiments/{experiment_id}").get_data(as_text=True)
    clock.freeze(T0 + DAY)
    assert operator.post(f"/ops/experiments/{experiment_id}/end").status_code == 302
    with app.app_context():
        e = db.session.get(OfferExperiment, experiment_id)
        assert (e.ended_at, e.ended_by_id) == (T0 + DAY, world.operator.id)
        assert [a for (a,) in db.session.execute(select(AuditEntry.action).order_by(AuditEntry.id))] == [
            "experiment_started", "account_exported", "experiment_ended"]
    assert "has already ended" in operator.post(f"/ops/experiments/{experiment_id}/end",
                                                follow_redirects=True).get_data(as_text=True)
    other = mentorship(app, world.other_mentee, world.mentor, T0 - 21 * DAY, trial_started_at=T0 - 20 * DAY)
    assert _flow(app, _start(login(world.other_mentee), other)) == ("pause", None, None)  # the settings' offer
    after = operator.get(f"/ops/experiments/{experiment_id}").get_data(as_text=True)
    assert "ended" in after and after.count("Took the offer") == before.count("Took the offer")
    with app.app_context():
        report = metrics.experiment_report(experiment_queries.assignment_groups(
            db.session.get(OfferExperiment, experiment_id), T0 + 31 * DAY), {"a": 1, "b": 1})
    assert report["arms"]["a"]["paths"]["accepted"] == 1 and report["arms"]["a"]["horizons"][30]["lasted"] == 1
    # a new experiment may now run for the reason
    assert operator.post("/ops/experiments", data={**PLAN, "start": "1"}).status_code == 302


def test_missing_experiment_is_404(app, world, login):
    operator = login(world.operator)
    assert operator.get("/ops/experiments/987654").status_code == 404
    assert operator.post("/ops/experiments/987654/end").status_code == 404


# --- results by hand, and the saves numbers unchanged -----------------------------------------------

def test_results_by_assignment_worked_by_hand(app, world, login, monkeypatch):
    """Five paid mentorships cancel for lack of time at T0; arm A offers a pause, arm B nothing.
    m1 (A) takes a 1-month pause and stays; m2 (A) declines and cancels; m3 (B) walks away and stays;
    m4 (B) cancels; m5 (A) takes the pause and cancels 45 days later."""
    experiment_id = world.experiment(offer_a="pause", offer_b="none")
    mentees = users(app, [("mentee", f"x{i}@example.com", f"X {i}", True) for i in range(5)])
    ids = [mentorship(app, m, world.mentor, T0 - 21 * DAY, trial_started_at=T0 - 20 * DAY) for m in mentees]
    _draws(monkeypatch, "a", "a", "b", "b", "a")
    flows = []
    for mentee, mid in zip(mentees, ids, strict=True):
        flows.append(_start(login(mentee), mid))
    c = [login(m) for m in mentees]
    assert c[0].post(f"/mentorships/{ids[0]}/cancel/{flows[0]}/accept", data={"months": "1"}).status_code == 302
    assert c[4].post(f"/mentorships/{ids[4]}/cancel/{flows[4]}/accept", data={"months": "1"}).status_code == 302
    clock.freeze(T0 + timedelta(minutes=5))
    c[1].post(f"/mentorships/{ids[1]}/cancel/{flows[1]}/decline")
    for i in (1, 3):
        assert c[i].post(f"/mentorships/{ids[i]}/cancel", data={**SURVEY, "flow_id": str(flows[i])}).status_code == 302
    clock.freeze(T0 + 45 * DAY)
    assert c[4].post(f"/mentorships/{ids[4]}/cancel", data=SURVEY).status_code == 302

    def report(at):
        with app.app_context():
            return metrics.experiment_report(experiment_queries.assignment_groups(
                db.session.get(OfferExperiment, experiment_id), at), {"a": 356, "b": 356})

    late = report(T0 + 95 * DAY)
    a, b = late["arms"]["a"], late["arms"]["b"]
    assert a["paths"] == {"accepted": 2, "cancelled": 1, "abandoned": 0, "open": 0}
    assert b["paths"] == {"accepted": 0, "cancelled": 1, "abandoned": 1, "open": 0}
    assert [(a["horizons"][d]["known"], a["horizons"][d]["lasted"], a["horizons"][d]["going"]) for d in (30, 60, 90)] \
        == [(3, 2, 0), (3, 1, 0), (3, 1, 0)]
    assert [(b["horizons"][d]["lasted"], b["horizons"][d]["going"], b["horizons"][d]["abandoned_going"])
            for d in (30, 60, 90)] == [(0, 1, 1)] * 3
    low, high = confint_proportions_2indep(0, 2, 2, 3, method="newcomb", compare="diff")
    diff = late["comparisons"][30]["lasted_difference"]
    assert diff["value"] == pytest.approx(-2 / 3) and (diff["low"], diff["high"]) == pytest.approx((low, high))
    assert late["comparisons"][30]["going_difference"]["value"] == pytest.approx(1 / 2 - 2 / 3)
    assert late["comparisons"][30]["verdict"] == "too_early"
    # As of day 40, the 60- and 90-day outcomes are not known yet; m5 had not cancelled yet.
    early = report(T0 + 40 * DAY)
    assert early["arms"]["a"]["horizons"][60]["known"] == 0 and early["arms"]["a"]["horizons"][30]["lasted"] == 2
    assert early["arms"]["a"]["paths"]["accepted"] == 2
    # An hour after T0: m3 is still deciding, not yet abandoned.
    assert report(T0 + timedelta(hours=1))["arms"]["b"]["paths"]["open"] == 1

    # The saves page's numbers for the reason, by hand, and the fast path equal to the raw one.
    scope = Scope(as_of=T0 + 95 * DAY, start=T0 - DAY, end=T0 + 96 * DAY)
    with app.app_context():
        raw = metrics.saves_report(queries.save_groups(scope))["no_time"]
        fast = metrics.saves_report(rollup_queries.save_groups(scope))["no_time"]
    assert raw == fast
    assert (raw["started"], raw["shown"], raw["accepted"], raw["declined"], raw["cancelled"], raw["abandoned"],
            raw["lasted"]) == (6, 3, 2, 1, 3, 1, 2)  # m5's later survey came with no flow: recorded as one
    operator = login(world.operator)
    clock.freeze(T0 + 95 * DAY)
    page = operator.get(f"/ops/experiments/{experiment_id}").get_data(as_text=True)
    assert "-66.7 points" in page and "Too early to call" in page and "3 and\n    2 outcomes are known" in page


def test_an_accepted_switch_follows_the_new_mentorship(app, world, login, monkeypatch):
    experiment_id = world.experiment(reason="mentor_fit", offer_a="switch_mentor", offer_b="none")
    _draws(monkeypatch, "a")
    mid = world.in_trial(days_in=20)
    mentee = login(world.mentee)
    flow = _start(mentee, mid, "mentor_fit")
    assert mentee.post(f"/mentorships/{mid}/cancel/{flow}/accept",
                       data={"mentor_id": str(world.other_mentor.id)}).status_code == 302
    with app.app_context():
        new = db.session.scalar(select(CancelFlow.kept_mentorship_id).where(CancelFlow.id == flow))

        def lasted(at):
            groups = experiment_queries.assignment_groups(db.session.get(OfferExperiment, experiment_id), at)
            return metrics.experiment_report(groups, {"a": 1, "b": 1})["arms"]["a"]["horizons"][30]["lasted"]
        assert lasted(T0 + 31 * DAY) == 0  # the new mentor has not accepted
    clock.freeze(T0 + DAY)
    assert login(world.other_mentor).post(f"/mentor/applications/{new}/accept").status_code == 302
    with app.app_context():
        assert lasted(T0 + 31 * DAY) == 1
    # Cancelling the mentorship the switch opened, for the same reason: the same arm, no second draw,
    # and still one mentee in the experiment.
    clock.freeze(T0 + 10 * DAY)
    _draws(monkeypatch, "b")
    assert _flow(app, _start(mentee, new, "mentor_fit")) == ("switch_mentor", experiment_id, "a")
    with app.app_context():
        assert experiment_queries.assigned_counts([experiment_id]) == {experiment_id: {"a": 1, "b": 0}}
        groups = experiment_queries.assignment_groups(db.session.get(OfferExperiment, experiment_id), T0 + 31 * DAY)
        assert sum(groups.values()) == 1


def test_the_experiment_pages_read_only_the_experiment(app, world):
    """The results query goes through the experiment's index (the plan is checked on PostgreSQL and
    SQLite by tests/test_query_plans.py); here: rows of other experiments never leak in."""
    first = world.experiment(reason="no_time")
    second = world.experiment(reason="too_expensive", offer_a="plan_reminder", offer_b="none")
    with app.app_context():
        e = db.session.get(OfferExperiment, second)
        mid = world.in_trial(days_in=20)
        m = services.start_cancel_flow(world.mentee.id, mid, "too_expensive", T0)
        assert m.assignment.experiment_id == e.id
        assert experiment_queries.assignment_groups(db.session.get(OfferExperiment, first), T0 + DAY) == {}
        assert sum(experiment_queries.assignment_groups(e, T0 + DAY).values()) == 1
    with pytest.raises(services.Conflict):
        with app.app_context():
            services.end_experiment(Actor.command("test"), first, T0)
            services.end_experiment(Actor.command("test"), first, T0)


def test_two_operators_starting_at_once_start_one(app, world, login):
    """The one-running-per-reason index decides, on both engines: one start succeeds, the other is told."""
    clients = [login(world.operator) for _ in range(4)]
    barrier = threading.Barrier(len(clients))
    statuses = []

    def submit(client):
        barrier.wait()
        statuses.append(client.post("/ops/experiments", data={**PLAN, "start": "1"}).status_code)

    threads = [threading.Thread(target=submit, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(statuses) == [302, 400, 400, 400]
    assert count(app, OfferExperiment) == 1 and count(app, AuditEntry) == 1
