"""Headers, cookies, sessions, login throttling, request limits and the security log."""
import json
import logging
import uuid
from datetime import timedelta

import pytest

from tracker.core import clock, config
from tracker.data.models import ExitSurvey, Mentorship

from .factories import PASSWORD, count, get
from .helpers import T0, redis_client

PRODUCTION_KEY = "x" * 40


# --- headers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path, status", [
    ("/", 200), ("/login", 200), ("/no-such-page", 404), ("/static/css/app.css", 200),
    ("/assets/plotly.min.js", 200), ("/healthz", 200), ("/api/v1/metrics", 401), ("/me", 302),
])
def test_every_response_carries_the_security_headers(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    csp = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    assert csp["script-src"] == "'self'" and "unsafe" not in csp["script-src"]
    assert "unsafe-eval" not in response.headers["Content-Security-Policy"]
    assert csp["object-src"] == "'none'" and csp["frame-ancestors"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers  # development: plain HTTP


def test_downloads_and_errors_carry_them_too(world, login):
    client = login(world.operator)
    for response in (client.get("/ops/surveys.csv"), client.get("/mentorships/99999")):
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.fixture
def production_app(make_app, monkeypatch, database_url):
    monkeypatch.setenv("TRACKER_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", PRODUCTION_KEY)
    monkeypatch.setenv("DATABASE_URL", database_url)
    return make_app(WTF_CSRF_ENABLED=False)


def test_production_redirects_to_https_and_sends_hsts(production_app):
    client = production_app.test_client()
    assert client.get("/login").status_code == 302  # http -> https
    response = client.get("/login", base_url="https://tracker.example")
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"].startswith("max-age=63072000")


def test_production_cookies_are_secure_httponly_lax(production_app, world):
    client = production_app.test_client()
    response = client.post("/login", base_url="https://tracker.example",
                           data={"email": world.mentee.email, "password": PASSWORD, "remember": "y"})
    assert response.status_code == 302
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    for name in ("session", "remember_token"):
        flags = cookies[name].lower()
        assert "secure" in flags and "httponly" in flags and "samesite=lax" in flags, name


@pytest.mark.parametrize("secret", [None, "", config.DEV_SECRET_KEY, "too-short"])
def test_production_refuses_to_start_without_a_real_secret_key(tmp_path, secret):
    environ = {"TRACKER_ENV": "production", "DATABASE_URL": "postgresql://tracker@db/tracker"}
    if secret is not None:
        environ["SECRET_KEY"] = secret
    with pytest.raises(config.ConfigError, match="SECRET_KEY"):
        config.from_environment(str(tmp_path), environ)
    assert config.from_environment(str(tmp_path), dict(environ, SECRET_KEY=PRODUCTION_KEY))["SESSION_COOKIE_SECURE"]


def test_the_session_changes_at_login(client, world):
    client.get("/login")  # the CSRF machinery starts a session
    before = client.get_cookie("session")
    client.post("/login", data={"email": world.mentee.email, "password": PASSWORD})
    after = client.get_cookie("session")
    assert after is not None and (before is None or before.value != after.value)


# --- login throttling ------------------------------------------------------------------------------

def fail(client, email, address="10.0.0.1"):
    return client.post("/login", data={"email": email, "password": "wrong-password"},
                       environ_base={"REMOTE_ADDR": address})


def test_five_failures_lock_the_account_even_for_the_right_password(app, world):
    client = app.test_client()
    for _ in range(5):
        assert fail(client, world.mentee.email).status_code == 400
    response = client.post("/login", data={"email": world.mentee.email, "password": PASSWORD},
                           environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert response.status_code == 429
    assert "Too many failed logins for this account. Try again in 15 minutes." in response.get_data(as_text=True)
    assert client.get("/me").status_code == 302  # not logged in
    # Another account from the same address is not locked; after the window the account is free.
    assert client.post("/login", data={"email": world.other_mentee.email, "password": PASSWORD},
                       environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 302
    clock.freeze(T0 + timedelta(minutes=15, seconds=1))
    assert app.test_client().post("/login", data={"email": world.mentee.email, "password": PASSWORD},
                                  environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 302


def test_a_success_resets_the_account_count(app, world):
    client = app.test_client()
    for _ in range(4):
        fail(client, world.mentee.email)
    assert client.post("/login", data={"email": world.mentee.email, "password": PASSWORD}).status_code == 302
    other = app.test_client()
    for _ in range(4):
        assert fail(other, world.mentee.email).status_code == 400


def test_twenty_failures_from_one_address_lock_the_address(app, world):
    client = app.test_client()
    for n in range(20):
        assert fail(client, f"nobody{n}@example.com", address="10.9.9.9").status_code == 400
    locked = client.post("/login", data={"email": world.mentee.email, "password": PASSWORD},
                         environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert locked.status_code == 429 and "for this address" in locked.get_data(as_text=True)
    assert client.post("/login", data={"email": world.mentee.email, "password": PASSWORD},
                       environ_base={"REMOTE_ADDR": "10.9.9.10"}).status_code == 302


def test_counts_are_shared_between_app_processes(make_app, world):
    first, second = make_app(), make_app()  # as two gunicorn workers: two apps, one database
    for _ in range(5):
        fail(first.test_client(), world.mentee.email)
    assert second.test_client().post("/login", data={"email": world.mentee.email, "password": PASSWORD},
                                     environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 429


def _redis_available():
    return redis_client("redis://127.0.0.1:6379/15") is not None


@pytest.mark.skipif(not _redis_available(), reason="no Redis on 127.0.0.1:6379")
def test_with_redis_the_counts_live_in_redis(make_app, world):
    first = make_app(REDIS_URL="redis://127.0.0.1:6379/15")
    second = make_app(REDIS_URL="redis://127.0.0.1:6379/15")
    email = f"{uuid.uuid4().hex}@example.com"
    for _ in range(5):
        fail(first.test_client(), email, address=f"10.{uuid.uuid4().int % 250}.0.1")
    blocked = second.test_client().post("/login", data={"email": email, "password": "x-x-x-x-x"})
    assert blocked.status_code == 429
    from tracker.data.models import LoginFailure
    assert count(first, LoginFailure) == 0  # nothing went to the database


# --- request limits -------------------------------------------------------------------------------

def test_a_body_over_the_limit_is_413_and_changes_nothing(app, world, login):
    mid = world.in_trial()
    response = login(world.mentee).post(f"/mentorships/{mid}/cancel",
                                        data={"stars": "5", "goal_reached": "yes", "churn_reason": "other",
                                              "feedback_other": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert get(app, Mentorship, mid).ended_at is None and count(app, ExitSurvey) == 0


def test_a_field_sent_twice_is_refused(app, world, login):
    mid = world.in_trial()
    response = login(world.mentee).post(
        f"/mentorships/{mid}/cancel",
        data={"stars": ["5", "1"], "goal_reached": "yes", "churn_reason": "other"})
    assert response.status_code == 400
    assert "The field &#39;stars&#39; was sent more than once." in response.get_data(as_text=True)
    assert count(app, ExitSurvey) == 0


# --- the security log --------------------------------------------------------------------------------

def test_security_events_are_logged_as_json_without_secrets(make_app, world, login, caplog):
    caplog.set_level(logging.WARNING, logger="tracker.security")
    fail(login(None), world.mentee.email)
    login(world.mentee).get("/ops/")
    csrf_app = make_app(WTF_CSRF_ENABLED=True)
    csrf_app.test_client().post("/login", data={"email": world.mentee.email, "password": PASSWORD})
    events = [json.loads(r.getMessage()) for r in caplog.records if r.name == "tracker.security"]
    names = [e["event"] for e in events]
    assert "login_failed" in names and "csrf_failed" in names
    denied = next(e for e in events if e["event"] == "access_denied")
    assert denied["status"] == 403 and denied["path"] == "/ops/" and denied["role"] == "mentee"
    text = caplog.text
    assert "wrong-password" not in text and PASSWORD not in text
