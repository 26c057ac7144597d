"""The metrics' grouped counts from the rollups (tracker/data/rollups.py), for what is settled, and
from the raw rows for the few mentorships whose deciding timestamps fall on the as-of day.

For T on UTC day D, a rollup row none of whose key days is D (or D - 7 where the trial's end is
compared with T) answers every comparison with T by its days alone, so it counts exactly as the raw
query would count its mentorships. The rows a key day of which is D are left out of the rollup sum
and read raw instead, by `queries` itself with an extra condition naming exactly those mentorships.
The sum of the two parts is the raw computation (tests/test_rollups.py holds them equal).

What rows settled before D give cannot change during D unless the rollups' version changes (a
back-dated write, an import, a rebuild): each process keeps the last CACHE_ENTRIES of each kind (the
large parts are about 10 MB each at 1M demo mentorships, the others a few kB), so only a day's first
request for a window pays for it.

A filter by mentor reads raw: one mentor's mentorships are few and indexed.
"""
from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import chain
from typing import NamedTuple

import numpy as np
from sqlalchemy import BigInteger, Integer, String, and_, bindparam, case, cast, func, or_, select, type_coerce, union
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from tracker.core import clock
from tracker.core.extensions import db
from tracker.data import report_cache, rollups
from tracker.data.models import CancelFlow, CheckIn, ExitSurvey, Mentorship, Pause, Pulse, RiskReview, User
from tracker.domain.health import NO_CHECKIN_DAYS, TRIAL_SILENT_DAYS
from tracker.domain.lifecycle import (
    FLOW_ABANDONED_AFTER,
    MONTH_3_ENDS,
    PAID_MONTH,
    SAVE_LASTS,
    STATUSES,
    TRIAL_LENGTH,
)
from tracker.domain.vocabulary import GOAL_CATEGORIES
from tracker.reports import metrics, queries
from tracker.reports.metrics import Counts, Ending
from tracker.reports.scope import Scope

DAY = rollups.DAY
TRIAL_DAYS = int(TRIAL_LENGTH.total_seconds()) // DAY
MONTH_SECONDS = int(PAID_MONTH.total_seconds())
MONTH_3_SECONDS = int(MONTH_3_ENDS.total_seconds())
ABANDONED_SECONDS = int(FLOW_ABANDONED_AFTER.total_seconds())
SAVE_LASTS_SECONDS = int(SAVE_LASTS.total_seconds())


def _on_day(column, day: int):
    """The timestamp column falls on UTC day `day` (a range, so its index serves)."""
    return and_(column >= _int(day * DAY), column < _int((day + 1) * DAY))


def _int(value: int):
    return type_coerce(value, BigInteger)


def _s(column):
    return type_coerce(column, BigInteger)


def _window_days(table_day, scope: Scope, today: int) -> list:
    return [table_day >= int(scope.start.timestamp()) // DAY, table_day < int(scope.end.timestamp()) // DAY,
            table_day < today]


def _category(table, scope: Scope) -> list:
    return [table.c.goal_category == scope.goal_category] if scope.goal_category is not None else []


def _sum(column, condition=None):
    value = column if condition is None else case((condition, column), else_=0)
    return func.coalesce(func.sum(value), 0)


# --- the raw side: exactly the mentorships whose key days meet the as-of day ---------------------------

def _ids(*selects):
    """Mentorship.id in the union of `selects` (each one a range on one indexed timestamp), so the
    engine starts from those few rows instead of the whole window."""
    return Mentorship.id.in_(union(*selects) if len(selects) > 1 else selects[0])


def _on(column, day: int, *conditions):
    return select(Mentorship.id).where(_on_day(column, day), *conditions)


def _raw_applications(today: int):
    m = Mentorship
    return _ids(_on(m.applied_at, today), _on(m.trial_started_at, today),
                _on(m.ended_at, today, m.trial_started_at.is_(None)))


def _raw_trials(today: int):
    m = Mentorship
    churned = _s(m.ended_at) - _s(m.trial_started_at) < _int(int(TRIAL_LENGTH.total_seconds()))
    return _ids(_on(m.trial_started_at, today), _on(m.trial_started_at, today - TRIAL_DAYS),
                _on(m.ended_at, today, churned))


def _raw_cancellations(today: int):
    surveyed_today = select(ExitSurvey.mentorship_id).where(_on_day(ExitSurvey.submitted_at, today))
    return _ids(_on(Mentorship.ended_at, today), surveyed_today)


# --- the rollup side ------------------------------------------------------------------------------------

def _application_counts(scope: Scope, today: int) -> tuple[int, int, int]:
    t = rollups.applications
    stmt = select(_sum(t.c.n), _sum(t.c.n, t.c.accepted_day < today), _sum(t.c.n, t.c.declined_day < today)) \
        .where(*_window_days(t.c.applied_day, scope, today), t.c.accepted_day != today, t.c.declined_day != today,
               *_category(t, scope))
    settled = db.session.execute(stmt).one()
    raw = queries.application_counts(scope, _raw_applications(today))
    return tuple(int(a) + int(b) for a, b in zip(settled, raw))


def _trial_counts(scope: Scope, today: int) -> tuple[int, int]:
    t = rollups.trials
    churned = t.c.churned_day < today
    decided = or_(t.c.started_day < today - TRIAL_DAYS, churned)
    stmt = select(_sum(t.c.n, decided), _sum(t.c.n, churned)) \
        .where(*_window_days(t.c.started_day, scope, today), t.c.started_day != today - TRIAL_DAYS,
               t.c.churned_day != today, *_category(t, scope))
    decided_n, churned_n = (int(v) for v in db.session.execute(stmt).one())
    raw_decided, raw_converted = queries.trial_counts(scope, _raw_trials(today))
    return decided_n + raw_decided, decided_n - churned_n + raw_converted


def _counts(scope: Scope, today: int) -> tuple[tuple[int, int, int], tuple[int, int]]:
    """(applications, accepted, declined) and (trials decided, converted) at T: what they were at the
    eve of T's day (the sums above for day D - 1, cached), less what the rows with a deciding timestamp
    on D gave at the eve, plus what they give at T (the rule of _eve_and_today below). A row deciding
    on D keeps its earlier days' rollup row until then, so the eve's value cannot change during D."""
    eve = dataclasses.replace(scope, as_of=_eve(today))
    applications, trials = _cached("counts", scope, today, lambda _scope, _today: (
        _application_counts(eve, today - 1), _trial_counts(eve, today - 1)))
    only = _raw_applications(today)
    applications = _moved(applications, queries.application_counts(eve, only), queries.application_counts(scope, only))
    only = _raw_trials(today)
    return applications, _moved(trials, queries.trial_counts(eve, only), queries.trial_counts(scope, only))


def _moved(at_eve: tuple, today_at_eve: tuple, today_at_t: tuple) -> tuple:
    return tuple(a - b + c for a, b, c in zip(at_eve, today_at_eve, today_at_t))


def _integers(stmt, columns: int) -> np.ndarray:
    """The statement's rows of integers as an array with `columns` columns: read as the driver's
    tuples, below SQLAlchemy's rows (which cost as much again as the reading, at a million rows)."""
    result = db.session.connection().execute(stmt)
    try:
        rows = result.cursor.fetchall()
    finally:
        result.close()
    return np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=len(rows) * columns).reshape(-1, columns)


# --- what is settled before T's day, cached under the rollups' version ---------------------------------

@dataclass(frozen=True)
class Settled:
    """The parts of a scope's counts that only rows settled before day D decide: they cannot change
    during D except through a write that changes the rollups' version."""

    cancellations: dict[tuple, int]  # rollup_cancellations, ended before D
    mentors: dict[str, tuple[int, int, int]]  # rollup_mentor_surveys, ended and surveyed before D
    event_durations: np.ndarray  # trials started and ended before D: durations (seconds) ...
    event_counts: np.ndarray  # ... and how many ended after each
    cohorts: dict[str, tuple[int, dict[int, int]]]  # of those: {month: (size, {bucket: ended})}
    open_starts: np.ndarray  # trials started before D and not ended before D: their starts (seconds) ...
    open_by_month: dict[str, int]  # ... and how many of them started in each UTC month
    latest_starts: dict[str, int]  # {month: the latest trial start before D in it}

    def __reduce__(self):
        """Pickled (for the report cache every process shares) with each array in the fewest bytes its
        values need: 3.8 MB instead of 11 at a million mentorships, which PostgreSQL stores in a quarter
        of the time (the 11 MB took 0.3 s, a quarter of a cold report)."""
        values = (getattr(self, field.name) for field in dataclasses.fields(self))
        return _unpickled_settled, tuple(_Narrowed.of(v) if isinstance(v, np.ndarray) else v for v in values)


class _Narrowed(NamedTuple):
    """An array of integers as its lowest value and the differences from it, in the smallest unsigned
    type that holds them (wrapping around in int64 is exact here: every difference fits in uint64)."""

    low: int
    above: np.ndarray

    @classmethod
    def of(cls, array: np.ndarray) -> _Narrowed:
        low = int(array.min()) if len(array) else 0
        span = int(array.max()) - low if len(array) else 0
        kind = next(kind for kind in (np.uint8, np.uint16, np.uint32, np.uint64) if span <= np.iinfo(kind).max)
        return cls(low, (array - np.int64(low)).astype(kind))

    def widened(self) -> np.ndarray:
        return self.above.astype(np.int64) + np.int64(self.low)


def _unpickled_settled(*values) -> Settled:
    return Settled(*(value.widened() if isinstance(value, _Narrowed) else value for value in values))


_CACHE: OrderedDict[tuple, object] = OrderedDict()
_CACHE_LOCK = threading.Lock()
# The parts holding arrays or per-duration counts (about 10 MB each at 1M) and the grouped counts: a
# dashboard window uses ten parts, so one limit for both would evict a window's own parts.
SETTLING_SECONDS = 60
LARGE_PARTS = frozenset({"settled", "categories", "at_risk", "goal_events"})
CACHE_ENTRIES = {True: 8, False: 64}  # by "is a large part"


def day_settled(at: datetime) -> bool:
    """Whether what is settled before `at`'s day may be kept yet: not in the day's first minute, while a
    write of the day before may still be about to commit (a request's transaction lasts at most
    gunicorn's 30-second timeout); kept earlier, it would be missing all day."""
    return int(at.timestamp()) % DAY >= SETTLING_SECONDS


def forget_settled(shared: bool = False) -> None:
    """Empty this process's cache (the tests do, after emptying the tables); shared: also the copy
    every process shares (tracker/data/report_cache.py)."""
    with _CACHE_LOCK:
        _CACHE.clear()
    if shared:
        report_cache.clear()


# The form of the values in the shared cache: a value is kept there under a token made of the rollups'
# version and this, so that during a rolling deploy (docs/DEPLOY.md) a process of the previous release
# never unpickles what this one stored, nor the other way round (each finds the other's value stale).
SHARED_FORM = 2  # 2: Settled's arrays narrowed (Settled.__reduce__)


def _shared_token(token: str) -> str:
    return hashlib.sha256(f"{token}|{SHARED_FORM}".encode()).hexdigest()[:32]  # report_cache's token is 32


def _cached(part: str, scope: Scope | None, today: int, compute):
    """compute(scope, today), kept under (part, window, filter, day, the rollups' version): in this
    process, and in the database for the other processes (the first to need it computes it)."""
    token = rollups.current_version(db.session.connection())
    now = clock.now()
    # A day after today is not settled yet: today's writes would change it without a new version.
    cacheable = token is not None and (today < int(now.timestamp()) // DAY or
                                       today == int(now.timestamp()) // DAY and day_settled(now))
    # Every filter is in the key: the parts read raw for a mentor are not all the ones a filter by mentor
    # reaches (the responses and the goal events are cached for it too).
    where = (scope.start.isoformat(), scope.end.isoformat(), scope.goal_category, scope.mentor_id) if scope else ()
    key = (part, *where, today, token)
    if not cacheable:
        return compute(scope, today)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    name = "|".join(map(str, (part, *where, today)))
    value = report_cache.load(name, _shared_token(token))
    if value is None:
        value = compute(scope, today)
        report_cache.store(name, today, _shared_token(token), value)
    with _CACHE_LOCK:
        _CACHE[key] = value
        large = part in LARGE_PARTS
        same_kind = [kept for kept in _CACHE if (kept[0] in LARGE_PARTS) == large]  # oldest first
        for kept in same_kind[:max(0, len(same_kind) - CACHE_ENTRIES[large])]:
            del _CACHE[kept]
    return value


def _compute_settled(scope: Scope, today: int) -> Settled:
    event_durations, event_counts, cohorts = _settled_durations(scope, today)
    open_starts = np.sort(_parsed(db.session.scalar(_open_starts(scope, today))))
    days, counts = np.unique(open_starts // DAY, return_counts=True)
    open_by_month = Counter()
    for day, n in zip(days.tolist(), counts.tolist()):
        open_by_month[_month_of(day * DAY)] += n
    return Settled(_settled_cancellations(scope, today), _settled_mentors(scope, today), event_durations, event_counts,
                   cohorts, open_starts, dict(open_by_month), _latest_starts(scope, today))


# --- reading many rows at once --------------------------------------------------------------------------
#
# The settled parts read hundreds of thousands of rows at a million mentorships. A driver's tuple per
# row costs most of a cold report, so each is read as the text of one aggregate instead (group_concat on
# SQLite, string_agg on PostgreSQL) of one integer per row, into which the row's few integers are
# packed, and numpy parses it. A row whose integers do not fit comes whole, as text of its own in a
# second aggregate ("a:b:c;..."), so every row is read exactly (there is none such in practice).

def _joined(value, separator: str = ","):
    """The aggregate of `value` as one text (NULLs left out; NULL if none), `separator` between them."""
    return func.aggregate_strings(cast(value, String), separator)


def _parsed(text: str | None) -> np.ndarray:
    """The integers of a _joined text, every one of them, exactly."""
    if not text:
        return np.zeros(0, dtype=np.int64)
    values = np.fromstring(text, dtype=np.int64, sep=",")
    if len(values) != text.count(",") + 1:  # numpy stops where it cannot read
        raise ValueError("a joined list of integers could not be read whole")
    return values


def _whole(*columns):
    """The row's integers as text, "a:b:c", for _unpacked."""
    text = cast(columns[0], String)
    for column in columns[1:]:
        text = text + ":" + cast(column, String)
    return text


def _unpacked(text: str | None, width: int) -> np.ndarray:
    """The rows of a _joined text of _whole rows (separator ";"), one row of `width` integers each."""
    rows = [[int(value) for value in row.split(":")] for row in text.split(";")] if text else []
    return np.array(rows, dtype=np.int64).reshape(-1, width)


def _window_bits(scope: Scope, today: int) -> tuple[int, int]:
    """(first, bits): the window's first day, and how many bits hold any day _window_days keeps (before
    the window's end and before today) as days since the first."""
    first = int(scope.start.timestamp()) // DAY
    last = min(int(scope.end.timestamp()) // DAY, today)
    return first, max(1, last - first).bit_length()


def _months(first: int, days: np.ndarray) -> np.ndarray:
    """The UTC month (months since 1970-01) of each of `days`, days since day `first`."""
    span = int(days.max()) + 1 if len(days) else 0
    return (first + np.arange(span)).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)[days]


def _summed(keys: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The keys whose weights (None: 1 each) do not sum to 0, ascending, and those sums (in integers:
    exact)."""
    if not len(keys):
        return keys, np.zeros(0, dtype=np.int64)
    low, high = int(keys.min()), int(keys.max())
    if high - low < 4 * len(keys) + 4096:  # a narrow range, such as (group, month) pairs: a sum per key
        if weights is None:
            sums = np.bincount(keys - low, minlength=high - low + 1).astype(np.int64)
        else:
            sums = np.zeros(high - low + 1, dtype=np.int64)
            np.add.at(sums, keys - low, weights)
        found = np.flatnonzero(sums)
        return found + low, sums[found]
    distinct, sums = np.unique(keys, return_counts=True)  # a sort, without np.unique's inverse
    sums = sums.astype(np.int64)
    if weights is not None:
        other = weights != 1
        np.add.at(sums, np.searchsorted(distinct, keys[other]), weights[other] - 1)
    return distinct[sums != 0], sums[sums != 0]


class _Unindexed(FunctionElement):
    """A day column in a condition that SQLite must not serve from an index (a unary +), so that it reads the
    index the statement's GROUP BY follows instead of ranging over the primary key and sorting what it
    found; the column itself on PostgreSQL, which chooses by cost (and chooses that index)."""

    type = Integer()  # a day
    inherit_cache = True


@compiles(_Unindexed)
def _compile_unindexed(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)


@compiles(_Unindexed, "sqlite")
def _compile_unindexed_sqlite(element, compiler, **kw):
    return f"+{compiler.process(element.clauses, **kw)}"


def _settled_cancellations(scope: Scope, today: int) -> dict[tuple, int]:
    """{(UTC month ended, stage, churn reason, goal reached, stars): n} of the cancellations ended before
    D, their answers None unless surveyed before D. One pass over ix_rollup_cancellations_answers, in
    the order of its GROUP BY by the answers (no sort); each row's (n, day ended, surveyed before D)
    packed into one integer, the months summed in numpy."""
    t = rollups.cancellations
    first, bits = _window_bits(scope, today)
    surveyed = case((t.c.surveyed_day < today, 1), else_=0)
    fits = and_(t.c.n >= 0, t.c.n < _int(1 << (61 - bits)))
    packed = (t.c.n * _int(1 << bits) + (t.c.ended_day - first)) * 2 + surveyed
    answers = (t.c.stage, t.c.churn_reason, t.c.goal_reached, t.c.stars)
    stmt = select(*answers, _joined(case((fits, packed))), _joined(case((~fits, _whole(t.c.ended_day - first,
                                                                                            surveyed, t.c.n))), ";")) \
        .where(*_window_days(_Unindexed(t.c.ended_day), scope, today), t.c.surveyed_day != today,
               *_category(t, scope)) \
        .group_by(*answers)
    # The keys: each group's answers (its rows surveyed before D), then each stage's unanswered (the rest).
    keys, texts, whole = [], [], []
    for *answered, text, other in db.session.execute(stmt):
        keys.append(tuple(answered))
        texts.append(text or "")
        whole.append(_unpacked(other, 3))
    stages = list(dict.fromkeys(stage for stage, *_ in keys))
    unanswered = np.array([len(keys) + stages.index(stage) for stage, *_ in keys], dtype=np.int64)
    keys += [(stage, None, None, None) for stage in stages]

    values = _parsed(",".join(text for text in texts if text))
    group = np.repeat(np.arange(len(texts)), [text.count(",") + 1 if text else 0 for text in texts])
    days, was_surveyed, n = (values >> 1) % (1 << bits), values & 1, values >> (bits + 1)
    if any(len(rows) for rows in whole):
        group = np.concatenate([group, *(np.full(len(rows), i) for i, rows in enumerate(whole))])
        rows = np.concatenate(whole)
        days, was_surveyed, n = (np.concatenate(pair) for pair in zip((days, was_surveyed, n), rows.T))
    key = np.where(was_surveyed == 1, group, unanswered[group])
    months = _months(first, days)
    low = int(months.min()) if len(months) else 0
    span = int(months.max()) - low + 1 if len(months) else 1
    found, sums = _summed(key * span + (months - low), n)
    cancellations = {}
    for k, count in zip(found.tolist(), sums.tolist()):
        which, month = divmod(k, span)
        cancellations[(str(np.datetime64(low + month, "M")), *keys[which])] = count
    return cancellations


def _settled_mentors(scope: Scope, today: int) -> dict[str, tuple[int, int, int]]:
    """{mentor's email: (surveys, sum of stars, goal reached)} of the surveys given before D: summed per
    mentor, then their emails (one each)."""
    t = rollups.mentor_surveys
    sums = (select(t.c.mentor_id, func.sum(t.c.n).label("n"), func.sum(t.c.stars).label("stars"),
                   func.sum(t.c.goal_yes).label("yes"))
            .where(*_window_days(t.c.ended_day, scope, today), t.c.surveyed_day < today, *_category(t, scope))
            .group_by(t.c.mentor_id).subquery())
    stmt = select(User.email, sums.c.n, sums.c.stars, sums.c.yes).join_from(sums, User, User.id == sums.c.mentor_id)
    return {email: (int(n), int(stars), int(yes)) for email, n, stars, yes in db.session.execute(stmt).all()}


def _settled_durations(scope: Scope, today: int):
    """The trials started and ended before D: their distinct durations (seconds), ascending, and how
    many ended at each (durations whose count sums to 0 left out: the raw rows have no such ending); and
    their cohorts, {UTC month started: (size, {_bucket of the duration: how many})}. Each row's
    duration and start day packed into one integer (n = 1), grouped in numpy."""
    t = rollups.durations
    first, bits = _window_bits(scope, today)
    fits = and_(t.c.n == 1, t.c.duration >= 0, t.c.duration < _int(1 << (62 - bits)))
    packed = t.c.duration * _int(1 << bits) + (t.c.started_day - first)
    stmt = select(_joined(case((fits, packed))), _joined(case((~fits, _whole(t.c.duration, t.c.n,
                                                                             t.c.started_day - first))), ";")) \
        .where(*_window_days(t.c.started_day, scope, today), t.c.ended_day < today, *_category(t, scope))
    text, other = db.session.execute(stmt).one()
    values, whole = _parsed(text), _unpacked(other, 3)
    durations, days, n = values >> bits, values % (1 << bits), None  # n: 1 each
    if len(whole):
        durations, days = np.concatenate([durations, whole[:, 0]]), np.concatenate([days, whole[:, 2]])
        n = np.concatenate([np.ones(len(values), dtype=np.int64), whole[:, 1]])
    event_durations, event_counts = _summed(durations, n)

    # The cohorts: the UTC month of the start day and _bucket of the duration.
    months = _months(first, days)
    buckets = (durations + (MONTH_SECONDS - 1)) // MONTH_SECONDS - 1
    cohorts: dict[str, tuple[int, dict[int, int]]] = {}
    if len(durations):
        low_month, low_bucket = int(months.min()), int(buckets.min())
        width = int(buckets.max()) - low_bucket + 1
        found, sums = _summed((months - low_month) * width + (buckets - low_bucket), n)
        for key, count in zip(found.tolist(), sums.tolist()):
            month, bucket = divmod(key, width)
            month = str(np.datetime64(low_month + month, "M"))
            size, kept = cohorts.get(month, (0, {}))
            kept[bucket + low_bucket] = count
            cohorts[month] = (size + count, kept)
    return event_durations, event_counts, cohorts


def _open_starts(scope: Scope, today: int):
    """The trial starts (seconds) of the scope's trials started before D and not ended before D, joined."""
    m = Mentorship
    return select(_joined(_s(m.trial_started_at))).where(
        *queries.scope_conditions_on_trial_start(scope), _s(m.trial_started_at) < _int(today * DAY),
        or_(m.ended_at.is_(None), _s(m.ended_at) >= _int(today * DAY)))


def _latest_starts(scope: Scope, today: int) -> dict[str, int]:
    """{UTC month: the latest trial start before day D in it} for the scope's trials (started in the
    window by T): one walk down the trial-start index per month, from the month's end (a GROUP BY by
    month read every trial). The upper bounds are folded into one, so the walk starts where it should."""
    m = Mentorship
    started = _s(m.trial_started_at)
    lowest, cap = int(scope.start.timestamp()), min(int(scope.end.timestamp()), scope.t + 1, today * DAY)

    def latest_before(end: int) -> int | None:
        return db.session.scalar(select(started).where(started >= _int(lowest), started < _int(min(end, cap)),
                                                       *queries.scope_filters(scope))
                                 .order_by(m.trial_started_at.desc()).limit(1))

    found: dict[str, int] = {}
    latest = latest_before(cap)
    while latest is not None:
        month = _month_of(latest)
        found[month] = latest
        year, number = month.split("-")
        latest = latest_before(int(datetime(int(year), int(number), 1, tzinfo=timezone.utc).timestamp()))
    return found


def _endings(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rollup rows (duration, n, ...) as the distinct durations, ascending, and how many ended at each;
    a duration whose rows sum to 0 (a count that went up and down) is left out, as the raw rows have
    no such ending."""
    durations, inverse = np.unique(rows[:, 0], return_inverse=True)
    counts = np.bincount(inverse, weights=rows[:, 1], minlength=len(durations)).astype(np.int64)
    kept = counts != 0
    return durations[kept], counts[kept]


# --- today's rows, read raw -------------------------------------------------------------------------------

def _ended_today(scope: Scope, today: int) -> np.ndarray:
    """(start, end) of the trials started before D that ended on D by T."""
    m = Mentorship
    stmt = select(_s(m.trial_started_at), _s(m.ended_at)).where(
        _ids(_on(m.ended_at, today)), *queries.scope_conditions_on_trial_start(scope),
        _s(m.trial_started_at) < _int(today * DAY), m.ended_at <= scope.as_of)
    return _integers(stmt, 2)


def _month_of(seconds: int) -> str:
    """queries.utc_month in Python: the year in four digits, as the engines write it (strftime's %Y
    may not pad a year before 1000)."""
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return f"{moment.year:04d}-{moment.month:02d}"


def _bucket(lived: int) -> int:
    return (lived + MONTH_SECONDS - 1) // MONTH_SECONDS - 1


def _started_today(today: int):
    return _ids(_on(Mentorship.trial_started_at, today))


def _durations(scope: Scope, today: int, settled: Settled, ended_today: np.ndarray) -> metrics.EndedAndOpen:
    """KM's groups: the settled endings; the trials still open at D, ended by T (from today's rows)
    or censored at T; and the trials started on D, read raw."""
    raw = queries.duration_groups(scope, _started_today(today))
    return _merged(scope.t, settled.event_durations, settled.event_counts, settled.open_starts, ended_today, raw)


def _merged(t: int, event_durations, event_counts, open_starts, ended_today: np.ndarray, raw) -> metrics.EndedAndOpen:
    """The groups of the settled endings, the trials open at D (censored at T unless in `ended_today`,
    their (start, end) by T) and raw groups: the settled endings as they are, the rest merged into one
    part (metrics.EndedAndOpen)."""
    starts, ends = ended_today[:, 0], ended_today[:, 1]
    raw = metrics.DurationGroups.of(raw)
    zeros = lambda n: np.zeros(n, dtype=np.int64)  # noqa: E731
    ones = lambda n: np.ones(n, dtype=np.int64)  # noqa: E731
    # The open trials' censoring times ascend as their starts descend. The day's own rows go in with
    # them: those ended today are an event at their length and no longer censored at T, which can
    # empty a censoring time.
    censoring, censored_at = _distinct(t - open_starts[::-1])
    other = metrics.merge_sorted(
        metrics.DurationGroups(censoring, zeros(len(censoring)), censored_at),
        _grouped(np.concatenate([ends - starts, t - starts, raw.durations]),
                 np.concatenate([ones(len(starts)), zeros(len(starts)), raw.events]),
                 np.concatenate([zeros(len(starts)), -ones(len(starts)), raw.censored])))
    keep = (other.events != 0) | (other.censored != 0)
    return metrics.EndedAndOpen(metrics.DurationGroups(event_durations, event_counts, None),
                                metrics.DurationGroups(other.durations[keep], other.events[keep], other.censored[keep]))


def _distinct(ascending: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of an ascending array and how often each occurs."""
    first = np.flatnonzero(np.concatenate(([len(ascending) > 0], ascending[1:] != ascending[:-1])))
    return ascending[first], np.diff(np.append(first, len(ascending))).astype(np.int64)


def _grouped(durations: np.ndarray, events: np.ndarray, censored: np.ndarray) -> metrics.DurationGroups:
    """(durations, events, censored) in any order, summed per distinct duration, ascending."""
    order = np.argsort(durations, kind="stable")
    durations, events, censored = durations[order], events[order], censored[order]
    if not len(durations):
        return metrics.DurationGroups(durations, events, censored)
    first = np.flatnonzero(np.concatenate(([True], durations[1:] != durations[:-1])))
    return metrics.DurationGroups(durations[first], np.add.reduceat(events, first), np.add.reduceat(censored, first))


def _cohorts(scope: Scope, today: int, settled: Settled, ended_today: np.ndarray) -> dict:
    groups = {month: (size, dict(buckets)) for month, (size, buckets) in settled.cohorts.items()}

    def add(month: str, size: int, buckets: dict[int, int]) -> None:
        total, kept = groups.get(month, (0, {}))
        for b, n in buckets.items():
            kept[b] = kept.get(b, 0) + n
        groups[month] = (total + size, kept)

    for month, n in settled.open_by_month.items():
        add(month, n, {})
    for start, end in ended_today.tolist():
        add(_month_of(start), 0, {_bucket(end - start): 1})
    latest = dict(settled.latest_starts)
    for month, (size, last, buckets) in queries.cohort_groups(scope, _started_today(today)).items():
        add(month, size, buckets)
        latest[month] = max(latest.get(month, last), last)
    return {month: (size, latest[month], buckets) for month, (size, buckets) in groups.items()}


def _cancellation_groups(scope: Scope, today: int, settled: Settled) -> dict[tuple, int]:
    groups = dict(settled.cancellations)
    for key, n in queries.cancellation_groups(scope, _raw_cancellations(today)).items():
        groups[key] = groups.get(key, 0) + n
    return groups


def _mentor_survey_rows(scope: Scope, today: int, settled: Settled) -> list[tuple[str, int, int, int]]:
    rows = {email: list(values) for email, values in settled.mentors.items()}
    for email, n, stars, yes in queries.mentor_survey_rows(scope, _raw_cancellations(today)):
        row = rows.setdefault(email, [0, 0, 0])
        row[0] += n
        row[1] += stars
        row[2] += yes
    return [(email, n, stars, yes) for email, (n, stars, yes) in rows.items() if n]


def measure(scope: Scope) -> Counts:
    """What queries.measure gives, from the rollups wherever they hold the answer."""
    if scope.mentor_id is not None:
        return queries.measure(scope)
    today = scope.t // DAY
    (applications, accepted, declined), (decided, converted) = _counts(scope, today)
    settled = _cached("settled", scope, today, _compute_settled)
    ended_today = _ended_today(scope, today)
    return Counts(applications=applications, accepted=accepted, declined=declined,
                  trials_decided=decided, trials_converted=converted,
                  cancellations=_cancellation_groups(scope, today, settled),
                  durations=_durations(scope, today, settled, ended_today),
                  cohorts=_cohorts(scope, today, settled, ended_today),
                  mentors=_mentor_survey_rows(scope, today, settled), as_of_seconds=scope.t)


# --- the health and research pages: cancellations by how their whole run went ----------------------------

def _settled_endings(scope: Scope, today: int) -> dict[Ending, int]:
    t = rollups.endings
    goal = case((t.c.surveyed_day < today, t.c.goal_reached), else_="")
    columns = (t.c.no_checkin, t.c.trial_silent, t.c.low_pulse, t.c.progress_falling, t.c.ended_early, t.c.cadence,
               t.c.meeting_preference, t.c.goal_category, goal)
    stmt = select(*columns, func.sum(t.c.n)) \
        .where(*_window_days(t.c.ended_day, scope, today), t.c.surveyed_day != today, *_category(t, scope)) \
        .group_by(*columns)
    groups: dict[Ending, int] = {}
    for a, b, c, d, e, cadence, preference, category, reached, n in db.session.execute(stmt).all():
        if n:
            key = Ending(bool(a), bool(b), bool(c), bool(d), bool(e), cadence, preference or None, category,
                         reached or None)
            groups[key] = groups.get(key, 0) + int(n)
    return groups


def ending_groups(scope: Scope) -> dict[Ending, int]:
    """What queries.ending_groups gives, from the rollups for the cancellations settled before T's day."""
    if scope.mentor_id is not None:
        return queries.ending_groups(scope)
    today = scope.t // DAY
    groups = dict(_cached("endings", scope, today, _settled_endings))
    for key, n in queries.ending_groups(scope, _raw_cancellations(today)).items():
        groups[key] = groups.get(key, 0) + n
    return groups


# --- the research page: survival per goal category ---------------------------------------------------------

def _settled_by_category(scope: Scope, today: int) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """{category: (durations of the settled endings, how many at each, starts of the trials open at D)}."""
    t, m = rollups.durations, Mentorship
    settled = {}
    for category in GOAL_CATEGORIES if scope.goal_category is None else (scope.goal_category,):
        rows = _integers(select(t.c.duration, t.c.n).where(
            *_window_days(t.c.started_day, scope, today), t.c.ended_day < today, t.c.goal_category == category), 2)
        stmt = select(_s(m.trial_started_at)).where(
            *queries.scope_conditions_on_trial_start(scope), m.goal_category == category,
            _s(m.trial_started_at) < _int(today * DAY), or_(m.ended_at.is_(None), _s(m.ended_at) >= _int(today * DAY)))
        settled[category] = (*_endings(rows), np.sort(_integers(stmt, 1)[:, 0]))  # _merged needs them sorted
    return settled


def duration_groups_by_category(scope: Scope) -> dict[str, metrics.DurationGroups | metrics.EndedAndOpen]:
    """What queries.duration_groups_by_category gives (each category's groups as arrays), from the
    rollups for the endings settled before T's day."""
    if scope.mentor_id is not None:
        return queries.duration_groups_by_category(scope)
    today = scope.t // DAY
    settled = _cached("categories", scope, today, _settled_by_category)
    raw = queries.duration_groups_by_category(scope, _started_today(today))
    groups = {}
    for category, (durations, counts, open_starts) in settled.items():
        ended_today = _ended_today(dataclasses.replace(scope, goal_category=category), today)
        merged = _merged(scope.t, durations, counts, open_starts, ended_today, raw.get(category, []))
        if len(merged):
            groups[category] = merged
    return groups


# --- pulse tiers, month one and saves: the raw query at the day's eve, cached, plus today's rows -----------
#
# These numbers have no rollup. For T on day D, let T0 be the last second of the day before D. Every
# comparison these numbers make with T is "timestamp (maybe shifted by a fixed length) <= T" or its
# negation, which gives the same answer with T0 unless the timestamp falls on D. So a mentorship (or
# cancel flow) with no deciding timestamp on D counts the same at T as at T0, and
#     Q(T) = Q(T0) - Q_today(T0) + Q_today(T),
# where Q_today reads only the rows with a deciding timestamp on D (through the indexes on those
# timestamps). Q(T0) reads nothing of day D, not even its first second (a write of that second may
# commit after it is computed), so it is cached like the settled rollup sums, under the rollups'
# version, which any write that moves a pulse or a cancel flow of an earlier day changes (data/rollups.py).

def _eve(today: int) -> datetime:
    """T0: the last second before day `today`."""
    return datetime.fromtimestamp(today * DAY - 1, tz=timezone.utc)


def _eve_and_today(part: str, scope: Scope | None, at: datetime, grouped_at, today_rows) -> dict:
    """grouped_at(moment, *only) -> {key: count}, as at `at`, from its cached value at the eve of
    `at`'s day and the rows `today_rows(D)` (a condition) names, read raw at both moments."""
    today = int(at.timestamp()) // DAY
    eve = _eve(today)
    counts = Counter(_cached(part, scope, today, lambda _scope, _today: grouped_at(eve)))
    only = today_rows(today)
    counts.subtract(grouped_at(eve, only))
    counts.update(grouped_at(at, only))
    return {key: n for key, n in counts.items() if n}


def _at_day_start(part: str, scope: Scope, grouped, today_rows) -> dict:
    """grouped(scope, *only) -> {key: count}, the same way (_eve_and_today) for the scope's T."""
    return _eve_and_today(part, scope, scope.as_of,
                          lambda moment, *only: grouped(dataclasses.replace(scope, as_of=moment), *only), today_rows)


def _raw_statuses(today: int):
    m = Mentorship
    return _ids(_on(m.applied_at, today), _on(m.trial_started_at, today), _on(m.trial_started_at, today - TRIAL_DAYS),
                _on(m.ended_at, today), select(Pause.mentorship_id).where(_on_day(Pause.starts_at, today)),
                select(Pause.mentorship_id).where(_on_day(Pause.ends_at, today)))


def counts_by_status(at: datetime) -> dict[str, int]:
    """What queries.counts_by_status gives, the same way: the eve cached, and the mentorships whose
    status can change today (applied, started, trial ending, ended, pause beginning or ending)."""
    counts = _eve_and_today("statuses", None, at, queries.counts_by_status, _raw_statuses)
    return {status: counts.get(status, 0) for status in STATUSES}


def _raw_pulse_tiers(today: int):
    answered = select(Pulse.mentorship_id).where(_on_day(Pulse.submitted_at, today))
    return _ids(_on(Mentorship.trial_started_at, today), answered)


def _raw_month_one(today: int):
    m = Mentorship
    answered = select(Pulse.mentorship_id).where(_on_day(Pulse.submitted_at, today))
    surveyed = select(ExitSurvey.mentorship_id).where(_on_day(ExitSurvey.submitted_at, today))
    month_3_ends = _on_range(m.trial_started_at, today * DAY - MONTH_3_SECONDS, (today + 1) * DAY - MONTH_3_SECONDS)
    return _ids(_on(m.trial_started_at, today), _on(m.ended_at, today), answered, surveyed,
                select(m.id).where(month_3_ends))


def _raw_saves(today: int):
    f = CancelFlow
    on = lambda column: select(f.id).where(_on_day(column, today))  # noqa: E731
    ago = lambda column, seconds: select(f.id).where(  # noqa: E731
        _on_range(column, today * DAY - seconds, (today + 1) * DAY - seconds))
    return f.id.in_(union(on(f.started_at), on(f.offer_shown_at), on(f.offer_declined_at), on(f.offer_accepted_at),
                          on(f.cancelled_at), on(f.superseded_at), ago(f.started_at, ABANDONED_SECONDS),
                          ago(f.offer_accepted_at, SAVE_LASTS_SECONDS)))


def _on_range(column, start: int, end: int):
    return and_(column >= _int(start), column < _int(end))


def pulse_tier_groups(scope: Scope) -> dict[str | None, int]:
    """What queries.pulse_tier_groups gives."""
    if scope.mentor_id is not None:
        return queries.pulse_tier_groups(scope)
    return _at_day_start("pulse_tiers", scope, queries.pulse_tier_groups, _raw_pulse_tiers)


def month_one_groups(scope: Scope) -> dict[metrics.MonthOne, int]:
    """What queries.month_one_groups gives."""
    if scope.mentor_id is not None:
        return queries.month_one_groups(scope)
    return _at_day_start("month_one", scope, queries.month_one_groups, _raw_month_one)


def save_groups(scope: Scope) -> dict[tuple, int]:
    """What queries.save_groups gives."""
    if scope.mentor_id is not None:
        return queries.save_groups(scope)
    return _at_day_start("saves", scope, queries.save_groups, _raw_saves)


# --- the at-risk list: judged at the day's start (cached), and the mentorships whose judgement can move today --

def _moving_at_risk(today: int):
    """The ids of the mentorships whose at-risk judgement can differ between T's day start and T:
    anything they have falls on that day (a start, a trial's day 3 or end, 14 days since the start or
    a check-in, an end, a check-in occurring or logged, a pulse, a pause beginning or ending, a
    "handled"). A union of index ranges, read as it is (not joined back to the mentorships)."""
    m, c = Mentorship, CheckIn
    by_mentorship = lambda table, column, day: select(table.mentorship_id).where(_on_day(column, day))  # noqa: E731
    started_days_ago = (0, TRIAL_SILENT_DAYS, TRIAL_DAYS, NO_CHECKIN_DAYS)
    return union(*(_on(m.trial_started_at, today - days) for days in started_days_ago),
                 _on(m.ended_at, today),
                 *(by_mentorship(c, c.occurred_at, today - days) for days in (0, NO_CHECKIN_DAYS)),
                 by_mentorship(c, c.logged_at, today), by_mentorship(Pulse, Pulse.submitted_at, today),
                 by_mentorship(Pause, Pause.starts_at, today), by_mentorship(Pause, Pause.ends_at, today),
                 by_mentorship(RiskReview, RiskReview.handled_at, today))


def at_risk(at: datetime, shown: int) -> queries.AtRisk:
    """What queries.at_risk gives: the judgement at the day's start, cached, with the few mentorships
    whose judgement can move during the day judged again at `at` (back-dated check-ins included: they
    are logged today) in place of theirs. Exact for the same reason as _at_day_start; whether one ran
    at the day's start is not moved by today's writes (a back-dated one changes the version token)."""
    today = int(at.timestamp()) // DAY
    day_start = _eve(today)
    settled = _cached("at_risk", None, today, lambda _scope, _today: queries.risk_judged(day_start))
    moving = np.array(sorted(db.session.scalars(_moving_at_risk(today))), dtype=np.int64)
    # The ids written into the statement: read once here, and no limit on bound parameters applies.
    only = Mentorship.id.in_(bindparam("moving", moving.tolist(), expanding=True, literal_execute=True))
    now = queries.risk_judged(at, only)
    kept = settled.running_ids[~np.isin(settled.running_ids, moving, assume_unique=True)]
    moving_ids = set(moving.tolist())
    flagged = {i: value for i, value in settled.flagged.items() if i not in moving_ids} | now.flagged
    return queries.at_risk(at, shown, queries.RiskJudged(np.concatenate([kept, now.running_ids]), flagged))


def _raw_responses(today: int):
    m = Mentorship
    surveyed = select(ExitSurvey.mentorship_id).where(_on_day(ExitSurvey.submitted_at, today))
    return _ids(_on(m.ended_at, today), surveyed)


def response_groups(scope: Scope) -> dict[tuple[str, str, bool], int]:
    """What queries.response_groups gives: the eve cached, and the cancellations ended or surveyed on
    T's day read raw (a window ending before T's day has none of today's endings, but a survey given
    today still changes who answered)."""
    return _at_day_start("responses", scope, queries.response_groups, _raw_responses)


def _raw_goal_events(today: int):
    m = Mentorship
    surveyed = select(ExitSurvey.mentorship_id).where(_on_day(ExitSurvey.submitted_at, today))
    return _ids(_on(m.trial_started_at, today), _on(m.ended_at, today), surveyed)


def goal_event_groups(scope: Scope) -> dict[int, int]:
    """What queries.goal_event_groups gives: cached at the eve of T's day, and the mentorships whose
    cause can change that day (started, ended or surveyed on it) read raw."""
    return _at_day_start("goal_events", scope, queries.goal_event_groups, _raw_goal_events)


def endings(scope: Scope, durations: metrics.DurationGroups | None = None) -> metrics.Endings:
    """The endings over time of the retention population; `durations`: its groups if already measured."""
    if durations is None:
        durations = measure(scope).durations
    return metrics.cumulative_incidence(durations, goal_event_groups(scope))
