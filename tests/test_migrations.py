"""The committed migrations build the schema from nothing, match the models, and go down and up again."""
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
