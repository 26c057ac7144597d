"""Operators run the marketplace: finding mentorships and people, a mentorship's timeline, closing and
reopening accounts, password-reset links, a person's export and erasure (every number unchanged,
the text gone from the database file), and the audit log of every operator action."""
from __future__ import annotations

import csv
import email
import io
import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from email import policy

import pytest
from sqlalchemy import event

from tracker import services
from tracker.core import clock
from tracker.core.extensions import db
from tracker.data.models import (
    ApiToken,
    AuditEntry,
    CheckIn,
    ExitSurvey,
    Mentorship,
    OutboxMail,
    Pause,
    Review,
    User,
)
from tracker.reports import admin_queries
from tracker.services.audit import Actor

from .factories import PASSWORD, count, mentorship, user
from .helpers import T0, table_state

OP = Actor.command("test")


def _ids(page) -> list[int]:
    return [row.id for row in page.rows]


# --- finding people and mentorships ---------------------------------------------------------------

def test_people_are_found_by_the_start_of_their_email_or_name(app, world):
    user(app, "mentee", "zoe.quinn@example.com", "Élise Zoë")
    user(app, "mentee", "a*b%c_d[e]@example.com", "Star Wildcard")
    with app.app_context():
        assert [u.email for u in admin_queries.users_page("ZOE.q", None, 1).rows] == ["zoe.quinn@example.com"]
        assert [u.email for u in admin_queries.users_page("élise", None, 1).rows] == ["zoe.quinn@example.com"]
        assert [u.name for u in admin_queries.users_page("max", None, 1).rows] == ["Max Mentor"]
        assert [u.email for u in admin_queries.users_page("otto", None, 1).rows] == ["other.mentee@example.com"]
        assert admin_queries.users_page("quinn", None, 1).rows == []  # a prefix, not anywhere in it
        assert [u.email for u in admin_queries.users_page("a*b%c_d[", None, 1).rows] == ["a*b%c_d[e]@example.com"]
        assert admin_queries.users_page("a*", None, 1).rows != [] and admin_queries.users_page("a%", None, 1).rows == []
        assert {u.role for u in admin_queries.users_page(None, "mentor", 1).rows} == {"mentor"}


def test_lists_page_by_50_newest_first(app, world):
    for i in range(60):
        user(app, "mentee", f"many{i:02d}@example.com", f"Many {i}")
    with app.app_context():
        first, second = admin_queries.users_page("many", None, 1), admin_queries.users_page("many", None, 2)
        assert len(first.rows) == 50 and first.has_next and len(second.rows) == 10 and not second.has_next
        assert [u.email for u in first.rows][:2] == ["many59@example.com", "many58@example.com"]


def test_mentorships_are_found_by_person_id_and_ref(app, world):
    a = mentorship(app, world.mentee, world.mentor, applied_at=T0 - timedelta(days=2))
    b = mentorship(app, world.other_mentee, world.other_mentor, applied_at=T0 - timedelta(days=1))
    with app.app_context():
        db.session.get(Mentorship, b).ref = "legacy-77"
        db.session.commit()
        find = lambda q: _ids(admin_queries.mentorships_page(q, None, None, None, None, T0, 1))  # noqa: E731
        assert find("mentee@") == [a] and find("otto") == [b] and find("Nora") == [b]
        assert find(str(a)) == [a] and find("legacy-77") == [b] and find("nobody") == []
        assert find(None) == [b, a]  # newest application first
        by_mentor = admin_queries.mentorships_page(None, None, None, None, world.mentor.id, T0, 1)
        assert _ids(by_mentor) == [a]


def test_each_state_finds_exactly_the_mentorships_in_it(app, world):
    """Mentorships at many moments around every boundary: the list for each state equals what
    lifecycle.state_as_of says of each mentorship."""
    at = T0
    offsets = sorted({d + s for d in (0, 7, 37, 67, 97, 127, 367) for s in (-1, 0, 1) if d + s >= 0}
                     | {3, 20, 50, 80})
    made = {}
    for i, days in enumerate(offsets):
        mentee = user(app, "mentee", f"state{i}@example.com", f"State {i}")
        started = at - timedelta(days=days, seconds=0)
        made[mentorship(app, mentee, world.mentor, applied_at=started - timedelta(hours=2),
                        trial_started_at=started)] = started
    pending = mentorship(app, world.mentee, world.mentor, applied_at=at - timedelta(hours=1))
    ended = mentorship(app, world.other_mentee, world.mentor, applied_at=at - timedelta(days=50),
                       trial_started_at=at - timedelta(days=49), ended_at=at - timedelta(days=2))
    paused_id = list(made)[10]
    with app.app_context():
        db.session.add(Pause(mentorship_id=paused_id, starts_at=at - timedelta(days=1),
                             ends_at=at + timedelta(days=20)))
        db.session.commit()
        expected: dict[str, set[int]] = {}
        for m in db.session.scalars(db.select(Mentorship)):
            state = m.state(at)
            code = {"pending": "application", "trial": "trial", "paused": "paused", "ended": "ended"}.get(state.status)
            if state.status == "paid":
                code = f"month_{state.month}"
            expected.setdefault(code, set()).add(m.id)
        for code, _label in admin_queries.states():
            found = set()
            page = 1
            while True:
                result = admin_queries.mentorships_page(None, code, None, None, None, at, page)
                found |= set(_ids(result))
                if not result.has_next:
                    break
                page += 1
            assert found == expected.get(code, set()), code
    assert pending in expected["application"] and ended in expected["ended"] and paused_id in expected["paused"]
    assert len([c for c in expected if c.startswith("month_")]) >= 5


def test_the_search_pages_answer_any_parameters(world, login):
    client = login(world.operator)
    for query in ("q=%00", "state=month_99", "state=ended&end_reason=x", "mentor=nobody@example.com", "page=-4",
                  "q=" + "x" * 5000, "goal_category=nope", "q=*", "q=%25"):
        assert client.get("/ops/mentorships?" + query).status_code == 200, query
        assert client.get("/ops/users?" + query.replace("state", "role")).status_code == 200, query
    assert "No mentor has the email nobody@example.com" in client.get(
        "/ops/mentorships?mentor=nobody@example.com").get_data(as_text=True)


# --- the timeline ------------------------------------------------------------------------------------

def test_the_timeline_lists_everything_in_order(app, world, login):
    started = T0 - timedelta(days=40)
    mid = mentorship(app, world.mentee, world.mentor, applied_at=started - timedelta(hours=3), trial_started_at=started,
                     ended_at=T0 - timedelta(days=1), goal_text="Lead a team of five.",
                     survey=dict(stars=4, goal_reached="yes", churn_reason="goal_reached"),
                     checkins=[(started + timedelta(days=1), 45), (started + timedelta(days=9), 30)])
    with app.app_context():
        db.session.add(Pause(mentorship_id=mid, starts_at=started + timedelta(days=10),
                             ends_at=started + timedelta(days=12)))
        db.session.commit()
        events = admin_queries.timeline(mid)
    assert [e.what for e in events] == [
        "Applied", "Accepted: the trial started", "Check-in (Video, 45 min)", "Check-in (Video, 30 min)", "Paused",
        "Cancelled", "Exit survey"]
    assert events[0].detail == "Change careers: Lead a team of five." and events == sorted(events, key=lambda e: e.at)
    page = login(world.operator).get(f"/ops/mentorships/{mid}").get_data(as_text=True)
    assert "Lead a team of five." in page and "4 stars; goal reached: Yes" in page


# --- accounts ------------------------------------------------------------------------------------------

def test_a_deactivated_mentor_is_out_everywhere_and_their_applications_are_declined(app, world, login):
    pending = mentorship(app, world.mentee, world.mentor, applied_at=T0 - timedelta(hours=5))
    mentor_client = login(world.mentor)
    with app.app_context():
        services.deactivate(Actor.operator(world.operator.id, world.operator.email), world.mentor.id, at=T0)
        m = db.session.get(Mentorship, pending)
        assert (m.ended_at, m.end_reason, m.end_note) == (T0, "declined", services.accounts.DEACTIVATED_MENTOR_NOTE)
        mail = db.session.scalars(db.select(OutboxMail).where(OutboxMail.kind == "application_decided")).one()
        assert mail.recipient_id == world.mentee.id
        entry = db.session.scalars(db.select(AuditEntry)).one()
        assert (entry.action, entry.actor, entry.subject_id) == ("account_deactivated", world.operator.email,
                                                                 world.mentor.id)
        assert json.loads(entry.after) == {"active": False, "applications_declined": [pending]}
    assert mentor_client.get("/mentor/").status_code == 302  # the session ended at once
    refused = login(None).post("/login", data={"email": world.mentor.email, "password": PASSWORD})
    assert refused.status_code == 400 and "do not match an account" in refused.get_data(as_text=True)
    mentee = login(world.mentee)
    assert world.mentor.name not in mentee.get("/mentors").get_data(as_text=True)
    assert mentee.get(f"/mentors/{world.mentor.id}").status_code == 404
    assert "The mentor&#39;s account was closed" in mentee.get(f"/mentorships/{pending}").get_data(as_text=True)
    with app.app_context():
        with pytest.raises(services.Conflict):
            services.deactivate(OP, world.mentor.id, at=T0)
        services.reactivate(OP, world.mentor.id, at=T0 + timedelta(hours=1))
    assert login(None).post("/login", data={"email": world.mentor.email, "password": PASSWORD}).status_code == 302


def test_a_deactivated_operator_token_is_refused(app, world, login):
    other = user(app, "operator", "other.op@example.com", "Other Op")
    with app.app_context():
        token = services.create_api_token(other.email, at=T0)
        headers = {"Authorization": f"Bearer {token}"}
        assert login(None).get("/api/v1/metrics", headers=headers).status_code == 200
        services.deactivate(OP, other.id, at=T0)
    assert login(None).get("/api/v1/metrics", headers=headers).status_code == 401
    with app.app_context(), pytest.raises(services.Conflict, match="your own"):
        services.deactivate(Actor.operator(world.operator.id, world.operator.email), world.operator.id, at=T0)


def _reset_link(app, tmp_path, person) -> str:
    with app.app_context():
        services.send_password_reset(OP, person.id, at=T0)
    result = app.test_cli_runner().invoke(args=["notify", "once", "--at", T0.isoformat()])
    assert result.exit_code == 0, result.output
    (name,) = [n for n in os.listdir(tmp_path / "mail") if n.endswith("password_reset.eml")]
    with open(tmp_path / "mail" / name, "rb") as handle:
        message = email.message_from_binary_file(handle, policy=policy.default)
    body = message.get_body(("plain",)).get_content()
    url = next(word for word in body.split() if "/reset-password/" in word)
    return url[url.index("/reset-password/"):]


@pytest.fixture
def file_mail_app(make_app, tmp_path):
    return make_app(MAIL_SERVER=None, MAIL_FILE_PATH=str(tmp_path / "mail"))


def test_a_password_reset_link_sets_a_password_once_and_ends_every_session(file_mail_app, tmp_path, login):
    from .factories import World
    app = file_mail_app
    world = World.build(app, T0)
    path = _reset_link(app, tmp_path, world.mentee)
    old_session = login(world.mentee)
    client = app.test_client()
    assert client.get(path).status_code == 200
    response = client.post(path, data={"password": "a-brand-new-password", "confirm": "a-brand-new-password"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert old_session.get("/me").status_code == 302
    assert client.post("/login", data={"email": world.mentee.email, "password": "a-brand-new-password"}
                       ).status_code == 302
    again = app.test_client().post(path, data={"password": "another-password-1", "confirm": "another-password-1"})
    assert again.status_code == 410
    with app.app_context():
        entry = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "password_reset_sent")).one()
        assert entry.subject_id == world.mentee.id


def test_a_password_reset_link_expires_after_a_day_and_cannot_be_forged(file_mail_app, tmp_path):
    from .factories import World
    app = file_mail_app
    world = World.build(app, T0)
    path = _reset_link(app, tmp_path, world.mentee)
    clock.freeze(T0 + timedelta(hours=24))
    assert app.test_client().get(path).status_code == 400
    clock.freeze(T0)
    assert app.test_client().get(path[:-2] + "xx").status_code == 400


# --- data rights ---------------------------------------------------------------------------------------

SECRET_GOAL = "Become head of platform at Quillfeather by 2027"
SECRET_NOTE = "Discussed the Zanzibar offer in detail"
SECRET_FEEDBACK = "Mentor kept mentioning my divorce"


def _person_with_history(app, world):
    started = T0 - timedelta(days=45)
    mid = mentorship(app, world.mentee, world.mentor, applied_at=started - timedelta(hours=1), trial_started_at=started,
                     ended_at=T0 - timedelta(days=2), goal_text=SECRET_GOAL,
                     checkins=[(started + timedelta(days=2), 40)],
                     survey=dict(stars=2, goal_reached="partly", churn_reason="mentor_fit",
                                 feedback_mentor=SECRET_FEEDBACK))
    with app.app_context():
        db.session.scalars(db.select(CheckIn).where(CheckIn.mentorship_id == mid)).one().note = SECRET_NOTE
        db.session.commit()
        services.write_review(world.mentee.id, mid, 3, "Quillfeather team was great to me.", "initial", True,
                              at=T0 - timedelta(days=1))
        services.create_api_token(world.operator.email, at=T0)
    return mid


def test_export_holds_everything_about_the_person_and_is_logged(app, world):
    mid = _person_with_history(app, world)
    result = app.test_cli_runner().invoke(args=["export-user", "--email", world.mentee.email.upper()])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    (held,) = document["mentorships_as_mentee"]
    assert document["account"]["email"] == world.mentee.email and held["id"] == mid and held["goal"] == SECRET_GOAL
    assert held["checkins"][0]["note"] == SECRET_NOTE and held["exit_survey"]["feedback_mentor"] == SECRET_FEEDBACK
    assert held["public_review"]["stars"] == 3
    with app.app_context():
        entry = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "account_exported")).one()
        assert (entry.actor, entry.subject_id) == ("command export-user", world.mentee.id)


@pytest.mark.parametrize("who, message", [("nobody@example.com", "No account has the email"),
                                          ("op@example.com", "Operators' accounts are not exported or erased")])
def test_export_and_erase_refuse_unknown_people_and_operators(app, world, who, message):
    before = table_state(app)
    for command in (["export-user", "--email", who], ["erase-user", "--email", who, "--yes"]):
        result = app.test_cli_runner().invoke(args=command)
        assert result.exit_code == 1 and message in result.output, result.output
    assert table_state(app) == before


def _numbers(app, login, token) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    pages = {path: login(None).get(path, query_string={"from": "2025-01-01"}, headers=headers)
             for path in ("/api/v1/metrics",)}
    return {path: response.get_json() for path, response in pages.items()}


def _occurrences(path: str, text: str) -> int:
    """How often `text` stands in the file, read by another process: opening and closing a SQLite file
    in this process would drop the locks SQLite holds on it (POSIX locks belong to the process)."""
    if not os.path.exists(path):
        return 0
    script = "import sys; print(open(sys.argv[1], 'rb').read().count(sys.argv[2].encode()))"
    done = subprocess.run([sys.executable, "-c", script, path, text], capture_output=True, text=True, check=True)
    return int(done.stdout)


def _page(client, path: str) -> str:
    """The page as served, without its CSRF tokens (they carry the moment they were made)."""
    return re.sub(r'name="csrf_token" value="[^"]*"', "", client.get(path).get_data(as_text=True))


def test_erasure_keeps_every_number_and_removes_the_text_from_the_database_file(app, world, login, database_url):
    mid = _person_with_history(app, world)
    with app.app_context():
        token = services.create_api_token(world.operator.email, at=T0)
        services.deactivate(OP, world.mentee.id, at=T0 - timedelta(hours=2))
        services.reactivate(OP, world.mentee.id, at=T0 - timedelta(hours=1))
    operator = login(world.operator)
    dashboards = ("/ops/", "/ops/churn", "/ops/retention", "/ops/ratings", "/ops/health", "/ops/research",
                  "/ops/saves")
    before = (_numbers(app, login, token), {p: _page(operator, p) for p in dashboards})
    mentee_session = login(world.mentee)
    result = app.test_cli_runner().invoke(args=["erase-user", "--email", world.mentee.email, "--yes"])
    assert result.exit_code == 0 and "Erased the personal data" in result.output, result.output
    after = (_numbers(app, login, token), {p: _page(operator, p) for p in dashboards})
    assert after == before
    assert mentee_session.get("/me").status_code == 302
    with app.app_context():
        person = db.session.get(User, world.mentee.id)
        assert person.email == f"erased-{person.id}@erased.invalid" and person.password_hash is None
        assert db.session.get(Mentorship, mid).goal_text == ""
        survey = db.session.scalars(db.select(ExitSurvey).where(ExitSurvey.mentorship_id == mid)).one()
        assert (survey.stars, survey.goal_reached, survey.feedback_mentor) == (2, "partly", "")
        review = db.session.scalars(db.select(Review)).one()
        assert (review.stars, review.text, review.display_name) == (3, "", "a mentee")
        entries = list(db.session.scalars(db.select(AuditEntry).order_by(AuditEntry.id)))
        assert [e.action for e in entries] == ["account_deactivated", "account_reactivated", "account_erased"]
        assert all(world.mentee.email not in (e.summary + (e.before or "") + (e.after or "")) for e in entries)
    if database_url.startswith("sqlite"):
        path = database_url.removeprefix("sqlite:///")
        for name in (path, path + "-wal"):
            for secret in (SECRET_GOAL, SECRET_NOTE, SECRET_FEEDBACK, "Quillfeather team", "Mia Mentee"):
                assert _occurrences(name, secret) == 0, (name, secret)
            # The address is gone too; "other.mentee@example.com", another person's, contains it.
            assert _occurrences(name, world.mentee.email) == _occurrences(name, "other." + world.mentee.email), name


def test_erasure_is_idempotent_and_the_button_needs_the_email_typed(app, world, login):
    _person_with_history(app, world)
    operator = login(world.operator)
    response = operator.post(f"/ops/users/{world.mentee.id}/erase", data={"confirm": "wrong@example.com"})
    assert response.status_code == 302 and count(app, AuditEntry, action="account_erased") == 0
    operator.post(f"/ops/users/{world.mentee.id}/erase", data={"confirm": world.mentee.email})
    state = table_state(app)
    operator.post(f"/ops/users/{world.mentee.id}/erase", data={"confirm": f"erased-{world.mentee.id}@erased.invalid"})
    assert table_state(app) == state  # already erased: nothing changes, nothing logged
    result = app.test_cli_runner().invoke(args=["erase-user", "--email", world.mentee.email, "--yes"])
    assert result.exit_code == 1 and "No account has the email" in result.output
    assert table_state(app) == state


def test_erasure_stops_and_blanks_the_mails_about_the_person(app, world):
    with app.app_context():
        services.apply(world.mentee.id, world.mentor.id, "change_careers", SECRET_GOAL, "video", at=T0)
        services.erase_user(world.mentee.email, OP, at=T0)
        mail = db.session.scalars(db.select(OutboxMail)).one()
        assert (mail.status, mail.last_error, mail.body_text) == ("skipped", "the person's data was erased", None)
        assert db.session.scalar(db.select(db.func.count()).select_from(ApiToken)) == 0


# --- the audit log -----------------------------------------------------------------------------------------

def test_every_operator_action_is_in_the_audit_log_with_its_page_and_csv(app, world, login):
    survey_id = world.survey()
    review_id = world.review()
    running = world.in_trial()
    operator = login(world.operator)
    operator.post("/ops/users", data={"name": "New Mentor", "email": "new.mentor@example.com", "role": "mentor",
                                      "password": "a-long-password"})
    operator.post(f"/ops/surveys/{survey_id}/hide", data={"reason": "names a third person"})
    operator.post(f"/ops/surveys/{survey_id}/unhide")
    operator.post("/ops/offers", data={"too_expensive": "pause", "no_time": "pause", "mentor_fit": "switch_mentor",
                                       "mentor_unresponsive": "switch_mentor", "switched_mentor": "none",
                                       "platform_issue": "none", "other": "none"})
    operator.post(f"/ops/mentorships/{running}/handled", data={"note": "called them"})
    operator.post(f"/ops/reviews/{review_id}/moderate", data={"target": "review", "action": "hide", "reason": "spam"})
    operator.post(f"/ops/users/{world.other_mentee.id}/password-reset")
    operator.post(f"/ops/users/{world.other_mentee.id}/deactivate")
    operator.post(f"/ops/users/{world.other_mentee.id}/reactivate")
    operator.post(f"/ops/users/{world.other_mentee.id}/export")
    app.test_cli_runner().invoke(args=["create-user", "--email", "cli@example.com", "--role", "mentee",
                                       "--password-stdin"], input="a-long-password\n")
    with app.app_context():
        logged = [(e.action, e.actor) for e in db.session.scalars(db.select(AuditEntry).order_by(AuditEntry.id))]
    me = world.operator.email
    assert logged == [("account_created", me), ("feedback_hidden", me), ("feedback_shown", me),
                      ("offers_changed", me), ("risk_handled", me), ("review_moderated", me),
                      ("password_reset_sent", me), ("account_deactivated", me), ("account_reactivated", me),
                      ("account_exported", me), ("account_created", "command create-user")]
    page = operator.get("/ops/audit?action=account_created").get_data(as_text=True)
    assert "new.mentor@example.com" in page and "cli@example.com" in page and "called them" not in page
    rows = list(csv.reader(io.StringIO(operator.get("/ops/audit.csv").get_data(as_text=True))))
    assert rows[0] == ["at", "actor", "action", "subject_type", "subject_id", "summary", "before", "after"]
    assert [row[2] for row in rows[1:]] == [action for action, _ in logged]
    assert len(operator.get(f"/ops/audit?actor={me}").get_data(as_text=True)) > 0


def test_no_route_changes_or_deletes_an_audit_entry(app, world, login):
    """Every route, every method, as an operator: the entries present before are still there, unchanged."""
    with app.app_context():
        services.deactivate(OP, world.other_mentee.id, at=T0)
        before = [(e.id, e.action, e.summary, e.before, e.after) for e in db.session.scalars(db.select(AuditEntry))]
    operator = login(world.operator)
    for rule in app.url_map.iter_rules():
        if rule.arguments or rule.endpoint == "static":
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operator.open(rule.rule, method=method, data={"unrelated": "1"} if method == "POST" else None)
    with app.app_context():
        after = [(e.id, e.action, e.summary, e.before, e.after) for e in db.session.scalars(db.select(AuditEntry))]
    assert after[:len(before)] == before


def test_erasure_wipes_the_text_even_where_sqlite_keeps_freed_space_by_default(app, world, database_url):
    """Some builds of SQLite keep deleted text in free pages (secure_delete off by default): the erasure
    turns it on for its own writes."""
    if not database_url.startswith("sqlite"):
        pytest.skip("a SQLite file")

    def off(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA secure_delete = OFF")
    with app.app_context():
        engine = db.engine
    event.listen(engine, "connect", off)
    engine.dispose()
    try:
        _person_with_history(app, world)
        path = database_url.removeprefix("sqlite:///")
        with engine.connect() as connection:  # the text is in the file itself, not only in the log
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        assert _occurrences(path, SECRET_GOAL) > 0
        with app.app_context():
            services.erase_user(world.mentee.email, OP, at=T0)
        assert _occurrences(path, SECRET_GOAL) == 0 and _occurrences(path, SECRET_FEEDBACK) == 0
    finally:
        event.remove(engine, "connect", off)
        engine.dispose()


def test_erasure_deletes_the_mail_files_about_the_person(file_mail_app, tmp_path):
    from .factories import World
    app = file_mail_app
    world = World.build(app, T0)
    with app.app_context():
        services.apply(world.mentee.id, world.mentor.id, "change_careers", SECRET_GOAL, "video", at=T0)
        services.unsubscribe(world.operator.id, "operator_digest", at=T0)
    assert app.test_cli_runner().invoke(args=["notify", "once", "--at", T0.isoformat()]).exit_code == 0
    assert len(os.listdir(tmp_path / "mail")) == 1
    result = app.test_cli_runner().invoke(args=["erase-user", "--email", world.mentee.email, "--yes"])
    assert result.exit_code == 0, result.output
    assert os.listdir(tmp_path / "mail") == []


HOSTILE_TEXTS = ["", " ", "\x00", "mentee@example.com\x00", "\x1b[31m", "y" * 20_000, "mentee@examp1e.com",
                 "ｍentee@example.com", "[object Object]", "mentee@example.com\r\nBcc: x@example.com"]


@pytest.mark.parametrize("typed", HOSTILE_TEXTS)
def test_a_hostile_erasure_confirmation_changes_nothing(app, world, login, typed):
    before = table_state(app)
    response = login(world.operator).post(f"/ops/users/{world.mentee.id}/erase", data={"confirm": typed})
    assert response.status_code == 302
    page = login(world.operator).get(response.headers["Location"]).get_data(as_text=True)
    assert response.status_code == 302 and table_state(app) == before, page[:200]


@pytest.mark.parametrize("password, confirm", [("\x00" * 12, "\x00" * 12), ("short", "short"), ("y" * 20_000,) * 2,
                                               ("a-long-password", "another-password"), ("", ""),
                                               ("\x1b[31mpassword", "\x1b[31mpassword")])
def test_a_hostile_new_password_is_refused_and_the_link_stays_usable(file_mail_app, tmp_path, password, confirm):
    from .factories import World
    app = file_mail_app
    world = World.build(app, T0)
    path = _reset_link(app, tmp_path, world.mentee)
    before = table_state(app)
    response = app.test_client().post(path, data={"password": password, "confirm": confirm})
    assert response.status_code == 400 and 'class="field-errors"' in response.get_data(as_text=True)
    assert table_state(app) == before
    assert app.test_client().get(path).status_code == 200
