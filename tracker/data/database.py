"""How we talk to the engine: SQLite tuned for several processes, and write transactions.

SQLite (the measurements are in docs/LIFECYCLE.md): WAL and a busy timeout on every connection; write
transactions take the write lock at BEGIN (BEGIN IMMEDIATE), because a deferred BEGIN that
upgrades to a write later either loses updates or fails with "database is locked"; and a
connection returned to the pool still inside a transaction is rolled back, so a failed COMMIT
cannot leak its rows into the next request. Writers wait their turn in `write_queue`, so the
busy timeout is a safety net rather than the way writers take turns.

Every writer (services, the history import, the login throttle) writes through `unit_of_work`;
only the demo seeder has its own bulk path (see tracker/services/seed.py).
"""
from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine

from tracker.core.extensions import db

BEGIN_IMMEDIATE = "tracker_begin_immediate"
IN_QUEUE = "in_queue"  # BEGIN_IMMEDIATE's value for a connection that begins once in the writer queue


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
        if immediate == IN_QUEUE:
            return  # `unit_of_work` sends BEGIN IMMEDIATE itself, once its turn in the writer queue comes
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    @event.listens_for(engine, "reset")
    def _on_reset(dbapi_connection, _record, _reset_state):
        if dbapi_connection.in_transaction:
            dbapi_connection.rollback()


@contextmanager
def unit_of_work():
    """One write transaction: wait for the writer queue, begin (BEGIN IMMEDIATE on SQLite), run the
    block, flush and commit; on any exception roll back, so nothing of the block is kept, and re-raise.

        with unit_of_work():
            db.session.add(...)
    """
    connection, begin_in_queue = _write_connection()
    with write_queue():
        try:
            if begin_in_queue:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            yield
            db.session.flush()
            _commit_keeping_state()
        except BaseException:
            db.session.rollback()
            raise


def _commit_keeping_state() -> None:
    """Commit without expiring the objects the block loaded: they hold what this transaction read and
    wrote, which is what the view that called the service shows next (its flash message, its redirect).
    Expired, each would be read again at once: up to five more queries a form post. Columns the
    database fills in are loaded when first read, as after any flush; the next write's start
    (`_write_connection`) expires everything, so it reads them again."""
    session = db.session()
    expire = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


def _write_connection():
    """Before a write (`unit_of_work` calls it first, outside the writer queue, so that SQLite's one write
    lock is held for the write itself): expire what the session holds, so the write reads everything
    again, and settle the read transaction the request may have opened (loading the current user, say).
    Returns the write's connection, and whether BEGIN IMMEDIATE is still to be sent (SQLite).

    A read transaction in good order goes on being the request's connection, which saves the session's
    and the pool's work for a second one:
    - PostgreSQL writes in it: its reads in READ COMMITTED take no snapshot, so nothing read before is
      held against the write; rows that a decision depends on are locked with SELECT ... FOR UPDATE.
      This also saves a ROLLBACK, a BEGIN and the pool's liveness ping: a third of a check-in's round trips.
    - SQLite ends it with a ROLLBACK (its snapshot must not outlive the read) and begins the write on
      the same connection, in the queue.
    Otherwise it is rolled back, and the write takes a connection from the pool.
    """
    session = db.session
    # Always: a commit keeps what it loaded (`_commit_keeping_state`), and a rollback with no transaction
    # open expires nothing, so a second write in a row would see the first one's objects as they were.
    session.expire_all()
    sqlite = session.get_bind().dialect.name == "sqlite"
    if _transaction_in_good_order():
        connection = session.connection()
        if sqlite:
            connection.exec_driver_sql("ROLLBACK")
        return connection, sqlite
    session.rollback()
    if sqlite:
        return session.connection(execution_options={BEGIN_IMMEDIATE: IN_QUEUE}), True
    return session.connection(), False


def _transaction_in_good_order() -> bool:
    """A read transaction is open, at the connection's default isolation, and (PostgreSQL) no statement
    of it failed: a failed one leaves it refusing everything until it is rolled back."""
    transaction = db.session().get_transaction()
    if transaction is None or not transaction.is_active:  # none, or one a failed flush left to roll back
        return False
    connection = db.session.connection()
    if "isolation_level" in connection.get_execution_options():
        return False
    driver = connection.connection.driver_connection
    if connection.dialect.name == "sqlite":
        return driver.in_transaction
    return driver.info.transaction_status.name == "INTRANS"  # psycopg


_queue_files: dict[str, int] = {}
_queue_threads: dict[str, threading.Lock] = {}
_queue_setup = threading.Lock()


@contextmanager
def write_queue():
    """Hold the database's writer queue for one write transaction (SQLite files only).

    SQLite lets one writer in at a time, and a writer that finds the lock taken sleeps in
    growing steps (1, 2, 5, ... 100 ms) before it looks again, so under load some writers wait
    far longer than the writes before them take: measured with bench/load_test.py, form posts
    had a p99 of 0.5 s. An exclusive flock on a file beside the database is a fair queue the
    kernel wakes at once; a thread lock first, because threads of one process share the file.
    The kernel drops the flock if the process dies.
    """
    path = db.engine.url.database if db.engine.dialect.name == "sqlite" else None
    if path in (None, "", ":memory:"):
        yield
        return
    with _queue_setup:
        if path not in _queue_files:
            _queue_files[path] = os.open(path + "-writers.lock", os.O_RDWR | os.O_CREAT, 0o600)
            _queue_threads[path] = threading.Lock()
    with _queue_threads[path]:
        fcntl.flock(_queue_files[path], fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(_queue_files[path], fcntl.LOCK_UN)
