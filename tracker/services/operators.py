"""What operators change: the offer for each churn reason, at-risk reviews, and moderation of the
comments mentors see."""
from __future__ import annotations

from datetime import datetime

from tracker.core.extensions import db
from tracker.data.database import unit_of_work
from tracker.data.models import ExitSurvey, Mentorship, OfferSetting, RiskReview, User
from tracker.domain import lifecycle, vocabulary
from tracker.services import audit
from tracker.services.errors import Invalid, NotFound

# --- offers and at-risk reviews -----------------------------------------------------------------------

def _operator(operator_id: int | None) -> audit.Actor:
    user = db.session.get(User, operator_id) if operator_id is not None else None
    return audit.Actor.operator(user.id, user.email) if user is not None else audit.Actor.command("unknown")


def set_offers(operator_id: int, offers: dict[str, str], at: datetime) -> None:
    """Choose the offer for each churn reason (the fixed ones cannot be changed)."""
    for reason, offer in offers.items():
        if reason not in vocabulary.CHURN_REASONS or reason in lifecycle.FIXED_OFFERS:
            raise Invalid(f"The offer for {reason!r} cannot be chosen.", field=reason)
        if offer not in vocabulary.OFFERS:
            raise Invalid("Choose one of the offers.", field=reason)
    with unit_of_work():
        before = lifecycle.offers_in_force({r.reason: r.offer for r in db.session.query(OfferSetting)})
        for reason, offer in offers.items():
            setting = db.session.get(OfferSetting, reason) or OfferSetting(reason=reason)
            setting.offer, setting.updated_at, setting.updated_by_id = offer, at, operator_id
            db.session.add(setting)
        changed = {reason: offer for reason, offer in offers.items() if before.get(reason) != offer}
        if changed:
            audit.record(_operator(operator_id), "offers_changed", "offers", None, at,
                         summary=", ".join(sorted(changed)),
                         before={reason: before.get(reason) for reason in changed}, after=changed)


def mark_risk_handled(operator_id: int, mentorship_id: int, note: str, at: datetime) -> RiskReview:
    with unit_of_work():
        if db.session.get(Mentorship, mentorship_id) is None:
            raise NotFound("No such mentorship.")
        review = RiskReview(mentorship_id=mentorship_id, handled_at=at, handled_by_id=operator_id,
                            note=note.strip())
        db.session.add(review)
        audit.record(_operator(operator_id), "risk_handled", "mentorship", mentorship_id, at,
                     after={"note": note.strip()})
    return review


# --- moderation --------------------------------------------------------------------------------------

def hide_mentor_feedback(operator_id: int, survey_id: int, reason: str, at: datetime) -> ExitSurvey:
    """Hide a survey's "mentor could do better" text from the mentor; it stays in the data."""
    reason = reason.strip()
    if not reason:
        raise Invalid("Say why the comment is hidden.", field="reason")
    return _moderate(survey_id, reason, at, operator_id)


def show_mentor_feedback(survey_id: int, operator_id: int | None = None, at: datetime | None = None
                         ) -> ExitSurvey:
    return _moderate(survey_id, None, at, operator_id, hide=False)


def _moderate(survey_id: int, reason: str | None, at: datetime | None, operator_id: int | None,
              hide: bool = True) -> ExitSurvey:
    with unit_of_work():
        survey = db.session.get(ExitSurvey, survey_id)
        if survey is None:
            raise NotFound("No such survey.")
        before = survey.mentor_feedback_hidden_reason
        survey.mentor_feedback_hidden_reason = reason
        survey.mentor_feedback_hidden_at = at if hide else None
        survey.mentor_feedback_hidden_by_id = operator_id if hide else None
        if at is not None:
            audit.record(_operator(operator_id), "feedback_hidden" if hide else "feedback_shown", "exit_survey",
                         survey_id, at, before={"hidden_reason": before}, after={"hidden_reason": reason})
    return survey
