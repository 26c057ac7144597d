"""`flask --app wsgi unlock-account --email E`: an account locked by failed logins can log in again at once,
whether the failures are counted in the database or in Redis."""
from __future__ import annotations

import uuid

import pytest

from tracker.data.models import LoginFailure

from .factories import PASSWORD, count, user
from .helpers import redis_client

REDIS_URL = "redis://127.0.0.1:6379/13"


def _redis():
    return redis_client(REDIS_URL)


def _login(app, email, password, address):
    return app.test_client().post("/login", data={"email": email, "password": password},
                                  environ_base={"REMOTE_ADDR": address})


@pytest.fixture(params=["database", "redis"])
def counted_in(request, make_app):
    if request.param == "database":
        return make_app()
    if _redis() is None:
        pytest.skip("no Redis on 127.0.0.1:6379")
    return make_app(REDIS_URL=REDIS_URL)


def test_a_locked_account_is_unlocked(counted_in):
    app = counted_in
    email = f"locked-{uuid.uuid4().hex[:8]}@example.com"
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"  # Redis keeps counts between runs
    user(app, "mentee", email)
    for _ in range(5):
        assert _login(app, email, "wrong-password", address).status_code == 400
    assert _login(app, email, PASSWORD, address).status_code == 429

    result = app.test_cli_runner().invoke(args=["unlock-account", "--email", email.upper()])
    assert result.exit_code == 0, result.output
    assert f"Failed logins cleared for {email}" in result.output

    response = _login(app, email, PASSWORD, address)
    assert response.status_code == 302 and response.headers["Location"] != "/login"
    if app.config.get("REDIS_URL"):
        assert not _redis().exists(f"login-failures:account:{email}")
        _redis().delete(f"login-failures:address:{address}")
    else:
        assert count(app, LoginFailure, key=f"account:{email}") == 0


def test_an_unknown_email_is_named(app):
    result = app.test_cli_runner().invoke(args=["unlock-account", "--email", "nobody@example.com"])
    assert result.exit_code == 1
    assert "no user with email nobody@example.com" in result.output
