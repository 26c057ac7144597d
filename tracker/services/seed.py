"""A believable, reproducible demo marketplace: same seed and end day, same data.

Eighteen months of history. Mentors differ in quality (it moves ratings, reasons and trial
churn) and in how often they meet (weekly meeting goes with reaching the goal more often);
how people meet (video, in person, mixed) makes no difference, as in the research; most paid
mentorships end after 2-3 months. Rows are written in bulk with explicit ids.

The one writer that does not use `database.unit_of_work`: it fills an *empty* database from the
command line, where no request competes for the writer queue, and at 100k+ mentorships the ORM's
per-object work costs more than the database's, so `_Writer` writes below the ORM (INSERTs of many
rows, or COPY), rebuilds the secondary indexes once at the end, and `seed_demo` commits the whole seed
once. Where there is fork, a helper process does the pure Python half (drawing the rows, summing the
rollups) beside the database's half (`_HelperProcess`).
"""
from __future__ import annotations

import gc
import itertools
import multiprocessing
import random
import sqlite3
import sys
import traceback
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from math import exp, floor

from sqlalchemy import func, select, text
from werkzeug.security import generate_password_hash

from tracker.core.extensions import db
from tracker.data import review_stats, rollups
from tracker.data.models import (
    CancelFlow,
    CheckIn,
    ExitSurvey,
    MentorProfile,
    Mentorship,
    Pause,
    Pulse,
    Review,
    User,
    UTCDateTime,
)
from tracker.domain.accounts import search_name
from tracker.domain.lifecycle import (
    DEFAULT_OFFERS,
    PAID_MONTH,
    PULSE_OPENS_BEFORE_END,
    PULSE_OPENS_BEFORE_MONTH_END,
    TRIAL_LENGTH,
    offer_for,
    periods_until,
)
from tracker.domain.reviews import display_name
from tracker.domain.vocabulary import (
    CHURN_REASONS,
    GOAL_CATEGORIES,
    PROGRESS_MAX,
    PROGRESS_MIN,
    STARS_MAX,
    STARS_MIN,
    USEFULNESS_MAX,
    USEFULNESS_MIN,
)

DEMO_PASSWORD = "demo-password"
HISTORY = timedelta(days=540)
CHUNK = 5000

FIRST = ["Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jamal", "Kira", "Liam",
         "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera", "Wen", "Yusuf", "Zoe"]
LAST = ["Adams", "Berg", "Costa", "Dubois", "Eze", "Fischer", "Garcia", "Hansen", "Ito", "Jensen", "Khan",
        "Lopez", "Moreau", "Nakamura", "Okafor", "Petrov", "Rossi", "Silva", "Tanaka", "Usman", "Weber"]
FIELDS = [
    ("Staff engineer at a payments company", "Backend, System design, Career growth"),
    ("Product manager, ex-startup founder", "Product management, Startups, Fundraising"),
    ("Senior data scientist", "Data science, Machine learning, Python"),
    ("Engineering manager", "Leadership, Hiring, Promotion"),
    ("Design lead at a SaaS company", "Product design, UX research, Portfolio reviews"),
    ("Frontend architect", "React, TypeScript, Web performance"),
    ("DevOps and cloud consultant", "AWS, Kubernetes, Infrastructure"),
    ("Career coach for career changers", "Career change, Interviews, CV review"),
]
GOALS = {
    "change_careers": ["Move from teaching into a junior developer role within a year.",
                       "Switch from finance into product management and understand what to learn first."],
    "extend_skillset": ["Get comfortable with system design so I can lead bigger projects.",
                        "Learn machine learning well enough to ship a model at work."],
    "get_promoted": ["Reach senior engineer at my next review cycle and know what is missing.",
                     "Grow from designer to design lead and manage my first direct report."],
    "land_first_job": ["Land my first developer job after a bootcamp, with a portfolio that stands out.",
                       "Get my first data analyst role and prepare for technical interviews."],
    "start_business": ["Launch a small SaaS product and find the first ten paying customers.",
                       "Validate a consulting business idea before I quit my job."],
    "other": ["Get better at public speaking and present at a conference this year.",
              "Build confidence negotiating salary and handling difficult conversations."],
}
# Public reviews, by how the mentee rated in public: a third of the mentees whose mentorship went past
# its trial write one at the end of the exit survey, a little kinder in public than in private.
REVIEW_TEXTS = {
    "good": ["Clear plans every week and honest feedback. I got where I wanted to be.",
             "Patient, well prepared, and always pushed me one step further.",
             "Practical advice I could use the same day. Highly recommended."],
    "mixed": ["Helpful sessions, though we sometimes ran out of time.",
              "Good advice overall; I would have liked more structure."],
    "bad": ["Sessions were often rescheduled and felt unprepared.",
            "Not the right fit for my goal, unfortunately."],
}
MENTOR_FEEDBACK = {
    "good": ["More written notes after each call would help me remember.", "Nothing, honestly: great sessions.",
             "Sharing a reading list earlier would have sped things up."],
    "bad": ["Often answered days late.", "Sessions felt unstructured; we drifted off my goal.",
            "Cancelled two calls at short notice.", "Advice was generic, not about my situation."],
}
PLATFORM_FEEDBACK = ["Cheaper plans for students.", "A shared place for notes and tasks.",
                     "Reminders before calls.", "Easier rescheduling.", ""]
# Check-in rhythm: days between meetings (None = irregular) and its lift on reaching the goal.
RHYTHMS = [("weekly", 7, 0.22), ("biweekly", 14, 0.14), ("monthly", 30, -0.05), ("irregular", None, -0.12)]
# How many paid months a mentorship lasts, before quality moves it: most end after 2-3 months.
MONTH_WEIGHTS = [(1, 18), (2, 30), (3, 24), (4, 10), (5, 6), (6, 4), (8, 4), (12, 3), (18, 1)]
# What the draws choose from, built once (millions of draws at 1M). A value listed twice is drawn twice as often.
MONTHS = [m for m, _ in MONTH_WEIGHTS]
MONTHS_CUMULATIVE = list(itertools.accumulate(w for _, w in MONTH_WEIGHTS))  # random.choices' own cum_weights
CATEGORY_CODES = tuple(GOAL_CATEGORIES)
REASON_CODES = tuple(CHURN_REASONS)
PREFERENCES_DRAWN = ("video", "in_person", "mixed")
MODES_DRAWN = ("video", "video", "in_person", "phone", "chat")
MINUTES_DRAWN = (30, 45, 45, 60, 60, 90)
SAVED_REASONS_DRAWN = ("no_time", "no_time", "too_expensive")


class SeedError(RuntimeError):
    """The seed was refused: the database already has data."""


class SeedFailed(RuntimeError):
    """The seed could not be completed (its helper process failed or was killed); nothing was kept."""


@dataclass
class DemoMentor:
    id: int
    quality: float      # 0..1: ratings, reasons, trial churn
    accept_rate: float
    rhythm: tuple


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


# The seeded models, parents before children: rows are written in this order.
ORDER = (User, MentorProfile, Mentorship, CheckIn, ExitSurvey, Review, CancelFlow, Pause, Pulse)


class _Rows:
    """The drawn rows as the tables take them: each row (a dict by column name; a column it leaves out
    takes the column's Python default) becomes its values in the table's column order, appended to one
    flat list per table. Every CHUNK rows of one table, all the rows so far go to `deliver` as one
    batch, a list of (table, values) in ORDER, their timestamps as stored (converted a column at a
    time: a loop per row cost a tenth of the drawing)."""

    def __init__(self, deliver):
        self.deliver = deliver
        self.pending: dict[type, list] = {model: [] for model in ORDER}
        self.names = {model: [c.name for c in model.__table__.columns] for model in ORDER}
        self.defaults = {model: [_default(c) for c in model.__table__.columns] for model in ORDER}
        self.full = {model: CHUNK * len(model.__table__.columns) for model in ORDER}
        # Where the timestamps are, per model: only those values need converting (7M+ values at 1M).
        self.stamps = {model: [i for i, c in enumerate(model.__table__.columns) if isinstance(c.type, UTCDateTime)]
                       for model in ORDER}

    def add(self, model, row: dict) -> None:
        pending = self.pending[model]
        pending += map(row.get, self.names[model], self.defaults[model])  # 10M rows at 1M: map's loop is in C
        if len(pending) >= self.full[model]:
            self.flush()

    def flush(self) -> None:
        batch = []
        for model, values in self.pending.items():
            if values:
                width = len(self.names[model])
                for i in self.stamps[model]:  # as models.UTCDateTime stores them: whole UTC seconds
                    values[i::width] = [None if at is None else floor(at.timestamp()) for at in values[i::width]]
                batch.append((model.__table__.name, values))
        if batch:
            self.deliver(batch)
            self.pending = {model: [] for model in ORDER}


class _Writer:
    """Writes batches of `_Rows` in bulk, below the ORM (its per-value processing cost more than the
    database's work): on SQLite, INSERTs of many rows each (`executemany`, one row at a time, took
    twice as long: the driver's per-statement work), on PostgreSQL `COPY`."""

    def __init__(self, connection):
        self.connection = connection
        self.driver = self.connection.connection.driver_connection
        self.columns = {model.__table__.name: [c.name for c in model.__table__.columns] for model in ORDER}
        if self.connection.dialect.name == "sqlite":  # 256 MiB of page cache for building the indexes
            self.connection.exec_driver_sql("PRAGMA cache_size = -262144")
            self.most_values = self.driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)

    def write(self, batch: list[tuple[str, list]]) -> None:
        for table, values in batch:
            self._write(table, values)

    def __enter__(self):
        """Drop the seeded tables' secondary indexes and build each once at the end, instead of
        keeping it sorted through every insert (small at 100k, 4%; the indexes outgrow the cache
        as the data grows)."""
        self.indexes = _secondary_indexes(self.connection, [m.__table__.name for m in ORDER])
        for name, _ in self.indexes:
            self.connection.exec_driver_sql(f"DROP INDEX {name}")
        return self

    def __exit__(self, *exc_info):
        if exc_info[0] is None:
            for _, ddl in self.indexes:
                self.connection.exec_driver_sql(ddl)

    def _write(self, table: str, values: list) -> None:
        columns = self.columns[table]
        width = len(columns)
        cursor = self.driver.cursor()
        if self.connection.dialect.name == "postgresql":
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for start in range(0, len(values), width):
                    copy.write_row(values[start:start + width])
            return
        per_insert = min(500, self.most_values // width)  # rows per INSERT: past a few hundred, no faster
        whole = len(values) - len(values) % (per_insert * width)
        insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        if whole:
            many = insert + ", ".join([f"({', '.join('?' * width)})"] * per_insert)
            for start in range(0, whole, per_insert * width):
                cursor.execute(many, values[start:start + per_insert * width])
        if whole < len(values):  # the rest one row at a time, not one statement per size of rest
            cursor.executemany(insert + f"({', '.join('?' * width)})",
                               [values[start:start + width] for start in range(whole, len(values), width)])


def _secondary_indexes(connection, tables: list[str]) -> list[tuple[str, str]]:
    """(name, CREATE statement) of every index on `tables` that no constraint owns."""
    if connection.dialect.name == "postgresql":
        sql = ("SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
               "AND i.tablename = ANY(%(tables)s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
               "WHERE c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)")
        return [tuple(row) for row in connection.exec_driver_sql(sql, {"tables": tables})]
    marks = ", ".join("?" * len(tables))
    sql = f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks})"
    return [tuple(row) for row in connection.exec_driver_sql(sql, tuple(tables))]


def _default(column):
    default = column.default
    if default is None:
        return None
    return default.arg(None) if callable(default.arg) else default.arg


def _clamp(value: int, low: int, high: int) -> int:
    return min(high, max(low, value))


def seed_demo(count: int, seed: int, until: datetime,
              progress=lambda done, total: None) -> list[tuple[str, str]]:
    """Create `count` mentorships ending no later than `until`; return the demo logins."""
    if db.session.scalar(select(func.count()).select_from(User)):
        raise SeedError("the database already has users; seed-demo only fills an empty database")
    connection = db.session.connection()
    with _no_cycle_collection(), _helper(count, seed, until) as helper:
        with _Writer(connection) as out:
            logins = helper.draw(out.write, progress)
            # Read before the indexes are built (the read does not need them), so that the helper sums
            # the rollups while they are.
            helper.sum_rollups(rollups.all_facts(connection))
        if db.engine.dialect.name == "postgresql":
            for table in ("users", "mentorships", "checkins", "exit_surveys", "reviews", "cancel_flows", "pauses",
                          "pulses"):
                db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                        f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"))
        rollups.replace(connection, helper.rollups())  # what rollups.rebuild does, its sums made aside
        review_stats.rebuild(connection)
    db.session.commit()
    return logins


@contextmanager
def _no_cycle_collection():
    """Python's cycle collector off for the block: the seed makes tens of millions of tuples that live
    a while (rows on their way to the database, the rollups' facts), none in a cycle, and the collector
    kept walking them (a fifth of the rollups' rebuild)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def _helper(count: int, seed: int, until: datetime):
    """The Python half of a seed, done beside the database's half (see `_HelperProcess`) on Linux, where
    a forked process is safe; in this process elsewhere (macOS, say), with the same data."""
    kind = _HelperProcess if sys.platform == "linux" else _HelperInProcess
    helper = kind(count, seed, until)
    try:
        yield helper
    finally:
        helper.close()


def _draw(deliver, count: int, seed: int, until: datetime, progress) -> list[tuple[str, str]]:
    """Draw the whole demo data, handing it to `deliver` in batches (see `_Rows`); return the demo logins."""
    rows = _Rows(deliver)
    # Flows, pauses and pulses draw from their own stream, so the marketplace itself (users,
    # mentorships, check-ins, surveys) is the same for a seed as before they existed.
    logins = _seed(rows, random.Random(seed), random.Random(f"retention-{seed}"), count, until, progress,
                   random.Random(f"reviews-{seed}"))
    rows.flush()
    return logins


class _HelperInProcess:
    """`_HelperProcess`'s work, done in this process."""

    def __init__(self, count: int, seed: int, until: datetime):
        self.count, self.seed, self.until = count, seed, until

    def draw(self, deliver, progress) -> list[tuple[str, str]]:
        return _draw(deliver, self.count, self.seed, self.until, progress)

    def sum_rollups(self, facts) -> None:
        self.sums = rollups.rows_by_table(facts)

    def rollups(self) -> dict[str, list[tuple]]:
        return self.sums

    def close(self) -> None:
        pass


class _HelperProcess:
    """A child process that does the seed's pure Python work while this one does the database's: it
    draws the rows while this one writes them, then sums the rollups of the facts this one read
    (rollups.rows_by_table) while this one builds the indexes. Each gets a core, and drawing and
    writing each take about half of the first part. One process still draws every row, in the same
    order, so a seed gives the same data. Everything crosses a pipe as plain tuples (pickling them
    costs a few percent of making them; a NamedTuple, ten times more). See `_help` for what it says."""

    def __init__(self, count: int, seed: int, until: datetime):
        context = multiprocessing.get_context("fork")
        self.pipe, theirs = context.Pipe()
        self.process = context.Process(target=_help, args=(theirs, count, seed, until), daemon=True)
        self.process.start()
        theirs.close()

    def draw(self, deliver, progress) -> list[tuple[str, str]]:
        while True:
            kind, value = self._receive()
            if kind == "rows":
                deliver(value)
            elif kind == "progress":
                progress(*value)
            else:
                return value

    def sum_rollups(self, facts) -> None:
        facts = iter(facts)
        try:
            while chunk := [tuple(f) for f in itertools.islice(facts, 20000)]:
                self.pipe.send(chunk)
            self.pipe.send(None)
        except OSError:  # the helper is gone (a broken pipe)
            self._stopped()

    def rollups(self) -> dict[str, list[tuple]]:
        return self._receive()[1]

    def _receive(self) -> tuple[str, object]:
        try:
            kind, value = self.pipe.recv()
        except EOFError:
            self._stopped()
        if kind == "failed":
            raise SeedFailed(f"the seed's helper process failed:\n{value}")
        return kind, value

    def _stopped(self):
        self.process.join(timeout=10)
        raise SeedFailed(f"the seed's helper process stopped (exit code {self.process.exitcode})") from None

    def close(self) -> None:
        self.pipe.close()
        if self.process.is_alive():  # this process failed: the helper's work is not wanted any more
            self.process.kill()
        self.process.join()


def _help(pipe, count: int, seed: int, until: datetime) -> None:
    """What `_HelperProcess` runs. Sends ("rows", batch) and ("progress", (done, total)) as it draws,
    then ("drawn", logins); receives the facts, as chunks of tuples ended by None, and sends
    ("rollups", rows by table). On an error it sends ("failed", traceback) instead."""
    try:
        logins = _draw(lambda batch: pipe.send(("rows", batch)), count, seed, until,
                       lambda done, total: pipe.send(("progress", (done, total))))
        pipe.send(("drawn", logins))
        chunks = list(iter(pipe.recv, None))  # all of them first, so the read does not wait for the sums
        pipe.send(("rollups", rollups.rows_by_table(rollups.Facts._make(f) for chunk in chunks for f in chunk)))
    except Exception:
        with suppress(OSError):  # the other end is gone when it failed first
            pipe.send(("failed", traceback.format_exc()))
    finally:
        pipe.close()


@dataclass
class _Run:
    """What every generated row shares: where rows go, the two random streams (`rng` for the marketplace,
    `extras` for flows, pauses and pulses), the end of history, the id counters, and the (mentee,
    mentor) pairs that already have an open mentorship."""

    out: _Rows
    rng: random.Random
    extras: random.Random
    until: datetime
    reviews: random.Random = field(default_factory=random.Random)
    names: dict[int, str] = field(default_factory=dict)  # mentees' names, for their reviews
    ids: dict[str, itertools.count] = field(default_factory=lambda: {
        kind: itertools.count(1) for kind in ("user", "mentorship", "checkin", "survey", "review", "flow", "pause",
                                              "pulse")})
    open_pairs: set[tuple[int, int]] = field(default_factory=set)

    def new_id(self, kind: str) -> int:
        return next(self.ids[kind])


def _seed(out: _Rows, rng: random.Random, extras: random.Random, count: int, until: datetime,
          progress, reviews: random.Random) -> list[tuple[str, str]]:
    run = _Run(out, rng, extras, until, reviews)
    password_hash = generate_password_hash(DEMO_PASSWORD)
    start = until - HISTORY

    def user(email: str, name: str, role: str) -> int:
        uid = run.new_id("user")
        out.add(User, dict(id=uid, email=email, name=name, search_name=search_name(name), role=role,
                           password_hash=password_hash, session_version=1, created_at=start))
        if role == "mentee":
            run.names[uid] = name
        return uid

    operator_email = "operator@demo.example"
    user(operator_email, "Olivia Operator", "operator")
    mentors: list[DemoMentor] = []
    for i in range(max(4, min(80, count // 60))):
        email = "mentor@demo.example" if i == 0 else f"mentor{i}@demo.example"
        mid = user(email, _name(rng), "mentor")
        headline, expertise = FIELDS[i % len(FIELDS)]
        out.add(MentorProfile, dict(user_id=mid, headline=headline, expertise=expertise,
                                    bio=f"{headline}. I help mentees with {expertise.lower()}.",
                                    accepting_applications=i % 11 != 10))
        quality = 0.8 if i == 0 else rng.betavariate(4, 2)
        mentors.append(DemoMentor(mid, quality, rng.uniform(0.6, 0.92), rng.choice(RHYTHMS)))
    demo_mentee = user("mentee@demo.example", "Maya Mentee", "mentee")
    mentee_ids = [demo_mentee] + [user(f"mentee{i}@demo.example", _name(rng), "mentee")
                                  for i in range(1, max(2, int(count * 0.8)))]

    # The demo mentee: one mentorship in its second paid month, one application waiting.
    fixed = [
        (demo_mentee, mentors[0], until - timedelta(days=45), timedelta(hours=20), "running"),
        (demo_mentee, mentors[1], until - timedelta(days=1), None, "pending"),
        (mentee_ids[1], mentors[0], until - timedelta(hours=30), None, "pending"),
    ]
    for i in range(count):
        if i < len(fixed):
            mentee, mentor, applied, decide_after, fate = fixed[i]
        else:
            mentee, mentor = rng.choice(mentee_ids), rng.choice(mentors)
            applied = start + timedelta(seconds=rng.randrange(int(HISTORY.total_seconds()) - 3600))
            decide_after, fate = timedelta(hours=rng.uniform(1, 72)), None
        _mentorship(run, mentee, mentor, applied, decide_after, fate)
        if (i + 1) % 50_000 == 0:
            progress(i + 1, count)
    return [("operator", operator_email), ("mentor", "mentor@demo.example"), ("mentee", "mentee@demo.example")]


def _mentorship(run: _Run, mentee: int, mentor: DemoMentor, applied: datetime, decide_after: timedelta | None,
                fate: str | None) -> None:
    """One application and all that follows it: the mentor's answer, the trial, the paid months, the
    check-ins, the exit survey, pulses and cancel flows. `fate` forces "pending" or "running"."""
    row = _application(run, mentee, mentor, applied)
    pair = (mentee, mentor.id)
    decided = applied + decide_after if decide_after else None
    if fate == "pending" or decided is None or decided > run.until:
        if pair in run.open_pairs:  # one open application per pair: this one was withdrawn at once
            row.update(ended_at=applied, end_reason="withdrawn")
        else:
            run.open_pairs.add(pair)
        run.out.add(Mentorship, row)
        return
    if fate != "running" and run.rng.random() > mentor.accept_rate:
        row.update(ended_at=decided, end_reason="withdrawn" if run.rng.random() < 0.15 else "declined")
        run.out.add(Mentorship, row)
        return
    row["trial_started_at"] = trial_start = decided
    end = _end(run, mentor, trial_start, fate, pair)
    if end is not None:
        row.update(ended_at=end, end_reason="cancelled")
    run.out.add(Mentorship, row)

    lift = _checkins(run, row["id"], mentor, trial_start, end or run.until)
    survey = None
    if end is not None and run.rng.random() < 0.93:  # the rest: imported cancellations with no survey
        survey = _survey(run, row["id"], mentor, lift, trial_start, end)
        run.out.add(ExitSurvey, survey)
        if end >= trial_start + TRIAL_LENGTH and run.reviews.random() < 0.33:
            _review(run, row, survey)
    _pulses(run, row["id"], mentor, lift, trial_start, end or run.until)
    _cancel_flows(run, row["id"], trial_start, end, survey)


def _review(run: _Run, mentorship: dict, survey: dict) -> None:
    rng = run.reviews
    stars = _clamp(survey["stars"] + rng.choice((0, 0, 0, 1, 1, -1)), STARS_MIN, STARS_MAX)
    naming = "initial" if rng.random() < 0.7 else "anonymous"
    at = survey["submitted_at"]
    run.out.add(Review, dict(
        id=run.new_id("review"), mentorship_id=mentorship["id"], mentor_id=mentorship["mentor_id"], stars=stars,
        text=rng.choice(REVIEW_TEXTS["good" if stars >= 4 else "mixed" if stars == 3 else "bad"]), naming=naming,
        display_name=display_name(run.names.get(mentorship["mentee_id"], ""), naming), consented_at=at,
        created_at=at, updated_at=at))


def _application(run: _Run, mentee: int, mentor: DemoMentor, applied: datetime) -> dict:
    """The mentorship row as applied for: a goal, a way to meet, nothing answered yet."""
    category = run.rng.choice(CATEGORY_CODES)
    return dict(id=run.new_id("mentorship"), mentee_id=mentee, mentor_id=mentor.id, goal_category=category,
                goal_text=run.rng.choice(GOALS[category]),
                meeting_preference=run.rng.choice(PREFERENCES_DRAWN),
                applied_at=applied, trial_started_at=None, ended_at=None, end_reason=None, ref=None)


def _end(run: _Run, mentor: DemoMentor, trial_start: datetime, fate: str | None,
         pair: tuple[int, int]) -> datetime | None:
    """When an accepted mentorship is cancelled, or None while it still runs at `until` (the pair's
    open one then). Quality lowers trial churn; the rest runs for a number of paid months."""
    rng = run.rng
    if fate == "running":
        end = None
    elif rng.random() < 0.32 - 0.25 * mentor.quality:
        end = trial_start + timedelta(seconds=rng.randrange(int(TRIAL_LENGTH.total_seconds())))
    else:
        months = rng.choices(MONTHS, cum_weights=MONTHS_CUMULATIVE)[0]
        months += 1 if rng.random() < mentor.quality - 0.55 else 0
        end = (trial_start + TRIAL_LENGTH + (months - 1) * PAID_MONTH
               + timedelta(seconds=rng.randrange(int(PAID_MONTH.total_seconds()))))
    if end is not None and end > run.until:
        end = None
    if end is None and pair in run.open_pairs:
        end = trial_start + timedelta(hours=1)  # the pair already has an open one: this one ended early
    if end is None:
        run.open_pairs.add(pair)
    return end


def _checkins(run: _Run, mentorship_id: int, mentor: DemoMentor, trial_start: datetime, last: datetime) -> float:
    """Check-ins from the trial's first days to `last`, mostly in the mentor's rhythm; returns the
    rhythm's lift on reaching the goal."""
    rng, add, new_id = run.rng, run.out.add, run.new_id
    choice, uniform = rng.choice, rng.uniform  # three or four draws a check-in, 4M check-ins at 1M
    _rhythm_name, every, lift = mentor.rhythm if rng.random() < 0.7 else choice(RHYTHMS)
    moment = trial_start + timedelta(days=uniform(0.5, 3))
    while moment <= last:
        add(CheckIn, dict(id=new_id("checkin"), mentorship_id=mentorship_id, occurred_at=moment,
                          mode=choice(MODES_DRAWN), minutes=choice(MINUTES_DRAWN), note="", logged_by_id=mentor.id,
                          logged_at=moment))
        gap = every if every else uniform(5, 40)
        moment += timedelta(days=gap * uniform(0.85, 1.2))
    return lift


def _pulses(run: _Run, mentorship_id: int, mentor: DemoMentor, lift: float, trial_start: datetime,
            last: datetime) -> None:
    """About two in three periods get a pulse; progress climbs faster with a better mentor and rhythm."""
    out, rng, new_id = run.out, run.extras, run.new_id
    speed = max(0.05, 0.12 + 0.35 * mentor.quality + lift)
    for k, _start, end in periods_until(trial_start, last):
        opens = end - (PULSE_OPENS_BEFORE_END[0] if k == 0 else PULSE_OPENS_BEFORE_MONTH_END)
        answered = opens + timedelta(days=rng.uniform(0, 4))
        if answered > last or rng.random() > 0.65:
            continue
        progress = round(100 * (1 - exp(-speed * (k + 1))) + rng.gauss(0, 8))
        usefulness = round(rng.gauss(2.4 + 2.4 * mentor.quality + 2 * lift, 0.8))
        out.add(Pulse, dict(id=new_id("pulse"), mentorship_id=mentorship_id, period=k,
                            progress=(_clamp(progress, PROGRESS_MIN, PROGRESS_MAX)
                                      if rng.random() < 0.9 else None),
                            usefulness=(_clamp(usefulness, USEFULNESS_MIN, USEFULNESS_MAX)
                                        if rng.random() < 0.9 else None),
                            submitted_at=answered))


def _cancel_flows(run: _Run, mentorship_id: int, trial_start: datetime, end: datetime | None,
                  survey: dict | None) -> None:
    """The flow behind each cancellation with a survey (its offer declined), a few saves (pauses and
    plan reminders taken, a month in or later) and a few flows abandoned half-way."""
    out, rng, new_id, until = run.out, run.extras, run.new_id, run.until
    paid_from = trial_start + TRIAL_LENGTH
    last = end or until
    if last - paid_from > timedelta(days=20) and rng.random() < 0.1:
        accepted = paid_from + timedelta(seconds=rng.randrange(int((last - paid_from).total_seconds()) - 86400))
        reason = rng.choice(SAVED_REASONS_DRAWN)
        offer = DEFAULT_OFFERS[reason]
        flow_id = new_id("flow")
        out.add(CancelFlow, dict(id=flow_id, mentorship_id=mentorship_id, reason=reason, started_at=accepted,
                                 offer=offer, offer_shown_at=accepted, offer_accepted_at=accepted,
                                 kept_mentorship_id=mentorship_id))
        if offer == "pause":
            resumes = min(accepted + PAID_MONTH, end) if end else accepted + PAID_MONTH
            if resumes > accepted:
                out.add(Pause, dict(id=new_id("pause"), mentorship_id=mentorship_id, starts_at=accepted,
                                    ends_at=resumes, cancel_flow_id=flow_id))
    if rng.random() < 0.04 and last - trial_start > timedelta(days=2):
        started = trial_start + timedelta(seconds=rng.randrange(int((last - trial_start).total_seconds()) - 86400))
        reason = rng.choice(REASON_CODES)
        offer = offer_for(reason, {}, "trial" if started < paid_from else "paid")
        out.add(CancelFlow, dict(id=new_id("flow"), mentorship_id=mentorship_id, reason=reason, started_at=started,
                                 offer=offer, offer_shown_at=started if offer != "none" else None))
    if survey is not None:
        started = end - timedelta(minutes=rng.uniform(2, 6))
        reason = survey["churn_reason"]
        offer = offer_for(reason, {}, "trial" if started < paid_from else "paid")
        out.add(CancelFlow, dict(id=new_id("flow"), mentorship_id=mentorship_id, reason=reason, started_at=started,
                                 offer=offer, offer_shown_at=started if offer != "none" else None,
                                 offer_declined_at=end - timedelta(minutes=1) if offer != "none" else None,
                                 cancelled_at=end))


def _survey(run: _Run, mentorship_id: int, mentor: DemoMentor, lift: float, trial_start: datetime,
            end: datetime) -> dict:
    rng, new_id = run.rng, run.new_id
    months_in = (end - trial_start - TRIAL_LENGTH) / PAID_MONTH
    in_trial = end < trial_start + TRIAL_LENGTH
    p_yes = 0.05 if in_trial else min(0.9, max(0.03, 0.15 + 0.35 * mentor.quality + lift + 0.05 * months_in))
    draw = rng.random()
    goal = "yes" if draw < p_yes else ("partly" if draw < p_yes + 0.3 else "no")
    if goal == "yes" and rng.random() < 0.85:
        reason = "goal_reached"
    else:
        weights = {"too_expensive": 3, "no_time": 3, "mentor_fit": 4 * (1.2 - mentor.quality),
                   "mentor_unresponsive": 3 * (1.1 - mentor.quality), "switched_mentor": 1.5,
                   "platform_issue": 0.7, "other": 1, "goal_reached": 0.3 if goal == "partly" else 0}
        reasons = [r for r in CHURN_REASONS if weights[r] > 0]
        reason = rng.choices(reasons, [weights[r] for r in reasons])[0]
    base = {"yes": 4.4, "partly": 3.5, "no": 2.3}[goal] + (mentor.quality - 0.6) * 1.5
    stars = _clamp(round(rng.gauss(base, 0.7)), STARS_MIN, STARS_MAX)
    bad = reason in ("mentor_fit", "mentor_unresponsive") or stars <= 2
    return dict(id=new_id("survey"), mentorship_id=mentorship_id, stars=stars, goal_reached=goal,
                churn_reason=reason, submitted_at=end,
                feedback_mentor=rng.choice(MENTOR_FEEDBACK["bad" if bad else "good"]) if rng.random() < 0.6 else "",
                feedback_platform=rng.choice(PLATFORM_FEEDBACK), feedback_other="")
