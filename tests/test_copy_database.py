"""`flask --app wsgi copy-database`: a seeded SQLite copied to an empty database (another SQLite file, and
a PostgreSQL database made for the test when one answers on 127.0.0.1:5432) keeps every row: equal counts
and checksums for every table, and the same API answers from both."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import OperationalError

from tracker import create_app, services
from tracker.core.extensions import db
from tracker.data.models import Mentorship, Review, UsedLink, User
from tracker.domain.lifecycle import FIXED_OFFERS
from tracker.domain.vocabulary import CHURN_REASONS, OFFERS
from tracker.mail import schedule
from tracker.security import throttle
from tracker.services import database_copy
from tracker.services import themes as theme_service
from tracker.services.audit import Actor
from tracker.services.database_copy import compare
from tracker.services.seed import seed_demo

from .conftest import T0

POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
OPERATOR = "operator@demo.example"
FULL_HISTORY = {"from": "2020-01-01", "to": "2026-03-02", "as_of": "2026-03-01T00:00:00Z"}


def _app(url: str):
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})


def _upgraded(url: str):
    app = _app(url)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return app


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """A SQLite file with ~300 demo mentorships and an operator's API token; (url, app, token)."""
    url = "sqlite:///" + str(tmp_path_factory.mktemp("copy") / "source.sqlite")
    app = _upgraded(url)
    with app.app_context():
        seed_demo(count=300, seed=11, until=datetime(2026, 3, 1, tzinfo=timezone.utc))
        token = services.create_api_token(OPERATOR, at=T0)
        # The tables the demo leaves empty get rows too: offer settings, a risk review, login failures.
        operator_id = db.session.scalar(select(User.id).where(User.email == OPERATOR))
        choosable = [r for r in CHURN_REASONS if r not in FIXED_OFFERS]
        services.set_offers(operator_id, {reason: list(OFFERS)[-1] for reason in choosable}, at=T0)
        services.mark_risk_handled(operator_id, 1, "called them ", at=T0)
        throttle.record_failure("someone@example.com", "10.0.0.1", at=T0)
        # Mail: what the schedule queues at T0, a kind turned off, a single-use link used.
        assert sum(schedule.plan(T0).values()) > 0
        services.unsubscribe(operator_id, "operator_digest", at=T0)
        db.session.add(UsedLink(link_id="0123456789abcdef", used_at=T0))
        db.session.commit()
        # Reviews come with the demo; a moderation is an operator's.
        review_id = db.session.scalar(select(Review.id).order_by(Review.id).limit(1))
        services.moderate(operator_id, review_id, "review", "hide", "spam", at=T0)
        theme_service.recompute(T0, k=3)
        # An offer experiment with a flow in it.
        plan = services.ExperimentPlan("Pause or nothing", "no_time", "pause", "none", 50, 30, 10)
        services.start_experiment(Actor.command("test"), plan, at=T0)
        running = db.session.execute(select(Mentorship.id, Mentorship.mentee_id).where(
            Mentorship.ended_at.is_(None), Mentorship.trial_started_at.is_not(None)).limit(1)).one()
        services.start_cancel_flow(running.mentee_id, running.id, "no_time", T0)
        db.engine.dispose()
    return url, app, token


def _postgres_database():
    """A new, empty PostgreSQL database; its URL and a function that drops it. Skips without PostgreSQL."""
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 2})
    name = f"copy_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    except OperationalError:
        admin.dispose()
        pytest.skip("no PostgreSQL answers on 127.0.0.1:5432 as user postgres")

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", drop


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_target(request, tmp_path):
    """An empty database whose schema `db upgrade` made; (url, app)."""
    if request.param == "sqlite":
        url = "sqlite:///" + str(tmp_path / "target.sqlite")
        yield url, _upgraded(url)
        return
    url, drop = _postgres_database()
    try:
        app = _upgraded(url)
        yield url, app
        with app.app_context():
            db.engine.dispose()
    finally:
        drop()


def _copy(app, source: str, target: str):
    return app.test_cli_runner().invoke(args=["copy-database", "--from", source, "--to", target])


def _metrics(app, token: str) -> dict:
    response = app.test_client().get("/api/v1/metrics", query_string=FULL_HISTORY,
                                     headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.data
    return response.get_json()


def test_a_copy_keeps_every_row_and_every_answer(seeded, empty_target, monkeypatch):
    source, source_app, token = seeded
    target, target_app = empty_target
    monkeypatch.setattr(database_copy, "BATCH", 97)  # many batches per table, as on a large database
    result = _copy(source_app, source, target)
    assert result.exit_code == 0, result.output
    assert "Every table has the same rows on both sides." in result.output
    assert "  mentorships: 300 rows copied" in result.output

    checks = compare(source, target)
    own = {"rollup_version", "report_cache"}  # the target's own
    assert {check.table for check in checks} == set(db.metadata.tables) - own
    assert all(check.same for check in checks), checks
    rows = {check.table: check.source_rows for check in checks}
    assert rows["mentorships"] == 300 and rows["users"] > 200 and rows["api_tokens"] == 1
    for table in rows:
        assert rows[table] > 0, table
        assert f"{table} " in result.output

    body = _metrics(source_app, token)
    assert body["window"] == {"from": FULL_HISTORY["from"], "to": FULL_HISTORY["to"]}
    assert _metrics(target_app, token) == body

    # Ids carry on after the copied ones (the sequences were reset on PostgreSQL).
    with target_app.app_context():
        user = services.create_user("after-the-copy@example.com", "mentee", "", "a-long-password", at=T0)
        assert user.id == rows["users"] + 1
        db.engine.dispose()


def test_a_target_with_rows_is_refused_and_left_unchanged(seeded, empty_target):
    source, source_app, _ = seeded
    target, target_app = empty_target
    with target_app.app_context():
        services.create_user("already-here@example.com", "mentee", "", "a-long-password", at=T0)
        db.engine.dispose()
    before = compare(target, target)
    result = _copy(source_app, source, target)
    assert result.exit_code == 1
    assert "the target is not empty (rows in users)" in result.output and "nothing was copied" in result.output
    assert compare(target, target) == before
    assert {check.table: check.source_rows for check in before}["mentorships"] == 0


def test_a_target_without_the_schema_is_refused(seeded, tmp_path):
    source, source_app, _ = seeded
    target = tmp_path / "no-schema.sqlite"
    create_engine(f"sqlite:///{target}").connect().close()  # an empty file, no tables
    result = _copy(source_app, source, f"sqlite:///{target}")
    assert result.exit_code == 1
    assert "schema is at version (none)" in result.output and "db upgrade" in result.output


@pytest.mark.parametrize("source, target, message", [
    ("nonsense", "sqlite:///{tmp}/t.sqlite", "--from: 'nonsense' is not a database URL"),
    ("sqlite:///{tmp}/missing.sqlite", "sqlite:///{tmp}/t.sqlite", "--from: there is no SQLite file"),
    ("{source}", "postgresql://nobody:secret@127.0.0.1:1/none", "--to: cannot connect to postgresql"),
])
def test_a_bad_url_is_named(seeded, tmp_path, source, target, message):
    source_url, source_app, _ = seeded
    args = {"tmp": tmp_path, "source": source_url}
    result = _copy(source_app, source.format(**args), target.format(**args))
    assert result.exit_code == 1 and message in result.output, result.output
    assert "secret" not in result.output and "Traceback" not in result.output


def test_help_points_to_the_contract(seeded):
    _, source_app, _ = seeded
    commands = [name for name in source_app.cli.commands if name != "db"]  # `db` is Flask-Migrate's
    assert {"copy-database", "unlock-account", "create-user", "seed-demo", "import-history"} <= set(commands)
    for command in commands:
        result = source_app.test_cli_runner().invoke(args=[command, "--help"])
        assert result.exit_code == 0 and "docs/INTERFACES.md" in result.output, command


def test_a_copy_that_fails_half_way_leaves_the_target_empty(seeded, empty_target, monkeypatch):
    source, source_app, _ = seeded
    target, _ = empty_target

    def fail(*_args):
        raise RuntimeError("the disk is full")
    monkeypatch.setattr(database_copy, "_reset_sequences", fail)  # after every row was inserted
    with pytest.raises(RuntimeError):
        database_copy.copy_database(source, target)
    assert all(check.target_rows == 0 for check in compare(source, target))


def test_a_row_the_target_refuses_is_named_and_nothing_is_copied(tmp_path):
    """SQLite keeps a text longer than its column, PostgreSQL refuses it: a search name written before
    names were cut to their column (migration 0017 cuts them) stopped the copy with a traceback."""
    source = "sqlite:///" + str(tmp_path / "source.sqlite")
    app = _upgraded(source)
    with app.app_context():
        services.create_user("dotted@example.com", "mentee", "Dotted", "a-long-password", at=T0)
        db.session.execute(text("UPDATE users SET search_name = :long"), {"long": "i" * 150})
        db.session.commit()
        db.engine.dispose()
    target, drop = _postgres_database()
    try:
        _upgraded(target)
        result = _copy(app, source, target)
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert "the target refused a row of users (value too long for type character varying(100))" \
            in result.output and "nothing was copied" in result.output, result.output
        assert all(check.target_rows == 0 for check in compare(source, target))
    finally:
        drop()
