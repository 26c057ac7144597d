"""Public reviews: a mentee writes (and for 14 days edits) one per mentorship, the mentor replies once,
an operator hides or shows either for a content-policy reason, every hide and show logged. Each write
keeps mentor_review_stats exact in the same transaction (tracker/data/review_stats.py)."""
from __future__ import annotations

import unicodedata
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tracker.core.extensions import db
from tracker.data import review_stats
from tracker.data.database import unit_of_work
from tracker.data.models import Mentorship, Pulse, Review, ReviewModeration, User
from tracker.domain import reviews as rules
from tracker.domain.vocabulary import STARS_MAX, STARS_MIN
from tracker.services import audit
from tracker.services.errors import Conflict, Invalid, NotFound


def _clean_text(text: str, limit: int, field: str) -> str:
    text = (text or "").strip()
    if not text:
        raise Invalid("Write a few words.", field=field)
    if len(text) > limit:
        raise Invalid(f"Keep it to {limit:,} characters (this is {len(text):,}).", field=field)
    if any(unicodedata.category(c) == "Cc" and c not in "\n\r\t" for c in text):
        raise Invalid("The text contains a control character; please remove it.", field=field)
    return text


def _check_stars(stars: int) -> None:
    if not isinstance(stars, int) or not STARS_MIN <= stars <= STARS_MAX:
        raise Invalid(f"Choose from {STARS_MIN} to {STARS_MAX} stars.", field="stars")


def review_blocker(m: Mentorship, at: datetime) -> str | None:
    """Why this mentorship cannot have a review written now, or None."""
    surveyed = m.exit_survey is not None  # loaded already after a cancellation, else read here
    month_one = db.session.scalar(select(Pulse.id).where(Pulse.mentorship_id == m.id, Pulse.period == 1,
                                                         Pulse.submitted_at <= at)) is not None
    if rules.may_review(m.trial_started_at, m.ended_at, surveyed, month_one, at):
        return None
    if not rules.reached_a_paid_month(m.trial_started_at, m.ended_at, at):
        return "A public review can be written once a mentorship has reached its first paid month."
    return ("A public review can be written at the end of the exit survey, or once you have answered "
            "the month-1 questions.")


def write_review(mentee_id: int, mentorship_id: int, stars: int, text: str, naming: str, consent: bool,
                 at: datetime) -> Review:
    """Publish the mentee's review of this mentorship, or change it while it is editable."""
    _check_stars(stars)
    text = _clean_text(text, rules.TEXT_MAX, "text")
    if naming not in rules.NAMINGS:
        raise Invalid("Choose how you want to be named.", field="naming")
    if not consent:
        raise Invalid("Tick the box to agree that the review is shown publicly.", field="consent")
    with unit_of_work():
        m = db.session.scalar(select(Mentorship).where(Mentorship.id == mentorship_id).with_for_update())
        if m is None or m.mentee_id != mentee_id:
            raise NotFound("No such mentorship.")
        review = db.session.scalar(select(Review).where(Review.mentorship_id == m.id))
        author = db.session.get(User, mentee_id)
        name = rules.display_name(author.name, naming)
        if review is None:
            blocker = review_blocker(m, at)
            if blocker:
                raise Conflict(blocker)
            review = Review(mentorship_id=m.id, mentor_id=m.mentor_id, stars=stars, text=text, naming=naming,
                            display_name=name, consented_at=at, created_at=at, updated_at=at)
            db.session.add(review)
            try:
                db.session.flush()
            except IntegrityError:  # the same review sent twice at once
                raise Conflict("You have already written a review of this mentorship.") from None
            review_stats.adjust(db.session.connection(), m.mentor_id, stars, 1)
            return review
        if not rules.editable(review.created_at, at):
            raise Conflict(f"A review can be changed for {rules.EDITABLE_FOR.days} days after it was written.")
        if review.visible and review.stars != stars:
            review_stats.adjust(db.session.connection(), m.mentor_id, review.stars, -1)
            review_stats.adjust(db.session.connection(), m.mentor_id, stars, 1)
        review.stars, review.text, review.naming, review.display_name = stars, text, naming, name
        review.consented_at = review.updated_at = at
    return review


def reply_to_review(mentor_id: int, review_id: int, text: str, at: datetime) -> Review:
    text = _clean_text(text, rules.REPLY_MAX, "text")
    with unit_of_work():
        review = db.session.scalar(select(Review).where(Review.id == review_id).with_for_update())
        if review is None or review.mentor_id != mentor_id or not review.visible:
            raise NotFound("No such review.")
        if review.reply_text is not None:
            raise Conflict("You have already replied to this review.")
        review.reply_text, review.replied_at = text, at
    return review


def moderate(operator_id: int | None, review_id: int, target: str, action: str, reason: str,
             at: datetime) -> Review:
    """Hide or show a review or its reply, for a reason of the content policy; logged."""
    if target not in rules.TARGETS or action not in rules.ACTIONS:
        raise Invalid("Choose what to hide or show.")
    if reason not in rules.MODERATION_REASONS:
        raise Invalid("Choose a reason from the content policy.", field="reason")
    with unit_of_work():
        review = db.session.scalar(select(Review).where(Review.id == review_id).with_for_update())
        if review is None:
            raise NotFound("No such review.")
        hide = action == "hide"
        if target == "review":
            if hide == (review.hidden_at is not None):
                raise Conflict(f"The review is already {'hidden' if hide else 'shown'}.")
            review.hidden_at, review.hidden_reason = (at, reason) if hide else (None, None)
            review_stats.adjust(db.session.connection(), review.mentor_id, review.stars, -1 if hide else 1)
        else:
            if review.reply_text is None:
                raise Conflict("This review has no reply.")
            if hide == (review.reply_hidden_at is not None):
                raise Conflict(f"The reply is already {'hidden' if hide else 'shown'}.")
            review.reply_hidden_at, review.reply_hidden_reason = (at, reason) if hide else (None, None)
        db.session.add(ReviewModeration(review_id=review.id, target=target, action=action, reason=reason,
                                        operator_id=operator_id, at=at))
        operator = db.session.get(User, operator_id) if operator_id is not None else None
        audit.record(audit.Actor.operator(operator.id, operator.email) if operator else audit.Actor.command("unknown"),
                     "review_moderated", "review", review.id, at, summary=f"{action} the {target}: {reason}",
                     before={"hidden": not hide}, after={"hidden": hide, "target": target, "reason": reason})
    return review
