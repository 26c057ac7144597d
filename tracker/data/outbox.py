"""The outbox: the mails that must be sent, as rows of our own database.

`queue` adds one inside the caller's transaction (a service's unit of work, or the schedule's), so a
mail exists exactly when what caused it was committed; a key already queued is left as it is.
`claim` hands due mails to one sender at a time: on PostgreSQL with SELECT ... FOR UPDATE SKIP
LOCKED, on SQLite inside a write transaction (BEGIN IMMEDIATE, which takes the one write lock). A
claim is a lease (`claimed_until`): a sender killed mid-batch leaves its mails to be claimed again
when the lease runs out, so nothing is lost; the Message-ID stays the row's, so a receiver can tell a
resend after such a crash from a new mail.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tracker.core.extensions import db
from tracker.data.database import unit_of_work
from tracker.data.models import MailPreference, OutboxMail
from tracker.domain import notifications


def key_of(kind: str, *parts) -> str:
    return ":".join([kind, *(str(part) for part in parts)])


_COLUMNS = ("key", "kind", "recipient_id", "mentorship_id", "cancel_flow_id", "period", "label", "status",
            "queued_at", "next_attempt_at", "attempts")
_STATEMENTS: dict[str, tuple] = {}


def _statements(dialect: str) -> tuple:
    """The recipient's setting for a kind, and the INSERT ... ON CONFLICT DO NOTHING RETURNING id, with
    bound values, built once per engine kind: building them cost more than running them, inside the
    write lock of every application."""
    if dialect not in _STATEMENTS:
        enabled = select(MailPreference.enabled).where(MailPreference.user_id == bindparam("user_id"),
                                                       MailPreference.kind == bindparam("kind"))
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT DO NOTHING.
        add = (insert(OutboxMail).values({column: bindparam(column) for column in _COLUMNS})
               .on_conflict_do_nothing(index_elements=["key"]).returning(OutboxMail.id))
        _STATEMENTS[dialect] = (enabled, add)
    return _STATEMENTS[dialect]


def queue(kind: str, recipient_id: int, key: str, at: datetime, *, mentorship_id: int | None = None,
          cancel_flow_id: int | None = None, period: int | None = None, label: str | None = None) -> bool:
    """Add the mail to the outbox in the current transaction, unless its key is there already or the
    recipient turned this kind off; whether it was added."""
    connection = db.session.connection()  # below the session: a third of the time, in the write lock
    enabled, add = _statements(connection.dialect.name)
    if not notifications.KINDS[kind].critical and connection.execute(
            enabled, {"user_id": recipient_id, "kind": kind}).scalar() is False:
        return False
    values = dict(key=key, kind=kind, recipient_id=recipient_id, mentorship_id=mentorship_id,
                  cancel_flow_id=cancel_flow_id, period=period, label=label, status="queued",
                  queued_at=at, next_attempt_at=at, attempts=0)
    return connection.execute(add, values).first() is not None


def queued_keys(keys: list[str]) -> set[str]:
    """Which of these keys are in the outbox already (in chunks: engines cap the parameters)."""
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        found.update(db.session.scalars(select(OutboxMail.key).where(OutboxMail.key.in_(keys[start:start + 500]))))
    return found


def _due(at: datetime):
    waiting = OutboxMail.status.in_(("queued", "retrying"))
    lease_over = (OutboxMail.status == "sending") & (OutboxMail.claimed_until <= at)
    return or_(waiting & (OutboxMail.next_attempt_at <= at), lease_over)


def claim(at: datetime, limit: int, now: datetime | None = None) -> list[int]:
    """Take up to `limit` mails due at `at` for this sender, oldest first; their ids. Committed at once,
    so the lease holds while the mails go out. The lease runs from `now` (the moment of the claim) or
    `at`, whichever is later: a later batch of a long round, or a round for a past moment, still gets a
    whole lease."""
    with unit_of_work():
        query = select(OutboxMail.id).where(_due(at)).order_by(OutboxMail.next_attempt_at, OutboxMail.id)
        query = query.limit(limit)
        if db.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids = list(db.session.scalars(query))
        if ids:
            db.session.execute(update(OutboxMail).where(OutboxMail.id.in_(ids)).values(
                status="sending", claimed_until=max(at, now or at) + notifications.CLAIM_LEASE,
                attempts=OutboxMail.attempts + 1))
    return ids


def due_count(at: datetime) -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMail).where(_due(at))) or 0
