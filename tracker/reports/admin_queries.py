"""What operators read to run the marketplace: mentorships and accounts found by search and paged, one
mentorship's whole timeline, and the audit log.

Every list is newest first and paged by `PAGE_SIZE`, reading one row more than it shows to know
whether a next page exists (no count of the whole table). Each search is served by an index at a
million mentorships (tests/test_query_plans.py): a person is found by the start of an email or of a
name (`users.email`, `users.search_name`; LIKE 'abc%' on PostgreSQL over text_pattern_ops indexes,
GLOB 'abc*' on SQLite over its binary ones), and each state reads the timestamp index it needs.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, or_, select, union
from sqlalchemy.orm import joinedload

from tracker.core.extensions import db
from tracker.data.models import (
    AuditEntry,
    CancelFlow,
    CheckIn,
    ExitSurvey,
    Mentorship,
    OutboxMail,
    Pause,
    Pulse,
    Review,
    RiskReview,
    User,
)
from tracker.domain import lifecycle, vocabulary
from tracker.domain.accounts import ROLES

PAGE_SIZE = 50
PEOPLE_SEARCHED = 500  # a search by person looks at the mentorships of at most this many matches
END_REASONS = lifecycle.END_REASONS


@dataclass
class Page:
    rows: list
    page: int
    has_next: bool


def _page(query, page: int) -> Page:
    rows = list(db.session.scalars(query.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).unique())
    return Page(rows[:PAGE_SIZE], page, len(rows) > PAGE_SIZE)


# --- finding people ---------------------------------------------------------------------------------

def _starts_with(column, prefix: str):
    if db.engine.dialect.name == "sqlite":
        escaped = "".join(f"[{c}]" if c in "*?[]" else c for c in prefix)
        return column.op("GLOB")(escaped + "*")
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(escaped + "%", escape="\\")


def person_matches(q: str):
    """Accounts whose email or name starts with `q` (case does not matter)."""
    q = q.strip().lower()
    return or_(_starts_with(User.email, q), _starts_with(User.search_name, q))


def users_page(q: str | None, role: str | None, page: int) -> Page:
    query = select(User).options(joinedload(User.mentor_profile)).order_by(User.id.desc())
    if q:
        query = query.where(person_matches(q))
    if role in ROLES:
        query = query.where(User.role == role)
    return _page(query, page)


def user_by_id(user_id: int) -> User | None:
    return db.session.get(User, user_id)


# --- finding mentorships ---------------------------------------------------------------------------------

def states() -> list[tuple[str, str]]:
    """(code, label) of the states the list filters by; month_k for the first 12 paid months."""
    return ([("application", "Application waiting"), ("trial", "In trial")]
            + [(f"month_{k}", f"Paid month {k}") for k in range(1, 13)]
            + [("paused", "Paused"), ("ended", "Ended")])


def _state_condition(state: str, at: datetime):
    """(condition, the column the list is ordered by) for a state as of `at`."""
    m = Mentorship
    not_ended = or_(m.ended_at.is_(None), m.ended_at > at)
    paused = exists().where(Pause.mentorship_id == m.id, Pause.starts_at <= at, Pause.ends_at > at)
    if state == "application":
        return and_(m.trial_started_at.is_(None), m.ended_at.is_(None), m.applied_at <= at), m.applied_at
    if state == "trial":
        return and_(m.trial_started_at > at - lifecycle.TRIAL_LENGTH, m.trial_started_at <= at,
                    not_ended), m.trial_started_at
    if state.startswith("month_") and state[6:].isdigit() and 1 <= int(state[6:]) <= 12:
        # `at` is in paid month k of a trial started in (at - 7 d - 30k d, at - 7 d - 30(k-1) d].
        k = int(state[6:])
        latest = at - lifecycle.TRIAL_LENGTH - (k - 1) * lifecycle.PAID_MONTH
        earliest = latest - lifecycle.PAID_MONTH
        return and_(m.trial_started_at > earliest, m.trial_started_at <= latest, not_ended, ~paused), \
            m.trial_started_at
    if state == "paused":
        return and_(m.trial_started_at.is_not(None), not_ended, paused), m.trial_started_at
    if state == "ended":
        return and_(m.ended_at.is_not(None), m.ended_at <= at), m.ended_at
    return None, m.applied_at


def mentorships_page(q: str | None, state: str | None, end_reason: str | None, goal_category: str | None,
                     mentor_id: int | None, at: datetime, page: int) -> Page:
    """`q`: the start of a mentee's or mentor's email or name, a mentorship's id, or its history `ref`."""
    m = Mentorship
    condition, order = _state_condition(state, at) if state else (None, m.applied_at)
    query = select(m).options(joinedload(m.mentee), joinedload(m.mentor))
    if condition is not None:
        query = query.where(condition)
    if state == "ended" and end_reason in END_REASONS:
        query = query.where(m.end_reason == end_reason)
    if goal_category in vocabulary.GOAL_CATEGORIES:
        query = query.where(m.goal_category == goal_category)
    if mentor_id is not None:
        query = query.where(m.mentor_id == mentor_id)
    if q:
        # The matching ids first, each through its own index, as one union: an OR across the columns
        # would let SQLite walk the whole list's order instead.
        q = q.strip()
        people = list(db.session.scalars(select(User.id).where(person_matches(q)).limit(PEOPLE_SEARCHED)))
        found = [select(m.id).where(m.ref == q)]
        if people:
            found += [select(m.id).where(m.mentee_id.in_(people)), select(m.id).where(m.mentor_id.in_(people))]
        if q.isascii() and q.isdigit() and len(q) < 10:
            found.append(select(m.id).where(m.id == int(q)))
        query = query.where(m.id.in_(union(*found)))
    return _page(query.order_by(order.desc(), m.id.desc()), page)


# --- one mentorship's timeline -----------------------------------------------------------------------------

@dataclass
class Event:
    at: datetime
    what: str
    detail: str = ""


def timeline(mentorship_id: int) -> list[Event] | None:
    """Everything that happened to the mentorship, in order of time (ties in the order it happens)."""
    m = db.session.get(Mentorship, mentorship_id)
    if m is None:
        return None
    events = [Event(m.applied_at, "Applied", f"{vocabulary.GOAL_CATEGORIES[m.goal_category]}: {m.goal_text}")]
    if m.trial_started_at is not None:
        events.append(Event(m.trial_started_at, "Accepted: the trial started",
                            f"trial ends {lifecycle.trial_end(m.trial_started_at):%d %b %Y %H:%M} UTC"))
    for c in db.session.scalars(select(CheckIn).where(CheckIn.mentorship_id == m.id).order_by(CheckIn.occurred_at)):
        events.append(Event(c.occurred_at, f"Check-in ({vocabulary.CHECKIN_MODES[c.mode]}, {c.minutes} min)",
                            f"logged {c.logged_at:%d %b %Y %H:%M} UTC" + (f": {c.note}" if c.note else "")))
    for p in db.session.scalars(select(Pulse).where(Pulse.mentorship_id == m.id)):
        answers = [f"progress {p.progress}%" if p.progress is not None else None,
                   f"usefulness {p.usefulness}/5" if p.usefulness is not None else None]
        events.append(Event(p.submitted_at, f"Pulse, period {p.period}",
                            ", ".join(a for a in answers if a) or "skipped"))
    for f in db.session.scalars(select(CancelFlow).where(CancelFlow.mentorship_id == m.id)):
        a = f.assignment
        arm = f"; offer experiment {a.experiment_id}, arm {a.arm.upper()}" if a is not None else ""
        events.append(Event(f.started_at, "Began cancelling",
                            f"reason: {vocabulary.CHURN_REASONS[f.reason]}; offer: {vocabulary.OFFERS[f.offer]}{arm}"))
        for moment, what in ((f.offer_accepted_at, "Accepted the offer"), (f.offer_declined_at, "Declined the offer"),
                             (f.superseded_at, "Began cancelling again (this flow set aside)")):
            if moment is not None:
                events.append(Event(moment, what, vocabulary.OFFERS[f.offer]))
    for p in m.pauses:
        events.append(Event(p.starts_at, "Paused", f"until {p.ends_at:%d %b %Y %H:%M} UTC"))
    for r in db.session.scalars(select(RiskReview).where(RiskReview.mentorship_id == m.id)):
        events.append(Event(r.handled_at, "At-risk flags marked handled", r.note))
    if m.ended_at is not None:
        labels = {"declined": "Declined", "withdrawn": "Withdrawn", "cancelled": "Cancelled"}
        events.append(Event(m.ended_at, labels.get(m.end_reason, "Ended"), m.end_note or ""))
    survey = db.session.scalar(select(ExitSurvey).where(ExitSurvey.mentorship_id == m.id))
    if survey is not None:
        events.append(Event(survey.submitted_at, "Exit survey",
                            f"{survey.stars} stars; goal reached: {vocabulary.GOAL_REACHED[survey.goal_reached]}; "
                            f"reason: {vocabulary.CHURN_REASONS[survey.churn_reason]}"))
    review = db.session.scalar(select(Review).where(Review.mentorship_id == m.id))
    if review is not None:
        events.append(Event(review.created_at, "Public review", f"{review.stars} stars"
                            + (" (hidden)" if review.hidden_at else "")))
    for mail in db.session.scalars(select(OutboxMail).where(OutboxMail.mentorship_id == m.id)):
        events.append(Event(mail.queued_at, "Mail queued", f"{mail.kind}: {mail.status}"))
    return sorted(events, key=lambda e: e.at)


# --- the audit log ---------------------------------------------------------------------------------------

def audit_page(action: str | None, actor: str | None, page: int) -> Page:
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if action:
        query = query.where(AuditEntry.action == action)
    if actor:
        query = query.where(AuditEntry.actor == actor.strip().lower())
    return _page(query, page)


def audit_entries(action: str | None, actor: str | None):
    """Every entry (for the CSV), oldest first, streamed."""
    query = select(AuditEntry).order_by(AuditEntry.at, AuditEntry.id)
    if action:
        query = query.where(AuditEntry.action == action)
    if actor:
        query = query.where(AuditEntry.actor == actor.strip().lower())
    return db.session.scalars(query.execution_options(yield_per=1000))
