"""Which optional mails a person receives: the settings page and the one-click unsubscribe."""
from __future__ import annotations

from datetime import datetime

from tracker.core.extensions import db
from tracker.data.database import unit_of_work
from tracker.data.models import MailPreference, User
from tracker.domain import notifications
from tracker.services.errors import Invalid, NotFound


def _set(user_id: int, kind: str, enabled: bool, at: datetime) -> None:
    row = db.session.get(MailPreference, (user_id, kind))
    if row is None:
        db.session.add(MailPreference(user_id=user_id, kind=kind, enabled=enabled, updated_at=at))
    elif row.enabled != enabled:
        row.enabled, row.updated_at = enabled, at


def set_mail_preferences(user_id: int, wanted: dict[str, bool], at: datetime) -> None:
    """Turn each optional kind of the person's role on or off; critical kinds cannot be turned off."""
    with unit_of_work():
        user = db.session.get(User, user_id)
        if user is None:
            raise NotFound("No such account.")
        allowed = notifications.optional_kinds_for(user.role)
        for kind, enabled in wanted.items():
            if kind not in allowed:
                raise Invalid(f"{kind!r} is not a kind of mail you can turn off.", field="kinds")
            _set(user_id, kind, bool(enabled), at)


def unsubscribe(user_id: int, kind: str, at: datetime) -> None:
    """The one-click unsubscribe of one kind (idempotent)."""
    if kind not in notifications.OPTIONAL_KINDS:
        raise Invalid("This kind of mail cannot be turned off.")
    with unit_of_work():
        user = db.session.get(User, user_id)
        if user is None:
            raise NotFound("No such account.")
        if notifications.KINDS[kind].recipient_role != user.role:
            raise Invalid("This account does not receive this kind of mail.")
        _set(user_id, kind, False, at)

