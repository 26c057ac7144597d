"""Offer experiments: an operator starts one for a churn reason with two offers (or an offer against
none, the holdout), a split and a plan; each new cancel flow for that reason is assigned an arm at
random, once per mentorship, and shows that arm's offer; ending the experiment stops the assignment
and keeps its results (docs/EXPERIMENTS.md)."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tracker.core.extensions import db
from tracker.data.database import unit_of_work
from tracker.data.models import CancelFlow, Mentorship, OfferAssignment, OfferExperiment
from tracker.domain import lifecycle, vocabulary
from tracker.reports.metrics import planned_sample_size
from tracker.services import audit
from tracker.services.errors import Conflict, Invalid, NotFound

NAME_MAX = 120
SHARE_B_MIN, SHARE_B_MAX = 10, 90
EFFECT_MIN_POINTS = 1.0
ALREADY_RUNNING = "An experiment for this reason is already running: end it before starting another."

# Assignment must not be guessable or repeatable by anyone: the operating system's randomness.
_draw = random.SystemRandom()


@dataclass(frozen=True)
class ExperimentPlan:
    """What an operator asks for, as sent (checked by `check_plan`). Percentages are of 100."""

    name: str
    reason: str
    offer_a: str
    offer_b: str
    share_b: int
    baseline_percent: float
    minimum_effect_points: float


def experiment_reasons() -> list[str]:
    """The churn reasons an experiment can be run for: every one whose offer an operator may choose."""
    return [reason for reason in vocabulary.CHURN_REASONS if reason not in lifecycle.FIXED_OFFERS]


def check_plan(plan: ExperimentPlan) -> tuple[int, int]:
    """Raise Invalid naming the first field that is wrong; else the flows planned for arms A and B."""
    if not plan.name.strip():
        raise Invalid("Give the experiment a name.", field="name")
    if len(plan.name.strip()) > NAME_MAX:
        raise Invalid(f"Keep the name under {NAME_MAX} characters.", field="name")
    if plan.reason not in experiment_reasons():
        raise Invalid("Choose a reason whose offer can be chosen.", field="reason")
    for field in ("offer_a", "offer_b"):
        if getattr(plan, field) not in vocabulary.OFFERS:
            raise Invalid("Choose one of the offers.", field=field)
    if plan.offer_a == plan.offer_b:
        raise Invalid("The two arms must show different offers.", field="offer_b")
    if not SHARE_B_MIN <= plan.share_b <= SHARE_B_MAX:
        raise Invalid(f"Send between {SHARE_B_MIN}% and {SHARE_B_MAX}% of the flows to arm B.", field="share_b")
    if not 0 <= plan.baseline_percent < 100:
        raise Invalid("The expected rate in arm A is a percentage from 0 to under 100.", field="baseline_percent")
    if not EFFECT_MIN_POINTS <= plan.minimum_effect_points <= 100 - plan.baseline_percent:
        raise Invalid(f"The smallest difference worth finding is from {EFFECT_MIN_POINTS:g} point up to "
                      f"{100 - plan.baseline_percent:g} (arm A's rate plus it cannot pass 100%).",
                      field="minimum_effect_points")
    return planned_sample_size(plan.baseline_percent / 100, plan.minimum_effect_points / 100, plan.share_b / 100)


def start_experiment(actor: audit.Actor, plan: ExperimentPlan, at: datetime) -> OfferExperiment:
    """Start the experiment now: cancel flows for its reason from `at` on are assigned an arm."""
    planned_a, planned_b = check_plan(plan)
    with unit_of_work():
        experiment = OfferExperiment(name=plan.name.strip(), reason=plan.reason, offer_a=plan.offer_a,
                                     offer_b=plan.offer_b, share_b=plan.share_b,
                                     baseline_percent=plan.baseline_percent,
                                     minimum_effect_points=plan.minimum_effect_points,
                                     planned_a=planned_a, planned_b=planned_b, started_at=at,
                                     started_by_id=actor.user_id)
        db.session.add(experiment)
        try:
            db.session.flush()
        except IntegrityError:  # the one-running-per-reason index: another operator was first
            raise Conflict(ALREADY_RUNNING, field="reason") from None
        audit.record(actor, "experiment_started", "experiment", experiment.id, at,
                     summary=experiment.name,
                     after={"reason": plan.reason, "offer_a": plan.offer_a, "offer_b": plan.offer_b,
                            "share_b": plan.share_b, "planned_a": planned_a, "planned_b": planned_b})
    return experiment


def end_experiment(actor: audit.Actor, experiment_id: int, at: datetime) -> OfferExperiment:
    """Stop assigning flows to the experiment; the flows it had keep their arm and its results stay."""
    with unit_of_work():
        experiment = db.session.get(OfferExperiment, experiment_id, with_for_update=True)
        if experiment is None:
            raise NotFound("No such experiment.")
        if experiment.ended_at is not None:
            raise Conflict("This experiment has already ended.")
        experiment.ended_at, experiment.ended_by_id = at, actor.user_id
        audit.record(actor, "experiment_ended", "experiment", experiment.id, at,
                     summary=experiment.name)
    return experiment


# --- assignment, called by the cancel flow inside its own transaction --------------------------------

def running_for(reason: str, at: datetime) -> OfferExperiment | None:
    return db.session.scalar(select(OfferExperiment).where(
        OfferExperiment.reason == reason, OfferExperiment.started_at <= at, OfferExperiment.ended_at.is_(None)))


def assign(m: Mentorship, experiment: OfferExperiment) -> str:
    """The arm of the mentee of `m` in `experiment`: the one their earlier flows in it were given (going
    back and starting again, or cancelling the mentorship a switch opened, shows the same offer), else
    drawn now, B with probability share_b%."""
    theirs = select(Mentorship.id).where(Mentorship.mentee_id == m.mentee_id)
    earlier = db.session.scalar(select(OfferAssignment.arm).join(CancelFlow).where(
        OfferAssignment.experiment_id == experiment.id, CancelFlow.mentorship_id.in_(theirs)).limit(1))
    if earlier is not None:
        return earlier
    return "b" if _draw.random() * 100 < experiment.share_b else "a"
