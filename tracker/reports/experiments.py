"""What the offer-experiment pages read (docs/EXPERIMENTS.md): the experiments, and one experiment's
assignments grouped by arm, by what the mentee did and by their outcome at each horizon, for
metrics.experiment_report.

The unit is the assignment: a mentee's first cancel flow in the experiment (their later ones keep its
arm and are not new units). Each is counted in the arm it was given, whatever happened next (intention to
treat); nothing after T exists. An experiment's flows are read through ix_offer_assignments_experiment_id, so
the cost is that of the experiment, not of the history (tests/test_query_plans.py).
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import aliased

from tracker.core.extensions import db
from tracker.data.models import CancelFlow, ExitSurvey, Mentorship, OfferAssignment, OfferExperiment
from tracker.domain.lifecycle import EXPERIMENT_HORIZONS, experiment_outcome, flow_outcome


def experiments() -> list[OfferExperiment]:
    """Every experiment, the running ones first, then the newest."""
    return list(db.session.scalars(select(OfferExperiment).order_by(
        OfferExperiment.ended_at.is_not(None), OfferExperiment.started_at.desc(), OfferExperiment.id.desc())))


def experiment(experiment_id: int) -> OfferExperiment | None:
    return db.session.get(OfferExperiment, experiment_id)


def assigned_counts(experiment_ids: list[int]) -> dict[int, dict[str, int]]:
    """{experiment id: {arm: mentees assigned}} for the list page."""
    f, a, m = CancelFlow, OfferAssignment, Mentorship
    counts: dict[int, dict[str, int]] = {i: {"a": 0, "b": 0} for i in experiment_ids}
    if not experiment_ids:
        return counts
    stmt = (select(a.experiment_id, a.arm, func.count(func.distinct(m.mentee_id)))
            .join(f, f.id == a.cancel_flow_id).join(m, m.id == f.mentorship_id)
            .where(a.experiment_id.in_(experiment_ids)).group_by(a.experiment_id, a.arm))
    for experiment_id, arm, n in db.session.execute(stmt):
        counts[experiment_id][arm] = int(n)
    return counts


def assignment_groups(experiment: OfferExperiment, at: datetime) -> dict[tuple, int]:
    """{(arm, in plan, path, outcome at each of EXPERIMENT_HORIZONS): count} of the experiment's
    assignments made by `at`: one per mentee, at their first flow in it, followed through that flow's
    mentorship. In plan: among the first `planned` of its arm, in the order they were made. path:
    lifecycle.flow_outcome of the assignment, "accepted" meaning an offer of the experiment was accepted
    for that mentorship, "cancelled" that its exit survey was sent; outcomes: lifecycle.experiment_outcome."""
    f, a, m, switch = CancelFlow, OfferAssignment, Mentorship, aliased(CancelFlow)
    kept = aliased(Mentorship)
    # Every flow of the experiment with its mentorship's facts, in one pass through the experiment's
    # index; each mentee's first flow and each mentorship's first acceptance are picked out below.
    stmt = (select(m.mentee_id, f.started_at, f.id, a.arm, m.id, case((f.offer_accepted_at <= at, f.offer_accepted_at)),
                   m.ended_at, ExitSurvey.submitted_at, switch.offer_accepted_at, kept.trial_started_at, kept.ended_at)
            .select_from(a).join(f, f.id == a.cancel_flow_id).join(m, m.id == f.mentorship_id)
            .outerjoin(ExitSurvey, ExitSurvey.mentorship_id == m.id)
            # A switch ends the mentorship, so it has at most one; the mentee goes on in the one it opened.
            .outerjoin(switch, and_(switch.mentorship_id == m.id, switch.kept_mentorship_id != m.id))
            .outerjoin(kept, kept.id == switch.kept_mentorship_id)
            .where(a.experiment_id == experiment.id, f.started_at <= at))
    first: dict[int, tuple] = {}
    accepted: dict[int, datetime] = {}
    for row in db.session.execute(stmt):
        mentee, started_at, flow_id, mentorship_id, accepted_at = row[0], row[1], row[2], row[4], row[5]
        if mentee not in first or (started_at, flow_id) < first[mentee][:2]:
            first[mentee] = row[1:]
        if accepted_at is not None and (mentorship_id not in accepted or accepted_at < accepted[mentorship_id]):
            accepted[mentorship_id] = accepted_at
    rows = sorted(first.values())  # in the order they were made
    planned = {"a": experiment.planned_a, "b": experiment.planned_b}
    seen: Counter = Counter()
    groups: Counter = Counter()
    for assigned_at, _, arm, mentorship_id, _, ended_at, surveyed_at, switched_at, kept_trial, kept_ended in rows:
        accepted_at = accepted.get(mentorship_id)
        seen[arm] += 1
        path = flow_outcome(assigned_at, accepted_at, surveyed_at, at)
        outcomes = tuple(experiment_outcome(assigned_at, accepted_at, ended_at, switched_at, kept_trial, kept_ended,
                                            days, at) for days in EXPERIMENT_HORIZONS)
        groups[(arm, seen[arm] <= planned[arm], path, *outcomes)] += 1
    return dict(groups)
