"""What users do: validate, change, commit once, or raise a domain error and change nothing.

Every function takes the moment `at` from the caller (clock.now() in views), and owns its
transaction: each write is one `database.unit_of_work()`, committed whole or rolled back on error.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from tracker.core.extensions import db
from tracker.data.database import unit_of_work
from tracker.data.models import (
    ROLES,
    ApiToken,
    CancelFlow,
    CheckIn,
    ExitSurvey,
    MentorProfile,
    Mentorship,
    OfferSetting,
    Pause,
    Pulse,
    RiskReview,
    User,
)
from tracker.domain import lifecycle
from tracker.reports.queries import offer_settings, switch_suggestions


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


def normalise_email(email: str) -> str:
    return email.strip().lower()


# --- accounts -------------------------------------------------------------------------------

DUMMY_HASH = generate_password_hash("not-a-real-password")


def create_user(email: str, role: str, name: str, password: str | None, at: datetime) -> User:
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}", field="role")
    email = normalise_email(email)
    with unit_of_work():
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
    with unit_of_work():
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
    with unit_of_work():
        user = db.session.get(User, user_id)
        if user is not None:
            user.session_version += 1


# --- mentor profile ---------------------------------------------------------------------------

def update_mentor_profile(mentor_id: int, name: str, headline: str, expertise: str, bio: str,
                          accepting_applications: bool) -> None:
    with unit_of_work():
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
    with unit_of_work():
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
    with unit_of_work():
        m = _locked_mentorship(mentorship_id)
        if m is None or m.mentee_id != mentee_id:
            raise NotFound("No such application.")
        if m.state(at).status != "pending":
            raise Conflict("Only a pending application can be withdrawn.")
        m.ended_at, m.end_reason = at, "withdrawn"
    return m


def _decide(mentor_id: int, mentorship_id: int, at: datetime, accept: bool) -> Mentorship:
    with unit_of_work():
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
    with unit_of_work():
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
    if mentorship.exit_survey is not None:
        return ALREADY_CANCELLED
    if status == "ended":
        return "This mentorship has already ended."
    if status == "pending":
        return "This application has not been accepted yet: withdraw it instead."
    if status == "closed":
        return "This application is closed, so there is nothing to cancel."
    return None


def cancel_with_survey(mentee_id: int, mentorship_id: int, stars: int, goal_reached: str,
                       churn_reason: str, feedback_platform: str, feedback_mentor: str,
                       feedback_other: str, at: datetime, flow_id: int | None = None) -> ExitSurvey:
    """End the mentorship and store its exit survey together, or do neither.

    The survey closes the cancel flow it was sent from (`flow_id`), or else the mentorship's open
    flow; a survey sent with no flow at all (a script, an old page) is recorded as a flow that
    showed no offer, so every cancellation has its flow."""
    if not 1 <= stars <= 5:
        raise Invalid("Choose from 1 to 5 stars.", field="stars")
    if goal_reached not in lifecycle.GOAL_REACHED:
        raise Invalid("Say whether you reached your goal.", field="goal_reached")
    if churn_reason not in lifecycle.CHURN_REASONS:
        raise Invalid("Choose the main reason you are leaving.", field="churn_reason")
    with unit_of_work():
        m = _locked_mentorship(mentorship_id)
        if m is None or m.mentee_id != mentee_id:
            raise NotFound("No such mentorship.")
        blocker = cancellation_blocker(m, at)
        if blocker:
            raise Conflict(blocker)
        flow = _flow_of(m, flow_id, at) if flow_id is not None else _open_flow(m, at)
        if flow is None:
            flow = CancelFlow(mentorship=m, reason=churn_reason, started_at=at, offer="none")
            db.session.add(flow)
        if flow.offer != "none" and flow.offer_declined_at is None:
            flow.offer_declined_at = at
        flow.cancelled_at = at
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


# --- the cancel flow: reason first, then the offer that fits it -----------------------------------

def _owned_mentorship(mentee_id: int, mentorship_id: int, at: datetime) -> Mentorship:
    m = _locked_mentorship(mentorship_id)
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
    if reason not in lifecycle.CHURN_REASONS:
        raise Invalid("Choose the main reason you are leaving.", field="churn_reason")
    with unit_of_work():
        m = _owned_mentorship(mentee_id, mentorship_id, at)
        offer = lifecycle.offer_for(reason, offer_settings(), m.state(at).status)
        if offer == "switch_mentor" and not switch_suggestions(m):
            offer = "none"  # nobody to suggest: an empty offer would only be in the way
        for earlier in _undecided(db.session.scalars(select(CancelFlow).where(CancelFlow.mentorship_id == m.id)), at):
            earlier.superseded_at = at
        flow = CancelFlow(mentorship=m, reason=reason, started_at=at, offer=offer,
                          offer_shown_at=at if offer != "none" else None)
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
            if months not in lifecycle.PAUSE_MONTHS:
                raise Invalid("Choose a pause of 1 or 2 months.", field="months")
            if m.state(at).status != "paid":
                raise Conflict("Only a running paid mentorship can be paused.")
            db.session.add(Pause(mentorship=m, starts_at=at, ends_at=at + months * lifecycle.PAID_MONTH,
                                 cancel_flow_id=flow.id))
        elif flow.offer == "switch_mentor":
            new_mentor = next((u for u in switch_suggestions(m) if u.id == mentor_id), None)
            if new_mentor is None:
                raise Invalid("Choose one of the suggested mentors.", field="mentor_id")
            m.ended_at, m.end_reason = at, "cancelled"
            kept = Mentorship(mentee_id=m.mentee_id, mentor_id=new_mentor.id, goal_category=m.goal_category,
                              goal_text=m.goal_text, meeting_preference=m.meeting_preference, applied_at=at)
            db.session.add(kept)
            db.session.flush()
        flow.offer_accepted_at, flow.kept_mentorship_id = at, kept.id
    return flow


def decline_offer(mentee_id: int, mentorship_id: int, flow_id: int, at: datetime) -> CancelFlow:
    with unit_of_work():
        m = _owned_mentorship(mentee_id, mentorship_id, at)
        flow = _flow_of(m, flow_id, at)
        if flow.offer != "none" and flow.offer_declined_at is None:
            flow.offer_declined_at = at
    return flow


def resume(mentee_id: int, mentorship_id: int, at: datetime) -> Mentorship:
    """End the current pause now, before it would have ended by itself."""
    with unit_of_work():
        m = _locked_mentorship(mentorship_id)
        if m is None or m.mentee_id != mentee_id:
            raise NotFound("No such mentorship.")
        pause = next((p for p in m.pauses if p.starts_at <= at < p.ends_at), None)
        if pause is None or m.state(at).status != "paused":
            raise Conflict("This mentorship is not paused.")
        if pause.starts_at == at:
            db.session.delete(pause)  # resumed in the second it began: it never took effect
        else:
            pause.ends_at = at
    return m


# --- the monthly pulse ----------------------------------------------------------------------------

def answer_pulse(mentee_id: int, mentorship_id: int, period: int, progress: int | None,
                 usefulness: int | None, at: datetime) -> Pulse:
    """Store the mentee's pulse for `period`; both answers may be empty (a skip)."""
    if progress is not None and not 0 <= progress <= 100:
        raise Invalid("Progress is a percentage from 0 to 100.", field="progress")
    if usefulness is not None and not 1 <= usefulness <= 5:
        raise Invalid("Choose from 1 to 5.", field="usefulness")
    with unit_of_work():
        m = db.session.get(Mentorship, mentorship_id)
        if m is None or m.mentee_id != mentee_id:
            raise NotFound("No such mentorship.")
        answered = set(db.session.scalars(select(Pulse.period).where(Pulse.mentorship_id == m.id)))
        due = lifecycle.pulse_due(m.trial_started_at, m.state(at), answered, at) if m.trial_started_at else None
        if due != period:
            raise Conflict("These questions are not open any more; thank you all the same.")
        pulse = Pulse(mentorship_id=m.id, period=period, progress=progress, usefulness=usefulness,
                      submitted_at=at)
        db.session.add(pulse)
        try:
            db.session.flush()
        except IntegrityError:
            raise Conflict("You have already answered for this month.") from None
    return pulse


# --- operators: offers and at-risk reviews ---------------------------------------------------------

def set_offers(operator_id: int, offers: dict[str, str], at: datetime) -> None:
    """Choose the offer for each churn reason (the fixed ones cannot be changed)."""
    for reason, offer in offers.items():
        if reason not in lifecycle.CHURN_REASONS or reason in lifecycle.FIXED_OFFERS:
            raise Invalid(f"The offer for {reason!r} cannot be chosen.", field=reason)
        if offer not in lifecycle.OFFERS:
            raise Invalid("Choose one of the offers.", field=reason)
    with unit_of_work():
        for reason, offer in offers.items():
            setting = db.session.get(OfferSetting, reason) or OfferSetting(reason=reason)
            setting.offer, setting.updated_at, setting.updated_by_id = offer, at, operator_id
            db.session.add(setting)


def mark_risk_handled(operator_id: int, mentorship_id: int, note: str, at: datetime) -> RiskReview:
    with unit_of_work():
        if db.session.get(Mentorship, mentorship_id) is None:
            raise NotFound("No such mentorship.")
        review = RiskReview(mentorship_id=mentorship_id, handled_at=at, handled_by_id=operator_id,
                            note=note.strip())
        db.session.add(review)
    return review


# --- API tokens ----------------------------------------------------------------------------------

def hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough: there is nothing to guess.
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(email: str, at: datetime) -> str:
    """A new bearer token for an operator; returns the token, stores only its hash."""
    token = secrets.token_urlsafe(32)
    with unit_of_work():
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
    with unit_of_work():
        survey = db.session.get(ExitSurvey, survey_id)
        if survey is None:
            raise NotFound("No such survey.")
        survey.mentor_feedback_hidden_reason = reason
        survey.mentor_feedback_hidden_at = at
        survey.mentor_feedback_hidden_by_id = operator_id
    return survey
