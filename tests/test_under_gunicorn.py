"""The app under real gunicorn on 127.0.0.1 with several workers, on the test database: concurrent
double submits, a mixed write load, a worker killed mid-request, and a PostgreSQL restart.

Bounded: every server is stopped at the end of its test, every wait has a deadline, and traffic
goes only to 127.0.0.1.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tracker.core.extensions import db
from tracker.data import rollups
from tracker.data.models import CheckIn, ExitSurvey, Mentorship
from tracker.services import rollups as rollup_service

from .factories import count, get, mentorship, user
from .helpers import Browser
from .servers import gunicorn, skip_unless_postgresql, wait_healthy

SURVEY = {"stars": "4", "goal_reached": "yes", "churn_reason": "goal_reached"}


def test_fifty_simultaneous_exit_surveys_make_exactly_one(app, world, database_url, tmp_path):
    mid = world.in_trial()
    with gunicorn(database_url, tmp_path, workers=4) as (base, _, log_path):
        browsers = [Browser(base).login(world.mentee.email) for _ in range(50)]
        tokens = [b.token(f"/mentorships/{mid}/cancel") for b in browsers]
        barrier = threading.Barrier(len(browsers))
        statuses: list[int] = []

        def submit(browser, token):
            barrier.wait(timeout=30)
            statuses.append(browser.request(f"/mentorships/{mid}/cancel", dict(SURVEY, csrf_token=token))[0])

        threads = [threading.Thread(target=submit, args=pair) for pair in zip(browsers, tokens, strict=True)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        log = log_path.read_text()
    assert len(statuses) == 50 and all(s < 500 for s in statuses), sorted(statuses)
    assert count(app, ExitSurvey) == 1 and get(app, Mentorship, mid).end_reason == "cancelled"
    assert "database is locked" not in log and "Traceback" not in log


def test_a_mixed_write_load_loses_no_acknowledged_write(app, world, database_url, tmp_path):
    pairs = []
    for n in range(6):
        mentee = user(app, "mentee", f"load-mentee{n}@example.com")
        mentor = user(app, "mentor", f"load-mentor{n}@example.com")
        started = world.at - timedelta(days=20)
        pairs.append((mentee, mentor, mentorship(app, mentee, mentor, applied_at=started, trial_started_at=started)))
    applicants = [user(app, "mentee", f"applicant{n}@example.com") for n in range(6)]
    acknowledged = {"checkins": [], "cancelled": [], "applied": []}
    failures: list[tuple[str, int]] = []
    lock = threading.Lock()

    def mentee_work(base, mentee, mid):
        browser = Browser(base).login(mentee.email)
        for k in range(5):
            note = f"{mentee.email}-note-{k}"
            status, page = browser.post_form(f"/mentorships/{mid}/checkins",
                                             {"occurred_at": "2026-03-01T10:00", "mode": "video", "minutes": "30",
                                              "note": note}, token_from=f"/mentorships/{mid}")
            with lock:
                (acknowledged["checkins"].append(note) if status == 200 and "Check-in logged." in page
                 else failures.append(("checkin", status)))
        status, page = browser.post_form(f"/mentorships/{mid}/cancel", SURVEY)
        with lock:
            (acknowledged["cancelled"].append(mid) if status == 200 and "Your mentorship is cancelled" in page
             else failures.append(("cancel", status)))

    def applicant_work(base, applicant, mentor):
        browser = Browser(base).login(applicant.email)
        status, page = browser.post_form(f"/mentors/{mentor.id}", {
            "goal_category": "get_promoted", "goal_text": "Grow into a staff engineer within a year.",
            "meeting_preference": "video"})
        with lock:
            (acknowledged["applied"].append(applicant.id) if status == 200 and "Your application was sent" in page
             else failures.append(("apply", status)))

    with gunicorn(database_url, tmp_path, workers=4) as (base, _, log_path):
        threads = [threading.Thread(target=mentee_work, args=(base, mentee, mid)) for mentee, _, mid in pairs]
        threads += [threading.Thread(target=applicant_work, args=(base, a, pairs[i][1]))
                    for i, a in enumerate(applicants)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        log = log_path.read_text()
    assert failures == []
    assert len(acknowledged["checkins"]) == 30 and len(acknowledged["cancelled"]) == 6
    assert len(acknowledged["applied"]) == 6
    with app.app_context():
        notes = {c.note for c in db.session.query(CheckIn)}
        assert set(acknowledged["checkins"]) <= notes
        for mid in acknowledged["cancelled"]:
            assert db.session.get(Mentorship, mid).exit_survey is not None
        applied = {m.mentee_id for m in db.session.query(Mentorship).filter(Mentorship.trial_started_at.is_(None))}
        assert set(acknowledged["applied"]) <= applied
    assert "database is locked" not in log and "Traceback" not in log


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return found


def test_a_worker_killed_mid_cancel_leaves_nothing_half_done(app, world, database_url, tmp_path):
    mid = world.in_trial()
    with gunicorn(database_url, tmp_path, workers=1, wsgi_app="tests.fault_wsgi:app",
                  TEST_PAUSE_BEFORE_COMMIT="4") as (base, master, _):
        browser = Browser(base).login(world.mentee.email)
        token = browser.token(f"/mentorships/{mid}/cancel")
        result: list = []
        request = threading.Thread(target=lambda: result.append(
            browser.request(f"/mentorships/{mid}/cancel", dict(SURVEY, csrf_token=token))))
        request.start()
        time.sleep(1.5)  # the survey is flushed, the transaction is open, the worker sleeps before COMMIT
        workers = _children(master.pid)
        assert len(workers) == 1
        os.kill(workers[0], signal.SIGKILL)
        request.join(timeout=30)
        assert get(app, Mentorship, mid).ended_at is None and count(app, ExitSurvey) == 0
        wait_healthy(base, 30)  # the master starts a new worker; the database is usable again
        status, page = Browser(base).login(world.mentee.email).post_form(f"/mentorships/{mid}/cancel", SURVEY)
        assert status == 200 and "Your mentorship is cancelled" in page
    assert count(app, ExitSurvey) == 1


def _pg_cluster():
    if shutil.which("pg_ctlcluster") is None or not os.path.isdir("/etc/postgresql") or os.geteuid() != 0:
        return None
    versions = sorted(os.listdir("/etc/postgresql"))
    return versions[-1] if versions else None


def test_the_app_recovers_by_itself_after_postgresql_restarts(app, world, database_url, tmp_path):
    skip_unless_postgresql(database_url)
    version = _pg_cluster()
    if version is None:
        pytest.skip("needs root and pg_ctlcluster to restart the local PostgreSQL")
    with gunicorn(database_url, tmp_path, workers=2) as (base, _, _log):
        browser = Browser(base).login(world.operator.email)
        assert browser.request("/ops/")[0] == 200
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
                       check=True, timeout=60)
        wait_healthy(base, 60)
        statuses = [browser.request("/ops/")[0] for _ in range(4)]  # every worker's pool recovers
    assert statuses == [200] * 4


def test_fifty_simultaneous_writes_on_the_same_rollup_rows_leave_them_exact(app, world, database_url, tmp_path):
    """25 cancellations (same mentor, category, stage and answers: the same rollup rows) and 25
    applications to that mentor (the same application row), all at once: every increment is kept."""
    started = world.at - timedelta(days=20)
    cancelling, applying = [], []
    for n in range(25):
        mentee = user(app, "mentee", f"leaving{n}@example.com")
        cancelling.append((mentee, mentorship(app, mentee, world.mentor, applied_at=started, trial_started_at=started,
                                              goal_category="get_promoted")))
        applying.append(user(app, "mentee", f"joining{n}@example.com"))
    with gunicorn(database_url, tmp_path, workers=4) as (base, _, log_path):
        jobs = []
        for mentee, mid in cancelling:
            browser = Browser(base).login(mentee.email)
            jobs.append((browser, f"/mentorships/{mid}/cancel",
                         dict(SURVEY, csrf_token=browser.token(f"/mentorships/{mid}/cancel"))))
        for mentee in applying:
            browser = Browser(base).login(mentee.email)
            jobs.append((browser, f"/mentors/{world.mentor.id}",
                         {"goal_category": "get_promoted", "goal_text": "Lead a team within a year.",
                          "meeting_preference": "video", "csrf_token": browser.token(f"/mentors/{world.mentor.id}")}))
        barrier = threading.Barrier(len(jobs))
        statuses: list[int] = []

        def submit(browser, path, form):
            barrier.wait(timeout=30)
            statuses.append(browser.request(path, form)[0])

        threads = [threading.Thread(target=submit, args=job) for job in jobs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        log = log_path.read_text()
    assert sorted(statuses) == [200] * 50, sorted(statuses)  # each redirected to its page
    with app.app_context():
        assert rollup_service.first_difference() is None
        c = rollups.cancellations.c
        assert db.session.scalar(select(func.sum(c.n)).where(c.goal_category == "get_promoted")) == 25
        a = rollups.applications.c
        assert db.session.scalar(select(func.sum(a.n)).where(a.goal_category == "get_promoted",
                                                             a.accepted_day == rollups.NEVER)) == 25
    assert "Traceback" not in log
