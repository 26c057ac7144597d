"""Every query behind the dashboard, the metrics API and the people's pages is served by an index
where one can serve: no full table scan of mentorships, exit surveys, check-ins or the rollups.

The statements are the real ones (captured while the pages are requested), explained by the
engine under test: on SQLite, EXPLAIN QUERY PLAN must show every access to those tables as a
search or an index scan; on PostgreSQL, with sequential scans priced out (enable_seqscan = off,
so a Seq Scan in the plan means no index could serve), EXPLAIN must show no Seq Scan on them.
"""
import re
from datetime import timedelta

import pytest
from sqlalchemy import case, event, func, insert, literal, select

from tracker import services
from tracker.core import clock
from tracker.core.extensions import db
from tracker.data.models import CancelFlow, MentorProfile, Mentorship, OfferAssignment, User
from tracker.mail import schedule
from tracker.reports import rollup_queries
from tracker.services.audit import Actor
from tracker.services.seed import DEMO_PASSWORD, seed_demo

from .helpers import T0

BIG_TABLES = ("mentorships", "exit_surveys", "checkins", "rollup_applications", "rollup_trials",
              "rollup_cancellations", "rollup_mentor_surveys", "rollup_durations", "rollup_endings", "reviews", "users",
              "audit_log", "cancel_flows", "outbox", "offer_assignments")
FULL = {"from": "2024-01-01", "to": "2026-03-02", "as_of": "2026-03-02T00:00:00+00:00"}
OPERATOR_PAGES = [("/api/v1/metrics", FULL), ("/api/v1/metrics", {}), ("/api/v1/metrics", {"goal_category": "other"}),
                  ("/api/v1/metrics", {"mentor": "mentor@demo.example"}),
                  ("/ops/", FULL), ("/ops/churn", FULL), ("/ops/retention", FULL), ("/ops/ratings", FULL),
                  ("/ops/feedback", FULL), ("/ops/feedback", {"reason": "no_time", "stars": "2", "words": "late"}),
                  ("/ops/surveys.csv", FULL), ("/ops/mentorships", {}), ("/ops/", {"mentor": "mentor@demo.example"}),
                  ("/ops/health", FULL), ("/ops/research", FULL), ("/ops/research", {"goal_category": "other"}),
                  ("/ops/saves", FULL), ("/ops/at-risk", {})]


@pytest.fixture
def demo(app):
    with app.app_context():
        seed_demo(count=600, seed=5, until=T0)
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        running = db.session.scalar(select(Mentorship.id).join(User, User.id == Mentorship.mentee_id)
                                    .where(User.email == "mentee@demo.example", Mentorship.ended_at.is_(None),
                                           Mentorship.trial_started_at.is_not(None)))
    return running


def _captured(app, requests) -> list[tuple[str, object]]:
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if any(re.search(rf"\b{table}\b", statement) for table in BIG_TABLES):
            statements.append((statement, parameters))
    with app.app_context():
        engine = db.engine
    # The requests run outside that app context: one shared context would keep `g`, and with it
    # the signed-in user, from one client's request to the next.
    event.listen(engine, "before_cursor_execute", record)
    try:
        requests()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return statements


def _full_scans(app, statement: str, parameters) -> list[str]:
    with app.app_context(), db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = [row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters)]
            conn.exec_driver_sql("RESET enable_seqscan")
            return [line for line in plan if re.search(rf"Seq Scan on ({'|'.join(BIG_TABLES)})\b", line)]
        plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
        return [line for line in plan
                if re.match(rf"SCAN ({'|'.join(BIG_TABLES)})\b", line) and "INDEX" not in line
                and not _walks_the_primary_key(statement, line.split()[1])]


def _walks_the_primary_key(statement: str, table: str) -> bool:
    """SQLite shows a walk down the table in id order that stops at the LIMIT (newest first, a page of
    rows) as SCAN without an index: it reads a page's rows, not the table."""
    return re.search(rf"ORDER BY {table}\.id DESC\s+LIMIT", statement) is not None


def _signed_in(app, email):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": DEMO_PASSWORD}).status_code == 302
    return client


def test_every_page_query_is_served_by_an_index(app, demo):
    experiment_id = _experiment_with_flows(app)

    def requests():
        operator = _signed_in(app, "operator@demo.example")
        for path, params in OPERATOR_PAGES:
            rollup_queries.forget_settled()  # so the statements behind a cached part are seen too
            assert operator.get(path, query_string=params).status_code == 200, path
        mentor = _signed_in(app, "mentor@demo.example")
        for path in ("/mentor/", "/mentor/ratings", f"/mentorships/{demo}"):
            assert mentor.get(path).status_code == 200, path
        mentee = _signed_in(app, "mentee@demo.example")
        for path in ("/me", f"/mentorships/{demo}", "/mentors", "/mentors?q=design&sort=name",
                     "/mentors?goal_category=change_careers&expertise=Leadership", "/mentors?page=2&sort=newest",
                     "/mentors/2", "/mentors/2?page=2"):
            assert mentee.get(path).status_code == 200, path
        operator = _signed_in(app, "operator@demo.example")
        for path in ("/ops/reviews", "/ops/reviews?state=hidden", "/ops/mentorships?q=mentee",
                     "/ops/mentorships?q=Olivia", "/ops/mentorships?q=12", "/ops/mentorships?state=trial",
                     "/ops/mentorships?state=month_2", "/ops/mentorships?state=paused",
                     "/ops/mentorships?state=application", "/ops/mentorships?state=ended&end_reason=cancelled",
                     "/ops/mentorships?mentor=mentor@demo.example&goal_category=other", "/ops/users?q=men",
                     "/ops/users?role=mentor", "/ops/users", "/ops/audit", "/ops/audit?action=account_created",
                     f"/ops/mentorships/{demo}", "/ops/users/2"):
            assert operator.get(path).status_code == 200, path
        # An offer experiment: its list and its results, and a cancel flow that is assigned an arm.
        for path in ("/ops/experiments", f"/ops/experiments/{experiment_id}"):
            assert operator.get(path).status_code == 200, path
        # The writes of the load test that go below the ORM: a check-in (a paused mentorship refuses it,
        # after the same reads) and an application to a mentor the mentee has nothing open with.
        when = (clock.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
        assert mentee.post(f"/mentorships/{demo}/checkins", data={
            "occurred_at": when, "mode": "video", "minutes": 30, "note": ""}).status_code in (302, 400)
        with app.app_context():
            mentee_id = db.session.scalar(select(User.id).where(User.email == "mentee@demo.example"))
            open_with = select(Mentorship.mentor_id).where(Mentorship.mentee_id == mentee_id,
                                                           Mentorship.ended_at.is_(None))
            free = db.session.scalar(select(func.min(User.id)).join(MentorProfile).where(
                User.id.not_in(open_with), MentorProfile.accepting_applications.is_(True),
                User.deactivated_at.is_(None)))
        assert mentee.post(f"/mentors/{free}", data={
            "goal_category": "change_careers", "goal_text": "Learn to design systems under load.",
            "meeting_preference": "video"}).status_code == 302
        assert mentee.post(f"/mentorships/{demo}/cancel/reason", data={"churn_reason": "no_time"}).status_code == 302
        # The mail schedule's round, twice: the second finds what the first queued.
        with app.app_context():
            for _ in range(2):
                schedule.plan(T0 + timedelta(days=2))
    statements = _captured(app, requests)
    assert len(statements) > 30
    problems = {statement: scans for statement, parameters in statements
                if (scans := _full_scans(app, statement, parameters))}
    assert problems == {}, '\n\n'.join(f'{st[-400:]} -> {sc}' for st, sc in problems.items())


def _experiment_with_flows(app) -> int:
    """A running experiment for "no_time" that the demo's flows for that reason took part in."""
    with app.app_context():
        plan = services.ExperimentPlan("Pause or nothing", "no_time", "pause", "none", 50, 30, 10)
        experiment = services.start_experiment(Actor.command("test"), plan, at=T0 - timedelta(days=400))
        flows = select(CancelFlow.id, literal(experiment.id), case((CancelFlow.id % 2 == 0, "a"), else_="b")).where(
            CancelFlow.reason == "no_time")
        db.session.execute(insert(OfferAssignment).from_select(["cancel_flow_id", "experiment_id", "arm"], flows))
        db.session.commit()
        return experiment.id


def test_the_check_finds_a_full_scan(app, demo):
    """The check itself can fail: a filter on an unindexed column is reported."""
    statement = "SELECT count(*) FROM mentorships WHERE goal_text = 'x'"
    assert _full_scans(app, statement, {} if db_is_postgresql(app) else ()) != []


def db_is_postgresql(app) -> bool:
    with app.app_context():
        return db.engine.dialect.name == "postgresql"
