"""Health checks that tell the truth, and dependencies that fail without a 500 (issue 19).

/healthz is liveness (no database), /readyz is readiness (the database and, when configured, Redis),
both answered over plain HTTP in production. Under real gunicorn, /readyz turns 503 within a second
of Redis or PostgreSQL going away and 200 when they come back, with no 500 in between: the
dependency is cut with a TCP proxy in this process (tests/tcp_proxy.py), never stopped. With Redis
down the login throttle keeps counting in the database and the security log says so once.
"""
from __future__ import annotations

import http.client
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest
import redis
from sqlalchemy.engine import make_url

from tracker import create_app
from tracker.core import config
from tracker.core.extensions import db
from tracker.data.models import LoginFailure
from tracker.security import redis_store

from .factories import PASSWORD, count
from .helpers import redis_client
from .servers import ROOT, _free_port, gunicorn, skip_unless_postgresql
from .tcp_proxy import Proxy

REDIS_PORT = 6379
REDIS_DB = 13  # a database of its own; keys carry a prefix unique to each test as well
PRODUCTION_KEY = "p" * 48


def _redis_answers() -> bool:
    return redis_client(f"redis://127.0.0.1:{REDIS_PORT}/{REDIS_DB}") is not None


needs_redis = pytest.mark.skipif(not _redis_answers(), reason="no Redis on 127.0.0.1:6379")


def _security_events(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "tracker.security"]


class BlackHole:
    """A port that accepts connections and never answers: Redis timing out rather than refusing."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]

    def close(self):
        self.listener.close()


# --- in one process ---------------------------------------------------------------------------------

def test_healthz_is_liveness_and_asks_nothing_of_the_database(app):
    dead = create_app({"SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://nobody@127.0.0.1:{_free_port()}/none",
                       "TESTING": True})
    client = dead.test_client()
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable",
                                   "checks": {"database": "failed: OperationalError", "redis": "not configured"}}


def test_readyz_without_redis_configured(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "checks": {"database": "ok", "redis": "not configured"}}


@pytest.mark.parametrize("fault", ["refused", "timeout"])
def test_readyz_names_redis_when_it_fails(make_app, fault):
    hole = BlackHole() if fault == "timeout" else None
    port = hole.port if hole else _free_port()
    try:
        started = time.monotonic()
        response = make_app(REDIS_URL=f"redis://127.0.0.1:{port}/0").test_client().get("/readyz")
        took = time.monotonic() - started
    finally:
        if hole:
            hole.close()
    assert response.status_code == 503
    expected = "failed: TimeoutError" if fault == "timeout" else "failed: ConnectionError"
    assert response.get_json() == {"status": "unavailable", "checks": {"database": "ok", "redis": expected}}
    assert took < 1.5  # one PING with a 0.5 s timeout, no retries


@needs_redis
def test_readyz_with_redis_answering(make_app):
    response = make_app(REDIS_URL=f"redis://127.0.0.1:{REDIS_PORT}/{REDIS_DB}").test_client().get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


@pytest.fixture
def production_env(monkeypatch, database_url):
    monkeypatch.setenv("TRACKER_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", PRODUCTION_KEY)
    monkeypatch.setenv("DATABASE_URL", database_url)


def test_health_checks_are_not_redirected_to_https_in_production(make_app, production_env):
    client = make_app().test_client()
    assert client.get("/login").status_code == 302  # the redirect is on for everything else
    for path, body in (("/healthz", {"status": "ok"}), ("/readyz", {"status": "ready"})):
        response = client.get(path)  # plain http://, as a load balancer asks
        assert response.status_code == 200, path
        assert response.get_json().items() >= body.items()
        assert response.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("cool_off", [redis_store.COOL_OFF, 0.0], ids=["cooling-off", "every-call-tries-redis"])
def test_logins_with_redis_down_fall_over_to_the_database(make_app, world, caplog, monkeypatch, cool_off):
    caplog.set_level(logging.WARNING, logger="tracker.security")
    monkeypatch.setattr(redis_store, "COOL_OFF", cool_off)  # 0: every throttle call meets the failure itself
    with Proxy(REDIS_PORT) as proxy:
        proxy.cut()
        app = make_app(REDIS_URL=f"redis://127.0.0.1:{proxy.port}/{REDIS_DB}",
                       REDIS_KEY_PREFIX=f"h19-{uuid.uuid4().hex}:")
        client = app.test_client()
        statuses = [client.post("/login", data={"email": world.mentee.email, "password": "wrong-password"},
                                environ_base={"REMOTE_ADDR": "10.7.0.1"}).status_code for _ in range(5)]
        assert statuses == [400] * 5  # the form again, with the message; never a 500
        refused = client.post("/login", data={"email": world.mentee.email, "password": PASSWORD},
                              environ_base={"REMOTE_ADDR": "10.7.0.2"})
        assert refused.status_code == 429  # the throttle stayed on, counting in the database
        assert count(app, LoginFailure) == 10  # five failures, each for the account and the address
        other = app.test_client().post("/login", data={"email": world.mentor.email, "password": PASSWORD})
        assert other.status_code == 302  # other people still log in
        names = [e["event"] for e in _security_events(caplog)]
        assert names.count("redis_unavailable") == 1 and "redis_recovered" not in names
        unavailable = next(e for e in _security_events(caplog) if e["event"] == "redis_unavailable")
        assert unavailable["error"] == "ConnectionError" and "path" not in unavailable

        if not _redis_answers():
            return
        proxy.restore()
        assert client.get("/readyz").status_code == 200  # asks Redis even while cooling off
        names = [e["event"] for e in _security_events(caplog)]
        assert names.count("redis_unavailable") == 1 and names.count("redis_recovered") == 1
        # The failures counted during the outage still count now that Redis answers.
        again = app.test_client().post("/login", data={"email": world.mentee.email, "password": PASSWORD},
                                       environ_base={"REMOTE_ADDR": "10.7.0.3"})
        assert again.status_code == 429


def test_a_redis_that_times_out_is_skipped_after_the_first_failure(make_app, world, caplog):
    caplog.set_level(logging.WARNING, logger="tracker.security")
    hole = BlackHole()
    try:
        client = make_app(REDIS_URL=f"redis://127.0.0.1:{hole.port}/0").test_client()
        started = time.monotonic()
        statuses = [client.post("/login", data={"email": world.mentee.email, "password": "wrong-password"},
                                environ_base={"REMOTE_ADDR": "10.7.1.1"}).status_code for _ in range(5)]
        took = time.monotonic() - started
    finally:
        hole.close()
    assert statuses == [400] * 5
    # One 0.5 s timeout, then the database straight away (not 0.5 s per call, per request).
    assert took < 2.5, took
    assert [e["event"] for e in _security_events(caplog)].count("redis_unavailable") == 1


@needs_redis
def test_everything_stored_in_redis_carries_the_key_prefix(make_app, world):
    prefix = f"h19-{uuid.uuid4().hex}:"
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{REDIS_PORT}/{REDIS_DB}", REDIS_KEY_PREFIX=prefix)
    app.test_client().post("/login", data={"email": world.mentee.email, "password": "wrong-password"},
                           environ_base={"REMOTE_ADDR": "10.7.2.1"})
    store = redis.Redis(port=REDIS_PORT, db=REDIS_DB)
    keys = sorted(k.decode() for k in store.keys(prefix + "*"))
    try:
        assert keys == [f"{prefix}login-failures:account:{world.mentee.email}",
                        f"{prefix}login-failures:address:10.7.2.1"]
        assert count(app, LoginFailure) == 0
    finally:
        if keys:
            store.delete(*keys)


# --- settings ---------------------------------------------------------------------------------------

def test_production_refuses_to_start_without_database_url(tmp_path):
    with pytest.raises(config.ConfigError, match="DATABASE_URL"):
        config.from_environment(str(tmp_path), {"TRACKER_ENV": "production", "SECRET_KEY": PRODUCTION_KEY})
    development = config.from_environment(str(tmp_path), {})
    assert development["SQLALCHEMY_DATABASE_URI"] == "sqlite:///" + str(tmp_path / "tracker.sqlite")


def _production_environment_without_database_url() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FLASK_APP")}
    return dict(env, TRACKER_ENV="production", SECRET_KEY=PRODUCTION_KEY)


def test_the_cli_in_production_without_database_url_exits_with_the_message(tmp_path):
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT,
                          env=_production_environment_without_database_url(), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0
    assert "DATABASE_URL" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert "Running upgrade" not in done.stdout + done.stderr


def test_gunicorn_in_production_without_database_url_stops_with_the_message(tmp_path):
    done = subprocess.run([sys.executable, "-m", "gunicorn", "--workers", "1", "--bind",
                           f"127.0.0.1:{_free_port()}", "wsgi:app"], cwd=ROOT,
                          env=_production_environment_without_database_url(), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0
    assert "TRACKER_ENV=production needs DATABASE_URL" in done.stderr


def test_pool_sizes_reach_the_engine_on_postgresql_only(tmp_path):
    sizes = {"DATABASE_POOL_SIZE": "3", "DATABASE_MAX_OVERFLOW": "2"}
    postgresql = config.from_environment(str(tmp_path), dict(sizes, DATABASE_URL="postgresql://u@db/tracker"))
    assert postgresql["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_pre_ping": True, "pool_size": 3, "max_overflow": 2}
    sqlite = config.from_environment(str(tmp_path), sizes)
    assert sqlite["SQLALCHEMY_ENGINE_OPTIONS"] == {}
    unset = config.from_environment(str(tmp_path), {"DATABASE_URL": "postgresql://u@db/tracker"})
    assert unset["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_pre_ping": True}
    for name, value in (("DATABASE_POOL_SIZE", "0"), ("DATABASE_POOL_SIZE", "five"), ("DATABASE_MAX_OVERFLOW", "-1")):
        with pytest.raises(config.ConfigError, match=name):
            config.from_environment(str(tmp_path), {"DATABASE_URL": "postgresql://u@db/tracker", name: value})
    assert config.from_environment(str(tmp_path), {})["REDIS_KEY_PREFIX"] == "tracker:"


# --- under real gunicorn ----------------------------------------------------------------------------

class Poller:
    """GET /readyz every 100 ms over plain HTTP (redirects not followed), keeping (time, status, body)."""

    def __init__(self, base: str):
        self.host, self.port = base.removeprefix("http://").split(":")
        self.seen: list[tuple[float, int, dict | str]] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Poller":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.thread.join(10)

    def _run(self) -> None:
        while not self.stopping.is_set():
            asked = time.monotonic()
            connection = http.client.HTTPConnection(self.host, int(self.port), timeout=5)
            try:
                connection.request("GET", "/readyz")
                response = connection.getresponse()
                text = response.read().decode(errors="replace")
                try:
                    body = json.loads(text)
                except ValueError:
                    body = text
                self.seen.append((asked, response.status, body))
            except OSError as error:
                self.seen.append((asked, 0, repr(error)))
            finally:
                connection.close()
            self.stopping.wait(max(0.0, 0.1 - (time.monotonic() - asked)))

    def wait_for(self, status: int, after: float, seconds: float) -> float:
        """The moment of the first answer with `status` asked at or after `after`; fails after `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for asked, seen, _ in list(self.seen):
                if asked >= after and seen == status:
                    return asked
            time.sleep(0.02)
        raise AssertionError(f"no {status} within {seconds} s; saw {self.statuses(after)}")

    def statuses(self, after: float = 0.0) -> list[int]:
        return [status for asked, status, _ in self.seen if asked >= after]


def _cut_and_restore(poller: Poller, proxy: Proxy, failing: str, working: dict) -> None:
    """Ready, then cut: 503 within a second naming `failing`; restore: 200 within a second; never a 500."""
    poller.wait_for(200, time.monotonic(), 10)
    cut_at = time.monotonic()
    proxy.cut()
    failed_at = poller.wait_for(503, cut_at, 5)
    assert failed_at - cut_at <= 1.0, failed_at - cut_at
    time.sleep(1.0)  # stays down while cut
    assert poller.statuses(failed_at) and set(poller.statuses(failed_at)) == {503}, poller.statuses(failed_at)
    restored_at = time.monotonic()
    proxy.restore()
    back_at = poller.wait_for(200, restored_at, 5)
    assert back_at - restored_at <= 1.0, back_at - restored_at
    time.sleep(0.5)
    assert set(poller.statuses(back_at)) == {200}, poller.statuses(back_at)

    assert set(poller.statuses()) <= {200, 503}, poller.statuses()  # no 500, no redirect, no dropped request
    for _, status, body in poller.seen:
        if status == 503:
            assert body["status"] == "unavailable" and body["checks"][failing].startswith("failed: "), body
            assert {name: body["checks"][name] for name in working} == working, body
        else:
            assert body["status"] == "ready" and body["checks"][failing] == "ok", body


@needs_redis
def test_under_gunicorn_readyz_follows_redis(database_url, tmp_path):
    with Proxy(REDIS_PORT) as proxy, \
            gunicorn(database_url, tmp_path, workers=2, TRACKER_ENV="production",
                     REDIS_URL=f"redis://127.0.0.1:{proxy.port}/{REDIS_DB}") as (base, _, log_path), \
            Poller(base) as poller:
        _cut_and_restore(poller, proxy, "redis", {"database": "ok"})
    log = log_path.read_text()
    # Once per outage per worker (2 workers), not once per request (about 20 requests while cut).
    assert 1 <= log.count('"event": "redis_unavailable"') <= 2, log
    assert 1 <= log.count('"event": "redis_recovered"') <= 2, log


def test_under_gunicorn_readyz_follows_postgresql(database_url, tmp_path):
    skip_unless_postgresql(database_url)
    target = make_url(database_url)
    with Proxy(target.port or 5432, target.host or "127.0.0.1") as proxy:
        proxied = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        with gunicorn(proxied, tmp_path, workers=2, TRACKER_ENV="production") as (base, _, _log), \
                Poller(base) as poller:
            _cut_and_restore(poller, proxy, "database", {"redis": "not configured"})


def test_the_pool_options_follow_the_database_the_app_is_given(make_app, database_url):
    """An app given its database in its config (as the tests and the bench are) pings pooled
    connections on PostgreSQL, so it survives a restart of the server, and not on SQLite."""
    app = make_app()
    with app.app_context():
        assert db.engine.pool._pre_ping is database_url.startswith("postgresql")


def test_pool_sizes_from_the_environment_size_the_engine(make_app, database_url, monkeypatch):
    skip_unless_postgresql(database_url)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATABASE_POOL_SIZE", "3")
    monkeypatch.setenv("DATABASE_MAX_OVERFLOW", "2")
    app = make_app()
    with app.app_context():
        pool = db.engine.pool
        assert (pool.size(), pool._max_overflow, pool._pre_ping) == (3, 2, True)
        assert app.test_client().get("/readyz").status_code == 200
