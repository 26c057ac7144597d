"""What the offer-experiment pages read (docs/EXPERIMENTS.md): the experiments, and one experiment's
assignments grouped by arm, by what the mentee did and by their outcome at each horizon, for
metrics.experiment_report.

The unit is the assignment: a mentorship's first cancel flow in the experiment (later ones of the same
mentorship keep its arm). Each is counted in the arm it was given, whatever happened next (intention to
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
    """{experiment id: {arm: mentorships assigned}} for the list page."""
    f, a = CancelFlow, OfferAssignment
    counts: dict[int, dict[str, int]] = {i: {"a": 0, "b": 0} for i in experiment_ids}
    if not experiment_ids:
        return counts
    stmt = (select(a.experiment_id, a.arm, func.count(func.distinct(f.mentorship_id))).join(f, f.id == a.cancel_flow_id)
            .where(a.experiment_id.in_(experiment_ids)).group_by(a.experiment_id, a.arm))
    for experiment_id, arm, n in db.session.execute(stmt):
        counts[experiment_id][arm] = int(n)
    return counts


def assignment_groups(experiment_id: int, at: datetime) -> dict[tuple, int]:
    """{(arm, path, outcome at each of EXPERIMENT_HORIZONS): count} of the experiment's assignments
    made by `at`. path: lifecycle.flow_outcome of the assignment, with "accepted" meaning an offer of
    the experiment was accepted and "cancelled" that the exit survey was sent; outcomes:
    lifecycle.experiment_outcome."""
    f, a, m, switch = CancelFlow, OfferAssignment, Mentorship, aliased(CancelFlow)
    kept = aliased(Mentorship)
    accepted = case((f.offer_accepted_at <= at, f.offer_accepted_at))
    units = (select(f.mentorship_id.label("mentorship_id"), func.min(a.arm).label("arm"),
                    func.min(f.started_at).label("assigned_at"), func.min(accepted).label("accepted_at"))
             .join(f, f.id == a.cancel_flow_id)
             .where(a.experiment_id == experiment_id, f.started_at <= at)
             .group_by(f.mentorship_id).subquery())
    stmt = (select(units.c.arm, units.c.assigned_at, units.c.accepted_at, m.ended_at, ExitSurvey.submitted_at,
                   switch.offer_accepted_at, kept.trial_started_at, kept.ended_at)
            .select_from(units).join(m, m.id == units.c.mentorship_id)
            .outerjoin(ExitSurvey, ExitSurvey.mentorship_id == m.id)
            # A switch ends the mentorship, so it has at most one; the mentee goes on in the one it opened.
            .outerjoin(switch, and_(switch.mentorship_id == m.id, switch.kept_mentorship_id != m.id))
            .outerjoin(kept, kept.id == switch.kept_mentorship_id))
    groups: Counter = Counter()
    for arm, assigned_at, accepted_at, ended_at, surveyed_at, switched_at, kept_trial, kept_ended in \
            db.session.execute(stmt):
        path = flow_outcome(assigned_at, accepted_at, surveyed_at, at)
        outcomes = tuple(experiment_outcome(assigned_at, accepted_at, ended_at, switched_at, kept_trial, kept_ended,
                                            days, at) for days in EXPERIMENT_HORIZONS)
        groups[(arm, path, *outcomes)] += 1
    return dict(groups)
