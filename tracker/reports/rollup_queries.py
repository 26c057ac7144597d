"""The metrics' grouped counts from the rollups (tracker/data/rollups.py), for what is settled, and
from the raw rows for the few mentorships whose deciding timestamps fall on the as-of day.

For T on UTC day D, a rollup row none of whose key days is D (or D - 7 where the trial's end is
compared with T) answers every comparison with T by its days alone, so it counts exactly as the raw
query would count its mentorships. The rows a key day of which is D are left out of the rollup sum
and read raw instead, by `queries` itself with an extra condition naming exactly those mentorships.
The sum of the two parts is the raw computation (tests/test_rollups.py holds them equal).

A filter by mentor reads raw: one mentor's mentorships are few and indexed.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, and_, case, cast, func, or_, select, type_coerce

from tracker.core.extensions import db
from tracker.data import rollups
from tracker.data.models import ExitSurvey, Mentorship, User
from tracker.domain.lifecycle import PAID_MONTH, TRIAL_LENGTH
from tracker.reports import queries
from tracker.reports.metrics import Counts
from tracker.reports.scope import Scope

DAY = rollups.DAY
TRIAL_DAYS = int(TRIAL_LENGTH.total_seconds()) // DAY
MONTH_SECONDS = int(PAID_MONTH.total_seconds())


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

def _raw_applications(today: int):
    m = Mentorship
    return or_(_on_day(m.applied_at, today), _on_day(m.trial_started_at, today),
               and_(m.trial_started_at.is_(None), _on_day(m.ended_at, today)))


def _raw_trials(today: int):
    m = Mentorship
    churned = _s(m.ended_at) - _s(m.trial_started_at) < _int(int(TRIAL_LENGTH.total_seconds()))
    return or_(_on_day(m.trial_started_at, today), _on_day(m.trial_started_at, today - TRIAL_DAYS),
               and_(churned, _on_day(m.ended_at, today)))


def _raw_cancellations(today: int):
    surveyed_today = select(ExitSurvey.mentorship_id).where(_on_day(ExitSurvey.submitted_at, today))
    return or_(_on_day(Mentorship.ended_at, today), Mentorship.id.in_(surveyed_today))


def _raw_durations(today: int):
    m = Mentorship
    return or_(_on_day(m.trial_started_at, today), m.ended_at.is_(None), _s(m.ended_at) >= _int(today * DAY))


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


def _cancellation_groups(scope: Scope, today: int) -> dict[tuple, int]:
    t = rollups.cancellations
    surveyed = t.c.surveyed_day < today
    month = queries.utc_month(cast(t.c.ended_day, BigInteger) * DAY)
    answers = [case((surveyed, column), else_=None) for column in (t.c.churn_reason, t.c.goal_reached, t.c.stars)]
    columns = (month, t.c.stage, *answers)
    stmt = select(*columns, func.sum(t.c.n)) \
        .where(*_window_days(t.c.ended_day, scope, today), t.c.surveyed_day != today, *_category(t, scope)) \
        .group_by(*columns)
    groups: dict[tuple, int] = {}
    for *key, n in db.session.execute(stmt):
        if n:
            groups[tuple(key)] = int(n)
    for key, n in queries.cancellation_groups(scope, _raw_cancellations(today)).items():
        groups[key] = groups.get(key, 0) + n
    return groups


def _mentor_survey_rows(scope: Scope, today: int) -> list[tuple[str, int, int, int]]:
    t = rollups.mentor_surveys
    stmt = (select(User.email, func.sum(t.c.n), func.sum(t.c.stars), func.sum(t.c.goal_yes))
            .join(User, User.id == t.c.mentor_id)
            .where(*_window_days(t.c.ended_day, scope, today), t.c.surveyed_day < today, *_category(t, scope))
            .group_by(User.email))
    rows = {email: [int(n), int(stars), int(yes)] for email, n, stars, yes in db.session.execute(stmt)}
    for email, n, stars, yes in queries.mentor_survey_rows(scope, _raw_cancellations(today)):
        row = rows.setdefault(email, [0, 0, 0])
        row[0] += n
        row[1] += stars
        row[2] += yes
    return [(email, n, stars, yes) for email, (n, stars, yes) in rows.items() if n]


def _settled_durations(scope: Scope, today: int):
    t = rollups.durations
    return (t, [*_window_days(t.c.started_day, scope, today), t.c.ended_day < today, *_category(t, scope)])


def _duration_groups(scope: Scope, today: int) -> list[tuple[int, int, int]]:
    t, where = _settled_durations(scope, today)
    groups: dict[int, list[int]] = {}
    for duration, n in db.session.execute(select(t.c.duration, func.sum(t.c.n)).where(*where)
                                          .group_by(t.c.duration)):
        if n:
            groups[int(duration)] = [int(n), 0]
    for duration, events, censored in queries.duration_groups(scope, _raw_durations(today)):
        row = groups.setdefault(duration, [0, 0])
        row[0] += events
        row[1] += censored
    return [(duration, events, censored) for duration, (events, censored) in groups.items()]


def _cohort_groups(scope: Scope, today: int) -> dict[str, tuple[int, int, dict[int, int]]]:
    t, where = _settled_durations(scope, today)
    month = queries.utc_month(cast(t.c.started_day, BigInteger) * DAY)
    # The raw rule's bucket: ended in (30*b, 30*(b+1)] days after the trial started.
    bucket = (t.c.duration + (MONTH_SECONDS - 1)) // MONTH_SECONDS - 1
    groups: dict[str, tuple[int, int, dict[int, int]]] = {}
    for cohort, b, n in db.session.execute(select(month, bucket, func.sum(t.c.n)).where(*where)
                                           .group_by(month, bucket)):
        if not n:
            continue
        size, latest, buckets = groups.get(cohort, (0, 0, {}))
        buckets[int(b)] = buckets.get(int(b), 0) + int(n)
        groups[cohort] = (size + int(n), latest, buckets)
    for cohort, (n, latest, raw_buckets) in queries.cohort_groups(scope, _raw_durations(today)).items():
        size, last, buckets = groups.get(cohort, (0, 0, {}))
        for b, count in raw_buckets.items():
            buckets[b] = buckets.get(b, 0) + count
        groups[cohort] = (size + n, max(last, latest), buckets)
    latest = queries.latest_trial_start_by_month(scope, list(groups))
    return {cohort: (size, latest[cohort], buckets) for cohort, (size, _, buckets) in groups.items()}


def measure(scope: Scope) -> Counts:
    """What queries.measure gives, from the rollups wherever they hold the answer."""
    if scope.mentor_id is not None:
        return queries.measure(scope)
    today = scope.t // DAY
    applications, accepted, declined = _application_counts(scope, today)
    decided, converted = _trial_counts(scope, today)
    return Counts(applications=applications, accepted=accepted, declined=declined,
                  trials_decided=decided, trials_converted=converted,
                  cancellations=_cancellation_groups(scope, today), durations=_duration_groups(scope, today),
                  cohorts=_cohort_groups(scope, today), mentors=_mentor_survey_rows(scope, today),
                  as_of_seconds=scope.t)
