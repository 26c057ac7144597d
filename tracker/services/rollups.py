"""Rebuilding and checking the rollups (tracker/data/rollups.py): `flask --app wsgi rollups rebuild|verify`.

Both are safe while the app serves. `rebuild` replaces every rollup row in one write transaction
that first stops writers of mentorships and exit surveys (on SQLite the writer queue and BEGIN
IMMEDIATE do that; on PostgreSQL a SHARE lock on both tables, which readers pass), so no write falls
between reading the raw rows and replacing the rollups. `verify` only reads, inside one snapshot.
"""
from __future__ import annotations

from sqlalchemy import text

from tracker.core.extensions import db
from tracker.data import rollups
from tracker.data.database import unit_of_work


def rebuild() -> int:
    """Rebuild every rollup in one write transaction; returns the rows written."""
    with unit_of_work():
        connection = db.session.connection()
        if connection.dialect.name == "postgresql":
            connection.execute(text("LOCK TABLE mentorships, exit_surveys IN SHARE MODE"))
        return rollups.rebuild(connection)


def first_difference() -> str | None:
    """None when every rollup row equals a fresh computation from the raw rows, else the first that
    differs, named."""
    db.session.rollback()
    connection = db.session.connection(
        execution_options={"isolation_level": "REPEATABLE READ"} if db.engine.dialect.name == "postgresql" else {})
    try:
        return rollups.first_difference(connection)
    finally:
        db.session.rollback()
