"""Rebuilding and checking the derived tables: the rollups (tracker/data/rollups.py) and the mentors'
public review counts (tracker/data/review_stats.py): `flask --app wsgi rollups rebuild|verify`.

Both are safe while the app serves. `rebuild` replaces every derived row in one write transaction
that first stops writers of mentorships, exit surveys and reviews (on SQLite the writer queue and
BEGIN IMMEDIATE do that; on PostgreSQL a SHARE lock on those tables, which readers pass), so no write falls
between reading the raw rows and replacing the rollups. `verify` only reads, inside one snapshot.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from werkzeug.datastructures import MultiDict

from tracker.core.extensions import db
from tracker.data import review_stats, rollups
from tracker.data.database import unit_of_work
from tracker.reports import queries, rollup_queries
from tracker.reports.scope import WINDOW_CHOICES, all_time_days, parse


def rebuild() -> int:
    """Rebuild every rollup in one write transaction; returns the rows written."""
    with unit_of_work():
        connection = db.session.connection()
        if connection.dialect.name == "postgresql":
            connection.execute(text("LOCK TABLE mentorships, exit_surveys, reviews IN SHARE MODE"))
        return rollups.rebuild(connection) + review_stats.rebuild(connection)


def first_difference() -> str | None:
    """None when every rollup row equals a fresh computation from the raw rows, else the first that
    differs, named."""
    db.session.rollback()
    connection = db.session.connection(
        execution_options={"isolation_level": "REPEATABLE READ"} if db.engine.dialect.name == "postgresql" else {})
    try:
        return rollups.first_difference(connection) or review_stats.first_difference(connection)
    finally:
        db.session.rollback()


# What `warm` computes: the views people open without choosing a window, or with one click
# (docs/PERFORMANCE.md).
WARM_PARTS = ("dashboard windows: last 30 days, last 90 days (also the API's default), last 365 days, all time: "
              "overview, churn, retention, ratings, health, research, saves",
              "all time: the platform beside a mentor's own ratings", "at-risk list", "counts by status")


def warm(at: datetime) -> list[str]:
    """Compute, as of `at`, what the day's first requests would: the settled parts of the dashboard's
    window choices (its default and the API's among them; no filter), the at-risk list and the counts
    by status. Each lands in the report cache every process shares (tracker/data/report_cache.py);
    returns what was warmed."""
    db.session.rollback()
    for _label, days in WINDOW_CHOICES:
        asked = parse(MultiDict(), at, queries.mentor_id_by_email, naive_is_utc=True,
                      default_days=days or all_time_days(at))
        for part in _DASHBOARD_PARTS:
            part(asked.scope)
    rollup_queries.at_risk(at, 0)
    rollup_queries.counts_by_status(at)
    db.session.rollback()
    return list(WARM_PARTS)


_DASHBOARD_PARTS = (rollup_queries.measure, rollup_queries.ending_groups, rollup_queries.duration_groups_by_category,
                    rollup_queries.pulse_tier_groups, rollup_queries.month_one_groups, rollup_queries.save_groups,
                    rollup_queries.goal_event_groups, rollup_queries.response_groups)
