"""Who may see what: role checks for routes and ownership checks for objects, in one place."""
from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import abort
from flask_login import UserMixin, current_user, login_required

from tracker.domain import accounts
from tracker.reports import queries
from tracker.reports.queries import mentorship_by_id


class SignedInUser(UserMixin):
    """`current_user` after the request that logged in: the person's id, email, name and role, read
    with one statement (`load_user`) when the request first asks, and not read again after a write of
    the same request. Nothing changes a person through it: services take the id and load what they
    change."""

    def __init__(self, row):
        self.id, self.email, self.name, self.role = row.id, row.email, row.name, row.role
        self.session_version = row.session_version

    def get_id(self) -> str:
        return accounts.session_id(self.id, self.session_version)


def load_user(session_id: str) -> SignedInUser | None:
    """Flask-Login's user loader: the person the cookie names, if that session is still theirs (the
    version matches: a logout invalidates every copy of the cookie) and they can still log in."""
    parsed = accounts.parse_session_id(session_id)
    row = queries.signed_in(parsed[0]) if parsed is not None else None
    if row is None or row.session_version != parsed[1] or not accounts.can_log_in(row.has_password,
                                                                                  row.deactivated_at):
        return None
    return SignedInUser(row)


def role_required(*roles: str):
    """Anonymous users are sent to log in; a logged-in user of another role gets 403."""
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


def can_see_mentorship(user, mentorship) -> bool:
    return user.role == "operator" or user.id in (mentorship.mentee_id, mentorship.mentor_id)


def visible_mentorship_or_404(mentorship_id: int):
    """404 whether the mentorship does not exist or belongs to someone else: ids leak nothing."""
    mentorship = mentorship_by_id(mentorship_id)
    if mentorship is None or not can_see_mentorship(current_user, mentorship):
        abort(404)
    return mentorship


def own_mentorship_or_404(mentorship_id: int):
    """The logged-in mentee's own mentorship; 404 for any other, as for one that does not exist."""
    mentorship = mentorship_by_id(mentorship_id)
    if mentorship is None or mentorship.mentee_id != current_user.id:
        abort(404)
    return mentorship


def safe_next_url(target: str | None) -> str | None:
    """A `next=` target only if it is a path on this site: no scheme, no host, no '//' or '\\'."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return None
    return target


def home_endpoint(user) -> str:
    return {"mentee": "mentee.home", "mentor": "mentor.home", "operator": "ops.home"}[user.role]
