"""Mail end to end, against a real SMTP server inside the suite (aiosmtpd on 127.0.0.1): the outbox is
written with the action, a simulated month of `notify once --at` sends exactly the expected mails,
the server down or refusing, two senders at once, a sender killed mid-batch, hostile names."""
from __future__ import annotations

import email
import os
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from email import policy

import pytest

from tracker import services
from tracker.core import clock
from tracker.core.extensions import db
from tracker.data import outbox
from tracker.data.models import MailPreference, OutboxMail, User
from tracker.domain import notifications
from tracker.mail import sender

from .factories import count, mentorship, user
from .helpers import T0
from .servers import SMTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def smtp():
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(make_app, smtp, tmp_path):
    return make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_TIMEOUT=5,
                    PUBLIC_BASE_URL="https://tracker.example", MAIL_FILE_PATH=str(tmp_path / "mail"))


def _world(app):
    """The usual five people; T0 is a Monday, when the operator's weekly digest is due, so the operator
    has it turned off: each test then sees only the mails it makes (the simulated month turns it on)."""
    from .factories import World
    world = World.build(app, T0)
    with app.app_context():
        services.unsubscribe(world.operator.id, "operator_digest", at=T0 - timedelta(days=1))
    return world


@pytest.fixture
def people(mail_app):
    return _world(mail_app)


def notify(app, at) -> str:
    result = app.test_cli_runner().invoke(args=["notify", "once", "--at", at.isoformat()])
    assert result.exit_code == 0, result.output
    return result.output


def statuses(app) -> Counter:
    with app.app_context():
        return Counter(db.session.scalars(db.select(OutboxMail.status)))


# --- written with the action, and only then ---------------------------------------------------------

def test_an_application_mails_the_mentor_once_with_the_goal(mail_app, people, smtp):
    with mail_app.app_context():
        services.apply(people.mentee.id, people.mentor.id, "change_careers", "Ship a <b>backend</b> job",
                       "video", at=T0)
    assert statuses(mail_app) == {"queued": 1}
    notify(mail_app, T0)
    notify(mail_app, T0 + timedelta(minutes=5))
    assert len(smtp.inbox.messages) == 1
    message = smtp.inbox.messages[0]
    assert message["To"].addresses[0].addr_spec == "mentor@example.com"
    assert message["Subject"] == "Mia Mentee applied to you: Change careers"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Ship a <b>backend</b> job" in text
    assert "Ship a &lt;b&gt;backend&lt;/b&gt; job" in html
    assert "https://tracker.example/mentorships/" in text and "#decide" in text
    # Optional, so it carries RFC 8058's one-click unsubscribe.
    assert message["List-Unsubscribe"].strip().startswith("<https://tracker.example/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert statuses(mail_app) == {"sent": 1}


def test_a_refused_action_queues_no_mail(mail_app, people):
    with mail_app.app_context():
        services.apply(people.mentee.id, people.mentor.id, "change_careers", "Goal", "video", at=T0)
        with pytest.raises(services.Conflict):  # a second open application to the same mentor
            services.apply(people.mentee.id, people.mentor.id, "change_careers", "Goal", "video", at=T0)
    assert count(mail_app, OutboxMail) == 1


def test_the_decision_is_account_critical_and_has_no_unsubscribe(mail_app, people, smtp):
    mid = mentorship(mail_app, people.mentee, people.mentor, applied_at=T0 - timedelta(hours=2))
    with mail_app.app_context():
        services.accept(people.mentor.id, mid, at=T0)
    notify(mail_app, T0)
    (message,) = smtp.inbox.messages
    assert message["Subject"] == "Max Mentor accepted your application: your trial has started"
    assert "ends on 9 Mar 2026, 09:00 UTC" in message.get_body(("plain",)).get_content()
    assert message["List-Unsubscribe"] is None


# --- the schedule: a simulated month -----------------------------------------------------------------

def test_a_simulated_month_sends_exactly_the_expected_mails(mail_app, people, smtp):
    """One application at T0 (a Monday), accepted an hour later, never answered; notify every 6 hours
    for 40 days, twice over. Worked out by hand from the rules of docs/NOTIFICATIONS.md."""
    with mail_app.app_context():
        services.set_mail_preferences(people.operator.id, {"operator_digest": True}, at=T0)
        mid = services.apply(people.mentee.id, people.mentor.id, "change_careers", "Goal", "video", at=T0).id
    steps = [T0 + timedelta(hours=6 * i) for i in range(40 * 4 + 1)]
    for step in steps:
        if step == T0 + timedelta(hours=6):
            with mail_app.app_context():  # the mentor accepted at T0 + 1 h; the mail goes with the next step
                services.accept(people.mentor.id, mid, at=T0 + timedelta(hours=1))
        notify(mail_app, step)
    expected = Counter({
        ("mentor@example.com", "application_received"): 1,
        ("mentee@example.com", "application_decided"): 1,
        ("mentee@example.com", "trial_ending"): 1,       # trial ends T0 + 7 d 1 h; due from 2 days before
        ("mentee@example.com", "pulse_open"): 2,         # the trial's (from day 5) and paid month 1's (day 30)
        ("mentor@example.com", "mentor_summary"): 1,     # March, sent from 1 April (none for February)
        ("op@example.com", "operator_digest"): 6,        # the weeks of 23 Feb, 2, 9, 16, 23 and 30 March
    })
    assert smtp.inbox.kinds() == expected
    for step in steps:  # a second pass, as a second scheduler or a restart would: nothing more
        notify(mail_app, step)
    assert smtp.inbox.kinds() == expected
    with mail_app.app_context():
        sent = {row.key: row for row in db.session.scalars(db.select(OutboxMail))}
    assert sent[f"trial_ending:m{mid}"].sent_at == T0 + timedelta(days=5, hours=6)
    assert sent[f"pulse_open:m{mid}:p1"].sent_at == T0 + timedelta(days=30, hours=6)
    assert sent[f"mentor_summary:u{people.mentor.id}:2026-03"].sent_at == T0 + timedelta(days=30, hours=-6)


def test_trial_ending_is_not_sent_once_the_mentorship_ended(mail_app, people, smtp):
    started = T0 - timedelta(days=5, hours=1)
    mentorship(mail_app, people.mentee, people.mentor, applied_at=started, trial_started_at=started,
               ended_at=T0 - timedelta(minutes=1))
    notify(mail_app, T0)
    assert count(mail_app, OutboxMail, kind="trial_ending") == 0
    assert ("mentee@example.com", "trial_ending") not in smtp.inbox.kinds()


def test_an_unfinished_cancellation_is_followed_up_after_a_day(mail_app, people, smtp):
    mid, flow_id = people.flow()  # started at T0, offer shown, nothing more
    notify(mail_app, T0 + timedelta(hours=23, minutes=59))
    assert count(mail_app, OutboxMail, kind="cancel_unfinished") == 0
    notify(mail_app, T0 + timedelta(hours=24))
    (message,) = [m for m in smtp.inbox.messages if m["X-Tracker-Kind"] == "cancel_unfinished"]
    assert f"/cancel-link/{flow_id}?token=" in message.get_body(("plain",)).get_content()
    notify(mail_app, T0 + timedelta(days=3))
    assert count(mail_app, OutboxMail, kind="cancel_unfinished") == 1


# --- preferences, checked when queued and again when sent --------------------------------------------

def test_a_kind_turned_off_after_queueing_is_skipped_at_send_time(mail_app, people, smtp):
    with mail_app.app_context():
        services.apply(people.mentee.id, people.mentor.id, "change_careers", "Goal", "video", at=T0)
        services.unsubscribe(people.mentor.id, "application_received", at=T0)
    notify(mail_app, T0)
    assert smtp.inbox.messages == []
    with mail_app.app_context():
        row = db.session.scalars(db.select(OutboxMail)).one()
        assert (row.status, row.last_error) == ("skipped", "the recipient turned this kind of mail off")
        services.apply(people.other_mentee.id, people.mentor.id, "change_careers", "Goal", "video", at=T0)
    assert count(mail_app, OutboxMail) == 1  # not even queued any more


def test_critical_kinds_cannot_be_turned_off(mail_app, people):
    with mail_app.app_context():
        with pytest.raises(services.Invalid):
            services.unsubscribe(people.mentee.id, "trial_ending", at=T0)
        with pytest.raises(services.Invalid):
            services.set_mail_preferences(people.mentee.id, {"trial_ending": False}, at=T0)
        assert db.session.scalar(db.select(db.func.count()).select_from(MailPreference).where(
            MailPreference.user_id == people.mentee.id)) == 0


# --- delivery: down, refusing, two senders, a crash ----------------------------------------------------

def _queue_applications(app, people, n: int) -> None:
    with app.app_context():
        for i in range(n):
            mentee = user(app, "mentee", f"m{i}@example.com", f"Mentee {i}")
            services.apply(mentee.id, people.mentor.id, "change_careers", "Goal", "video", at=T0)


def test_smtp_down_then_up_delivers_later_and_loses_nothing(mail_app, people, smtp):
    _queue_applications(mail_app, people, 3)
    smtp.stop()
    notify(mail_app, T0)
    with mail_app.app_context():
        rows = list(db.session.scalars(db.select(OutboxMail)))
        assert {(r.status, r.attempts) for r in rows} == {("retrying", 1)}
        assert all(r.next_attempt_at == T0 + notifications.RETRY_DELAYS[0] for r in rows)
        assert all("could not reach the mail server" in r.last_error for r in rows)
    notify(mail_app, T0 + timedelta(seconds=30))  # not due yet: no attempt
    assert statuses(mail_app) == {"retrying": 3}
    smtp.start()
    notify(mail_app, T0 + notifications.RETRY_DELAYS[0])
    assert statuses(mail_app) == {"sent": 3}
    assert len(smtp.inbox.messages) == 3


def test_a_4xx_is_retried_with_growing_delays_and_a_5xx_is_given_up(mail_app, people, smtp):
    _queue_applications(mail_app, people, 1)
    smtp.inbox.answer = "451 4.3.0 Mailbox busy, try later"
    at = T0
    for delay in notifications.RETRY_DELAYS[:3]:
        notify(mail_app, at)
        with mail_app.app_context():
            row = db.session.scalars(db.select(OutboxMail)).one()
            assert row.status == "retrying" and row.next_attempt_at == at + delay
            assert row.last_error == "recipient refused: 451 4.3.0 Mailbox busy, try later"
        at += delay
    smtp.inbox.answer = "550 5.1.1 No such user"
    notify(mail_app, at)
    with mail_app.app_context():
        row = db.session.scalars(db.select(OutboxMail)).one()
        assert (row.status, row.attempts) == ("failed", 4)
        assert row.last_error == "recipient refused: 550 5.1.1 No such user"
    notify(mail_app, at + timedelta(days=3))
    assert smtp.inbox.messages == [] and statuses(mail_app) == {"failed": 1}


def test_retries_end_in_the_dead_letter(mail_app, people, smtp):
    _queue_applications(mail_app, people, 1)
    smtp.inbox.answer = "421 4.7.0 Try again later"
    at = T0
    for delay in (*notifications.RETRY_DELAYS, None):
        notify(mail_app, at)
        at += delay or timedelta(0)
    with mail_app.app_context():
        row = db.session.scalars(db.select(OutboxMail)).one()
        assert row.status == "failed" and row.attempts == len(notifications.RETRY_DELAYS) + 1
        assert row.last_error.startswith(f"gave up after {row.attempts} attempts; last: recipient refused: 421")


def test_a_sender_killed_mid_batch_loses_nothing_and_keeps_the_message_id(mail_app, people, smtp):
    _queue_applications(mail_app, people, 4)
    with mail_app.app_context():
        claimed = outbox.claim(T0, limit=2)       # a sender claims two mails ...
        row = db.session.get(OutboxMail, claimed[0])
        sender._render_once(row, T0)               # ... renders the first, and dies before sending
        message_id = db.session.get(OutboxMail, claimed[0]).message_id
    notify(mail_app, T0 + timedelta(minutes=1))    # another sender: the claimed two wait for the lease
    assert len(smtp.inbox.messages) == 2
    notify(mail_app, T0 + notifications.CLAIM_LEASE)
    assert statuses(mail_app) == {"sent": 4} and len(smtp.inbox.messages) == 4
    assert message_id in [m["Message-ID"] for m in smtp.inbox.messages]


def test_two_senders_at_once_send_each_mail_once(mail_app, people, smtp, database_url, tmp_path):
    _queue_applications(mail_app, people, 30)
    env = dict(os.environ, DATABASE_URL=database_url, MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp.port),
               PUBLIC_BASE_URL="https://tracker.example", FLASK_APP="wsgi")
    command = [sys.executable, "-m", "flask", "notify", "once", "--at", (T0 + timedelta(minutes=1)).isoformat()]
    senders = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True) for _ in range(2)]
    outputs = [process.communicate(timeout=120)[0] for process in senders]
    assert [process.returncode for process in senders] == [0, 0], outputs
    ids = [m["Message-ID"] for m in smtp.inbox.messages]
    assert len(ids) == 30 and len(set(ids)) == 30
    assert statuses(mail_app) == {"sent": 30}


# --- hostile text ------------------------------------------------------------------------------------

def test_names_cannot_inject_headers_and_text_is_escaped_in_html(mail_app, people, smtp):
    with mail_app.app_context():
        mentee = db.session.get(User, people.mentee.id)
        mentee.name = "Eve\r\nBcc: victim@example.com\r\nX-Evil: 1"
        db.session.commit()
        services.apply(people.mentee.id, people.mentor.id, "change_careers",
                       "<script>alert(1)</script>\r\nSubject: spoof", "video", at=T0)
    notify(mail_app, T0)
    (message,) = smtp.inbox.messages
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert message["Subject"] == "Eve Bcc: victim@example.com X-Evil: 1 applied to you: Change careers"
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- the embedded default: files -------------------------------------------------------------------------

def test_with_no_mail_server_mails_are_eml_files(make_app, tmp_path):
    app = make_app(MAIL_SERVER=None, MAIL_FILE_PATH=str(tmp_path / "mail"))
    people = _world(app)
    with app.app_context():
        services.apply(people.mentee.id, people.mentor.id, "change_careers", "Goal", "video", at=T0)
    notify(app, T0)
    (name,) = os.listdir(tmp_path / "mail")
    assert name.endswith("-application_received.eml")
    with open(tmp_path / "mail" / name, "rb") as handle:
        message = email.message_from_binary_file(handle, policy=policy.default)
    assert message["To"].addresses[0].addr_spec == "mentor@example.com"
    assert statuses(app) == {"sent": 1}


@pytest.mark.parametrize("at, message", [("next tuesday", "expected ISO 8601"),
                                         ("0001-01-01", "must be from 1000-01-01 to 9998-12-31")])
def test_notify_once_refuses_a_bad_moment(mail_app, at, message):
    result = mail_app.test_cli_runner().invoke(args=["notify", "once", "--at", at])
    assert result.exit_code == 2 and "--at" in result.output and message in result.output
    assert clock.now() == T0


def test_an_account_that_cannot_log_in_gets_no_mail(mail_app, people, smtp):
    """An imported mentee who never signed up: no password, so no mail (and no link that could not work)."""
    with mail_app.app_context():
        imported = user(mail_app, "mentee", "imported@example.com", "Ivy Imported")
        db.session.get(User, imported.id).password_hash = None
        db.session.commit()
    mid = mentorship(mail_app, imported, people.mentor, applied_at=T0 - timedelta(hours=1))
    with mail_app.app_context():
        services.accept(people.mentor.id, mid, at=T0)
    notify(mail_app, T0)
    with mail_app.app_context():
        row = db.session.scalars(db.select(OutboxMail).where(OutboxMail.kind == "application_decided")).one()
        assert row.status == "skipped" and "cannot log in" in row.last_error
    assert smtp.inbox.messages == []


def test_a_mail_that_cannot_be_written_fails_alone(mail_app, people, smtp, monkeypatch):
    _queue_applications(mail_app, people, 2)

    def broken(row, at):
        raise KeyError("a template variable")
    with mail_app.app_context():
        first = min(db.session.scalars(db.select(OutboxMail.id)))
    original = sender.compose.compose
    monkeypatch.setattr(sender.compose, "compose", lambda row, at: broken(row, at) if row.id == first
                        else original(row, at))
    notify(mail_app, T0)
    with mail_app.app_context():
        rows = {r.id: r for r in db.session.scalars(db.select(OutboxMail))}
    assert rows[first].status == "failed" and rows[first].last_error.startswith("could not be written: KeyError")
    assert [r.status for i, r in rows.items() if i != first] == ["sent"] and len(smtp.inbox.messages) == 1


def test_the_schedule_counts_what_it_queued(mail_app, people):
    """plan() says how many mails it queued, and a second run queues none (on both engines)."""
    started = T0 - timedelta(days=5, hours=2)
    mentorship(mail_app, people.mentee, people.mentor, applied_at=started, trial_started_at=started)
    with mail_app.app_context():
        from tracker.mail import schedule
        # The trial ends in 2 days, its pulse is open, and the mentor had an application in February.
        assert schedule.plan(T0) == Counter({"trial_ending": 1, "pulse_open": 1, "mentor_summary": 1})
        assert schedule.plan(T0) == Counter()
