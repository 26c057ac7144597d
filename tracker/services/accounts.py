"""Accounts: users and passwords, login sessions, the mentor's profile and operators' API tokens."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from tracker.core.extensions import db
from tracker.data.database import unit_of_work
from tracker.data.models import ApiToken, MentorProfile, User
from tracker.domain.accounts import ROLES
from tracker.services.errors import Conflict, Invalid, NotFound

DUMMY_HASH = generate_password_hash("not-a-real-password")


def normalise_email(email: str) -> str:
    return email.strip().lower()


# --- users and passwords -----------------------------------------------------------------------

def create_user(email: str, role: str, name: str, password: str | None, at: datetime) -> User:
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
