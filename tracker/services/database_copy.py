"""Copy a whole database to another engine (SQLite to PostgreSQL, say), then prove nothing was lost.

`copy_database(source_url, target_url)` copies every row of every table of the models' metadata (the
rollups too, which are exact on the source; not the rollups' version token, which the target keeps
as `db upgrade` made it, nor the report cache, computed under a token), in dependency order, with the
ids kept, inside one transaction on the target, and resets PostgreSQL's sequences past the largest
id. It refuses, changing nothing, a target that has any row or whose schema (the Alembic version) is
not the source's: the schema is made by `db upgrade`, never here. Rows are streamed in batches, so a
database of millions of rows is never held in memory.

Stop the app servers (or at least every writer) first: a row written during the copy may be missed,
and then the comparison says which table differs.

`compare(source_url, target_url)` counts the rows of every table on both sides and digests them
(sha256 over the rows in primary-key order, values normalised so that SQLite and PostgreSQL give the
same digest: timestamps are integer seconds, booleans 0/1, text as stored).
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, MetaData, String, Table, create_engine, func, inspect, select, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DataError, IntegrityError, NoSuchModuleError, SQLAlchemyError

from tracker.core.config import normalise_database_url
from tracker.core.extensions import db
from tracker.data import models, report_cache, rollups
from tracker.services.errors import Conflict, Invalid

BATCH = 2000
UPGRADE_FIRST = "run `flask --app wsgi db upgrade` with DATABASE_URL set to the target first"


@dataclass(frozen=True)
class TableCheck:
    table: str
    source_rows: int
    target_rows: int
    source_digest: str
    target_digest: str

    @property
    def same(self) -> bool:
        return self.source_rows == self.target_rows and self.source_digest == self.target_digest


def _raw_tables() -> list[Table]:
    """The models' tables in dependency order, with timestamps as the integers they are stored as,
    so rows pass through without being turned into datetimes and back."""
    raw = MetaData()
    tables = []
    for table in db.metadata.sorted_tables:
        if table is rollups.version or table is report_cache.table:
            continue  # the target's own: the token names a state of its rollups, the cache is computed under it
        columns = [Column(c.name, BigInteger() if isinstance(c.type, models.UTCDateTime) else c.type,
                          primary_key=c.primary_key) for c in table.columns]
        tables.append(Table(table.name, raw, *columns))
    return tables


def _show(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"


def _engine(url: str, which: str) -> Engine:
    try:
        parsed = make_url(normalise_database_url(url))
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
                and not os.path.isfile(parsed.database):
            raise Invalid(f"--{which}: there is no SQLite file {parsed.database}", field=which)
        engine = create_engine(parsed)
        with engine.connect():
            pass
    except (ArgumentError, NoSuchModuleError, ValueError) as error:
        raise Invalid(f"--{which}: {url!r} is not a database URL ({error})", field=which) from None
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise Invalid(f"--{which}: cannot connect to {_show(url)}: {reason}", field=which) from None
    return engine


def _schema_version(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _check_target(source: Connection, target: Connection, tables: list[Table]) -> None:
    wanted, found = _schema_version(source), _schema_version(target)
    if found != wanted:
        raise Invalid(f"the target's schema is at version {found or '(none)'}, the source's at "
                      f"{wanted or '(none)'}: {UPGRADE_FIRST}", field="to")
    missing = [t.name for t in tables if not inspect(target).has_table(t.name)]
    if missing:
        raise Invalid(f"the target has no table {', '.join(missing)}: {UPGRADE_FIRST}", field="to")
    filled = [t.name for t in tables if target.execute(select(1).select_from(t).limit(1)).first()]
    if filled:
        raise Conflict(f"the target is not empty (rows in {', '.join(filled)}); nothing was copied. "
                       "Copy into a new database made with `db upgrade`.", field="to")


def _ordered(table: Table, dialect: str):
    """Primary-key order, the same on both engines (text keys by code point, as SQLite compares)."""
    keys = []
    for column in table.primary_key.columns:
        keys.append(column.collate("C") if dialect == "postgresql" and isinstance(column.type, String)
                    else column)
    return select(table).order_by(*keys)


def _snapshot(engine: Engine) -> Connection:
    """A connection that reads one consistent state of the database on PostgreSQL (REPEATABLE READ).
    On SQLite each query sees the latest commit: stop the writers before copying."""
    if engine.dialect.name == "postgresql":
        return engine.connect().execution_options(isolation_level="REPEATABLE READ")
    return engine.connect()


def _batches(connection: Connection, table: Table) -> Iterator[list]:
    result = connection.execution_options(stream_results=True, yield_per=BATCH).execute(
        _ordered(table, connection.dialect.name))
    yield from result.partitions(BATCH)


def _reset_sequences(target: Connection, tables: list[Table]) -> None:
    if target.dialect.name != "postgresql":
        return  # SQLite's integer keys carry on from the largest id by themselves
    for table in tables:
        if "id" not in table.primary_key.columns:
            continue
        sequence = target.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}).scalar()
        if sequence is None:
            continue
        largest = target.execute(select(func.max(table.c.id))).scalar()
        target.execute(text("SELECT setval(:s, :v, :called)"),
                       {"s": sequence, "v": largest or 1, "called": largest is not None})


def _insert(target: Connection, table: Table, rows: list) -> None:
    """One batch; a row the target refuses (SQLite keeps a text longer than its column, PostgreSQL
    does not) stops the copy with the table and the target's reason, and the transaction keeps nothing."""
    try:
        target.execute(table.insert(), [row._asdict() for row in rows])
    except (DataError, IntegrityError) as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig is not None else type(error).__name__
        raise Invalid(f"the target refused a row of {table.name} ({reason}); nothing was copied. Correct that row "
                      "in the source and copy again", field="to") from None


def copy_database(source_url: str, target_url: str,
                  progress: Callable[[str, int, bool], None] = lambda table, rows, done: None) -> dict[str, int]:
    """Copy every row into the empty target in one transaction; return the rows copied per table.
    `progress(table, rows so far, whether the table is done)` is called after every batch."""
    source, target = _engine(source_url, "from"), _engine(target_url, "to")
    tables = _raw_tables()
    copied = {}
    try:
        with _snapshot(source) as reading, target.begin() as writing:
            _check_target(reading, writing, tables)
            for table in tables:
                copied[table.name] = 0
                for rows in _batches(reading, table):
                    _insert(writing, table, rows)
                    copied[table.name] += len(rows)
                    progress(table.name, copied[table.name], False)
                progress(table.name, copied[table.name], True)
            _reset_sequences(writing, tables)
    finally:
        source.dispose()
        target.dispose()
    return copied


def _normalised(value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    return value


def _digest(connection: Connection, table: Table) -> tuple[int, str]:
    digest, count = hashlib.sha256(), 0
    for rows in _batches(connection, table):
        for row in rows:
            digest.update(json.dumps([_normalised(v) for v in row], ensure_ascii=False).encode())
            digest.update(b"\n")
        count += len(rows)
    return count, digest.hexdigest()


def compare(source_url: str, target_url: str) -> list[TableCheck]:
    """Row counts and digests of every table on both sides."""
    source, target = _engine(source_url, "from"), _engine(target_url, "to")
    checks = []
    try:
        with source.connect() as left, target.connect() as right:
            for table in _raw_tables():
                (left_rows, left_digest), (right_rows, right_digest) = _digest(left, table), _digest(right, table)
                checks.append(TableCheck(table.name, left_rows, right_rows, left_digest, right_digest))
    finally:
        source.dispose()
        target.dispose()
    return checks
