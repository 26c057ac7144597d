"""The report cache shared by every process: what rollup_queries computes once per day (the settled
part of a report as of a day), kept in the database so a gunicorn worker that has not computed it yet
reads it instead of paying for it, and so `rollups warm` can compute the usual ones ahead of the day's
first request.

A row is valid for the rollups' version token it was computed under (tracker/data/rollups.py); a
reader with another token ignores it and overwrites it. Values are pickled and signed with the app's
SECRET_KEY (HMAC-SHA256), and a row whose signature does not match is never unpickled, so a row
written by anything but this app cannot run code in it. Rows of days before yesterday are deleted
when a new one is stored.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import pickle

from sqlalchemy import Column, Integer, LargeBinary, String, Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from tracker.core import clock
from tracker.core.extensions import db
from tracker.data.database import BEGIN_IMMEDIATE, write_queue
from tracker.data.models import UTCDateTime

log = logging.getLogger(__name__)

table = Table(
    "report_cache", db.metadata,
    Column("name", String(300), primary_key=True),
    Column("day", Integer, nullable=False),
    Column("token", String(32), nullable=False),
    Column("signature", String(64), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("stored_at", UTCDateTime, nullable=False),
    comment="Reports' settled parts per day, shared by the processes (tracker/data/report_cache.py).")

_secret: bytes | None = None


def configure(secret_key: str) -> None:
    """Sign with this key (create_app passes SECRET_KEY)."""
    global _secret
    _secret = secret_key.encode()


def _signature(payload: bytes) -> str:
    return hmac.new(_secret, payload, hashlib.sha256).hexdigest()


def load(name: str, token: str):
    """The value stored under `name` for `token`, or None (none stored, another token, a bad signature)."""
    if _secret is None:
        return None
    row = db.session.execute(select(table.c.token, table.c.signature, table.c.payload)
                             .where(table.c.name == name)).first()
    if row is None or row.token != token:
        return None
    if not hmac.compare_digest(row.signature, _signature(row.payload)):
        log.warning("report_cache_bad_signature name=%s", name)
        return None
    return pickle.loads(row.payload)  # noqa: S301 - signed by this app (above)


def store(name: str, day: int, token: str, value) -> None:
    """Keep `value` under `name` for `token`, in a transaction of its own; on failure (the database
    busy, read-only) it is only not shared, so nothing is raised."""
    if _secret is None:
        return
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    row = dict(name=name, day=day, token=token, signature=_signature(payload), payload=payload,
               stored_at=clock.now())
    try:
        with write_queue(), db.engine.connect() as connection:
            connection = connection.execution_options(**{BEGIN_IMMEDIATE: True})
            with connection.begin():
                insert = (postgresql.insert(table) if connection.dialect.name == "postgresql"
                          else sqlite.insert(table)).values(row)
                connection.execute(insert.on_conflict_do_update(
                    index_elements=["name"], set_={key: insert.excluded[key] for key in row if key != "name"}))
                connection.execute(delete(table).where(table.c.day < day - 1))
    except SQLAlchemyError as error:
        log.warning("report_cache_not_stored name=%s error=%s", name, type(error).__name__)


def clear() -> None:
    """Forget every stored value (the tests do, with the process cache)."""
    with write_queue(), db.engine.begin() as connection:
        connection.execute(delete(table))
