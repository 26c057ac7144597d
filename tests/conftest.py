"""Fixtures: an app on a real database (SQLite by default, PostgreSQL with TEST_DATABASE_URL),
its schema built by the real migrations once per run, emptied after every test; a frozen clock;
and clients logged in as each role. Helpers that test modules import live in helpers.py."""
from __future__ import annotations

import os

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from tracker import create_app
from tracker.core import clock
from tracker.core.config import normalise_database_url
from tracker.core.extensions import db

from . import factories
from .helpers import T0, empty_tables, log_in


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return normalise_database_url(url)
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = _database_url(tmp_path_factory)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        _drop_all_tables()
        upgrade()
    return url


def _drop_all_tables() -> None:
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            names = [r[0] for r in conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
            for name in names:
                conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')


@pytest.fixture
def make_app(database_url):
    """Build an app on the test database; every app built is emptied after the test."""
    made = []

    def build(**overrides):
        config = {"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "WTF_CSRF_ENABLED": False}
        config.update(overrides)
        made.append(create_app(config))
        return made[-1]

    yield build
    if made:
        with made[0].app_context():
            empty_tables()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture(autouse=True)
def frozen_clock():
    clock.freeze(T0)
    yield T0
    clock.unfreeze()


@pytest.fixture
def world(app):
    """An operator, two mentees and two mentors; see factories.World."""
    return factories.World.build(app, T0)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def login(app):
    """login(user) -> a test client with that user's session (set directly, see helpers.log_in);
    login(None) -> an anonymous client."""
    return lambda user: log_in(app, user)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell a failed test at teardown."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
