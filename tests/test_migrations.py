"""The committed migrations build the schema from nothing, match the models, and go down and up again."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from tracker.core.extensions import db


def test_migrations_match_the_models(app):
    # The session fixture built this database with `upgrade()` from empty.
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_downgrade_to_nothing_and_upgrade_again(app):
    with app.app_context():
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert {"users", "mentor_profiles", "mentorships", "checkins", "exit_surveys"} <= \
            set(inspect(db.engine).get_table_names())


def test_0017_cuts_a_search_name_longer_than_its_column(app):
    """Only SQLite could hold one (it keeps a text longer than its column); on PostgreSQL there is none to cut."""
    from sqlalchemy import text
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("PostgreSQL refuses to store the value this migration cuts")
        downgrade(revision="0016")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO users (email, name, search_name, role, session_version, created_at) "
                              "VALUES ('long@example.com', 'Long', :long, 'mentee', 1, 0), "
                              "('short@example.com', 'Short', 'short', 'mentee', 1, 0)"), {"long": "i\u0307" * 100})
        upgrade()
        with db.engine.connect() as conn:
            names = dict(conn.execute(text("SELECT email, search_name FROM users")).all())
        assert names == {"long@example.com": "i\u0307" * 50, "short@example.com": "short"}
