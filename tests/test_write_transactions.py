"""The write transaction (tracker/data/database.py `unit_of_work`) as form posts use it: what a request
read before a write is read again inside it, a failed read does not spoil the write, the objects a
write returns stay readable without another query, and each form post costs a known number of queries.
Runs on both engines (PostgreSQL goes on in the request's read transaction; SQLite begins anew)."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, text, update
from sqlalchemy.exc import DBAPIError

from tracker import services
from tracker.core.extensions import db
from tracker.data.database import unit_of_work
from tracker.data.models import CheckIn, Mentorship

from .factories import count


@contextmanager
def statements():
    """The SQL statements run inside the block, BEGIN and the like left out (PostgreSQL's driver sends
    those itself, so only SQLite's would be counted)."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        if statement.split()[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"):
            seen.append(statement)
    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def test_a_write_reads_again_what_the_request_loaded_before_it(app, world):
    m_id = world.in_trial()
    with app.app_context():
        loaded = db.session.get(Mentorship, m_id)
        assert loaded.goal_text != "Changed elsewhere."
        with db.engine.begin() as other:  # another request commits in between
            other.execute(update(Mentorship).where(Mentorship.id == m_id).values(goal_text="Changed elsewhere."))
        with unit_of_work():
            assert db.session.get(Mentorship, m_id).goal_text == "Changed elsewhere."
            db.session.get(Mentorship, m_id).goal_text = "Changed here."
        db.session.remove()
        assert db.session.get(Mentorship, m_id).goal_text == "Changed here."


def test_a_second_write_reads_again_what_the_first_one_kept(app, world):
    """A commit keeps its objects loaded; the next write must not decide on them as they were."""
    m_id = world.in_trial()
    with app.app_context():
        with unit_of_work():
            held = db.session.get(Mentorship, m_id)  # held, as a loop over several writes would
            held.goal_text = "The first write."
        with db.engine.begin() as other:
            other.execute(update(Mentorship).where(Mentorship.id == m_id).values(goal_text="Changed elsewhere."))
        with unit_of_work():
            assert db.session.get(Mentorship, m_id).goal_text == "Changed elsewhere."
        assert held.goal_text == "Changed elsewhere."


def test_a_write_after_a_read_at_another_isolation_level_begins_anew(app, world):
    m_id = world.in_trial()
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL's isolation levels (SQLite's writes always begin anew)")
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        db.session.get(Mentorship, m_id)
        with unit_of_work():
            level = db.session.connection().exec_driver_sql("SHOW transaction_isolation").scalar()
            db.session.get(Mentorship, m_id).goal_text = "Written at the default level."
        assert level == "read committed"


def test_a_write_after_a_failed_statement_of_the_request_still_commits(app, world):
    m_id = world.in_trial()
    with app.app_context():
        db.session.get(Mentorship, m_id)
        with pytest.raises(DBAPIError):
            db.session.execute(text("SELECT no_such_column FROM mentorships"))
        services.log_checkin(world.mentee.id, m_id, world.at - timedelta(hours=1), "video", 30, "", world.at)
    assert count(app, CheckIn, mentorship_id=m_id) == 1


def test_what_a_write_returns_is_read_without_another_query(app, world):
    """The cancellation's page reads the survey and its mentorship after the write (tracker/web/mentee.py)."""
    running = world.in_trial(days_in=40)
    with app.app_context():
        with statements() as seen:
            survey = services.cancel_with_survey(world.mentee.id, running,
                                                 services.SurveyAnswers(4, "yes", "goal_reached"), world.at)
            done = len(seen)
            assert (survey.stars, survey.mentorship.ended_at, survey.mentorship.end_reason) == (
                4, world.at, "cancelled")
        assert len(seen) == done


def test_an_application_returns_its_mentorship_and_the_mentors_name(app, world):
    with app.app_context():
        application = services.apply(world.mentee.id, world.mentor.id, "change_careers", " A goal. ", "video",
                                     world.at)
        m = db.session.get(Mentorship, application.id)
        assert application.mentor_name == "Max Mentor"
        assert (m.mentee_id, m.mentor_id, m.goal_text, m.applied_at) == (
            world.mentee.id, world.mentor.id, "A goal.", world.at)


@pytest.mark.parametrize("post, budget", [("checkin", 4), ("apply", 7), ("cancel", 16)])
def test_each_form_post_costs_a_known_number_of_queries(app, world, login, post, budget):
    """The three posts of the load test (bench/load_test.py). The counts are what they need: the user,
    the rows the decision reads, the writes, the rollups' facts and upserts (a cancellation moves four
    rollups), the outbox; a new query on one of these paths shows here first."""
    running = world.in_trial(days_in=40)
    client = login(world.mentee)
    with app.app_context(), statements() as seen:
        if post == "checkin":
            response = client.post(f"/mentorships/{running}/checkins", data={
                "occurred_at": (world.at - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"), "mode": "video",
                "minutes": 30, "note": ""})
        elif post == "apply":
            response = client.post(f"/mentors/{world.other_mentor.id}", data={
                "goal_category": "change_careers", "goal_text": "Move from support into data engineering.",
                "meeting_preference": "video"})
        else:
            response = client.post(f"/mentorships/{running}/cancel", data={
                "stars": 4, "goal_reached": "yes", "churn_reason": "goal_reached", "feedback_platform": "",
                "feedback_mentor": "", "feedback_other": ""})
    assert response.status_code in (302, 303), response.data[:300]
    assert len(seen) == budget, "\n".join(seen)
