"""The sender: claim due mails from the outbox, check each again, render it once, hand it over, and
record what happened.

Checked at send time, not only when queued: the recipient's preference for the kind (an
unsubscribe after the mail was queued still holds), that the account can log in (a closed account, or an imported
person who never signed up, gets no mail), and that what the mail is about still stands (compose.Moot).
Any of these marks the mail "skipped" with the reason. A mail is rendered at its first attempt and
the result kept, so a retry sends the same subject, bodies and Message-ID.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from tracker.core import clock
from tracker.core.extensions import db
from tracker.data import outbox
from tracker.data.database import unit_of_work
from tracker.data.models import MailPreference, OutboxMail
from tracker.domain import notifications
from tracker.mail import compose, transport

BATCH = 50


@dataclass
class _Outcome:
    status: str
    reason: str | None = None


def _finish(mail_id: int, at: datetime, outcome: _Outcome, attempts: int) -> str:
    status, reason, next_at = outcome.status, outcome.reason, None
    if status == "retrying":
        next_at = notifications.next_attempt(attempts, at)
        if next_at is None:
            status, reason = "failed", f"gave up after {attempts} attempts; last: {reason}"
    values = {"status": status, "last_error": reason, "claimed_until": None}
    if status == "sent":
        values["sent_at"] = at
    if next_at is not None:
        values["next_attempt_at"] = next_at
    with unit_of_work():
        # Only while this sender still holds the claim (a lease that ran out went to another sender).
        db.session.execute(update(OutboxMail).where(OutboxMail.id == mail_id, OutboxMail.status == "sending")
                           .values(**values))
    return status


def _turned_off(row: OutboxMail) -> bool:
    if notifications.KINDS[row.kind].critical:
        return False
    enabled = db.session.scalar(select(MailPreference.enabled).where(
        MailPreference.user_id == row.recipient_id, MailPreference.kind == row.kind))
    return enabled is False


def _render_once(row: OutboxMail, at: datetime) -> None:
    composed = compose.compose(row, at)
    with unit_of_work():
        db.session.execute(update(OutboxMail).where(OutboxMail.id == row.id).values(
            to_address=composed.to_address, subject=composed.subject, body_text=composed.body_text,
            body_html=composed.body_html, message_id=composed.message_id,
            unsubscribe_url=composed.unsubscribe_url))


def _attempt(mail_id: int, at: datetime) -> _Outcome:
    db.session.rollback()  # a fresh read: the claim was committed by another transaction
    row = db.session.get(OutboxMail, mail_id)
    if row is None or row.status != "sending":
        return _Outcome("gone")
    if _turned_off(row):
        return _Outcome("skipped", "the recipient turned this kind of mail off")
    if not row.recipient.can_log_in:
        return _Outcome("skipped", "the account cannot log in (deactivated, erased, or imported and never given "
                                   "a password)")
    if row.message_id is None:
        try:
            _render_once(row, at)
        except compose.Moot as moot:
            return _Outcome("skipped", str(moot))
        except Exception as error:  # noqa: BLE001 - a mail that cannot be rendered must not block the rest
            db.session.rollback()
            return _Outcome("failed", f"could not be written: {error.__class__.__name__}: {error}")
        db.session.rollback()
        row = db.session.get(OutboxMail, mail_id)
    composed = compose.Composed(row.to_address, row.subject, row.body_text, row.body_html, row.message_id,
                                row.unsubscribe_url)
    try:
        transport.deliver(transport.message_of(composed, row.kind), f"{row.id:08d}-{row.kind}.eml")
    except transport.Temporary as error:
        return _Outcome("retrying", str(error))
    except transport.Permanent as error:
        return _Outcome("failed", str(error))
    return _Outcome("sent")


def send_due(at: datetime, limit: int = BATCH) -> Counter:
    """Send up to `limit` mails due at `at`; how many ended in each status."""
    done: Counter = Counter()
    for mail_id in outbox.claim(at, limit, now=clock.now()):
        outcome = _attempt(mail_id, at)
        if outcome.status == "gone":
            continue
        attempts = db.session.scalar(select(OutboxMail.attempts).where(OutboxMail.id == mail_id)) or 1
        done[_finish(mail_id, at, outcome, attempts)] += 1
    return done


def send_all_due(at: datetime) -> Counter:
    """Send until nothing more is due at `at` (what is retried is due later, so this ends)."""
    total: Counter = Counter()
    while True:
        done = send_due(at)
        if not done:
            return total
        total.update(done)
