"""Applications and check-ins: a mentee applies or withdraws, the mentor accepts (the trial starts)
or declines, and either of them logs the meetings of a running mentorship."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from tracker.core.extensions import db
from tracker.data import outbox
from tracker.data.database import unit_of_work
from tracker.data.models import CheckIn, Mentorship, User
from tracker.domain import vocabulary
from tracker.domain.lifecycle import CHECKIN_MINUTES_MAX, CHECKIN_MINUTES_MIN
from tracker.services.errors import Conflict, Invalid, NotFound


def locked_mentorship(mentorship_id: int) -> Mentorship | None:
    """The mentorship, its row locked for this transaction (SELECT ... FOR UPDATE on PostgreSQL). Its
    pauses and exit survey are read by statements of their own after the lock is held: joined to the
    locking statement, PostgreSQL would give them as they were before it waited for the lock."""
    return db.session.scalar(select(Mentorship).where(Mentorship.id == mentorship_id).with_for_update())


# --- applications ----------------------------------------------------------------------------

def apply(mentee_id: int, mentor_id: int, goal_category: str, goal_text: str,
          meeting_preference: str, at: datetime) -> Mentorship:
    if goal_category not in vocabulary.GOAL_CATEGORIES:
        raise Invalid("Choose one of the goal categories.", field="goal_category")
    if meeting_preference not in vocabulary.MEETING_PREFERENCES:
        raise Invalid("Choose how you would like to meet.", field="meeting_preference")
    with unit_of_work():
        mentor = db.session.get(User, mentor_id, options=[joinedload(User.mentor_profile)])
        if mentor is None or mentor.role != "mentor" or mentor.deactivated_at is not None:
            raise NotFound("No such mentor.")
        if mentor.mentor_profile is None or not mentor.mentor_profile.accepting_applications:
            raise Conflict(f"{mentor.name} is not accepting applications at the moment.")
        open_one = db.session.scalar(select(Mentorship.id).where(
            Mentorship.mentee_id == mentee_id, Mentorship.mentor_id == mentor_id,
            Mentorship.ended_at.is_(None)))
        if open_one is not None:
            raise Conflict(f"You already have an open application or mentorship with {mentor.name}.")
        mentorship = Mentorship(mentee_id=mentee_id, mentor=mentor, goal_category=goal_category,
                                goal_text=goal_text.strip(), meeting_preference=meeting_preference,
                                applied_at=at)
        db.session.add(mentorship)
        try:
            db.session.flush()
        except IntegrityError:  # a concurrent request opened one first
            raise Conflict(f"You already have an open application or mentorship with {mentor.name}.") from None
        outbox.queue("application_received", mentor_id, outbox.key_of("application_received", f"m{mentorship.id}"),
                     at, mentorship_id=mentorship.id)
    return mentorship


def withdraw(mentee_id: int, mentorship_id: int, at: datetime) -> Mentorship:
    with unit_of_work():
        m = locked_mentorship(mentorship_id)
        if m is None or m.mentee_id != mentee_id:
            raise NotFound("No such application.")
        if not m.state(at).can_withdraw:
            raise Conflict("Only a pending application can be withdrawn.")
        m.ended_at, m.end_reason = at, "withdrawn"
    return m


def _decide(mentor_id: int, mentorship_id: int, at: datetime, accept: bool) -> Mentorship:
    with unit_of_work():
        m = locked_mentorship(mentorship_id)
        if m is None or m.mentor_id != mentor_id:
            raise NotFound("No such application.")
        if not m.state(at).can_decide:
            raise Conflict("This application has already been answered or withdrawn.")
        if accept:
            m.trial_started_at = at
        else:
            m.ended_at, m.end_reason = at, "declined"
        outbox.queue("application_decided", m.mentee_id, outbox.key_of("application_decided", f"m{m.id}"), at,
                     mentorship_id=m.id)
    return m


def accept(mentor_id: int, mentorship_id: int, at: datetime) -> Mentorship:
    """The 7-day trial starts at this moment."""
    return _decide(mentor_id, mentorship_id, at, accept=True)


def decline(mentor_id: int, mentorship_id: int, at: datetime) -> Mentorship:
    return _decide(mentor_id, mentorship_id, at, accept=False)


# --- check-ins ---------------------------------------------------------------------------------

def log_checkin(user_id: int, mentorship_id: int, occurred_at: datetime, mode: str, minutes: int,
                note: str, at: datetime) -> CheckIn:
    if mode not in vocabulary.CHECKIN_MODES:
        raise Invalid("Choose how you met.", field="mode")
    if not CHECKIN_MINUTES_MIN <= minutes <= CHECKIN_MINUTES_MAX:
        raise Invalid(f"Minutes must be between {CHECKIN_MINUTES_MIN} and {CHECKIN_MINUTES_MAX}.", field="minutes")
    with unit_of_work():
        m = db.session.get(Mentorship, mentorship_id, options=[joinedload(Mentorship.pauses)])
        if m is None or user_id not in (m.mentee_id, m.mentor_id):
            raise NotFound("No such mentorship.")
        if not m.state(at).is_running:
            raise Conflict("Check-ins can be logged only while the mentorship is running.")
        # The form is precise to the minute: the minute the trial started is allowed, and a check-in
        # in that minute counts from the trial's first second.
        if occurred_at < m.trial_started_at.replace(second=0):
            raise Invalid("The check-in cannot be before the mentorship started "
                          f"({m.trial_started_at:%d %b %Y %H:%M} UTC).", field="occurred_at")
        if occurred_at > at:
            raise Invalid("The check-in cannot be in the future.", field="occurred_at")
        occurred_at = max(occurred_at, m.trial_started_at)
        checkin = CheckIn(mentorship=m, occurred_at=occurred_at, mode=mode, minutes=minutes,
                          note=note.strip(), logged_by_id=user_id, logged_at=at)
        db.session.add(checkin)
    return checkin
