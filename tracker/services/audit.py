"""The audit log: every operator action, on a page or by a command, recorded with who, when, what, and
the values before and after, in the same transaction as the action (so an action that rolls back
leaves no entry, and no action is left without one). Nothing here updates or deletes an entry; only
an erasure removes the erased person's data from the entries about them (services/data_rights.py)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from tracker.core.extensions import db
from tracker.data.models import AuditEntry

# What the log records, in the words the audit page shows.
ACTIONS = {
    "account_created": "Account created",
    "account_deactivated": "Account deactivated",
    "account_reactivated": "Account reactivated",
    "account_erased": "Personal data erased",
    "account_exported": "Personal data exported",
    "password_reset_sent": "Password-reset link sent",
    "feedback_hidden": "Feedback hidden from the mentor",
    "feedback_shown": "Feedback shown to the mentor again",
    "offers_changed": "Save offers changed",
    "experiment_started": "Offer experiment started",
    "experiment_ended": "Offer experiment ended",
    "risk_handled": "At-risk flags marked handled",
    "review_moderated": "Public review hidden or shown",
}


@dataclass(frozen=True)
class Actor:
    """Who acted: an operator on a page (their id and email) or a command (no id)."""

    label: str
    user_id: int | None = None

    @classmethod
    def operator(cls, user_id: int, email: str) -> Actor:
        return cls(email, user_id)

    @classmethod
    def command(cls, name: str) -> Actor:
        return cls(f"command {name}")


def _json(value) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


def record(actor: Actor, action: str, subject_type: str, subject_id: int | None, at: datetime,
           summary: str = "", before=None, after=None) -> None:
    """Add an entry to the current transaction (call it inside the action's unit of work)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    db.session.add(AuditEntry(at=at, actor_id=actor.user_id, actor=actor.label, action=action,
                              subject_type=subject_type, subject_id=subject_id, summary=summary,
                              before=_json(before), after=_json(after)))
