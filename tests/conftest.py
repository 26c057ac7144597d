"""Fixtures: an app on a real database (SQLite by default, PostgreSQL with TEST_DATABASE_URL),
its schema built by the real migrations once per run, emptied after every test; a frozen clock;
and clients logged in as each role. Helpers that test modules import live in helpers.py."""
from __future__ import annotations

import copy
import functools
import os

import pytest
from flask_login import LoginManager
from flask_migrate import Migrate, upgrade
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from flask_wtf import CSRFProtect
from sqlalchemy import text

from tracker import create_app
from tracker.core import clock, extensions
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


# Building an app costs about 50 ms (mostly registering the blueprints' routes), and nearly every test
# builds one. So an app is kept for the next test that asks for the same configuration in the same
# environment; the n-th app a test builds with a configuration is the n-th kept one (two apps in one
# test stay two apps). An app whose configuration, extensions, hooks, routes or attributes a test
# changed is not kept. The extension objects are shared by every app and some hold the settings of
# the app built last (Talisman's HTTPS and cookie flags, the login manager's user loader), so a kept
# app is reused only while they still hold what its own create_app left in them, that is while no
# other app has been built since. The database is still emptied after every test.
_KEPT_APPS: dict[str, list] = {}


def _extension_state():
    return {name: dict(vars(obj)) for name, obj in vars(extensions).items()
            if isinstance(obj, (SQLAlchemy, Migrate, LoginManager, CSRFProtect, Talisman))}


def _fingerprint(app):
    try:
        config = copy.deepcopy(dict(app.config))
    except Exception:  # something in it cannot be copied: do not keep this app
        return None
    attributes = sorted(name for name in vars(app)  # but cached properties, such as jinja_loader
                        if not isinstance(getattr(type(app), name, None), (property, functools.cached_property)))
    return (config, sorted(app.extensions), attributes, len(list(app.url_map.iter_rules())),
            {name: len(funcs) for name, funcs in app.before_request_funcs.items()},
            {name: len(funcs) for name, funcs in app.after_request_funcs.items()},
            {name: len(funcs) for name, funcs in app.teardown_request_funcs.items()},
            _error_handlers(app), _identities(app.jinja_env.globals), _identities(app.jinja_env.filters),
            _identities(app.extensions))


def _identities(mapping) -> list:
    """Each entry's name with the identity of its value: a value replaced under the same name counts."""
    return sorted((name, id(value)) for name, value in mapping.items())


def _error_handlers(app):
    # error_handler_spec is a defaultdict that Flask's look-ups fill with empty entries
    return {(name, code, cls): handler for name, by_code in app.error_handler_spec.items()
            for code, by_class in by_code.items() for cls, handler in by_class.items()}


@pytest.fixture
def make_app(database_url):
    """Build an app on the test database (or reuse one kept from an earlier test, see above); every
    app built is emptied after the test."""
    made = []
    count_by_key: dict[str, int] = {}

    def build(**overrides):
        config = {"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "WTF_CSRF_ENABLED": False}
        config.update(overrides)
        environment = sorted((k, v) for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST")
        key = repr((sorted(config.items()), environment))
        index = count_by_key[key] = count_by_key.get(key, -1) + 1
        kept = _KEPT_APPS.setdefault(key, [])
        if index == len(kept):
            kept.append(None)
        if kept[index] is None or kept[index][2] != _extension_state():
            app = create_app(config)
            kept[index] = (app, _fingerprint(app), _extension_state())
        app = kept[index][0]
        # A reused app has served requests; Flask then refuses new hooks and routes ("setup method can
        # no longer be called"), which a fresh app accepts. Reset the flag so both behave the same.
        app._got_first_request = False
        made.append((key, index, app))
        return app

    yield build
    if made:
        with made[0][2].app_context():
            empty_tables()
    for key, index, app in made:
        fingerprint = _KEPT_APPS[key][index][1]
        if fingerprint is None or _fingerprint(app) != fingerprint:
            _KEPT_APPS[key][index] = None  # changed by the test: the next test gets a new one


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
