"""What several test modules share, in one place, so that no test module imports another: the
frozen start time, emptying the database, logging a user in at the session level, a cheap snapshot of
the tables a refused request must not change, and a cookie-keeping HTTP client for real servers."""
from __future__ import annotations

import http.client
import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone

import redis
from sqlalchemy import select, text

from tracker.core.extensions import db
from tracker.data.models import (
    AuditEntry,
    CancelFlow,
    CheckIn,
    ExitSurvey,
    MailPreference,
    MentorProfile,
    MentorReviewStats,
    Mentorship,
    OfferAssignment,
    OfferExperiment,
    OfferSetting,
    OutboxMail,
    Pause,
    Pulse,
    Review,
    ReviewModeration,
    RiskReview,
    UsedLink,
    User,
)
from tracker.reports import rollup_queries

from .factories import PASSWORD

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=timezone.utc)  # a Monday, 09:00 UTC


def empty_tables() -> None:
    """Delete every row of every table (in the current app context), ids restarting on PostgreSQL."""
    db.session.remove()
    rollup_queries.forget_settled()  # what it cached described the rows deleted here
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


def log_in(app, user):
    """A test client carrying `user`'s session, as Flask-Login's login_user would leave it, without
    posting the login form: the form checks the password with scrypt (about 0.1 s) every time. The
    login form itself is tested, for real, in test_auth, test_security and test_csrf. `user` None:
    an anonymous client."""
    client = app.test_client()
    if user is None:
        return client
    with app.app_context():
        row = db.session.get(User, user.id)
        assert row is not None and row.can_log_in, f"{user} cannot log in"
        user_id = row.get_id()  # "<id>:<session version>", what the user loader checks
        db.session.remove()
    with app.test_request_context(environ_base=client.environ_base):
        identifier = app.login_manager._session_identifier_generator()  # session protection's "_id"
    with client.session_transaction() as session:
        session.clear()
        session.update({"_user_id": user_id, "_fresh": True, "_id": identifier})
    return client


# The tables a refused request must leave as they were, and in users every column but the session
# version (a logout bumps its own).
STATE_MODELS = (User, MentorProfile, Mentorship, CheckIn, ExitSurvey, CancelFlow, Pause, Pulse, RiskReview,
                OfferSetting, OutboxMail, MailPreference, UsedLink, Review, ReviewModeration, MentorReviewStats,
                AuditEntry, OfferExperiment, OfferAssignment)
_STATE_QUERIES = [
    (model.__tablename__,
     select(*(c for c in model.__table__.columns if c.key != "session_version"))
     .order_by(*model.__table__.primary_key.columns))
    for model in STATE_MODELS]


def table_state(app) -> dict[str, list[tuple]]:
    """Every row of every STATE_MODELS table, each column's value as stored, read with one plain
    SELECT per table on one connection (no ORM objects). Two snapshots are equal only if no row was
    inserted, deleted or changed in any column compared."""
    with app.app_context():
        with db.engine.connect() as conn:
            return {name: [tuple(row) for row in conn.execute(query)] for name, query in _STATE_QUERIES}


class Browser:
    """One person's cookies, forms with their CSRF token, and every status seen (real servers)."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, body, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")
        except (http.client.RemoteDisconnected, ConnectionError) as error:
            return 0, repr(error)  # the worker died under the request

    def token(self, path: str) -> str:
        _, page = self.request(path)
        return re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page).group(1)

    def post_form(self, path: str, data: dict, token_from: str | None = None) -> tuple[int, str]:
        return self.request(path, dict(data, csrf_token=self.token(token_from or path)))

    def login(self, email: str) -> "Browser":
        status, _ = self.post_form("/login", {"email": email, "password": PASSWORD})
        assert status == 200, status
        return self


def redis_client(url: str):
    """A client for the Redis at `url` if one answers there now, else None (tests that need it skip)."""
    try:
        client = redis.Redis.from_url(url, socket_timeout=1)
        client.ping()
        return client
    except redis.RedisError:
        return None
