"""Read-only SQL: lists for pages now, the dashboards' aggregates as they arrive.

Portable across SQLite and PostgreSQL: time arithmetic is done on the parameters in Python
(e.g. `trial_started_at > at - 7 days`), never with engine-specific date functions.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import joinedload

from .extensions import db
from .lifecycle import TRIAL_LENGTH
from .models import MentorProfile, Mentorship, User


def mentor_directory() -> list[User]:
    """Mentors accepting applications, by name."""
    return list(db.session.scalars(
        select(User).join(MentorProfile).options(joinedload(User.mentor_profile))
        .where(User.role == "mentor", MentorProfile.accepting_applications.is_(True))
        .order_by(User.name, User.id)))


def mentor_for_directory(mentor_id: int) -> User | None:
    """A mentor a mentee may look at: any mentor (a paused one shows as not accepting)."""
    return db.session.scalar(select(User).options(joinedload(User.mentor_profile))
                             .where(User.id == mentor_id, User.role == "mentor"))


def open_mentorship_between(mentee_id: int, mentor_id: int) -> Mentorship | None:
    return db.session.scalar(select(Mentorship).where(
        Mentorship.mentee_id == mentee_id, Mentorship.mentor_id == mentor_id,
        Mentorship.ended_at.is_(None)))


def _mentorships(*conditions, limit: int | None = None) -> list[Mentorship]:
    stmt = (select(Mentorship).options(joinedload(Mentorship.mentee), joinedload(Mentorship.mentor))
            .where(*conditions).order_by(Mentorship.applied_at.desc(), Mentorship.id.desc()))
    return list(db.session.scalars(stmt.limit(limit) if limit else stmt))


def mentorships_of_mentee(mentee_id: int) -> list[Mentorship]:
    return _mentorships(Mentorship.mentee_id == mentee_id)


def mentorships_of_mentor(mentor_id: int) -> list[Mentorship]:
    return _mentorships(Mentorship.mentor_id == mentor_id)


def recent_mentorships(limit: int = 50) -> list[Mentorship]:
    return _mentorships(limit=limit)


def users(limit: int = 500) -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.role, User.name, User.id).limit(limit)))


def counts_by_status(at: datetime) -> dict[str, int]:
    """How many mentorships stand in each state as of `at`, in one grouped pass."""
    m = Mentorship
    started = and_(m.trial_started_at.is_not(None), m.trial_started_at <= at)
    ended = and_(m.ended_at.is_not(None), m.ended_at <= at)
    status = case(
        (and_(~started, ~ended), "pending"),
        (~started, "closed"),
        (ended, "ended"),
        (m.trial_started_at > at - TRIAL_LENGTH, "trial"),
        else_="paid")
    rows = db.session.execute(select(status, func.count()).where(m.applied_at <= at).group_by(status))
    counts = {"pending": 0, "trial": 0, "paid": 0, "ended": 0, "closed": 0}
    counts.update({name: n for name, n in rows})
    return counts
