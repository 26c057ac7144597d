"""Read-only SQL: the lists pages show, and the grouped counts the metrics are made of.

Portable across SQLite and PostgreSQL: timestamps are integer seconds, so time arithmetic is
integer arithmetic; the one engine-specific piece (a calendar month) is `utc_month` below.
Aggregation happens in the database: every metrics query returns grouped rows, never one row
per mentorship.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import BigInteger, String, and_, bindparam, case, func, literal, or_, select, type_coerce, union
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.sql.expression import FunctionElement

from tracker.core.extensions import db
from tracker.data import whole_run
from tracker.data.models import (
    CancelFlow,
    CheckIn,
    ExitSurvey,
    MentorProfile,
    Mentorship,
    OfferSetting,
    Pause,
    Pulse,
    RiskReview,
    ThemeRun,
    User,
)
from tracker.domain.health import (
    FALLING_ANSWERS,
    LOW_USEFULNESS,
    LOWEST_PROGRESS_TIER,
    NO_CHECKIN_DAYS,
    PROGRESS_TIER_FLOORS,
    TRIAL_SILENT_DAYS,
    Assessment,
    PulseAnswer,
    assess,
)
from tracker.domain.lifecycle import (
    FLOW_ABANDONED_AFTER,
    LAST_STAGE,
    MONTH_3_ENDS,
    PAID_MONTH,
    SAVE_LASTS,
    STAGE_ENDS,
    STATUSES,
    TRIAL_LENGTH,
)
from tracker.reports.metrics import Counts, Ending, MonthOne
from tracker.reports.scope import Scope


def mentor_directory() -> list[User]:
    """Mentors accepting applications, by name."""
    return list(db.session.scalars(
        select(User).join(MentorProfile).options(joinedload(User.mentor_profile))
        .where(User.role == "mentor", MentorProfile.accepting_applications.is_(True), User.deactivated_at.is_(None))
        .order_by(User.name, User.id)))


def mentor_for_directory(mentor_id: int) -> User | None:
    """A mentor a mentee may look at: any mentor whose account is open (a paused one shows as not
    accepting)."""
    return db.session.scalar(select(User).options(joinedload(User.mentor_profile))
                             .where(User.id == mentor_id, User.role == "mentor", User.deactivated_at.is_(None)))


def open_mentorship_between(mentee_id: int, mentor_id: int) -> Mentorship | None:
    return db.session.scalar(select(Mentorship).where(
        Mentorship.mentee_id == mentee_id, Mentorship.mentor_id == mentor_id,
        Mentorship.ended_at.is_(None)))


def _mentorships(*conditions, limit: int | None = None) -> list[Mentorship]:
    stmt = (select(Mentorship).options(joinedload(Mentorship.mentee), joinedload(Mentorship.mentor))
            .where(*conditions).order_by(Mentorship.applied_at.desc(), Mentorship.id.desc()))
    return list(db.session.scalars(stmt.limit(limit) if limit else stmt))


def mentorships_of_mentee(mentee_id: int) -> list[Mentorship]:
    return _mentorships(Mentorship.mentee_id == mentee_id)


def mentorships_of_mentor(mentor_id: int) -> list[Mentorship]:
    return _mentorships(Mentorship.mentor_id == mentor_id)


def _paused_at(at: datetime):
    """The mentorship is inside one of its pauses at `at` (lifecycle.pause_covering)."""
    return select(Pause.id).where(Pause.mentorship_id == Mentorship.id, Pause.starts_at <= at,
                                  Pause.ends_at > at).exists()


def status_expression(at: datetime):
    """A mentorship's status as of `at`, as SQL: the twin of lifecycle.state_as_of(...).status for the
    mentorships applied for by `at` (tests/test_rule_twins.py holds them to each other)."""
    m = Mentorship
    started = and_(m.trial_started_at.is_not(None), m.trial_started_at <= at)
    ended = and_(m.ended_at.is_not(None), m.ended_at <= at)
    return case(
        (and_(~started, ~ended), "pending"),
        (~started, "closed"),
        (ended, "ended"),
        (m.trial_started_at > at - TRIAL_LENGTH, "trial"),
        (_paused_at(at), "paused"),
        else_="paid")


def counts_by_status(at: datetime, *only) -> dict[str, int]:
    """How many mentorships stand in each state as of `at`, in one grouped pass. `only`: extra
    conditions on the mentorships."""
    status = status_expression(at)
    rows = db.session.execute(select(status, func.count()).where(Mentorship.applied_at <= at, *only)
                              .group_by(status))
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({name: n for name, n in rows})
    return counts


# --- metrics: grouped counts for metrics.py ----------------------------------------------------
#
# Timestamps are integer seconds (models.UTCDateTime), so a duration is a subtraction, exact on
# both engines. `_s(col)` reads a timestamp column as its integer; T and the window bounds are
# bound as integers too. "Nothing after T exists": every condition on a timestamp also asks <= T.

class utc_month(FunctionElement):
    """'YYYY-MM' of an epoch-seconds column, in UTC."""

    type = String()
    inherit_cache = True


@compiles(utc_month, "sqlite")
def _utc_month_sqlite(element, compiler, **kw):
    return f"strftime('%Y-%m', {compiler.process(element.clauses, **kw)}, 'unixepoch')"


@compiles(utc_month, "postgresql")
def _utc_month_postgresql(element, compiler, **kw):
    return f"to_char(to_timestamp({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC', 'YYYY-MM')"


def _s(column):
    return type_coerce(column, BigInteger)


def _int(value: int):
    return literal(value, BigInteger)


def _seconds(duration) -> int:
    return int(duration.total_seconds())


def _filters(scope: Scope) -> list:
    conditions = []
    if scope.goal_category is not None:
        conditions.append(Mentorship.goal_category == scope.goal_category)
    if scope.mentor_id is not None:
        conditions.append(Mentorship.mentor_id == scope.mentor_id)
    return conditions


def _in_window(column, scope: Scope) -> list:
    return [column >= scope.start, column < scope.end, column <= scope.as_of]


def _ones(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def mentor_id_by_email(email: str) -> int | None:
    return db.session.scalar(select(User.id).where(User.email == email.strip().lower(), User.role == "mentor"))


def application_counts(scope: Scope, *only) -> tuple[int, int, int]:
    """(applications, accepted, declined) for applications made in the window by T (and meeting `only`)."""
    m = Mentorship
    accepted = m.trial_started_at <= scope.as_of
    not_accepted = or_(m.trial_started_at.is_(None), m.trial_started_at > scope.as_of)
    declined = and_(not_accepted, m.ended_at <= scope.as_of)
    row = db.session.execute(select(func.count(), _ones(accepted), _ones(declined))
                             .where(*_in_window(m.applied_at, scope), *_filters(scope), *only)).one()
    return tuple(int(v) for v in row)


def trial_counts(scope: Scope, *only) -> tuple[int, int]:
    """(decided, converted) for trials started in the window: decided means trial end <= T, or
    ended before trial end by T."""
    m = Mentorship
    trial = _seconds(TRIAL_LENGTH)
    ended_in_trial = _s(m.ended_at) - _s(m.trial_started_at) < trial
    churned = and_(m.ended_at <= scope.as_of, ended_in_trial)
    decided = or_(_s(m.trial_started_at) <= _int(scope.t - trial), churned)
    row = db.session.execute(select(_ones(decided), _ones(churned))
                             .where(*_in_window(m.trial_started_at, scope), *_filters(scope), *only)).one()
    decided_n, churned_n = (int(v) for v in row)
    return decided_n, decided_n - churned_n


def stage_expression(m=Mentorship):
    """The stage an ended mentorship ended in, as SQL, from lifecycle.STAGE_ENDS: the twin of
    lifecycle.stage_of_end."""
    lived = _s(m.ended_at) - _s(m.trial_started_at)
    return case(*((lived < _seconds(end), stage) for stage, end in STAGE_ENDS), else_=LAST_STAGE)


def _cancellations(scope: Scope, *only):
    """Mentorships that had a trial and ended in the window by T, with their survey if given by T."""
    m, s = Mentorship, ExitSurvey
    survey = and_(s.mentorship_id == m.id, s.submitted_at <= scope.as_of)
    return (m, s, survey, [m.trial_started_at.is_not(None), *_in_window(m.ended_at, scope), *_filters(scope), *only])


def response_groups(scope: Scope, *only) -> dict[tuple[str, str, bool], int]:
    """{(goal category, stage, answered the exit survey by T): cancellations} (the survey's blind spot:
    who the respondents are, against who left)."""
    m, s, survey, conditions = _cancellations(scope, *only)
    rows = (select(m.goal_category.label("category"), stage_expression().label("stage"),
                   case((s.id.is_not(None), 1), else_=0).label("answered"))
            .select_from(m).outerjoin(s, survey).where(*conditions).subquery())
    stmt = select(rows.c.category, rows.c.stage, rows.c.answered, func.count()).group_by(
        rows.c.category, rows.c.stage, rows.c.answered)
    return {(category, stage, bool(responded)): int(n) for category, stage, responded, n in db.session.execute(stmt)}


def cancellation_groups(scope: Scope, *only) -> dict[tuple, int]:
    """{(month ended, stage, reason, goal_reached, stars): count}; reason etc. None without a survey."""
    m, s, survey, where = _cancellations(scope, *only)
    month, stage = utc_month(m.ended_at), stage_expression(m)
    stmt = (select(month, stage, s.churn_reason, s.goal_reached, s.stars, func.count())
            .select_from(m).outerjoin(s, survey).where(*where)
            .group_by(month, stage, s.churn_reason, s.goal_reached, s.stars))
    return {tuple(row[:5]): int(row[5]) for row in db.session.execute(stmt)}


def mentor_survey_rows(scope: Scope, *only) -> list[tuple[str, int, int, int]]:
    """(mentor email, surveys, sum of stars, goal reached "yes") over the cancellations' surveys."""
    m, s, survey, where = _cancellations(scope, *only)
    stmt = (select(User.email, func.count(), func.sum(s.stars), _ones(s.goal_reached == "yes"))
            .select_from(m).join(s, survey).join(User, User.id == m.mentor_id).where(*where)
            .group_by(User.email))
    return [(email, int(n), int(stars), int(yes)) for email, n, stars, yes in db.session.execute(stmt)]


def _started(scope: Scope, *only) -> list:
    return [*_in_window(Mentorship.trial_started_at, scope), *_filters(scope), *only]


def scope_filters(scope: Scope) -> list:
    """The scope's filters alone (goal category, mentor), without its window."""
    return _filters(scope)


def scope_conditions_on_trial_start(scope: Scope) -> list:
    """The retention population's conditions: trial started in the window by T, and the filters."""
    return _started(scope)


def duration_groups(scope: Scope, *only) -> list[tuple[int, int, int]]:
    """(duration in seconds, events, censored) per distinct duration, for trials started in the window."""
    m = Mentorship
    ended = m.ended_at <= scope.as_of
    duration = case((ended, _s(m.ended_at)), else_=_int(scope.t)) - _s(m.trial_started_at)
    stmt = select(duration, _ones(ended), _ones(~ended | m.ended_at.is_(None))).where(*_started(scope, *only)) \
        .group_by(duration)
    return [(int(d), int(e), int(c)) for d, e, c in db.session.execute(stmt)]


def goal_event_groups(scope: Scope, *only) -> dict[int, int]:
    """{duration in seconds: endings by T with an exit survey by T saying the goal was reached}, for
    trials started in the window (the retention population's goal_reached cause)."""
    m, s = Mentorship, ExitSurvey
    duration = _s(m.ended_at) - _s(m.trial_started_at)
    stmt = (select(duration, func.count()).join(s, s.mentorship_id == m.id)
            .where(*_started(scope, *only), m.ended_at <= scope.as_of, s.submitted_at <= scope.as_of,
                   s.goal_reached == "yes")
            .group_by(duration))
    return {int(d): int(n) for d, n in db.session.execute(stmt)}


def cohort_groups(scope: Scope, *only) -> dict[str, tuple[int, int, dict[int, int]]]:
    """{cohort month: (size, latest trial start in seconds, {ended bucket: count})}.

    Bucket b holds those that ended in (30*b, 30*(b+1)] days after their trial started (-1: at
    the start itself); those not ended by T are counted in size only.
    """
    m = Mentorship
    month_secs = _seconds(PAID_MONTH)
    lived = _s(m.ended_at) - _s(m.trial_started_at)
    # `//` is integer division in SQLAlchemy 2 (`/` would be true division).
    bucket = case((m.ended_at <= scope.as_of, (lived + (month_secs - 1)) // month_secs - 1), else_=None)
    cohort = utc_month(m.trial_started_at)
    stmt = select(cohort, bucket, func.count(), func.max(_s(m.trial_started_at))) \
        .where(*_started(scope, *only)).group_by(cohort, bucket)
    groups: dict[str, tuple[int, int, dict[int, int]]] = {}
    for month, b, n, latest in db.session.execute(stmt):
        size, last, buckets = groups.get(month, (0, 0, {}))
        if b is not None:
            buckets[int(b)] = buckets.get(int(b), 0) + int(n)
        groups[month] = (size + int(n), max(last, int(latest)), buckets)
    return groups


def measure(scope: Scope) -> Counts:
    """Everything metrics.report needs for one scope, from the raw rows: the reference that
    rollup_queries.measure, which pages and the API call, is held to."""
    applications, accepted, declined = application_counts(scope)
    decided, converted = trial_counts(scope)
    return Counts(applications=applications, accepted=accepted, declined=declined,
                  trials_decided=decided, trials_converted=converted,
                  cancellations=cancellation_groups(scope), durations=duration_groups(scope),
                  cohorts=cohort_groups(scope), mentors=mentor_survey_rows(scope), as_of_seconds=scope.t)


# --- dashboard lists -------------------------------------------------------------------------------

def mentor_emails() -> list[str]:
    return list(db.session.scalars(select(User.email).where(User.role == "mentor").order_by(User.email)))


def _surveys(scope: Scope, reason: str | None = None, stars: int | None = None, words: str | None = None):
    """Exit surveys of the scope's cancellations (docs/METRICS.md), with extra reading filters."""
    m, s, survey, where = _cancellations(scope)
    mentee, mentor = aliased(User), aliased(User)
    stmt = (select(s, m, mentee.email, mentee.name, mentor.email, mentor.name)
            .select_from(m).join(s, survey).join(mentee, mentee.id == m.mentee_id)
            .join(mentor, mentor.id == m.mentor_id).where(*where))
    if reason:
        stmt = stmt.where(s.churn_reason == reason)
    if stars:
        stmt = stmt.where(s.stars == stars)
    if words:
        stmt = stmt.where(or_(s.feedback_platform.icontains(words, autoescape=True),
                              s.feedback_mentor.icontains(words, autoescape=True),
                              s.feedback_other.icontains(words, autoescape=True)))
    # Newest cancellations first: the window's index on ended_at gives this order, so a page of 50 stops
    # after 50 rows however many the window holds (ordered by the survey's own time, every survey of the
    # window would be read and sorted).
    return stmt.order_by(m.ended_at.desc(), s.submitted_at.desc(), s.id.desc())


def feedback_page(scope: Scope, reason=None, stars=None, words=None, with_text_only=True,
                  limit: int = 50, offset: int = 0) -> list:
    stmt = _surveys(scope, reason, stars, words)
    if with_text_only:
        s = ExitSurvey
        stmt = stmt.where(or_(s.feedback_platform != "", s.feedback_mentor != "", s.feedback_other != ""))
    return list(db.session.execute(stmt.limit(limit).offset(offset)))


def surveys_for_export(scope: Scope):
    """Every survey of the scope, oldest first, streamed in batches."""
    stmt = _surveys(scope).order_by(None).order_by(ExitSurvey.submitted_at, ExitSurvey.id)
    return db.session.execute(stmt.execution_options(yield_per=1000))


def feedback_texts(at: datetime):
    """Every written answer of the exit surveys given by `at`, one row per non-empty field: (survey id,
    submitted at, churn reason, field, text, whether an operator hid it from the mentor). Streamed."""
    s = ExitSurvey
    stmt = (select(s.id, s.submitted_at, s.churn_reason, s.feedback_platform, s.feedback_mentor, s.feedback_other,
                   s.mentor_feedback_hidden_reason.is_not(None))
            .where(s.submitted_at <= at, or_(s.feedback_platform != "", s.feedback_mentor != "",
                                             s.feedback_other != ""))
            .order_by(s.id).execution_options(yield_per=5000))
    for survey_id, submitted, reason, platform, mentor, other, hidden in db.session.execute(stmt):
        for field, text in (("platform", platform), ("mentor", mentor), ("other", other)):
            if text.strip():
                yield survey_id, submitted, reason, field, text, bool(hidden) and field == "mentor"


def latest_theme_run():
    return db.session.scalar(select(ThemeRun).order_by(ThemeRun.id.desc()).limit(1))


# --- a mentor's own feedback -----------------------------------------------------------------------

def survey_count_of_mentor(mentor_id: int, at: datetime) -> int:
    return db.session.scalar(select(func.count()).select_from(ExitSurvey)
                             .join(Mentorship, Mentorship.id == ExitSurvey.mentorship_id)
                             .where(Mentorship.mentor_id == mentor_id, ExitSurvey.submitted_at <= at))


def mentor_feedback_for_mentor(mentor_id: int, at: datetime) -> list[tuple[str, str]]:
    """(month "YYYY-MM", text) of every visible "mentor could do better" answer: no names, no ids,
    no exact dates, and never the platform or "anything else" texts."""
    s = ExitSurvey
    stmt = (select(utc_month(s.submitted_at), s.feedback_mentor).join(Mentorship, Mentorship.id == s.mentorship_id)
            .where(Mentorship.mentor_id == mentor_id, s.submitted_at <= at, s.feedback_mentor != "",
                   s.mentor_feedback_hidden_reason.is_(None)))
    return [(month, text) for month, text in db.session.execute(stmt)]


# --- the cancel flow ---------------------------------------------------------------------------------

def offer_settings() -> dict[str, str]:
    """{churn reason: offer} as operators chose them; reasons not listed use the default."""
    return dict(db.session.execute(select(OfferSetting.reason, OfferSetting.offer)).all())


def offer_settings_rows() -> dict[str, OfferSetting]:
    return {row.reason: row for row in db.session.scalars(select(OfferSetting))}


def switch_suggestions(mentorship: Mentorship, limit: int = 3) -> list[User]:
    """Other mentors accepting applications who share an area of expertise with this mentorship's
    mentor, most shared areas first, leaving out mentors the mentee already has open with."""
    own = {area.lower() for area in mentorship.mentor.mentor_profile.expertise_list} \
        if mentorship.mentor.mentor_profile else set()
    if not own:
        return []
    taken = set(db.session.scalars(select(Mentorship.mentor_id).where(
        Mentorship.mentee_id == mentorship.mentee_id, Mentorship.ended_at.is_(None))))
    scored = []
    for mentor in mentor_directory():
        if mentor.id == mentorship.mentor_id or mentor.id in taken:
            continue
        shared = own & {area.lower() for area in mentor.mentor_profile.expertise_list}
        if shared:
            scored.append((-len(shared), mentor.name, mentor.id, mentor))
    return [mentor for *_, mentor in sorted(scored, key=lambda row: row[:3])[:limit]]


def cancel_flow(flow_id: int) -> CancelFlow | None:
    return db.session.get(CancelFlow, flow_id)


# --- health: the inputs of the at-risk rules ------------------------------------------------------------

@dataclass(frozen=True)
class HealthInput:
    mentorship: Mentorship
    last_checkin_at: datetime | None
    pulses: list[PulseAnswer]
    handled_at: datetime | None
    handled_note: str | None


def health_inputs(at: datetime, mentor_id: int | None = None, only: list[int] | None = None) -> list[HealthInput]:
    """Every mentorship running at `at` (trial or paid, not paused), with what the rules read;
    only: of these mentorships."""
    m = Mentorship
    last_checkin = (select(func.max(CheckIn.occurred_at)).where(CheckIn.mentorship_id == m.id,
                                                              CheckIn.occurred_at <= at)
                    .correlate(m).scalar_subquery())
    stmt = (select(m, type_coerce(last_checkin, m.trial_started_at.type))
            .options(joinedload(m.mentee), joinedload(m.mentor))
            .where(m.trial_started_at <= at, or_(m.ended_at.is_(None), m.ended_at > at), ~_paused_at(at)))
    if mentor_id is not None:
        stmt = stmt.where(m.mentor_id == mentor_id)
    if only is not None:
        stmt = stmt.where(m.id.in_(only))
    rows = db.session.execute(stmt).all()
    ids = [row[0].id for row in rows]
    pulses: dict[int, list[PulseAnswer]] = {}
    last_review: dict[int, RiskReview] = {}
    for chunk in range(0, len(ids), 5000):
        part = ids[chunk:chunk + 5000]
        for p in db.session.scalars(select(Pulse).where(Pulse.mentorship_id.in_(part), Pulse.submitted_at <= at)):
            pulses.setdefault(p.mentorship_id, []).append(
                PulseAnswer(p.period, p.progress, p.usefulness, p.submitted_at))
        for review in db.session.scalars(select(RiskReview).where(RiskReview.mentorship_id.in_(part),
                                                                  RiskReview.handled_at <= at)
                                         .order_by(RiskReview.handled_at, RiskReview.id)):
            last_review[review.mentorship_id] = review
    reviews = {mid: (review.handled_at, review.note) for mid, review in last_review.items()}
    return [HealthInput(mentorship, last, pulses.get(mentorship.id, []), *reviews.get(mentorship.id, (None, None)))
            for mentorship, last in rows]


@dataclass(frozen=True)
class AtRisk:
    """The at-risk list as of a moment: every running mentorship judged, the oldest flags shown."""

    waiting: list[Assessment]  # with a flag raised since an operator last marked it handled
    waiting_count: int
    handled: list[Assessment]  # flagged, every flag already handled
    handled_count: int
    running: int


def _risk_inputs(at: datetime, *only):
    """For every mentorship running at `at` (trial or paid, not paused), in seconds: (id, trial start,
    last check-in, the moment since which the low-pulse rule holds, and the progress-falling rule, the
    last time it was marked handled), each None when there is none."""
    m, p, c, r = Mentorship, Pulse, CheckIn, RiskReview
    started = and_(m.trial_started_at <= at, ~_paused_at(at))
    columns = (m.id.label("id"), _s(m.trial_started_at).label("started"))
    if only:  # a few mentorships: from their ids
        running = select(*columns).where(*only, started, or_(m.ended_at.is_(None), m.ended_at > at))
    else:  # two index ranges (still open; ended after `at`) rather than every trial started by `at`
        running = union(select(*columns).where(m.ended_at.is_(None), started),
                        select(*columns).where(m.ended_at > at, started))
    running = running.cte("running")  # read twice below: found once
    latest_first = lambda answer: (answer.is_(None), p.period.desc())  # noqa: E731
    ranked = (select(p.mentorship_id, _s(p.submitted_at).label("at"), p.progress, p.usefulness,
                     func.row_number().over(partition_by=p.mentorship_id, order_by=latest_first(p.usefulness))
                     .label("rated"),
                     func.row_number().over(partition_by=p.mentorship_id, order_by=latest_first(p.progress))
                     .label("recent"))
              .select_from(running).join(p, p.mentorship_id == running.c.id)  # each one's pulses, by index
              .where(p.submitted_at <= at).subquery())
    q = ranked.c
    progress = [func.max(case((q.recent == k, q.progress), else_=None)) for k in (1, 2, 3)]  # 1: the latest
    pulses = (select(q.mentorship_id,
                     func.max(case((and_(q.rated == 1, q.usefulness <= LOW_USEFULNESS), q.at), else_=None))
                     .label("low"),
                     case((and_(progress[2] > progress[1], progress[1] > progress[0]),
                           func.max(case((q.recent == 1, q.at), else_=None))), else_=None).label("falling"))
              .where(or_(q.rated == 1, q.recent <= FALLING_ANSWERS)).group_by(q.mentorship_id).subquery())
    last_checkin = (select(func.max(_s(c.occurred_at))).where(c.mentorship_id == running.c.id, c.occurred_at <= at)
                    .scalar_subquery())
    handled = (select(func.max(_s(r.handled_at))).where(r.mentorship_id == running.c.id, r.handled_at <= at)
               .scalar_subquery())
    return select(running.c.id, running.c.started, last_checkin, pulses.c.low, pulses.c.falling, handled) \
        .outerjoin(pulses, pulses.c.mentorship_id == running.c.id)


@dataclass(frozen=True)
class RiskJudged:
    """The mentorships running at a moment (their ids), and the flagged ones: {id: (oldest
    flag's moment in seconds, waiting: a flag raised since it was last marked handled)}."""

    running_ids: np.ndarray
    flagged: dict[int, tuple[int, bool]]

    @property
    def running(self) -> int:
        return len(self.running_ids)


def risk_judged(at: datetime, *only) -> RiskJudged:
    """health.flags over health_inputs(at), judged in SQL and integer seconds (the twin of health.flags;
    tests/test_rule_twins.py holds them to each other). `only`: conditions on the mentorships."""
    t = int(at.timestamp())
    trial, silent = _seconds(TRIAL_LENGTH), _seconds(timedelta(days=TRIAL_SILENT_DAYS))
    quiet = _seconds(timedelta(days=NO_CHECKIN_DAYS))
    running, flagged = [], {}
    rows = db.session.connection().execute(_risk_inputs(at, *only))
    for mentorship_id, started, last, low_pulse, falling, handled_at in rows:
        running.append(mentorship_id)
        raised = [moment for moment in (
            started + silent if last is None and started > t - trial and started + silent <= t else None,
            (last or started) + quiet if (last or started) + quiet <= t else None,
            low_pulse, falling) if moment is not None]
        if raised:
            flagged[mentorship_id] = (min(raised), handled_at is None or max(raised) > handled_at)
    return RiskJudged(np.sort(np.array(running, dtype=np.int64)), flagged)


def at_risk(at: datetime, shown: int, judged: RiskJudged | None = None) -> AtRisk:
    """What health.assess(health_inputs(at), at) gives: the counts, and the first `shown` of the waiting
    and of the handled lists, in its order (oldest flag first). judged: risk_judged(at), if known."""
    judged = judged or risk_judged(at)
    waiting = sorted((since, i) for i, (since, open_flag) in judged.flagged.items() if open_flag)
    handled = sorted((since, i) for i, (since, open_flag) in judged.flagged.items() if not open_flag)
    shown_ids = [i for _, i in waiting[:shown]] + [i for _, i in handled[:shown]]
    assessed = {a.mentorship.id: a for a in assess(health_inputs(at, only=shown_ids), at)}
    return AtRisk([assessed[i] for _, i in waiting[:shown]], len(waiting),
                  [assessed[i] for _, i in handled[:shown]], len(handled), judged.running)


def pulses_of(mentorship_id: int) -> list[Pulse]:
    return list(db.session.scalars(select(Pulse).where(Pulse.mentorship_id == mentorship_id)
                                   .order_by(Pulse.period)))


# --- saves, pulses, health and research: grouped counts for metrics.py ---------------------------------

def save_groups(scope: Scope, *only) -> dict[tuple, int]:
    """{(reason, offer shown, declined, outcome, save): count} for cancel flows started in the window
    by T and not superseded by T. outcome: accepted | cancelled | abandoned | open; save (accepted
    only, else None): lasted | lost | too_soon (lifecycle.flow_outcome, lifecycle.save_outcome).
    `only`: extra conditions on the flows (CancelFlow)."""
    f, m = CancelFlow, Mentorship
    kept = aliased(Mentorship)
    t = scope.as_of
    accepted, cancelled = f.offer_accepted_at <= t, f.cancelled_at <= t
    abandoned = _s(f.started_at) + _int(_seconds(FLOW_ABANDONED_AFTER)) <= _int(scope.t)
    outcome = case((accepted, "accepted"), (cancelled, "cancelled"), (abandoned, "abandoned"), else_="open")
    check = _s(f.offer_accepted_at) + _int(_seconds(SAVE_LASTS))
    save = case((~accepted | f.offer_accepted_at.is_(None), None),
                (check > _int(scope.t), "too_soon"),
                (and_(_s(kept.trial_started_at) <= check,
                      or_(kept.ended_at.is_(None), _s(kept.ended_at) > check)), "lasted"),
                else_="lost")
    shown = and_(f.offer_shown_at.is_not(None), f.offer_shown_at <= t)
    declined = and_(f.offer_declined_at.is_not(None), f.offer_declined_at <= t)
    columns = (f.reason, case((shown, True), else_=False), case((declined, True), else_=False), outcome, save)
    stmt = (select(*columns, func.count()).select_from(f).join(m, m.id == f.mentorship_id)
            .outerjoin(kept, kept.id == f.kept_mentorship_id)
            .where(*_in_window(f.started_at, scope), or_(f.superseded_at.is_(None), f.superseded_at > t),
                   *_filters(scope), *only)
            .group_by(*columns))
    return {(reason, bool(sh), bool(de), out, sv): int(n) for reason, sh, de, out, sv, n in db.session.execute(stmt)}


def progress_tier_expression(column):
    """The success tier of a progress column, as SQL, from health.PROGRESS_TIER_FLOORS: the twin of
    health.progress_tier."""
    return case((column.is_(None), None), *((column >= floor, tier) for tier, floor in PROGRESS_TIER_FLOORS.items()),
                else_=LOWEST_PROGRESS_TIER)


def pulse_tier_groups(scope: Scope, *only) -> dict[str | None, int]:
    """{tier: count} of trials started in the window by T, by their latest progress answer by T
    (tier None: no progress answer yet). `only`: extra conditions on the mentorships."""
    m, p = Mentorship, Pulse
    population = select(m.id).where(*_started(scope, *only))
    latest = (select(p.mentorship_id, func.max(p.period).label("period"))
              .where(p.progress.is_not(None), p.submitted_at <= scope.as_of, p.mentorship_id.in_(population))
              .group_by(p.mentorship_id).subquery())
    answer = aliased(Pulse)
    tier = progress_tier_expression(answer.progress)
    stmt = (select(tier, func.count()).select_from(m)
            .outerjoin(latest, latest.c.mentorship_id == m.id)
            .outerjoin(answer, and_(answer.mentorship_id == m.id, answer.period == latest.c.period))
            .where(*_started(scope, *only)).group_by(tier))
    return {tier_name: int(n) for tier_name, n in db.session.execute(stmt)}


def month_one_groups(scope: Scope, *only) -> dict[MonthOne, int]:
    """{MonthOne(usefulness, progress tier, goal reached, observed to the end of month 3, ended before it):
    count} for trials started in the window by T whose month-1 pulse was answered by T.
    `only`: extra conditions on the mentorships."""
    m, p, s = Mentorship, Pulse, ExitSurvey
    month_3_end = _s(m.trial_started_at) + _int(_seconds(MONTH_3_ENDS))
    observed = month_3_end <= _int(scope.t)
    ended_before = and_(m.ended_at <= scope.as_of, _s(m.ended_at) < month_3_end)
    columns = (p.usefulness, progress_tier_expression(p.progress), s.goal_reached,
               case((observed, True), else_=False), case((ended_before, True), else_=False))
    stmt = (select(*columns, func.count()).select_from(m)
            .join(p, and_(p.mentorship_id == m.id, p.period == 1, p.submitted_at <= scope.as_of))
            .outerjoin(s, and_(s.mentorship_id == m.id, s.submitted_at <= scope.as_of))
            .where(*_started(scope, *only)).group_by(*columns))
    return {MonthOne(u, tier, goal, bool(ob), bool(eb)): int(n)
            for u, tier, goal, ob, eb, n in db.session.execute(stmt)}


def ending_groups(scope: Scope, *only) -> dict[Ending, int]:
    """The cancellations of the scope (docs/METRICS.md), grouped by what their whole run looked like:
    {Ending(no_checkin, trial_silent, low_pulse, progress_falling, ended early, cadence,
            meeting preference, goal category, goal reached): count}.

    The four flags say whether that at-risk rule held at any moment while the mentorship ran
    (domain/health.py, docs/RETENTION.md); cadence classifies its check-ins (data/whole_run.py)."""
    m, s, survey, where = _cancellations(scope, *only)
    run = whole_run.judged(select(m.id).where(*where).subquery())
    columns = (*run.columns, m.meeting_preference, m.goal_category, s.goal_reached)
    stmt = run.joined(select(*columns, func.count()).select_from(m).outerjoin(s, survey)).where(*where) \
        .group_by(*columns)
    return {Ending(bool(a), bool(b), bool(c), bool(d), bool(e), cadence, preference, category, goal): int(count)
            for a, b, c, d, e, cadence, preference, category, goal, count in db.session.execute(stmt)}


def duration_groups_by_category(scope: Scope, *only) -> dict[str, list[tuple[int, int, int]]]:
    """{goal category: [(duration in seconds, events, censored)]} for trials started in the window."""
    m = Mentorship
    ended = m.ended_at <= scope.as_of
    duration = case((ended, _s(m.ended_at)), else_=_int(scope.t)) - _s(m.trial_started_at)
    stmt = (select(m.goal_category, duration, _ones(ended), _ones(~ended | m.ended_at.is_(None)))
            .where(*_started(scope, *only)).group_by(m.goal_category, duration))
    groups: dict[str, list] = {}
    for category, d, e, c in db.session.execute(stmt):
        groups.setdefault(category, []).append((int(d), int(e), int(c)))
    return groups


# --- single rows looked up by id, and whether the database answers (for the web layer) -----------------

def mentorship_by_id(mentorship_id: int) -> Mentorship | None:
    return db.session.get(Mentorship, mentorship_id)


def user_by_id(user_id: int) -> User | None:
    return db.session.get(User, user_id)


_SIGNED_IN = select(User.id, User.email, User.name, User.role, User.session_version,
                    User.password_hash.is_not(None).label("has_password"), User.deactivated_at
                    ).where(User.id == bindparam("id"))


def signed_in(user_id: int):
    """The person a session cookie names, as one row (id, email, name, role, session_version,
    has_password, deactivated_at), or None. Every logged-in request reads it first: a Core statement
    built once, where loading the ORM User took about 0.3 ms of each."""
    return db.session.connection().execute(_SIGNED_IN, {"id": user_id}).first()


def mentor_profile_of(user_id: int) -> MentorProfile | None:
    return db.session.get(MentorProfile, user_id)


def database_problem() -> str | None:
    """The readiness check's `SELECT 1`: None when the database answers, else the error's class name
    (short and safe to show to anyone), with the session rolled back."""
    try:
        db.session.execute(select(literal(1)))
    except SQLAlchemyError as error:
        db.session.rollback()
        return type(error).__name__
    return None


def database_answers() -> bool:
    return database_problem() is None
