"""What users do: validate, change, commit once, or raise a domain error and change nothing.

Every function takes the moment `at` from the caller (clock.now() in views), and owns its
transaction: it begins it (database.begin_write), commits it, or rolls it back on error.
"""
from __future__ import annotations

import hashlib
import secrets
import time
from contextlib import contextmanager
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from . import lifecycle
from .database import begin_write, write_queue
from .extensions import db
from .models import ROLES, ApiToken, CheckIn, ExitSurvey, MentorProfile, Mentorship, User


class ServiceError(Exception):
    """A user action that cannot be done; the message is safe to show to that user."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ServiceError):
    """The object does not exist *or* the user may not see it: the two are not told apart."""


class Conflict(ServiceError):
    """The action clashes with the current state (already cancelled, already applied, ...)."""


class Invalid(ServiceError):
    """A value is not acceptable."""


@contextmanager
def _write():
    with write_queue():
        begin_write()
        try:
            yield
            db.session.flush()
            _fault_pause()
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise


def _fault_pause() -> None:
    """Fault-injection hook for the crash tests (tests/test_under_gunicorn.py): hold the finished,
    uncommitted transaction open so a test can kill the worker mid-request. Never on in production."""
    pause = current_app.config.get("FAULT_PAUSE_BEFORE_COMMIT")
    if pause:
        time.sleep(pause)


def normalise_email(email: str) -> str:
    return email.strip().lower()


# --- accounts -------------------------------------------------------------------------------

DUMMY_HASH = generate_password_hash("not-a-real-password")


def create_user(email: str, role: str, name: str, password: str | None, at: datetime) -> User:
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}", field="role")
    email = normalise_email(email)
    with _write():
        if db.session.scalar(select(User.id).where(User.email == email)) is not None:
            raise Conflict("An account with this email already exists.", field="email")
        user = User(email=email, role=role, name=name.strip() or email.split("@")[0],
                    password_hash=generate_password_hash(password) if password else None,
                    created_at=at)
        if role == "mentor":
            user.mentor_profile = MentorProfile()
        db.session.add(user)
        try:
            db.session.flush()
        except IntegrityError:
            raise Conflict("An account with this email already exists.", field="email") from None
    return user


def set_password(email: str, password: str) -> User:
    with _write():
        user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
        if user is None:
            raise NotFound(f"no user with email {email}", field="email")
        user.password_hash = generate_password_hash(password)
        user.session_version += 1
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user if the password is right; the same work is done whether the email exists or not."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None or user.password_hash is None:
        check_password_hash(DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def end_all_sessions(user_id: int) -> None:
    """Logout: every cookie issued to this user so far stops working."""
    with _write():
        user = db.session.get(User, user_id)
        if user is not None:
            user.session_version += 1


# --- mentor profile ---------------------------------------------------------------------------

def update_mentor_profile(mentor_id: int, name: str, headline: str, expertise: str, bio: str,
                          accepting_applications: bool) -> None:
    with _write():
        mentor = db.session.get(User, mentor_id)
        if mentor is None or mentor.role != "mentor":
            raise NotFound("No such mentor.")
        profile = mentor.mentor_profile or MentorProfile(user=mentor)
        mentor.name = name.strip()
        profile.headline = headline.strip()
        profile.expertise = ", ".join(p.strip() for p in expertise.split(",") if p.strip())
        profile.bio = bio.strip()
        profile.accepting_applications = accepting_applications
        db.session.add(profile)


# --- applications ----------------------------------------------------------------------------

def _locked_mentorship(mentorship_id: int) -> Mentorship | None:
    return db.session.scalar(select(Mentorship).where(Mentorship.id == mentorship_id).with_for_update())


def apply(mentee_id: int, mentor_id: int, goal_category: str, goal_text: str,
          meeting_preference: str, at: datetime) -> Mentorship:
    if goal_category not in lifecycle.GOAL_CATEGORIES:
        raise Invalid("Choose one of the goal categories.", field="goal_category")
    if meeting_preference not in lifecycle.MEETING_PREFERENCES:
        raise Invalid("Choose how you would like to meet.", field="meeting_preference")
    with _write():
        mentor = db.session.get(User, mentor_id)
        if mentor is None or mentor.role != "mentor":
            raise NotFound("No such mentor.")
        if mentor.mentor_profile is None or not mentor.mentor_profile.accepting_applications:
            raise Conflict(f"{mentor.name} is not accepting applications at the moment.")
        open_one = db.session.scalar(select(Mentorship.id).where(
            Mentorship.mentee_id == mentee_id, Mentorship.mentor_id == mentor_id,
            Mentorship.ended_at.is_(None)))
        if open_one is not None:
            raise Conflict(f"You already have an open application or mentorship with {mentor.name}.")
        mentorship = Mentorship(mentee_id=mentee_id, mentor_id=mentor_id, goal_category=goal_category,
                                goal_text=goal_text.strip(), meeting_preference=meeting_preference,
                                applied_at=at)
        db.session.add(mentorship)
        try:
            db.session.flush()
        except IntegrityError:  # a concurrent request opened one first
            raise Conflict(f"You already have an open application or mentorship with {mentor.name}.") from None
    return mentorship


def withdraw(mentee_id: int, mentorship_id: int, at: datetime) -> Mentorship:
    with _write():
        m = _locked_mentorship(mentorship_id)
        if m is None or m.mentee_id != mentee_id:
            raise NotFound("No such application.")
        if m.state(at).status != "pending":
            raise Conflict("Only a pending application can be withdrawn.")
        m.ended_at, m.end_reason = at, "withdrawn"
    return m


def _decide(mentor_id: int, mentorship_id: int, at: datetime, accept: bool) -> Mentorship:
    with _write():
        m = _locked_mentorship(mentorship_id)
        if m is None or m.mentor_id != mentor_id:
            raise NotFound("No such application.")
        if m.state(at).status != "pending":
            raise Conflict("This application has already been answered or withdrawn.")
        if accept:
            m.trial_started_at = at
        else:
            m.ended_at, m.end_reason = at, "declined"
    return m


def accept(mentor_id: int, mentorship_id: int, at: datetime) -> Mentorship:
    """The 7-day trial starts at this moment."""
    return _decide(mentor_id, mentorship_id, at, accept=True)


def decline(mentor_id: int, mentorship_id: int, at: datetime) -> Mentorship:
    return _decide(mentor_id, mentorship_id, at, accept=False)


# --- check-ins ---------------------------------------------------------------------------------

def log_checkin(user_id: int, mentorship_id: int, occurred_at: datetime, mode: str, minutes: int,
                note: str, at: datetime) -> CheckIn:
    if mode not in lifecycle.CHECKIN_MODES:
        raise Invalid("Choose how you met.", field="mode")
    if not 1 <= minutes <= 600:
        raise Invalid("Minutes must be between 1 and 600.", field="minutes")
    with _write():
        m = db.session.get(Mentorship, mentorship_id)
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


# --- cancellation = exit survey -----------------------------------------------------------------

ALREADY_CANCELLED = "This mentorship has already been cancelled; your answers were recorded the first time."


def cancellation_blocker(mentorship: Mentorship, at: datetime) -> str | None:
    """Why this mentorship cannot be cancelled now, or None if it can."""
    status = mentorship.state(at).status
    if status == "ended" or mentorship.exit_survey is not None:
        return ALREADY_CANCELLED
    if status == "pending":
        return "This application has not been accepted yet: withdraw it instead."
    if status == "closed":
        return "This application is closed, so there is nothing to cancel."
    return None


def cancel_with_survey(mentee_id: int, mentorship_id: int, stars: int, goal_reached: str,
                       churn_reason: str, feedback_platform: str, feedback_mentor: str,
                       feedback_other: str, at: datetime) -> ExitSurvey:
    """End the mentorship and store its exit survey together, or do neither."""
    if not 1 <= stars <= 5:
        raise Invalid("Choose from 1 to 5 stars.", field="stars")
    if goal_reached not in lifecycle.GOAL_REACHED:
        raise Invalid("Say whether you reached your goal.", field="goal_reached")
    if churn_reason not in lifecycle.CHURN_REASONS:
        raise Invalid("Choose the main reason you are leaving.", field="churn_reason")
    with _write():
        m = _locked_mentorship(mentorship_id)
        if m is None or m.mentee_id != mentee_id:
            raise NotFound("No such mentorship.")
        blocker = cancellation_blocker(m, at)
        if blocker:
            raise Conflict(blocker)
        m.ended_at, m.end_reason = at, "cancelled"
        survey = ExitSurvey(mentorship=m, stars=stars, goal_reached=goal_reached,
                            churn_reason=churn_reason, feedback_platform=feedback_platform.strip(),
                            feedback_mentor=feedback_mentor.strip(),
                            feedback_other=feedback_other.strip(), submitted_at=at)
        db.session.add(survey)
        try:
            db.session.flush()
        except IntegrityError:  # a concurrent submit stored the survey first
            raise Conflict(ALREADY_CANCELLED) from None
    return survey


# --- API tokens ----------------------------------------------------------------------------------

def hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough: there is nothing to guess.
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(email: str, at: datetime) -> str:
    """A new bearer token for an operator; returns the token, stores only its hash."""
    token = secrets.token_urlsafe(32)
    with _write():
        user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
        if user is None:
            raise NotFound(f"no user with email {email}", field="email")
        if user.role != "operator":
            raise Invalid(f"{user.email} is a {user.role}; API tokens are for operators", field="email")
        db.session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), created_at=at))
    return token


def user_for_token(token: str) -> User | None:
    return db.session.scalar(select(User).join(ApiToken, ApiToken.user_id == User.id)
                             .where(ApiToken.token_hash == hash_token(token)))


# --- moderation --------------------------------------------------------------------------------------

def hide_mentor_feedback(operator_id: int, survey_id: int, reason: str, at: datetime) -> ExitSurvey:
    """Hide a survey's "mentor could do better" text from the mentor; it stays in the data."""
    reason = reason.strip()
    if not reason:
        raise Invalid("Say why the comment is hidden.", field="reason")
    return _moderate(survey_id, reason, at, operator_id)


def show_mentor_feedback(survey_id: int) -> ExitSurvey:
    return _moderate(survey_id, None, None, None)


def _moderate(survey_id: int, reason: str | None, at: datetime | None, operator_id: int | None) -> ExitSurvey:
    with _write():
        survey = db.session.get(ExitSurvey, survey_id)
        if survey is None:
            raise NotFound("No such survey.")
        survey.mentor_feedback_hidden_reason = reason
        survey.mentor_feedback_hidden_at = at
        survey.mentor_feedback_hidden_by_id = operator_id
    return survey
