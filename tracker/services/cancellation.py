"""Cancellation: the cancel flow (the reason first, then the offer that fits it), the exit survey that
ends a mentorship, and the pause an offer can give, with its early resume."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tracker.core.extensions import db
from tracker.data.database import unit_of_work
from tracker.data.models import CancelFlow, ExitSurvey, Mentorship, OfferAssignment, Pause
from tracker.domain import lifecycle, vocabulary
from tracker.reports.queries import offer_settings, switch_suggestions
from tracker.services import experiments
from tracker.services.applications import NOT_MADE_YET, locked_mentorship
from tracker.services.errors import Conflict, Invalid, NotFound

ALREADY_CANCELLED = "This mentorship has already been cancelled; your answers were recorded the first time."


@dataclass(frozen=True)
class SurveyAnswers:
    """The mentee's answers to the exit survey, as sent (checked by `cancel_with_survey`)."""

    stars: int
    goal_reached: str
    churn_reason: str
    feedback_platform: str = ""
    feedback_mentor: str = ""
    feedback_other: str = ""


NOT_CANCELLABLE = {
    "ended": "This mentorship has already ended.",
    "pending": "This application has not been accepted yet: withdraw it instead.",
    "closed": "This application is closed, so there is nothing to cancel.",
}


def cancellation_blocker(mentorship: Mentorship, at: datetime) -> str | None:
    """Why this mentorship cannot be cancelled now (State.can_cancel says whether), or None if it can."""
    state = mentorship.state(at)
    if mentorship.exit_survey is not None:
        return ALREADY_CANCELLED
    if state is None:  # applied after `at`
        return NOT_MADE_YET
    return None if state.can_cancel else NOT_CANCELLABLE[state.status]


# --- the exit survey ends the mentorship ------------------------------------------------------------

def _check_answers(answers: SurveyAnswers) -> None:
    if not vocabulary.STARS_MIN <= answers.stars <= vocabulary.STARS_MAX:
        raise Invalid(f"Choose from {vocabulary.STARS_MIN} to {vocabulary.STARS_MAX} stars.", field="stars")
    if answers.goal_reached not in vocabulary.GOAL_REACHED:
        raise Invalid("Say whether you reached your goal.", field="goal_reached")
    if answers.churn_reason not in vocabulary.CHURN_REASONS:
        raise Invalid("Choose the main reason you are leaving.", field="churn_reason")


def cancel_with_survey(mentee_id: int, mentorship_id: int, answers: SurveyAnswers, at: datetime,
                       flow_id: int | None = None) -> ExitSurvey:
    """End the mentorship and store its exit survey together, or do neither.

    The survey closes the cancel flow it was sent from (`flow_id`), or else the mentorship's open
    flow; a survey sent with no flow at all (a script, an old page) is recorded as a flow that
    showed no offer, so every cancellation has its flow."""
    _check_answers(answers)
    with unit_of_work():
        m = _owned_mentorship(mentee_id, mentorship_id, at)
        flow = _flow_of(m, flow_id, at) if flow_id is not None else _open_flow(m, at)
        if flow is None:
            flow = CancelFlow(mentorship=m, reason=answers.churn_reason, started_at=at, offer="none")
            db.session.add(flow)
        if flow.offer != "none" and flow.offer_declined_at is None:
            flow.offer_declined_at = at
        flow.cancelled_at = at
        m.ended_at, m.end_reason = at, "cancelled"
        survey = ExitSurvey(mentorship=m, stars=answers.stars, goal_reached=answers.goal_reached,
                            churn_reason=answers.churn_reason,
                            feedback_platform=answers.feedback_platform.strip(),
                            feedback_mentor=answers.feedback_mentor.strip(),
                            feedback_other=answers.feedback_other.strip(), submitted_at=at)
        db.session.add(survey)
        try:
            db.session.flush()
        except IntegrityError:  # a concurrent submit stored the survey first
            raise Conflict(ALREADY_CANCELLED) from None
    return survey


# --- the cancel flow: reason first, then the offer that fits it -----------------------------------

def _owned_mentorship(mentee_id: int, mentorship_id: int, at: datetime) -> Mentorship:
    m = locked_mentorship(mentorship_id)
    if m is None or m.mentee_id != mentee_id:
        raise NotFound("No such mentorship.")
    blocker = cancellation_blocker(m, at)
    if blocker:
        raise Conflict(blocker)
    return m


def _undecided(flows, at: datetime) -> list[CancelFlow]:
    return [f for f in flows if f.superseded_at is None
            and lifecycle.flow_outcome(f.started_at, f.offer_accepted_at, f.cancelled_at, at) == "open"]


def _open_flow(m: Mentorship, at: datetime) -> CancelFlow | None:
    flows = db.session.scalars(select(CancelFlow).where(CancelFlow.mentorship_id == m.id)
                               .order_by(CancelFlow.started_at.desc(), CancelFlow.id.desc()))
    return next(iter(_undecided(flows, at)), None)


def _flow_of(m: Mentorship, flow_id: int, at: datetime) -> CancelFlow:
    """The mentorship's flow `flow_id`, still waiting for its outcome (abandoned ones may come back)."""
    flow = db.session.get(CancelFlow, flow_id)
    if flow is None or flow.mentorship_id != m.id or flow.started_at > at:
        raise NotFound("No such cancellation in progress.")
    if flow.superseded_at is not None:
        raise Conflict("You started again with another reason; please continue from there.")
    if flow.offer_accepted_at is not None or flow.cancelled_at is not None:
        raise Conflict("You have already answered this.")
    return flow


def start_cancel_flow(mentee_id: int, mentorship_id: int, reason: str, at: datetime) -> CancelFlow:
    """Record that the mentee set out to cancel for `reason`, and which offer they are shown."""
    if reason not in vocabulary.CHURN_REASONS:
        raise Invalid("Choose the main reason you are leaving.", field="churn_reason")
    with unit_of_work():
        m = _owned_mentorship(mentee_id, mentorship_id, at)
        experiment = experiments.running_for(reason, at)
        arm = experiments.assign(m, experiment) if experiment is not None else None
        # In an experiment the arm's offer stands in for the operators' choice; either way it is shown
        # only where it can apply (the assignment stands even when it cannot: intention to treat).
        configured = {reason: experiment.offer_of(arm)} if experiment is not None else offer_settings()
        offer = lifecycle.offer_for(reason, configured, m.state(at).status)
        if offer == "switch_mentor" and not switch_suggestions(m):
            offer = "none"  # nobody to suggest: an empty offer would only be in the way
        for earlier in _undecided(db.session.scalars(select(CancelFlow).where(CancelFlow.mentorship_id == m.id)), at):
            earlier.superseded_at = at
        flow = CancelFlow(mentorship=m, reason=reason, started_at=at, offer=offer,
                          offer_shown_at=at if offer != "none" else None)
        if experiment is not None:
            flow.assignment = OfferAssignment(experiment_id=experiment.id, arm=arm)
        db.session.add(flow)
    return flow


def accept_offer(mentee_id: int, mentorship_id: int, flow_id: int, at: datetime,
                 months: int | None = None, mentor_id: int | None = None) -> CancelFlow:
    """Take the flow's offer: pause for `months`, switch to `mentor_id`, or keep the plan."""
    with unit_of_work():
        m = _owned_mentorship(mentee_id, mentorship_id, at)
        flow = _flow_of(m, flow_id, at)
        if flow.offer == "none":
            raise Conflict("There is no offer to accept here.")
        if flow.offer_declined_at is not None:
            raise Conflict("You turned this offer down; the exit survey is below.")
        kept = m
        if flow.offer == "pause":
            _pause(m, flow, months, at)
        elif flow.offer == "switch_mentor":
            kept = _switch(m, mentor_id, at)
        flow.offer_accepted_at, flow.kept_mentorship_id = at, kept.id
    return flow


def _pause(m: Mentorship, flow: CancelFlow, months: int | None, at: datetime) -> None:
    if months not in lifecycle.PAUSE_MONTHS:
        raise Invalid("Choose a pause of 1 or 2 months.", field="months")
    if m.state(at).status != "paid":
        raise Conflict("Only a running paid mentorship can be paused.")
    db.session.add(Pause(mentorship=m, starts_at=at, ends_at=at + months * lifecycle.PAID_MONTH,
                         cancel_flow_id=flow.id))


def _switch(m: Mentorship, mentor_id: int | None, at: datetime) -> Mentorship:
    """End `m` and open the same goal with the suggested mentor `mentor_id`; the new mentorship."""
    new_mentor = next((u for u in switch_suggestions(m) if u.id == mentor_id), None)
    if new_mentor is None:
        raise Invalid("Choose one of the suggested mentors.", field="mentor_id")
    m.ended_at, m.end_reason = at, "cancelled"
    kept = Mentorship(mentee_id=m.mentee_id, mentor_id=new_mentor.id, goal_category=m.goal_category,
                      goal_text=m.goal_text, meeting_preference=m.meeting_preference, applied_at=at)
    db.session.add(kept)
    db.session.flush()
    return kept


def decline_offer(mentee_id: int, mentorship_id: int, flow_id: int, at: datetime) -> CancelFlow:
    with unit_of_work():
        m = _owned_mentorship(mentee_id, mentorship_id, at)
        flow = _flow_of(m, flow_id, at)
        if flow.offer != "none" and flow.offer_declined_at is None:
            flow.offer_declined_at = at
    return flow


# --- pause and resume -----------------------------------------------------------------------------

def resume(mentee_id: int, mentorship_id: int, at: datetime) -> Mentorship:
    """End the current pause now, before it would have ended by itself."""
    with unit_of_work():
        m = locked_mentorship(mentorship_id)
        if m is None or m.mentee_id != mentee_id:
            raise NotFound("No such mentorship.")
        pause = next((p for p in m.pauses if p.starts_at <= at < p.ends_at), None)
        if pause is None or not m.state(at).can_resume:
            raise Conflict("This mentorship is not paused.")
        if pause.starts_at == at:
            db.session.delete(pause)  # resumed in the second it began: it never took effect
        else:
            pause.ends_at = at
    return m
