"""Applications and check-ins: a mentee applies or withdraws, the mentor accepts (the trial starts)
or declines, and either of them logs the meetings of a running mentorship."""
from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from tracker.core.extensions import db
from tracker.data import outbox, rollups
from tracker.data.database import unit_of_work
from tracker.data.models import CheckIn, MentorProfile, Mentorship, Pause, User
from tracker.domain import vocabulary
from tracker.domain.lifecycle import CHECKIN_MINUTES_MAX, CHECKIN_MINUTES_MIN, state_as_of
from tracker.services.errors import Conflict, Invalid, NotFound


def locked_mentorship(mentorship_id: int) -> Mentorship | None:
    """The mentorship, its row locked for this transaction (SELECT ... FOR UPDATE on PostgreSQL). Its
    pauses and exit survey are read by statements of their own after the lock is held: joined to the
    locking statement, PostgreSQL would give them as they were before it waited for the lock."""
    return db.session.scalar(select(Mentorship).where(Mentorship.id == mentorship_id).with_for_update())


# --- below the ORM ----------------------------------------------------------------------------
# An application and a check-in are the busiest writes, and on SQLite each holds the one write lock
# while it runs. Loading ORM objects and flushing them was about seven eighths of that time (the
# statements themselves the rest), so these two read and write with Core statements built once, on
# the transaction's connection, and name the mentorships they touch to the rollups (rollups.kept).

# The mentor, and whether the mentee has an open application or mentorship with them already, in one
# round trip (the unique index on open pairs is what holds against a concurrent application).
_OPEN_PAIR = select(Mentorship.id).where(Mentorship.mentee_id == bindparam("mentee_id"),
                                         Mentorship.mentor_id == User.id, Mentorship.ended_at.is_(None))
_MENTOR = (select(User.name, User.role, User.deactivated_at, MentorProfile.accepting_applications,
                  _OPEN_PAIR.exists().label("taken"))
           .outerjoin(MentorProfile, MentorProfile.user_id == User.id).where(User.id == bindparam("mentor_id")))
_ADD_MENTORSHIP = insert(Mentorship)
# The mentorship, its row locked (FOR UPDATE on PostgreSQL: a cancellation that ends it meanwhile would
# leave its ended run with a check-in the rollups never saw), then its pauses, read after the lock is
# held (see `locked_mentorship`).
_LOCKED_MENTORSHIP = (
    select(Mentorship.mentee_id, Mentorship.mentor_id, Mentorship.applied_at, Mentorship.trial_started_at,
           Mentorship.ended_at).where(Mentorship.id == bindparam("id")).with_for_update())
_PAUSES = (select(Pause.starts_at, Pause.ends_at).where(Pause.mentorship_id == bindparam("id"))
           .order_by(Pause.starts_at))
_ADD_CHECKIN = insert(CheckIn)


# --- applications ----------------------------------------------------------------------------

# A mentorship's state is None before its application was made, a moment after `at`: what
# `seed-demo --until` a later day, or an import made before imports refused the future, can leave.
NOT_MADE_YET = "This application has not been made yet."


class Application(NamedTuple):
    """What an application made: its mentorship, and the mentor's name for the confirmation."""

    id: int
    mentor_name: str


def apply(mentee_id: int, mentor_id: int, goal_category: str, goal_text: str,
          meeting_preference: str, at: datetime) -> Application:
    if goal_category not in vocabulary.GOAL_CATEGORIES:
        raise Invalid("Choose one of the goal categories.", field="goal_category")
    if meeting_preference not in vocabulary.MEETING_PREFERENCES:
        raise Invalid("Choose how you would like to meet.", field="meeting_preference")
    with unit_of_work():
        connection = db.session.connection()
        mentor = connection.execute(_MENTOR, {"mentor_id": mentor_id, "mentee_id": mentee_id}).first()
        if mentor is None or mentor.role != "mentor" or mentor.deactivated_at is not None:
            raise NotFound("No such mentor.")
        if not mentor.accepting_applications:  # None: no profile
            raise Conflict(f"{mentor.name} is not accepting applications at the moment.")
        taken = Conflict(f"You already have an open application or mentorship with {mentor.name}.")
        if mentor.taken:
            raise taken
        with rollups.kept(connection) as touched:
            try:
                mentorship_id = connection.execute(_ADD_MENTORSHIP, {
                    "mentee_id": mentee_id, "mentor_id": mentor_id, "goal_category": goal_category,
                    "goal_text": goal_text.strip(), "meeting_preference": meeting_preference,
                    "applied_at": at}).inserted_primary_key[0]
            except IntegrityError:  # a concurrent request opened one first
                raise taken from None
            touched.add(mentorship_id)
        outbox.queue("application_received", mentor_id, outbox.key_of("application_received", f"m{mentorship_id}"),
                     at, mentorship_id=mentorship_id)
    return Application(mentorship_id, mentor.name)


def withdraw(mentee_id: int, mentorship_id: int, at: datetime) -> Mentorship:
    with unit_of_work():
        m = locked_mentorship(mentorship_id)
        if m is None or m.mentee_id != mentee_id:
            raise NotFound("No such application.")
        state = m.state(at)
        if state is None:
            raise Conflict(NOT_MADE_YET)
        if not state.can_withdraw:
            raise Conflict("Only a pending application can be withdrawn.")
        m.ended_at, m.end_reason = at, "withdrawn"
    return m


def _decide(mentor_id: int, mentorship_id: int, at: datetime, accept: bool) -> Mentorship:
    with unit_of_work():
        m = locked_mentorship(mentorship_id)
        if m is None or m.mentor_id != mentor_id:
            raise NotFound("No such application.")
        state = m.state(at)
        if state is None:
            raise Conflict(NOT_MADE_YET)
        if not state.can_decide:
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
                note: str, at: datetime) -> int:
    """Log a meeting of a running mentorship, by its mentee or mentor; the new check-in's id."""
    if mode not in vocabulary.CHECKIN_MODES:
        raise Invalid("Choose how you met.", field="mode")
    if not CHECKIN_MINUTES_MIN <= minutes <= CHECKIN_MINUTES_MAX:
        raise Invalid(f"Minutes must be between {CHECKIN_MINUTES_MIN} and {CHECKIN_MINUTES_MAX}.", field="minutes")
    with unit_of_work():
        connection = db.session.connection()
        m = connection.execute(_LOCKED_MENTORSHIP, {"id": mentorship_id}).first()
        if m is None or user_id not in (m.mentee_id, m.mentor_id):
            raise NotFound("No such mentorship.")
        pauses = connection.execute(_PAUSES, {"id": mentorship_id}).all()
        state = state_as_of(m.applied_at, m.trial_started_at, m.ended_at, at, [tuple(pause) for pause in pauses])
        if state is None or not state.is_running:
            raise Conflict("Check-ins can be logged only while the mentorship is running.")
        # The form is precise to the minute: the minute the trial started is allowed, and a check-in
        # in that minute counts from the trial's first second.
        if occurred_at < m.trial_started_at.replace(second=0):
            raise Invalid("The check-in cannot be before the mentorship started "
                          f"({m.trial_started_at:%d %b %Y %H:%M} UTC).", field="occurred_at")
        if occurred_at > at:
            raise Invalid("The check-in cannot be in the future.", field="occurred_at")
        with rollups.kept(connection, rollups.moved_by_activity(mentorship_id, m.ended_at)):
            checkin_id = connection.execute(_ADD_CHECKIN, {
                "mentorship_id": mentorship_id, "occurred_at": max(occurred_at, m.trial_started_at), "mode": mode,
                "minutes": minutes, "note": note.strip(), "logged_by_id": user_id,
                "logged_at": at}).inserted_primary_key[0]
    return checkin_id
