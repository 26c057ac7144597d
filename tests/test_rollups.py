"""The rollups (tracker/data/rollups.py) and the fast read path (tracker/reports/rollup_queries.py)
against the raw computation (queries.measure), which stays the reference.

Property-based: Hypothesis draws sequences of real actions through the services (apply, accept,
decline, withdraw, cancel with a survey, cancel flows with their offers, history imports) at random
moments, then random windows, as-of moments (on and around day boundaries) and filters; the rollups
must equal a fresh computation and every count must equal the raw one. Runs on both engines.
"""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import tempfile
from datetime import datetime, timedelta, timezone

import pytest
from flask_migrate import downgrade, upgrade
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, select, text, update

from tracker import services
from tracker.core import clock
from tracker.core.extensions import db
from tracker.data import report_cache, rollups
from tracker.data.database import unit_of_work
from tracker.data.models import CancelFlow, ExitSurvey, Mentorship, Pulse, User
from tracker.domain.lifecycle import FLOW_ABANDONED_AFTER, MONTH_3_ENDS, SAVE_LASTS, TRIAL_LENGTH
from tracker.domain.vocabulary import CHURN_REASONS, GOAL_CATEGORIES, GOAL_REACHED
from tracker.reports import metrics, queries, rollup_queries
from tracker.reports.history_format import HISTORY_COLUMNS
from tracker.reports.scope import Scope
from tracker.services import rollups as rollup_service
from tracker.services.errors import ServiceError
from tracker.services.history_import import HistoryError, import_history
from tracker.services.seed import seed_demo

from .factories import users
from .helpers import T0, empty_tables

DAY = 86400
START = T0 - timedelta(days=40)
CATEGORIES = ("change_careers", "get_promoted")  # two, so a category filter has both kinds of rows


def as_tuples(groups) -> list[tuple[int, int, int]]:
    groups = metrics.DurationGroups.of(groups)
    return sorted(zip(groups.durations.tolist(), groups.events.tolist(), groups.censored.tolist()))


def comparable(counts: metrics.Counts) -> dict:
    """Counts with the lists whose order means nothing sorted."""
    fields = {field.name: getattr(counts, field.name) for field in dataclasses.fields(counts)}
    fields["durations"] = as_tuples(fields["durations"])
    fields["mentors"] = sorted(fields["mentors"])
    return fields


def assert_same_numbers(scope: Scope) -> None:
    raw, fast = comparable(queries.measure(scope)), comparable(rollup_queries.measure(scope))
    for name in raw:
        assert fast[name] == raw[name], f"{name} differs for {scope}"
    endings = queries.ending_groups(scope)
    assert rollup_queries.ending_groups(scope) == endings, f"endings differ for {scope}"
    raw = queries.duration_groups_by_category(scope)
    fast = rollup_queries.duration_groups_by_category(scope)
    assert {c: as_tuples(g) for c, g in fast.items()} == {c: sorted(g) for c, g in raw.items()}, str(scope)
    assert metrics.research(endings, fast) == metrics.research(endings, raw)
    for name in ("pulse_tier_groups", "month_one_groups", "save_groups", "goal_event_groups", "response_groups"):
        assert getattr(rollup_queries, name)(scope) == getattr(queries, name)(scope), f"{name} differs for {scope}"


def assert_same_at_risk(at: datetime) -> None:
    """The at-risk list and the mentorships page's counts by status, fast and raw."""
    def seen(found):
        rows = lambda assessed: [(a.mentorship.id, a.flags, a.open_flags, a.handled_at, a.handled_note)  # noqa: E731
                                 for a in assessed]
        return rows(found.waiting), found.waiting_count, rows(found.handled), found.handled_count, found.running
    for shown in (200, 2):
        assert seen(rollup_queries.at_risk(at, shown)) == seen(queries.at_risk(at, shown)), f"at-risk differs at {at}"
    assert rollup_queries.counts_by_status(at) == queries.counts_by_status(at), f"statuses differ at {at}"


# --- actions ------------------------------------------------------------------------------------------

actions = st.lists(st.tuples(
    st.sampled_from(["apply"] * 5 + ["accept"] * 4 + ["checkin"] * 4 + ["pulse"] * 3
                    + ["decline", "withdraw", "cancel", "cancel", "flow_pause", "flow_pause", "flow_switch",
                       "flow_decline", "flow_leave", "flow_leave", "handled", "handled", "resume", "import"]),
    st.integers(0, 40 * DAY),  # when, after START
    st.integers(0, 10_000),  # which person or mentorship
    st.sampled_from(CATEGORIES),
    st.integers(1, 5), st.sampled_from(list(GOAL_REACHED)), st.sampled_from(list(CHURN_REASONS))),
    min_size=25, max_size=70)


def _people(app):
    found = _existing_people(app)
    if found:
        return found
    specs = [("mentor", f"mentor{i}@example.com", None, True) for i in range(3)] + \
            [("mentee", f"mentee{i}@example.com", None, True) for i in range(8)]
    made = users(app, specs)
    return [u for u in made if u.role == "mentor"], [u for u in made if u.role == "mentee"]


def _existing_people(app):
    with app.app_context():
        people = list(db.session.scalars(select(User).where(User.email.like("%@example.com"))
                                         .order_by(User.id)))
        db.session.expunge_all()
    mentors = [u for u in people if u.role == "mentor" and u.email.startswith("mentor")]
    mentees = [u for u in people if u.role == "mentee" and u.email.startswith("mentee")]
    return (mentors, mentees) if len(mentors) == 3 and len(mentees) == 8 else None


def _mentorships(*conditions) -> list[Mentorship]:
    return list(db.session.scalars(select(Mentorship).where(*conditions).order_by(Mentorship.id)))


def _import(at: datetime, pick: int, category: str, stars: int, goal: str, reason: str) -> None:
    """A history file of three past mentorships (one declined, one ended with a survey, one running)."""
    applied = at - timedelta(days=20, seconds=pick)
    rows = [
        dict(ref=f"old-{pick}-a", applied_at=applied, trial_started_at=None, ended_at=applied + timedelta(hours=5)),
        dict(ref=f"old-{pick}-b", applied_at=applied, trial_started_at=applied + timedelta(days=1),
             ended_at=at - timedelta(seconds=pick % DAY), survey=True),
        dict(ref=f"old-{pick}-c", applied_at=applied, trial_started_at=applied + timedelta(days=2), ended_at=None),
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, newline="") as handle:
        writer = csv.DictWriter(handle, HISTORY_COLUMNS)
        writer.writeheader()
        for i, row in enumerate(rows):
            survey = row.pop("survey", False)
            writer.writerow({**{k: (v.isoformat() if v else "") for k, v in row.items() if k != "ref"},
                             "ref": row["ref"], "mentee_email": f"imported{pick}-{i}@example.com",
                             "mentor_email": "mentor0@example.com", "goal_category": category,
                             "goal_text": "An imported goal.", "stars": stars if survey else "",
                             "goal_reached": goal if survey else "", "churn_reason": reason if survey else "",
                             "survey_submitted_at": min(row["ended_at"] + timedelta(seconds=pick * 37), at)
                             .isoformat() if survey else "",
                             "feedback_platform": "", "feedback_mentor": "", "feedback_other": ""})
    import_history(handle.name, at)


@pytest.mark.parametrize("pick", [0, 1, 977, DAY + 7])
def test_the_generated_history_file_is_accepted(app, pick):
    """`run` passes over a refused import (a pick used twice repeats its refs), so the file itself must be
    good: a moment after the import would make every import a refusal, and the sequences would test none."""
    _people(app)
    at = START + timedelta(days=30)
    with app.app_context():
        _import(at, pick, "change_careers", 4, "yes", "goal_reached")
        assert len(_mentorships(Mentorship.ref.like(f"old-{pick}-%"))) == 3


def run(app, steps, start: datetime = START, freeze: bool = False) -> None:
    """The actions at their moments after `start`; freeze: with the clock at each one, as in production."""
    mentors, mentees = _people(app)
    for kind, offset, pick, category, stars, goal, reason in sorted(steps, key=lambda step: step[1]):
        at = start + timedelta(seconds=offset)
        if freeze:
            clock.freeze(at)
        answers = services.SurveyAnswers(stars, goal, reason)
        with app.app_context():
            pending = _mentorships(Mentorship.trial_started_at.is_(None), Mentorship.ended_at.is_(None))
            running = _mentorships(Mentorship.trial_started_at.is_not(None), Mentorship.ended_at.is_(None))
            one = lambda rows: rows[pick % len(rows)] if rows else None  # noqa: E731
            try:
                if kind == "apply":
                    services.apply(mentees[pick % 8].id, mentors[pick % 3].id, category, "A goal.", "video", at)
                elif kind in ("accept", "decline") and (m := one(pending)):
                    (services.accept if kind == "accept" else services.decline)(m.mentor_id, m.id, at)
                elif kind == "withdraw" and (m := one(pending)):
                    services.withdraw(m.mentee_id, m.id, at)
                elif kind == "cancel" and (m := one(running)):
                    services.cancel_with_survey(m.mentee_id, m.id, answers, at)
                elif kind.startswith("flow_") and (m := one(running)):
                    why = {"flow_pause": "no_time", "flow_switch": "mentor_fit"}.get(kind, reason)
                    flow = services.start_cancel_flow(m.mentee_id, m.id, why, at)
                    if kind == "flow_pause":
                        services.accept_offer(m.mentee_id, m.id, flow.id, at, months=1)
                    elif kind == "flow_leave":
                        pass  # left open: abandoned a day later, superseded if the mentee begins again
                    elif kind == "flow_switch":
                        other = next(u for u in mentors if u.id != m.mentor_id)
                        services.accept_offer(m.mentee_id, m.id, flow.id, at, mentor_id=other.id)
                    else:
                        services.decline_offer(m.mentee_id, m.id, flow.id, at)
                        services.cancel_with_survey(m.mentee_id, m.id, answers, at + timedelta(seconds=30),
                                                    flow_id=flow.id)
                elif kind == "handled" and (m := one(running)):
                    services.mark_risk_handled(mentors[0].id, m.id, "Called them.", at)
                elif kind == "resume" and (m := one(running)):
                    services.resume(m.mentee_id, m.id, at)
                elif kind == "checkin" and (m := one(running)):
                    services.log_checkin(m.mentee_id, m.id, at - timedelta(hours=pick % 200), "video", 30, "", at)
                elif kind == "pulse" and (m := one(running)):
                    for period in range(4):  # whichever is open, if any
                        with contextlib.suppress(ServiceError):
                            services.answer_pulse(m.mentee_id, m.id, period, pick % 101, stars, at)
                elif kind == "import":
                    _import(at, pick, category, stars, goal, reason)
            except (ServiceError, HistoryError):
                pass  # refused: it must have changed nothing, rollups included


scopes = st.lists(st.tuples(
    st.integers(-2, 45),  # as-of day, after START's day; or which stored moment
    st.sampled_from(["midnight", "just before midnight", "random", "at a moment", "at a trial's end"]),
    st.integers(-1, 1),  # seconds from that moment
    st.sampled_from(["everything", "up to T's day", "around T"]),
    st.integers(-45, 45), st.integers(1, 90),  # window start (days from the as-of day) and length
    st.sampled_from([None, *CATEGORIES]), st.booleans()), min_size=6, max_size=10)


def _moments() -> list[datetime]:
    """Every stored moment a number compares with T, and the moments derived from them (a month-1
    pulse's month 3 end, a flow's abandonment, an accepted offer's 30-day check)."""
    m, s, f = Mentorship, ExitSurvey, CancelFlow
    found = set()
    for row in db.session.execute(select(m.applied_at, m.trial_started_at, m.ended_at, s.submitted_at)
                                  .outerjoin(s, s.mentorship_id == m.id)):
        found.update(moment for moment in row if moment is not None)
        if row.trial_started_at is not None:
            found.add(row.trial_started_at + MONTH_3_ENDS)
    found.update(db.session.scalars(select(Pulse.submitted_at)))
    for row in db.session.execute(select(f.started_at, f.offer_shown_at, f.offer_accepted_at, f.offer_declined_at,
                                         f.cancelled_at, f.superseded_at)):
        found.update(moment for moment in row if moment is not None)
        found.add(row.started_at + FLOW_ABANDONED_AFTER)
        if row.offer_accepted_at is not None:
            found.add(row.offer_accepted_at + SAVE_LASTS)
    return sorted(found)


def scope_of(draw) -> Scope:
    """An as-of moment at midnight, a second before one, in the day, or a second around a stored moment
    or a trial's end (where a rollup's day meets T's); a window around it; maybe a filter."""
    pick, kind, second, window, start, length, category, by_mentor = draw
    midnight = datetime.combine(START.date() + timedelta(days=pick), datetime.min.time(), tzinfo=timezone.utc)
    moments = _moments() or [midnight]
    near = moments[pick % len(moments)]
    as_of = {"midnight": midnight, "just before midnight": midnight - timedelta(seconds=1),
             "random": midnight + timedelta(seconds=pick * 4099 % DAY),
             "at a moment": near + timedelta(seconds=second),
             "at a trial's end": near + TRIAL_LENGTH + timedelta(seconds=second)}[kind]
    day = datetime.combine(as_of.date(), datetime.min.time(), tzinfo=timezone.utc)
    begin, end = {"everything": (START - timedelta(days=30), START + timedelta(days=90)),
                  "up to T's day": (day - timedelta(days=length), day + timedelta(days=1)),
                  "around T": (day + timedelta(days=start), day + timedelta(days=start + length))}[window]
    begin = begin.replace(hour=0, minute=0, second=0)
    mentor_id = db.session.scalar(select(User.id).where(User.email == "mentor1@example.com")) if by_mentor else None
    return Scope(as_of=as_of, start=begin, end=end, goal_category=category,
                 mentor_id=mentor_id)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=actions, asked=scopes)
def test_rollups_stay_exact_through_random_actions(app, steps, asked):
    with app.app_context():
        empty_tables()
    run(app, steps)
    with app.app_context():
        assert rollup_service.first_difference() is None
        for draw in asked:
            scope = scope_of(draw)
            assert_same_numbers(scope)
            assert_same_at_risk(scope.as_of)


today_actions = st.lists(st.tuples(
    st.sampled_from(["apply", "accept", "decline", "withdraw", "checkin", "checkin", "pulse", "pulse", "cancel",
                     "flow_pause",
                     "flow_switch", "flow_decline", "flow_leave", "handled", "resume", "import"]),
    st.integers(0, DAY - 60), st.integers(0, 10_000), st.sampled_from(CATEGORIES),
    st.integers(1, 5), st.sampled_from(list(GOAL_REACHED)), st.sampled_from(list(CHURN_REASONS))),
    min_size=3, max_size=12)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=actions, today=today_actions, day=st.integers(20, 42), windows=st.lists(
    st.tuples(st.integers(1, 60), st.sampled_from([None, *CATEGORIES])), min_size=2, max_size=4))
def test_todays_writes_after_the_cache_is_filled_count_at_once(app, history, today, day, windows):
    """The production order: the cache of a day is filled, then that day's writes come in (the clock
    at each one); every page's numbers at later moments of the day still equal the raw ones."""
    midnight = datetime.combine(START.date() + timedelta(days=day), datetime.min.time(), tzinfo=timezone.utc)
    with app.app_context():
        empty_tables()
    try:
        # The history is what happened before the day's midnight (START is at 09:00, so not day * DAY).
        run(app, [step for step in history if START + timedelta(seconds=step[1]) < midnight], freeze=True)

        def scopes(at):
            return [Scope(as_of=at, start=midnight - timedelta(days=length), end=midnight + timedelta(days=1),
                          goal_category=category) for length, category in windows]
        with app.app_context():
            clock.freeze(midnight + timedelta(seconds=rollup_queries.SETTLING_SECONDS + 30))
            rollup_service.rebuild()  # a version token, so the day's settled part is cached
            for scope in scopes(clock.now()):
                assert_same_numbers(scope)  # fills this process's cache for the day
            assert_same_at_risk(clock.now())
            assert rollup_queries._CACHE
        run(app, today, start=midnight, freeze=True)
        with app.app_context():
            later = max(clock.now(), midnight + timedelta(hours=23))
            clock.freeze(later)
            for at in (later, later - timedelta(hours=6), midnight + timedelta(seconds=30)):
                for scope in scopes(at):
                    assert_same_numbers(scope)
                assert_same_at_risk(at)
            assert rollup_service.first_difference() is None
    finally:
        clock.unfreeze()


def test_the_at_risk_list_moves_during_the_day_after_it_was_cached(app):
    """A 14-day silence that ends today from a check-in of 14 days ago, and a back-dated check-in logged
    today that ends a silence, after the day's judgement was cached: both show at once."""
    mentors, mentees = _people(app)
    day = START + timedelta(days=40)
    midnight = datetime.combine(day.date(), datetime.min.time(), tzinfo=timezone.utc)
    try:
        with app.app_context():
            ids = []
            for i in range(3):
                clock.freeze(midnight - timedelta(days=31))
                m = services.apply(mentees[i].id, mentors[0].id, "change_careers", "A goal.", "video", clock.now())
                clock.freeze(midnight - timedelta(days=30))
                services.accept(mentors[0].id, m.id, clock.now())
                ids.append(m.id)
            clock.freeze(midnight - timedelta(days=14) + timedelta(hours=10))
            services.log_checkin(mentors[0].id, ids[0], clock.now(), "video", 30, "", clock.now())  # quiet from 10:00
            clock.freeze(midnight - timedelta(days=20))
            for i in (1, 2):
                services.log_checkin(mentors[0].id, ids[i], clock.now(), "video", 30, "", clock.now())  # quiet
            clock.freeze(midnight + timedelta(seconds=30))
            rollup_service.rebuild()
            assert_same_at_risk(clock.now())  # the day's judgement, cached
            before = rollup_queries.at_risk(clock.now(), 10)
            assert [a.mentorship.id for a in before.waiting] == [ids[1], ids[2]]
            clock.freeze(midnight + timedelta(hours=9))
            services.log_checkin(mentors[0].id, ids[1], midnight - timedelta(hours=12), "video", 30, "", clock.now())
            clock.freeze(midnight + timedelta(hours=11))
            after = rollup_queries.at_risk(clock.now(), 10)
            assert [a.mentorship.id for a in after.waiting] == [ids[2], ids[0]]
            assert (after.waiting_count, after.running) == (2, 3)
            assert_same_at_risk(clock.now())
    finally:
        clock.unfreeze()


# --- a demo marketplace, seeded in bulk ------------------------------------------------------------------

@pytest.fixture
def demo(app):
    with app.app_context():
        seed_demo(count=600, seed=7, until=datetime(2026, 3, 1, tzinfo=timezone.utc))
    return app


def test_the_demo_seed_leaves_the_rollups_exact_and_the_numbers_the_same(demo):
    until = datetime(2026, 3, 1, tzinfo=timezone.utc)
    with demo.app_context():
        assert rollup_service.first_difference() is None
        for as_of in (until, until - timedelta(days=3, seconds=1), until - timedelta(days=200, hours=5)):
            for days in (90, 365, 800):
                for category in (None, *GOAL_CATEGORIES):
                    assert_same_numbers(Scope(as_of=as_of, start=as_of.replace(hour=0, minute=0, second=0)
                                              - timedelta(days=days - 1), end=until + timedelta(days=1),
                                              goal_category=category))


def test_the_api_answers_the_same_from_the_rollups_as_from_the_raw_rows(demo):
    """The whole report (rates, intervals, survival, cohorts, mentor table), not only the counts."""
    until = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    with demo.app_context():
        scope = Scope(as_of=until, start=until - timedelta(days=600, hours=12), end=until + timedelta(hours=12))
        raw = metrics.report(queries.measure(scope), "T", {}, {})
        fast = metrics.report(rollup_queries.measure(scope), "T", {}, {})
        assert fast == raw
        assert raw["cancellations"]["count"] > 100 and raw["retention"]["n"] > 300


def test_verify_names_the_first_difference_and_rebuild_repairs_it(demo):
    runner = demo.test_cli_runner()
    assert runner.invoke(args=["rollups", "verify"]).exit_code == 0
    with demo.app_context():
        before = rollups.stored(db.session.connection())
        db.session.rollback()
        with db.engine.begin() as conn:
            day = conn.execute(select(rollups.trials.c.started_day).order_by(rollups.trials.c.started_day)
                               .limit(1)).scalar()
            conn.execute(update(rollups.trials).where(rollups.trials.c.started_day == day)
                         .values(n=rollups.trials.c.n + 1))
    result = runner.invoke(args=["rollups", "verify"])
    assert result.exit_code == 1
    assert f"rollup_trials (started_day={day}, goal_category=" in result.output
    assert "rollups rebuild" in result.output
    for _ in range(2):  # idempotent
        result = runner.invoke(args=["rollups", "rebuild"])
        assert result.exit_code == 0 and "Rebuilt the rollups" in result.output
        with demo.app_context():
            assert rollups.stored(db.session.connection()) == before
            db.session.rollback()
    assert runner.invoke(args=["rollups", "verify"]).output.strip() == "The rollups match the raw rows."


def test_rollup_changes_commit_and_roll_back_with_the_write_that_caused_them(app):
    mentors, mentees = _people(app)
    with app.app_context():
        m = services.apply(mentees[0].id, mentors[0].id, "change_careers", "A goal.", "video", START)
        services.accept(mentors[0].id, m.id, START + timedelta(hours=1))
        before = rollups.stored(db.session.connection())
        assert before[(rollups.trials.name, (START.timestamp() // DAY, "change_careers", rollups.NEVER))] == (1,)
        db.session.rollback()
        with pytest.raises(RuntimeError), unit_of_work():
            db.session.get(Mentorship, m.id).ended_at = START + timedelta(days=2)
            db.session.get(Mentorship, m.id).end_reason = "cancelled"
            db.session.flush()  # the rollups moved inside the transaction ...
            assert rollups.stored(db.session.connection()) != before
            raise RuntimeError("... which then fails")
        assert rollups.stored(db.session.connection()) == before
        db.session.rollback()
        assert rollup_service.first_difference() is None


def test_writes_of_today_keep_the_version_and_a_settled_change_makes_a_new_one(app):
    """The settled cache lives as long as the version token: every write of "now" (an application
    included, which had no facts before it) must keep it, a write reaching into an earlier day must not."""
    mentors, mentees = _people(app)
    today = START + timedelta(days=3, hours=10)
    with app.app_context():
        clock.freeze(START)
        pending = services.apply(mentees[1].id, mentors[1].id, "change_careers", "A goal.", "video", START)
        clock.freeze(today)
        rollup_service.rebuild()
        token = rollups.current_version(db.session.connection())
        db.session.rollback()

        def version():
            found = rollups.current_version(db.session.connection())
            db.session.rollback()
            return found

        m = services.apply(mentees[0].id, mentors[0].id, "change_careers", "A goal.", "video", today)
        assert version() == token, "a new application"
        services.accept(mentors[0].id, m.id, today + timedelta(minutes=1))
        services.log_checkin(mentees[0].id, m.id, today + timedelta(minutes=2), "video", 30, "",
                             today + timedelta(minutes=2))
        with contextlib.suppress(ServiceError):  # if the trial's pulse is not open yet
            services.answer_pulse(mentees[0].id, m.id, 0, 80, 4, today + timedelta(minutes=3))
        services.cancel_with_survey(mentees[0].id, m.id, services.SurveyAnswers(5, "yes", "goal_reached"),
                                    today + timedelta(minutes=4))
        services.accept(mentors[1].id, pending.id, today + timedelta(minutes=5))  # applied on a settled day
        assert version() == token, "writes of today"
        gone = services.apply(mentees[2].id, mentors[2].id, "get_promoted", "A goal.", "video", today).id
        with unit_of_work():
            db.session.delete(db.session.get(Mentorship, gone))
        assert version() == token, "today's own application removed"
        with unit_of_work():
            db.session.get(Mentorship, pending.id).applied_at = START - timedelta(days=1)
        assert version() != token, "a settled application moved"
        clock.unfreeze()


def test_the_migration_fills_the_rollups_from_existing_mentorships_and_goes_down_again(demo):
    with demo.app_context():
        expected = rollups.stored(db.session.connection())
        db.session.rollback()
        db.session.remove()
        downgrade(revision="0006")
        assert not any(name.startswith("rollup_") for name in inspect(db.engine).get_table_names())
        with db.engine.begin() as conn:  # the previous version keeps writing: a mentorship nobody rolled up
            conn.execute(text("UPDATE mentorships SET ended_at = applied_at + 60, end_reason = 'withdrawn' "
                              "WHERE id = (SELECT MIN(id) FROM mentorships WHERE trial_started_at IS NULL "
                              "AND ended_at IS NULL)"))
        upgrade()
        assert rollup_service.first_difference() is None
        assert rollups.stored(db.session.connection()) != expected  # built from the rows as they are now
        db.session.rollback()


# --- the report cache every process shares ----------------------------------------------------------------

def _corrupt_a_settled_rollup_row() -> int:
    """Add 1,000 to a settled cancellations row behind the app's back, without a new version token;
    returns how many cancellations that adds."""
    t = rollups.cancellations
    with db.engine.begin() as conn:
        key = conn.execute(select(*t.primary_key.columns).order_by(t.c.ended_day.desc()).limit(1).offset(20)).one()
        conn.execute(update(t).where(*(column == value for column, value in zip(t.primary_key.columns, key)))
                     .values(n=t.c.n + 1000))
    return 1000


def test_a_process_reads_what_another_computed_and_only_what_this_app_signed(demo):
    at = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    scope = Scope(as_of=at, start=at.replace(hour=0) - timedelta(days=364), end=at.replace(hour=0) + timedelta(days=1))
    try:
        clock.freeze(at)
        with demo.app_context():
            rollup_service.rebuild()
            rollup_queries.forget_settled(shared=True)
            cancellations = lambda: sum(rollup_queries.measure(scope).cancellations.values())  # noqa: E731
            right = cancellations()  # computed here, and stored for the other processes
            assert right == sum(queries.measure(scope).cancellations.values())
            db.session.rollback()  # the store committed on a connection of its own, after this snapshot began
            day = int(at.timestamp()) // DAY
            names = db.session.scalars(select(report_cache.table.c.name)).all()
            assert sorted(names) == [f"{part}|{scope.start.isoformat()}|{scope.end.isoformat()}|None|None|{day}"
                                     for part in ("counts", "settled")]
            db.session.rollback()
            added = _corrupt_a_settled_rollup_row()
            rollup_queries.forget_settled()  # another process: nothing in its own memory
            assert cancellations() == right  # read from the shared cache, not recomputed
            db.session.rollback()
            rollup_queries.forget_settled()
            with db.engine.begin() as conn:  # a row this app did not sign is not used (nor unpickled)
                conn.execute(update(report_cache.table).values(signature="0" * 64))
            assert cancellations() == right + added  # recomputed from the (now wrong) rollups
            db.session.rollback()
            assert "rollups differ" in demo.test_cli_runner().invoke(args=["rollups", "verify"]).output
            rollup_service.rebuild()  # a new version token: the stored value is not used
            rollup_queries.forget_settled()
            assert cancellations() == right
    finally:
        clock.unfreeze()


def test_warm_computes_the_days_usual_reports_for_every_process(demo):
    at = datetime(2026, 3, 1, 0, 5, tzinfo=timezone.utc)
    try:
        clock.freeze(at)
        with demo.app_context():
            rollup_service.rebuild()
            rollup_queries.forget_settled(shared=True)
            result = demo.test_cli_runner().invoke(args=["rollups", "warm"])
            assert result.exit_code == 0, result.output
            assert "Warmed: at-risk list." in result.output
            db.session.rollback()
            parts = sorted({name.split("|")[0] for name in db.session.scalars(select(report_cache.table.c.name))})
            assert parts == ["at_risk", "categories", "counts", "endings", "goal_events", "month_one",
                             "pulse_tiers", "responses", "saves", "settled", "statuses"]
            windows = {name.split("|")[1][:10] for name in db.session.scalars(
                select(report_cache.table.c.name).where(report_cache.table.c.name.like("settled|%")))}
            # a year, 90 and 30 days, all time
            assert windows == {"2025-03-02", "2025-12-02", "2026-01-31", "2000-01-01"}
            db.session.rollback()
            rollup_queries.forget_settled()
            client = demo.test_client()
            with client.session_transaction() as session:
                operator = db.session.scalar(select(User).where(User.role == "operator"))
                session["_user_id"] = operator.get_id()
            for path in ("/ops/", "/ops/health", "/ops/saves", "/ops/research", "/ops/at-risk", "/ops/mentorships"):
                assert client.get(path).status_code == 200
            assert len(rollup_queries._CACHE) >= 8  # every page found its part in the shared cache
    finally:
        clock.unfreeze()


def test_a_windows_many_small_parts_do_not_push_its_large_ones_out_of_the_process_cache(app):
    at = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    today = int(at.timestamp()) // DAY
    midnight = at.replace(hour=0)
    windows = [Scope(as_of=at, start=midnight - timedelta(days=days), end=midnight + timedelta(days=1))
               for days in range(1, 11)]
    small = [f"small_{i}" for i in range(20)]
    try:
        clock.freeze(at)
        with app.app_context():
            empty_tables()
            rollup_service.rebuild()  # a version token, so the parts are kept
            rollup_queries.forget_settled(shared=True)
            for part in ("settled", "goal_events", *small):
                rollup_queries._cached(part, windows[0], today, lambda _scope, _today: "a value")
            assert {key[0] for key in rollup_queries._CACHE} == {"settled", "goal_events", *small}  # all 22 kept
            for scope in windows[1:]:  # nine more windows' settled parts: the newest 8 large parts stay
                rollup_queries._cached("settled", scope, today, lambda _scope, _today: "a value")
            large = {(key[0], key[1]) for key in rollup_queries._CACHE if key[0] in rollup_queries.LARGE_PARTS}
            assert large == {("settled", scope.start.isoformat()) for scope in windows[2:]}
            assert {key[0] for key in rollup_queries._CACHE} - rollup_queries.LARGE_PARTS == set(small)
            rollup_queries.forget_settled(shared=True)
            db.session.rollback()
    finally:
        clock.unfreeze()


def test_nothing_of_a_new_day_is_kept_in_its_first_minute(demo):
    """A write of yesterday may still be committing just after midnight: in the day's first minute the
    settled parts are computed for each request and not kept, and `rollups warm` refuses."""
    midnight = datetime(2026, 3, 1, tzinfo=timezone.utc)
    scope = Scope(as_of=midnight + timedelta(seconds=20), start=midnight - timedelta(days=90),
                  end=midnight + timedelta(days=1))
    try:
        with demo.app_context():
            rollup_service.rebuild()
            rollup_queries.forget_settled(shared=True)
            clock.freeze(midnight + timedelta(seconds=rollup_queries.SETTLING_SECONDS - 1))
            result = demo.test_cli_runner().invoke(args=["rollups", "warm"])
            assert result.exit_code == 1 and "the day's first minute" in result.output
            assert_same_numbers(scope)
            assert not rollup_queries._CACHE
            db.session.rollback()
            assert not db.session.scalars(select(report_cache.table.c.name)).all()
            clock.freeze(midnight + timedelta(seconds=rollup_queries.SETTLING_SECONDS))
            assert demo.test_cli_runner().invoke(args=["rollups", "warm"]).exit_code == 0
            assert rollup_queries._CACHE
            rollup_queries.forget_settled(shared=True)
    finally:
        clock.unfreeze()


def test_a_filter_by_mentor_never_reads_a_part_cached_for_another_scope(demo):
    at = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    midnight = at.replace(hour=0)
    everyone = Scope(as_of=at, start=midnight - timedelta(days=364), end=midnight + timedelta(days=1))
    try:
        clock.freeze(at)
        with demo.app_context():
            rollup_service.rebuild()
            rollup_queries.forget_settled(shared=True)
            mentor = db.session.scalar(select(Mentorship.mentor_id).where(Mentorship.ended_at.is_not(None)).limit(1))
            one = dataclasses.replace(everyone, mentor_id=mentor)
            for name in ("response_groups", "goal_event_groups"):
                fast, raw = getattr(rollup_queries, name), getattr(queries, name)
                assert fast(everyone) == raw(everyone)  # cached for everyone's window
                assert fast(one) == raw(one) != raw(everyone), name  # not read back for one mentor
            rollup_queries.forget_settled(shared=True)
            db.session.rollback()
    finally:
        clock.unfreeze()


def test_a_check_in_before_a_recorded_end_moves_the_rollups_of_that_run(app, world):
    """A check-in written below the ORM (services/applications.py) moves an ended mentorship's whole run;
    one whose recorded end lies after the check-in's moment still runs then, so the check-in is
    allowed and must reach the rollups (rollups.moved_by_activity)."""
    m_id = world.in_trial(days_in=2)
    with app.app_context():
        with unit_of_work():
            m = db.session.get(Mentorship, m_id)
            m.ended_at, m.end_reason = world.at + timedelta(days=30), "cancelled"
        before = rollups.stored(db.session.connection())
        services.log_checkin(world.mentee.id, m_id, world.at - timedelta(hours=1), "video", 30, "", world.at)
        assert rollup_service.first_difference() is None
        assert rollups.stored(db.session.connection()) != before  # its trial is no longer silent
