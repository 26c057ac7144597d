"""Account rules shared by the tables, the services, the web forms and the command line: the roles a
person can have, how long a password may be, who can log in and what a session cookie names."""
from __future__ import annotations

from datetime import datetime

ROLES = ("mentee", "mentor", "operator")
PASSWORD_MIN, PASSWORD_MAX = 8, 128
NAME_MAX = 100  # a person's name, and what the operators' search reads of it


def search_name(name: str | None) -> str:
    """The name as the operators' search reads it: in lower case, and no longer than a name may be.
    Lower case can be longer ("\u0130", a capital I with a dot, becomes two characters), and PostgreSQL
    refuses a value longer than its column; a search for more than the first NAME_MAX characters of
    such a name finds nothing."""
    return (name or "").lower()[:NAME_MAX]


def can_log_in(has_password: bool, deactivated_at: datetime | None) -> bool:
    """An account with no password (imported, say) or closed by an operator cannot log in."""
    return has_password and deactivated_at is None


def session_id(user_id: int, session_version: int) -> str:
    """What a session cookie names: the person and their session version, so that a logout (which
    bumps the version) invalidates every copy of the cookie."""
    return f"{user_id}:{session_version}"


def parse_session_id(value: str) -> tuple[int, int] | None:
    """(user id, session version) from `session_id`'s text; None if it is not that."""
    try:
        user_id, version = (int(part) for part in value.split(":"))
    except ValueError:
        return None
    return user_id, version
