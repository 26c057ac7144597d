"""Rollups: derived tables that count mentorships by the days that decide the headline metrics.

Every mentorship contributes one row to each rollup it belongs to, keyed by its goal category and by
the UTC day (seconds // 86400) of each timestamp that a metric compares with the as-of moment T or
with a window bound. For any T on day D, a key day before D means "at or before T" and a key day
after D means "after T", exactly; only rows with a key day equal to D (or D - 7 for the trial's
end) need their seconds, and reports/rollup_queries.py reads those few raw. So the rollups give
exactly the numbers of the raw computation for every window, T and goal-category filter.

Which key a mentorship has is decided in one place, `contributions`, from its `Facts`. The rollups
are kept by the unit of work: listeners read the facts of every mentorship a flush touches, before
and after it, and apply the difference as atomic upserts (`n = n + excluded.n`, never a
read-modify-write) in the same transaction. The few writes made below the ORM (the busiest ones,
services/applications.py) name what they touch to `kept`, which does the same. Bulk writers (the
demo seeder, the history import) call `rebuild`, and `verify` compares the tables with a fresh
computation.

Reports cache what is settled before a day under `version`, which changes whenever a write moves
something settled (an import, a back-dated write, a rebuild); writes of "now" leave it alone.

A day or timestamp that does not exist (a trial never started, no exit survey) is keyed NEVER, a
day after every real one, so "before D" is false for it without a NULL in a primary key.
"""
from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import datetime, timezone
from operator import add
from typing import NamedTuple

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    String,
    Table,
    bindparam,
    delete,
    event,
    inspect,
    select,
    type_coerce,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from tracker.core import clock
from tracker.core.extensions import db
from tracker.data import whole_run
from tracker.data.models import CancelFlow, CheckIn, ExitSurvey, Mentorship, Pause, Pulse, RiskReview
from tracker.domain.lifecycle import converted_after, stage_after

DAY = 86400
NEVER = 2_147_483_647  # a day after every real day


def day_of(seconds: int | None) -> int:
    return NEVER if seconds is None else seconds // DAY


def _table(name: str, keys: list[Column], values: list[str], comment: str) -> Table:
    return Table(name, db.metadata, *keys,
                 *(Column(value, BigInteger, nullable=False, server_default="0") for value in values),
                 comment=comment)


def _day(name: str) -> Column:
    return Column(name, Integer, primary_key=True, autoincrement=False)


def _text(name: str, length: int) -> Column:
    return Column(name, String(length), primary_key=True)


applications = _table(
    "rollup_applications",
    [_day("applied_day"), _text("goal_category", 20), _day("accepted_day"), _day("declined_day")],
    ["n"], "Every mentorship. accepted_day: its trial's start; declined_day: its end if it never had a trial.")
trials = _table(
    "rollup_trials",
    [_day("started_day"), _text("goal_category", 20), _day("churned_day")],
    ["n"], "Mentorships with a trial. churned_day: its end if it ended before trial end.")
cancellations = _table(
    "rollup_cancellations",
    [_day("ended_day"), _text("goal_category", 20), _text("stage", 20), _day("surveyed_day"),
     _text("churn_reason", 30), _text("goal_reached", 10), Column("stars", Integer, primary_key=True,
                                                                   autoincrement=False)],
    ["n"], "Mentorships that had a trial and ended, with their exit survey's answers ('' and 0 without one).")
# The cancellations' settled part groups by the answers (reports/rollup_queries.py): read in this order,
# every column at hand (n too), it needs no sort and no look-up in the table.
Index("ix_rollup_cancellations_answers", cancellations.c.stage, cancellations.c.churn_reason,
      cancellations.c.goal_reached, cancellations.c.stars, cancellations.c.ended_day, cancellations.c.surveyed_day,
      cancellations.c.goal_category, cancellations.c.n)
mentor_surveys = _table(
    "rollup_mentor_surveys",
    [_day("ended_day"), _text("goal_category", 20), Column("mentor_id", Integer, primary_key=True,
                                                           autoincrement=False), _day("surveyed_day")],
    ["n", "stars", "goal_yes"],
    "Ended mentorships with an exit survey, per mentor: surveys, sum of stars, goal reached.")
# A mentor's goal-reached share on their public profile sums their rows.
Index("ix_rollup_mentor_surveys_mentor_id", mentor_surveys.c.mentor_id)
durations = _table(
    "rollup_durations",
    [_day("started_day"), _text("goal_category", 20), _day("ended_day"),
     Column("duration", BigInteger, primary_key=True, autoincrement=False)],
    ["n"], "Mentorships that had a trial and ended: seconds from trial start to end.")

endings = _table(
    "rollup_endings",
    [_day("ended_day"), _text("goal_category", 20), _day("surveyed_day"), _text("goal_reached", 10),
     _text("meeting_preference", 10),
     *(Column(flag, Integer, primary_key=True, autoincrement=False)
       for flag in ("no_checkin", "trial_silent", "low_pulse", "progress_falling", "ended_early")),
     _text("cadence", 20)],
    ["n"], "Mentorships that had a trial and ended, by how their whole run went (data/whole_run.py).")

TABLES = {table.name: table for table in (applications, trials, cancellations, mentor_surveys, durations, endings)}

# A token that changes whenever something settled changes: a write that moves a timestamp of a day
# before today (a back-dated write, an import), or a rebuild. Reports cache what is settled as of a
# day under it (reports/rollup_queries.py); today's writes leave it alone.
version = Table("rollup_version", db.metadata,
                Column("id", Integer, primary_key=True, autoincrement=False),
                Column("token", String(32), nullable=False),
                comment="One row: changes when the settled past changes (see tracker/data/rollups.py).")


def key_columns(table: Table) -> list[str]:
    return [column.name for column in table.primary_key.columns]


def value_columns(table: Table) -> list[str]:
    return [column.name for column in table.columns if not column.primary_key]


class Facts(NamedTuple):
    """What the rollups read of one mentorship: timestamps in whole seconds, the survey's answers (a
    NamedTuple: a rebuild makes a million of them)."""

    goal_category: str
    mentor_id: int
    applied: int
    started: int | None
    ended: int | None
    surveyed: int | None
    stars: int | None
    goal_reached: str | None
    churn_reason: str | None
    meeting_preference: str | None = None
    # How its whole run went, for an ended mentorship with a trial (data/whole_run.py): no_checkin,
    # trial_silent, low_pulse, progress_falling, ended early (0 or 1), cadence.
    run: tuple | None = None


Contributions = dict[tuple[str, tuple], tuple[int, ...]]


def contributions(f: Facts) -> Contributions:
    """{(rollup table, key): values} this mentorship adds."""
    out: Contributions = {}
    started = day_of(f.started)
    declined = day_of(f.ended) if f.started is None else NEVER
    out[(applications.name, (day_of(f.applied), f.goal_category, started, declined))] = (1,)
    if f.started is None:
        return out
    churned = NEVER
    if f.ended is not None and not converted_after(f.ended - f.started):
        churned = day_of(f.ended)
    out[(trials.name, (started, f.goal_category, churned))] = (1,)
    if f.ended is None:
        return out
    ended = day_of(f.ended)
    stage = stage_after(f.ended - f.started)
    surveyed = day_of(f.surveyed)
    if f.surveyed is None:
        answers = ("", "", 0)
    else:
        answers = (f.churn_reason, f.goal_reached, f.stars)
        out[(mentor_surveys.name, (ended, f.goal_category, f.mentor_id, surveyed))] = (
            1, f.stars, 1 if f.goal_reached == "yes" else 0)
    out[(cancellations.name, (ended, f.goal_category, stage, surveyed, *answers))] = (1,)
    out[(durations.name, (started, f.goal_category, ended, f.ended - f.started))] = (1,)
    out[(endings.name, (ended, f.goal_category, surveyed, f.goal_reached if f.surveyed is not None else "",
                        f.meeting_preference or "", *f.run))] = (1,)
    return out


def total(facts: Iterable[Facts]) -> Counter:
    """The rollups' rows for these mentorships: {(table, key): values summed}."""
    sums: Counter = Counter()
    get = sums.get
    for f in facts:
        for where, values in contributions(f).items():
            row = get(where)
            sums[where] = values if row is None else tuple(map(add, row, values))
    return sums


def _seconds(column):
    return type_coerce(column, BigInteger)


def _base_columns():
    m, s = Mentorship, ExitSurvey
    return (m.goal_category, m.mentor_id, _seconds(m.applied_at), _seconds(m.trial_started_at), _seconds(m.ended_at),
            _seconds(s.submitted_at), s.stars, s.goal_reached, s.churn_reason, m.meeting_preference)


def _facts_query(*conditions, with_run: bool = True):
    """The facts of the mentorships meeting `conditions`; with_run: with how the ended ones' runs went."""
    m, s = Mentorship, ExitSurvey
    if not with_run:
        return select(m.id, *_base_columns()).select_from(m).outerjoin(s, s.mentorship_id == m.id).where(*conditions)
    ended = select(m.id).where(m.trial_started_at.is_not(None), m.ended_at.is_not(None), *conditions).subquery()
    run = whole_run.judged(ended)
    stmt = select(m.id, *_base_columns(), *run.columns).select_from(m).outerjoin(s, s.mentorship_id == m.id)
    return run.joined(stmt).where(*conditions)


def _facts(row) -> Facts:
    *fields, preference = row[1:11]
    started, ended = fields[3], fields[4]
    run = None
    if started is not None and ended is not None:
        *flags, cadence = row[11:]
        run = (*(1 if flag else 0 for flag in flags), cadence)
    return Facts(*fields, meeting_preference=preference, run=run)


_BY_IDS: dict[bool, object] = {}


def _facts_by_ids(with_run: bool):
    """_facts_query for the ids bound as "ids", built once: every write reads its mentorships' facts
    twice, and building the whole-run statement cost more than running it."""
    if with_run not in _BY_IDS:
        _BY_IDS[with_run] = _facts_query(Mentorship.id.in_(bindparam("ids", expanding=True)), with_run=with_run)
    return _BY_IDS[with_run]


def facts_of(connection: Connection, mentorship_ids: Iterable[int]) -> list[Facts]:
    """The facts of these mentorships. The whole-run SQL (window functions over check-ins and pulses)
    runs only for those that ended: a write to a running mentorship costs one light query."""
    ids = sorted(set(mentorship_ids))
    found = []
    for start in range(0, len(ids), 5000):
        rows = connection.execute(_facts_by_ids(False), {"ids": ids[start:start + 5000]}).all()
        ended = [row[0] for row in rows if row[4] is not None and row[5] is not None]
        if ended:
            rows = [row for row in rows if row[0] not in set(ended)] + \
                connection.execute(_facts_by_ids(True), {"ids": ended}).all()
        found.extend(_facts(row) for row in rows)
    return found


def all_facts(connection: Connection) -> Iterable[Facts]:
    """Every mentorship's facts, 20,000 at a time. On PostgreSQL through a server-side cursor (a
    million rows are never held at once); on SQLite, whose cursor steps through the statement as it is
    read, as the driver's tuples (integers and text, nothing to convert): SQLAlchemy's rows were a third
    of a rebuild at 1M."""
    if connection.dialect.name == "postgresql":
        yield from map(_facts, connection.execute(_facts_query().execution_options(yield_per=20000)))
        return
    result = connection.execute(_facts_query())
    try:
        while rows := result.cursor.fetchmany(20000):
            yield from map(_facts, rows)
    finally:
        result.close()


# --- writing ---------------------------------------------------------------------------------------

def _insert(connection: Connection, table: Table):
    return (postgresql.insert(table) if connection.dialect.name == "postgresql" else sqlite.insert(table))


_UPSERTS: dict[tuple[str, str], object] = {}


def _upsert(connection: Connection, name: str):
    """INSERT ... ON CONFLICT (key) DO UPDATE SET value = value + excluded.value for rollup `name`, its
    columns bound by name; built once per engine kind and table."""
    if (connection.dialect.name, name) not in _UPSERTS:
        table = TABLES[name]
        keys, names = key_columns(table), value_columns(table)
        stmt = _insert(connection, table).values({column: bindparam(column) for column in keys + names})
        _UPSERTS[(connection.dialect.name, name)] = stmt.on_conflict_do_update(
            index_elements=keys, set_={column: table.c[column] + stmt.excluded[column] for column in names})
    return _UPSERTS[(connection.dialect.name, name)]


def apply(connection: Connection, delta: dict[tuple[str, tuple], tuple[int, ...]]) -> None:
    """Add `delta` to the rollups, one atomic upsert per row, in a fixed order (table, key) so two
    transactions never take the same rows in opposite orders."""
    for (name, key), values in sorted(delta.items()):
        if not any(values):
            continue
        table = TABLES[name]
        connection.execute(_upsert(connection, name),
                           dict(zip(key_columns(table), key)) | dict(zip(value_columns(table), values)))


def difference(before: Iterable[Facts], after: Iterable[Facts]) -> dict[tuple[str, tuple], tuple[int, ...]]:
    delta: dict[tuple[str, tuple], list[int]] = {}
    for sign, facts in ((-1, before), (1, after)):
        for where, values in total(facts).items():
            row = delta.setdefault(where, [0] * len(values))
            for i, value in enumerate(values):
                row[i] += sign * value
    return {where: tuple(values) for where, values in delta.items() if any(values)}


def settled_view(f: Facts | None, today: int):
    """What of a mentorship is settled before `today` (a day): the timestamps of earlier days, and
    the survey's answers if it was given before; None when nothing is. Reports cache only what
    depends on this."""
    if f is None:
        return None
    applied, started, ended, surveyed = (t if t is not None and day_of(t) < today else None
                                         for t in (f.applied, f.started, f.ended, f.surveyed))
    if applied is None and started is None and ended is None and surveyed is None:
        return None
    answers = (f.stars, f.goal_reached, f.churn_reason) if surveyed is not None else None
    run = f.run if ended is not None else None
    return (f.goal_category, f.mentor_id, f.meeting_preference, applied, started, ended, surveyed, answers, run)


def changes_the_settled_past(before: Iterable[Facts], after: Iterable[Facts], today: int) -> bool:
    """Whether the mentorships' settled views differ. A mentorship with nothing settled (one applied
    for today, say, which `before` does not hold yet) has no view, so it changes nothing."""
    views = [sorted(repr(view) for view in (settled_view(f, today) for f in facts) if view is not None)
             for facts in (before, after)]
    return views[0] != views[1]


def new_version(connection: Connection) -> None:
    token = uuid.uuid4().hex
    stmt = _insert(connection, version).values(id=1, token=token)
    connection.execute(stmt.on_conflict_do_update(index_elements=["id"], set_={"token": token}))


def current_version(connection: Connection) -> str | None:
    return connection.execute(select(version.c.token).where(version.c.id == 1)).scalar()


def rebuild(connection: Connection) -> int:
    """Replace every rollup row with a fresh computation from the raw rows; returns the rows written.

    Run it inside a write transaction (services.rollups.rebuild does), so no write of a mentorship
    falls between reading the raw rows and replacing the rollups."""
    return replace(connection, rows_by_table(all_facts(connection)))


def rows_by_table(facts: Iterable[Facts]) -> dict[str, list[tuple]]:
    """`total` of these mentorships as each rollup table's rows, (*key, *values), in key order. No
    database: the demo seeder runs it in its helper process (services/seed.py)."""
    by_table: dict[str, list[tuple]] = {name: [] for name in TABLES}
    for (name, key), values in total(facts).items():
        by_table[name].append((*key, *values))
    for records in by_table.values():
        records.sort()
    return by_table


def replace(connection: Connection, by_table: dict[str, list[tuple]]) -> int:
    """Replace every rollup row with `by_table` (from `rows_by_table`); returns the rows written."""
    for table in TABLES.values():
        connection.execute(delete(table))
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    for name, records in by_table.items():
        # In key order, below the ORM and Core's per-row parameter handling: millions of rows at 1M.
        table = TABLES[name]
        names = key_columns(table) + value_columns(table)
        sql = f"INSERT INTO {name} ({', '.join(names)}) VALUES ({', '.join([mark] * len(names))})"
        for start in range(0, len(records), 10000):
            connection.exec_driver_sql(sql, records[start:start + 10000])
    new_version(connection)
    return sum(map(len, by_table.values()))


def stored(connection: Connection) -> Counter:
    """The rollups as stored, rows whose values are all 0 left out (a count that went up and down)."""
    rows = Counter()
    for name, table in TABLES.items():
        nkeys = len(key_columns(table))
        for row in connection.execute(select(table)):
            values = tuple(row[nkeys:])
            if any(values):
                rows[(name, tuple(row[:nkeys]))] = values
    return rows


def first_difference(connection: Connection) -> str | None:
    """None when the rollups equal a fresh computation from the raw rows; else the first row that
    differs, named."""
    fresh, kept = total(all_facts(connection)), stored(connection)
    for where in sorted(set(fresh) | set(kept), key=repr):
        if fresh.get(where) != kept.get(where):
            name, key = where
            table = TABLES[name]
            columns = ", ".join(f"{column}={value!r}" for column, value in zip(key_columns(table), key))
            return (f"{name} ({columns}): stored {kept.get(where)}, computed from the mentorships "
                    f"{fresh.get(where)} (values: {', '.join(value_columns(table))})")
    return None


# --- kept by every flush ------------------------------------------------------------------------------

_BEFORE = "rollups_before"


def _touched(session: Session, collections) -> set[int]:
    ids = set()
    for collection in collections:
        for obj in collection:
            if isinstance(obj, Mentorship) and obj.id is not None:
                # Only its own columns count: a check-in added to its collection is judged below.
                if obj not in session.dirty or session.is_modified(obj, include_collections=False):
                    ids.add(obj.id)
            elif isinstance(obj, (ExitSurvey, CheckIn, Pulse)):  # what an ended mentorship's run reads
                mentorship_id = obj.mentorship_id
                if mentorship_id is None and obj.mentorship is not None:
                    mentorship_id = obj.mentorship.id
                if mentorship_id is not None and not (isinstance(obj, (CheckIn, Pulse))
                                                      and _known_running(session, mentorship_id)):
                    ids.add(mentorship_id)
    return ids


def _known_running(session: Session, mentorship_id: int) -> bool:
    """The mentorship is in this session and not ended: a check-in or pulse of it does not move its
    facts (`moved_by_activity`), and reading them twice is saved. If the same flush ends it, the
    mentorship itself is touched."""
    m = session.identity_map.get(identity_key(Mentorship, mentorship_id))
    return m is not None and not moved_by_activity(mentorship_id, m.ended_at)


def moved_by_activity(mentorship_id: int, ended_at: datetime | None) -> list[int]:
    """The mentorships whose facts a new check-in or pulse of this one moves: only an ended one's run
    reads them, so none while it has no end."""
    return [] if ended_at is None else [mentorship_id]


@contextmanager
def kept(connection: Connection, mentorship_ids: Iterable[int] = ()):
    """The rollups for a write below the ORM, which the flush listeners below do not see: the facts of
    `mentorship_ids` are read before the block and after it, and the difference recorded. The block
    adds the ids of the mentorships it creates to the set it is given.

        with rollups.kept(connection) as touched:
            touched.add(connection.execute(insert(Mentorship), values).inserted_primary_key[0])
    """
    touched = set(mentorship_ids)
    before = facts_of(connection, touched) if touched else []
    yield touched
    if touched:
        record(connection, before, facts_of(connection, touched))


# What reports cache besides the rollups' facts (rollup_queries: pulse tiers, month one, saves, at-risk)
# also reads these; a flush that adds, changes or removes one holding a timestamp of an earlier day than
# today moves the settled past. The services write them "now", so in practice only a flow that began
# before midnight and ends after it, or a pause that began before today and resumes early, does (a
# harmless extra change of version). A new check-in is the exception: it may be back-dated, and the
# at-risk page reads the check-ins logged today raw instead.
_ALSO_CACHED = (Pulse, CancelFlow, Pause, RiskReview, CheckIn)


def _times(obj) -> Iterable[datetime]:
    state = inspect(obj)
    for attribute in state.mapper.column_attrs:
        history = state.attrs[attribute.key].history
        for value in (*history.added, *history.unchanged, *history.deleted):
            if isinstance(value, datetime):
                yield value


def _moves_cached_past(session: Session) -> bool:
    today = datetime.fromtimestamp(day_of(int(clock.now().timestamp())) * DAY, tz=timezone.utc)
    changed = [obj for obj in (*session.new, *session.dirty, *session.deleted)
               if isinstance(obj, _ALSO_CACHED) and not (isinstance(obj, CheckIn) and obj in session.new)
               and (obj not in session.dirty or session.is_modified(obj))]
    return any(moment < today for obj in changed for moment in _times(obj))


@event.listens_for(db.session, "before_flush")
def _read_before(session: Session, _context, _instances) -> None:
    ids = _touched(session, (session.dirty, session.deleted, session.new))
    session.info[_BEFORE] = (ids, facts_of(session.connection(), ids) if ids else [], _moves_cached_past(session))


@event.listens_for(db.session, "after_flush")
def _apply_after(session: Session, _context) -> None:
    ids, before, moves_past = session.info.pop(_BEFORE, (set(), [], False))
    ids = ids | _touched(session, (session.new, session.dirty))
    if not ids and not moves_past:
        return
    connection = session.connection()
    record(connection, before, facts_of(connection, ids) if ids else [])
    if moves_past:
        new_version(connection)


def record(connection: Connection, before: list[Facts], after: list[Facts]) -> None:
    """Move the rollups from `before` to `after` (the facts of the same mentorships), and change the
    version if that touched the settled past."""
    delta = difference(before, after)
    if delta:
        apply(connection, delta)
        if changes_the_settled_past(before, after, day_of(int(clock.now().timestamp()))):
            new_version(connection)
