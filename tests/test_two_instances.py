"""Two app servers on two ports, one PostgreSQL and one Redis, as behind a load balancer: nothing
lives in an app process. Runs when TEST_DATABASE_URL is PostgreSQL and Redis answers on 127.0.0.1."""
from __future__ import annotations

import pytest

from tracker.data.models import LoginFailure

from .factories import PASSWORD, count
from .helpers import Browser, redis_client
from .servers import gunicorn, skip_unless_postgresql

REDIS_URL = "redis://127.0.0.1:6379/14"  # a database of its own, emptied by this test


def _redis():
    return redis_client(REDIS_URL)


def test_sessions_and_login_failures_are_shared_between_two_instances(app, world, database_url, tmp_path):
    skip_unless_postgresql(database_url)
    redis = _redis()
    if redis is None:
        pytest.skip("no Redis on 127.0.0.1:6379")
    redis.flushdb()
    with gunicorn(database_url, tmp_path, workers=2, REDIS_URL=REDIS_URL) as (one, _, _log1), \
            gunicorn(database_url, tmp_path, workers=2, REDIS_URL=REDIS_URL) as (two, _, _log2):
        # A session made on one instance works on the other (cookies are not per port).
        person = Browser(one).login(world.mentee.email)
        person.base = two
        status, page = person.request("/me")
        assert status == 200 and "My mentorships" in page

        # Logout on the second ends the session on the first too (the session version is in the database).
        person.post_form("/logout", {}, token_from="/me")
        person.base = one
        status, page = person.request("/me")
        assert "Log in" in page and "My mentorships" not in page

        # Failed logins counted on one instance lock the account on the other, through Redis.
        for _ in range(5):
            assert Browser(one).post_form("/login", {"email": world.other_mentee.email,
                                                     "password": "wrong-password"})[0] == 400
        status, page = Browser(two).post_form("/login", {"email": world.other_mentee.email, "password": PASSWORD})
        assert status == 429 and "Too many failed logins for this account" in page
    assert count(app, LoginFailure) == 0 and redis.keys("tracker:login-failures:*")
    redis.flushdb()
