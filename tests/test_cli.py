"""The commands of docs/INTERFACES.md: create-user, set-password, seed-demo."""
import hashlib
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from tracker.core.extensions import db
from tracker.data.models import CheckIn, ExitSurvey, MentorProfile, Mentorship, User
from tracker.services import seed

from .helpers import empty_tables


def run(app, *args, input=None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


def test_create_user_reads_the_password_from_stdin(app):
    result = run(app, "create-user", "--email", "Ops@Example.com", "--role", "operator", "--name", "Ops",
                 "--password-stdin", input="a-long-password\n")
    assert result.exit_code == 0, result.output
    assert "Created operator ops@example.com." in result.output
    client = app.test_client()
    assert client.post("/login", data={"email": "ops@example.com", "password": "a-long-password"}) \
        .headers["Location"] == "/ops/"


def test_create_user_prompts_for_the_password_twice(app):
    result = run(app, "create-user", "--email", "m@example.com", "--role", "mentor",
                 input="a-long-password\na-long-password\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "m@example.com"))
        assert user.name == "m" and user.mentor_profile is not None


@pytest.mark.parametrize("args, stdin, message", [
    (["--email", "x@example.com", "--role", "admin"], "a-long-password\n", "Invalid value for '--role'"),
    (["--email", "x@example.com", "--role", "mentee"], "short\n", "the password must have 8 to 128 characters"),
    (["--role", "mentee"], "a-long-password\n", "Missing option '--email'"),
])
def test_create_user_refuses_bad_input(app, args, stdin, message):
    result = run(app, "create-user", *args, "--password-stdin", input=stdin)
    assert result.exit_code != 0 and message in result.output
    with app.app_context():
        assert db.session.query(User).count() == 0


def test_create_user_refuses_a_taken_email(app, world):
    result = run(app, "create-user", "--email", "mentor@example.com", "--role", "mentor", "--password-stdin",
                 input="a-long-password\n")
    assert result.exit_code == 1 and "An account with this email already exists." in result.output


def test_set_password_resets_and_ends_sessions(app, world, login):
    client = login(world.mentee)
    result = run(app, "set-password", "--email", world.mentee.email, "--password-stdin", input="brand-new-pass\n")
    assert result.exit_code == 0, result.output
    assert client.get("/me").status_code == 302  # the old session ended
    fresh = app.test_client()
    assert fresh.post("/login", data={"email": world.mentee.email, "password": "brand-new-pass"}).status_code == 302


def test_set_password_for_an_unknown_email_fails(app):
    result = run(app, "set-password", "--email", "ghost@example.com", "--password-stdin", input="brand-new-pass\n")
    assert result.exit_code == 1 and "no user with email ghost@example.com" in result.output


def _fingerprint(app) -> str:
    digest = hashlib.sha256()
    with app.app_context():
        for model in (User, MentorProfile, Mentorship, CheckIn, ExitSurvey):
            columns = [c for c in model.__table__.columns if c.key != "password_hash"]
            for row in db.session.execute(select(*columns).order_by(*model.__table__.primary_key.columns)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def test_seed_demo_is_reproducible_and_prints_logins(app):
    result = run(app, "seed-demo", "--mentorships", "300", "--seed", "7", "--until", "2026-06-30")
    assert result.exit_code == 0, result.output
    for login in ("operator@demo.example", "mentor@demo.example", "mentee@demo.example"):
        assert login in result.output
    first = _fingerprint(app)
    with app.app_context():
        empty_tables()
    run(app, "seed-demo", "--mentorships", "300", "--seed", "7", "--until", "2026-06-30")
    assert _fingerprint(app) == first
    with app.app_context():
        empty_tables()
    run(app, "seed-demo", "--mentorships", "300", "--seed", "8", "--until", "2026-06-30")
    assert _fingerprint(app) != first


def test_seed_demo_is_believable(app):
    run(app, "seed-demo", "--mentorships", "1500", "--seed", "3", "--until", "2026-06-30")
    until = datetime(2026, 6, 30, tzinfo=timezone.utc)
    from tracker.domain import lifecycle, vocabulary
    with app.app_context():
        ms = db.session.scalars(select(Mentorship)).all()
        assert len(ms) == 1500
        assert all(m.applied_at <= until and (m.ended_at is None or m.ended_at <= until) for m in ms)
        assert min(m.applied_at for m in ms) >= until.replace(year=2024, month=12, day=31)
        started = [m for m in ms if m.trial_started_at]
        ended = [m for m in started if m.ended_at]
        stages = [lifecycle.stage_of_end(m.trial_started_at, m.ended_at) for m in ended]
        share = {s: stages.count(s) / len(stages) for s in lifecycle.STAGES}
        assert 0.08 < share["trial"] < 0.3           # some trials do not convert
        assert share["months_2_3"] > share["later"]  # most paid mentorships end after 2-3 months
        assert 0.6 < len(started) / len(ms) < 0.9    # most applications are accepted
        reasons = {s.churn_reason for s in db.session.scalars(select(ExitSurvey))}
        assert reasons == set(vocabulary.CHURN_REASONS)
        assert db.session.query(CheckIn).count() > len(started)
        demo = db.session.scalar(select(User).where(User.email == "mentee@demo.example"))
        states = sorted(m.state(until).status for m in ms if m.mentee_id == demo.id)
        assert states == ["paid", "pending"]
        # the cancel flows behind the surveys, some saves with their pauses, and pulses
        from tracker.data.models import CancelFlow, Pause, Pulse
        surveys = db.session.query(ExitSurvey).count()
        assert db.session.query(CancelFlow).filter(CancelFlow.cancelled_at.is_not(None)).count() == surveys
        accepted = db.session.query(CancelFlow).filter(CancelFlow.offer_accepted_at.is_not(None)).count()
        assert 0 < db.session.query(Pause).count() < accepted
        assert db.session.query(Pulse).count() > len(started)


def test_seed_demo_refuses_a_database_with_data(app, world):
    result = run(app, "seed-demo", "--mentorships", "10")
    assert result.exit_code == 1 and "only fills an empty database" in result.output
    result = run(app, "seed-demo", "--mentorships", "10", "--if-empty")
    assert result.exit_code == 0 and "Demo data not added" in result.output
    with app.app_context():
        assert db.session.query(Mentorship).count() == 0


def test_the_seeds_helper_process_gives_the_same_data_as_one_process(app, monkeypatch):
    run(app, "seed-demo", "--mentorships", "300", "--seed", "7", "--until", "2026-06-30")
    forked = _fingerprint(app)
    with app.app_context():
        empty_tables()
    monkeypatch.setattr(seed, "_HelperProcess", seed._HelperInProcess)
    run(app, "seed-demo", "--mentorships", "300", "--seed", "7", "--until", "2026-06-30")
    assert _fingerprint(app) == forked


def test_a_seed_whose_helper_dies_fails_even_if_empty_and_keeps_nothing(app, monkeypatch):
    """bin/serve runs `seed-demo --if-empty`: a helper killed half-way (out of memory, say) must stop it,
    not start a server on an empty database."""

    def dies(pipe, *_args):
        pipe.send(("progress", (0, 10)))
        raise SystemExit(9)  # not an Exception: no "failed" message, the pipe just closes
    monkeypatch.setattr(seed, "_help", dies)
    result = run(app, "seed-demo", "--mentorships", "10", "--if-empty")
    assert result.exit_code == 1 and "helper process stopped" in result.output, result.output
    with app.app_context():
        assert db.session.query(User).count() == 0 and db.session.query(Mentorship).count() == 0


def test_create_user_refuses_what_is_not_an_email_address(app):
    result = app.test_cli_runner().invoke(args=["create-user", "--email", "not an email", "--role", "operator",
                                                "--password-stdin"], input="long-enough-password\n")
    assert result.exit_code == 1 and "is not an email address" in result.output
    assert "Traceback" not in result.output
