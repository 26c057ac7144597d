"""Accounts: users and passwords, login sessions, the mentor's profile, operators' API tokens, and what
operators do to accounts (deactivate, reactivate, send a password-reset link), each in the audit log."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from tracker.core.extensions import db
from tracker.data import outbox
from tracker.data.database import unit_of_work
from tracker.data.models import ApiToken, MentorProfile, Mentorship, UsedLink, User
from tracker.domain.accounts import PASSWORD_MAX, PASSWORD_MIN, ROLES
from tracker.services import audit
from tracker.services.errors import Conflict, Invalid, NotFound

DUMMY_HASH = generate_password_hash("not-a-real-password")


def normalise_email(email: str) -> str:
    return email.strip().lower()


# --- users and passwords -----------------------------------------------------------------------

def create_user(email: str, role: str, name: str, password: str | None, at: datetime,
                actor: audit.Actor | None = None) -> User:
    """A new account; `actor`: the operator or command that made it (recorded in the audit log), None
    for a person signing up."""
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}", field="role")
    email = normalise_email(email)
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        raise Invalid(f"{email!r} is not an email address ({error})", field="email") from None
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
        if actor is not None:
            audit.record(actor, "account_created", "user", user.id, at, summary=f"{role} {email}",
                         after={"email": email, "role": role, "name": user.name})
    return user


def set_password(email: str, password: str) -> User:
    with unit_of_work():
        user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
        if user is None:
            raise NotFound(f"no user with email {email}", field="email")
        user.password_hash = generate_password_hash(password)
        user.session_version += 1
    return user


def user_by_email(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound(f"no user with email {email}", field="email")
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user if the password is right; the same work is done whether the email exists or not."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None or user.password_hash is None:
        check_password_hash(DUMMY_HASH, password)
        return None
    right = check_password_hash(user.password_hash, password)
    return user if right and user.can_log_in else None


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
                             .where(ApiToken.token_hash == hash_token(token), User.deactivated_at.is_(None)))


# --- operators manage accounts ------------------------------------------------------------------

DEACTIVATED_MENTOR_NOTE = "The mentor's account was closed, so this application could not go ahead."


def _account(user_id: int) -> User:
    user = db.session.scalar(select(User).where(User.id == user_id).with_for_update())
    if user is None or user.erased_at is not None:
        raise NotFound("No such account.")
    return user


def deactivate(actor: audit.Actor, user_id: int, at: datetime) -> User:
    """Close an account: no login from now, every session ends at once (the session version moves),
    no mail, and a mentor leaves the directory with their pending applications declined, with a note
    the mentee sees (and the decision mail)."""
    with unit_of_work():
        user = _account(user_id)
        if user.deactivated_at is not None:
            raise Conflict("This account is already deactivated.")
        if actor.user_id == user.id:
            raise Conflict("You cannot deactivate your own account.")
        user.deactivated_at, user.session_version = at, user.session_version + 1
        declined = []
        if user.role == "mentor":
            for m in db.session.scalars(select(Mentorship).where(
                    Mentorship.mentor_id == user.id, Mentorship.trial_started_at.is_(None),
                    Mentorship.ended_at.is_(None)).with_for_update()):
                m.ended_at, m.end_reason, m.end_note = at, "declined", DEACTIVATED_MENTOR_NOTE
                outbox.queue("application_decided", m.mentee_id,
                             outbox.key_of("application_decided", f"m{m.id}"), at, mentorship_id=m.id)
                declined.append(m.id)
        audit.record(actor, "account_deactivated", "user", user.id, at, summary=user.email,
                     before={"active": True}, after={"active": False, "applications_declined": declined})
    return user


def reactivate(actor: audit.Actor, user_id: int, at: datetime) -> User:
    """Open a deactivated account again (the applications declined then stay declined)."""
    with unit_of_work():
        user = _account(user_id)
        if user.deactivated_at is None:
            raise Conflict("This account is active.")
        user.deactivated_at = None
        audit.record(actor, "account_reactivated", "user", user.id, at, summary=user.email,
                     before={"active": False}, after={"active": True})
    return user


def send_password_reset(actor: audit.Actor, user_id: int, at: datetime) -> User:
    """Queue a mail with a single-use link to set a new password, valid for a day."""
    with unit_of_work():
        user = _account(user_id)
        if user.deactivated_at is not None:
            raise Conflict("This account is deactivated; reactivate it first.")
        outbox.queue("password_reset", user.id, outbox.key_of("password_reset", f"u{user.id}", int(at.timestamp())),
                     at)
        audit.record(actor, "password_reset_sent", "user", user.id, at, summary=user.email)
    return user


def reset_password(user_id: int, link_id: str, password: str, at: datetime) -> User:
    """Set the password from a password-reset link (used once); every session ends."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise Invalid(f"Use {PASSWORD_MIN} to {PASSWORD_MAX} characters.", field="password")
    with unit_of_work():
        user = _account(user_id)
        if user.deactivated_at is not None:
            raise Conflict("This account is deactivated.")
        if db.session.get(UsedLink, link_id) is not None:
            raise Conflict("This link has already been used.")
        db.session.add(UsedLink(link_id=link_id, used_at=at))
        user.password_hash = generate_password_hash(password)
        user.session_version += 1
    return user
