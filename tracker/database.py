"""How we talk to the engine: SQLite tuned for several processes, and write transactions.

SQLite (see shared/FIELD-NOTES.md): WAL and a busy timeout on every connection; write
transactions take the write lock at BEGIN (BEGIN IMMEDIATE), because a deferred BEGIN that
upgrades to a write later either loses updates or fails with "database is locked"; and a
connection returned to the pool still inside a transaction is rolled back, so a failed COMMIT
cannot leak its rows into the next request.
"""
from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine

from .extensions import db

BEGIN_IMMEDIATE = "tracker_begin_immediate"


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event below issue BEGIN, instead of the driver doing it lazily.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        immediate = connection.get_execution_options().get(BEGIN_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    @event.listens_for(engine, "reset")
    def _on_reset(dbapi_connection, _record, _reset_state):
        if dbapi_connection.in_transaction:
            dbapi_connection.rollback()


def begin_write() -> None:
    """Start the session's write transaction; call first in every service that writes.

    Ends the read transaction a request may have opened (loading the current user, say), then
    opens one that holds the write lock from its start on SQLite. On PostgreSQL it is a plain
    BEGIN; rows that a decision depends on are locked with SELECT ... FOR UPDATE instead.
    """
    db.session.rollback()
    db.session.connection(execution_options={BEGIN_IMMEDIATE: True})
