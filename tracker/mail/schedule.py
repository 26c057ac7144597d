"""The schedule: which mails are due at a moment, worked out from the lifecycle's time rules.

`plan(at)` finds every scheduled mail due at `at` that is not in the outbox yet and queues it, in one
transaction. It keeps no state of its own: run it every minute, twice at once, or after a week
down, and each mail is queued once (the outbox's unique key), and only while it is still worth
sending (domain/notifications.py gives each kind its span).

Each kind is one SQL query that leaves out what is already queued, so a run costs what is new, not
what the history holds (docs/NOTIFICATIONS.md has the figures at 1M mentorships). The pulse is
checked once more in Python with lifecycle.pulse_due (pauses), and again at send time.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import BigInteger, and_, case, exists, literal, or_, select, type_coerce

from tracker.core.extensions import db
from tracker.data import outbox
from tracker.data.database import unit_of_work
from tracker.data.models import CancelFlow, MailPreference, Mentorship, OutboxMail, Pause, Pulse, User
from tracker.domain import lifecycle, notifications

DAY = 86400
MONTH = int(lifecycle.PAID_MONTH.total_seconds())
TRIAL = int(lifecycle.TRIAL_LENGTH.total_seconds())
NOTICE = int(notifications.TRIAL_ENDING_NOTICE.total_seconds())
# The pulse windows, in seconds since the trial started: the trial's [5 d, 14 d), then paid month
# k's [30k d, 30k d + 14 d) (it opens 7 days before month k ends and closes 7 days after).
TRIAL_PULSE_OPENS = TRIAL - int(lifecycle.PULSE_OPENS_BEFORE_END[0].total_seconds())
PULSE_CLOSES = TRIAL + int(lifecycle.PULSE_CLOSES_AFTER_END.total_seconds())
MONTH_PULSE_LASTS = int((lifecycle.PULSE_OPENS_BEFORE_MONTH_END + lifecycle.PULSE_CLOSES_AFTER_END).total_seconds())
assert TRIAL + MONTH - int(lifecycle.PULSE_OPENS_BEFORE_MONTH_END.total_seconds()) == MONTH  # windows start at 30k d


def _s(column):
    return type_coerce(column, BigInteger)


def _n(value: int):
    return literal(value, BigInteger)


def _running(at: datetime):
    return and_(Mentorship.trial_started_at <= at,
                or_(Mentorship.ended_at.is_(None), Mentorship.ended_at > at))


def _not_queued(kind: str, *match):
    return ~exists().where(OutboxMail.kind == kind, *match)


def _not_turned_off(kind: str, user_id_column):
    return ~exists().where(MailPreference.user_id == user_id_column, MailPreference.kind == kind,
                           MailPreference.enabled.is_(False))


def _can_log_in(user_id_column):
    return exists().where(User.id == user_id_column, User.password_hash.is_not(None), User.deactivated_at.is_(None))


def _trial_endings(at: datetime) -> list[tuple]:
    t = int(at.timestamp())
    rows = db.session.execute(select(Mentorship.id, Mentorship.mentee_id).where(
        _s(Mentorship.trial_started_at) > _n(t - TRIAL), _s(Mentorship.trial_started_at) <= _n(t - (TRIAL - NOTICE)),
        _running(at), _can_log_in(Mentorship.mentee_id),
        _not_queued("trial_ending", OutboxMail.mentorship_id == Mentorship.id)))
    return [("trial_ending", mentee, outbox.key_of("trial_ending", f"m{m}"), {"mentorship_id": m})
            for m, mentee in rows]


def _pulses(at: datetime) -> list[tuple]:
    t = int(at.timestamp())
    elapsed = _n(t) - _s(Mentorship.trial_started_at)
    in_window = or_(and_(elapsed >= _n(TRIAL_PULSE_OPENS), elapsed < _n(PULSE_CLOSES)),
                    and_(elapsed >= _n(MONTH), elapsed % _n(MONTH) < _n(MONTH_PULSE_LASTS)))
    period = case((elapsed < _n(PULSE_CLOSES), _n(0)), else_=elapsed // _n(MONTH))
    # Not _running(at): a window implies the trial started by `at`, and leaving out the trial's own range
    # lets the engines start from the mentorships not ended (ix_mentorships_ended_cover), a tenth of
    # those with a trial at a million.
    # A paused mentorship has no pulse (lifecycle.pulse_due says so again below): left out here, so the
    # check below does not load the same paused mentorships every round.
    paused = exists().where(Pause.mentorship_id == Mentorship.id, Pause.starts_at <= at, Pause.ends_at > at)
    candidates = select(Mentorship.id.label("id"), Mentorship.mentee_id.label("mentee_id"),
                        period.label("period")).where(
        or_(Mentorship.ended_at.is_(None), Mentorship.ended_at > at), in_window, ~paused,
        _can_log_in(Mentorship.mentee_id), _not_turned_off("pulse_open", Mentorship.mentee_id)).subquery()
    rows = db.session.execute(select(candidates).where(
        ~exists().where(Pulse.mentorship_id == candidates.c.id, Pulse.period == candidates.c.period),
        _not_queued("pulse_open", OutboxMail.mentorship_id == candidates.c.id,
                    OutboxMail.period == candidates.c.period))).all()
    due = []
    for m_id, mentee, period in rows:
        m = db.session.get(Mentorship, m_id)
        answered = {p for p in db.session.scalars(select(Pulse.period).where(Pulse.mentorship_id == m_id))}
        if lifecycle.pulse_due(m.trial_started_at, m.state(at), answered, at) == period:
            due.append(("pulse_open", mentee, outbox.key_of("pulse_open", f"m{m_id}", f"p{period}"),
                        {"mentorship_id": m_id, "period": period}))
    return due


def _unfinished_flows(at: datetime) -> list[tuple]:
    abandoned_by = at - lifecycle.FLOW_ABANDONED_AFTER
    rows = db.session.execute(
        select(CancelFlow.id, CancelFlow.mentorship_id, Mentorship.mentee_id)
        .join(Mentorship, Mentorship.id == CancelFlow.mentorship_id)
        .where(CancelFlow.started_at <= abandoned_by,
               CancelFlow.started_at > abandoned_by - notifications.CANCEL_FOLLOW_UP_FOR,
               *(or_(column.is_(None), column > at) for column in
                 (CancelFlow.offer_accepted_at, CancelFlow.cancelled_at, CancelFlow.superseded_at)),
               or_(Mentorship.ended_at.is_(None), Mentorship.ended_at > at),
               _can_log_in(Mentorship.mentee_id), _not_turned_off("cancel_unfinished", Mentorship.mentee_id),
               _not_queued("cancel_unfinished", OutboxMail.cancel_flow_id == CancelFlow.id)))
    return [("cancel_unfinished", mentee, outbox.key_of("cancel_unfinished", f"f{flow}"),
             {"mentorship_id": m, "cancel_flow_id": flow}) for flow, m, mentee in rows]


def _per_person(kind: str, role: str, label: str, at: datetime, *conditions) -> list[tuple]:
    keys = {user_id: outbox.key_of(kind, f"u{user_id}", label) for user_id in db.session.scalars(
        select(User.id).where(User.role == role, User.password_hash.is_not(None), User.deactivated_at.is_(None),
                              _not_turned_off(kind, User.id), *conditions))}
    queued = outbox.queued_keys(list(keys.values()))
    return [(kind, user_id, key, {"label": label}) for user_id, key in keys.items() if key not in queued]


def _mentor_summaries(at: datetime) -> list[tuple]:
    span = notifications.summary_month(at)
    if span is None:
        return []
    start, end = span
    # Mentors with any application before the month ended: a new mentor gets no empty summary.
    has_history = exists().where(Mentorship.mentor_id == User.id, Mentorship.applied_at < end)
    return _per_person("mentor_summary", "mentor", notifications.month_label(start), at, has_history)


def _digests(at: datetime) -> list[tuple]:
    span = notifications.digest_week(at)
    if span is None:
        return []
    return _per_person("operator_digest", "operator", notifications.week_label(span[0]), at)


SCHEDULED = (_trial_endings, _pulses, _unfinished_flows, _mentor_summaries, _digests)


def plan(at: datetime) -> Counter:
    """Queue every scheduled mail due at `at`; how many of each kind were queued."""
    db.session.rollback()
    due = [mail for find in SCHEDULED for mail in find(at)]
    if not due:
        return Counter()
    queued: Counter = Counter()
    with unit_of_work():
        for kind, recipient_id, key, about in due:
            if outbox.queue(kind, recipient_id, key, at, **about):
                queued[kind] += 1
    return queued
