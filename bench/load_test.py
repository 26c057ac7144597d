"""Load test: real gunicorn (gunicorn.conf.py) on 127.0.0.1 driven by wrk, bounded in time.

    .venv/bin/python bench/load_test.py [--seconds 20] [--connections 8] [--database-url URL]

A fresh database (a SQLite file under bench/out/, or the PostgreSQL URL given, which is emptied
first) is seeded with 5,000 demo mentorships ending now; mentees are logged in over HTTP, and each
wrk connection gets its own list of requests (bench/load.lua). Three runs, one after the other:

1. trivial: GET /readyz (one `SELECT 1`), the ceiling of this server on this machine;
2. forms: only form submissions (check-ins 60%, applications 25%, cancellations with their exit
   survey 15%), each with the session's CSRF token, each a real write;
3. mixed: 70% page views (mentee home, a mentorship page, the directory), 30% the forms above.

Each run reports requests per second, p50/p95/p99, and errors (any refused status or socket
error). Afterwards the database is counted: every write wrk saw acknowledged (a 303) must be a row.
Results are printed as JSON (one line) and returned to bench/run.py.
"""
from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
OUT = os.path.join(ROOT, "bench", "out")

from sqlalchemy import func, select, text  # noqa: E402

from bench.common import fresh_app, sqlite_url  # noqa: E402
from tests.servers import _free_port, wait_healthy  # noqa: E402
from tracker.core.extensions import db  # noqa: E402
from tracker.data.models import CheckIn, ExitSurvey, MentorProfile, Mentorship, Pause, User  # noqa: E402
from tracker.services import rollups as rollup_service  # noqa: E402
from tracker.services.seed import DEMO_PASSWORD, seed_demo  # noqa: E402

SEED_SIZE = 5000
AGENT = "tracker-load-test"


class Session:
    """A logged-in mentee: the session cookie and a CSRF token for its forms."""

    def __init__(self, base: str, email: str):
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.addheaders = [("User-Agent", AGENT)]
        token = self._token(opener.open(base + "/login").read().decode())
        body = urllib.parse.urlencode({"email": email, "password": DEMO_PASSWORD, "csrf_token": token}).encode()
        opener.open(base + "/login", body).read()
        self.csrf = self._token(opener.open(base + "/mentors").read().decode())  # the log-out form's token
        self.cookie = "; ".join(f"{c.name}={c.value}" for c in jar)

    @staticmethod
    def _token(page: str) -> str:
        match = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page)
        return match.group(1) if match else ""


def _plan(app, until: datetime) -> dict:
    """Who can do what: running mentorships (split between check-ins and cancellations; not paused, since
    a paused one refuses check-ins) and free (mentee, mentor) pairs for applications, all for a few
    hundred mentees."""
    now = datetime.now(timezone.utc) + timedelta(minutes=10)  # paused now or during the run
    with app.app_context():
        paused = select(Pause.id).where(Pause.mentorship_id == Mentorship.id, Pause.starts_at <= now,
                                        Pause.ends_at > until).exists()
        running = db.session.execute(
            select(Mentorship.id, Mentorship.mentee_id, Mentorship.trial_started_at, User.email)
            .join(User, User.id == Mentorship.mentee_id)
            .where(Mentorship.trial_started_at.is_not(None), Mentorship.ended_at.is_(None), ~paused)).all()
        mentors = list(db.session.scalars(select(MentorProfile.user_id)
                                          .where(MentorProfile.accepting_applications.is_(True))))
        open_pairs = set(db.session.execute(select(Mentorship.mentee_id, Mentorship.mentor_id)
                                            .where(Mentorship.ended_at.is_(None))).all())
        emails = dict(db.session.execute(select(User.id, User.email).where(User.role == "mentee")).all())
    rng = random.Random(7)
    rng.shuffle(running)
    mentees = sorted({row.mentee_id for row in running})[:300]
    chosen = [row for row in running if row.mentee_id in set(mentees)]
    half = len(chosen) // 2
    pairs = [(mentee, mentor) for mentee in mentees for mentor in mentors if (mentee, mentor) not in open_pairs]
    rng.shuffle(pairs)
    own: dict[int, list[int]] = {}
    for row in chosen:
        own.setdefault(row.mentee_id, []).append(row.id)
    return {"checkins": chosen[:half], "cancels": chosen[half:], "pairs": pairs, "own": own,
            "emails": {m: emails[m] for m in mentees}}


def _write_items(plan: dict, sessions: dict, connections: int, mix: str, until: datetime) -> dict:
    """One TSV per wrk thread; returns how many writes of each kind were planned."""
    rng = random.Random(11)
    checkins, cancels, pairs = list(plan["checkins"]), list(plan["cancels"]), list(plan["pairs"])
    minute = until.replace(second=0, microsecond=0)
    files = [open(os.path.join(OUT, f"load-items-{i + 1}.tsv"), "w") for i in range(connections)]
    per_file = 6000
    planned = {"checkin": 0, "apply": 0, "cancel": 0}
    mentee_ids = list(plan["emails"])
    for n in range(per_file * connections):
        handle = files[n % connections]
        draw = rng.random()
        if mix == "mixed" and draw < 0.7:
            mentee = rng.choice(mentee_ids)
            s = sessions[mentee]
            path = rng.choice(["/me", "/mentors", f"/mentorships/{rng.choice(plan['own'][mentee])}"])
            handle.write(f"view\tGET\t{path}\t{s.cookie}\t\n")
            continue
        draw = rng.random()
        if draw < 0.15 and cancels:
            row = cancels.pop()
            s = sessions[row.mentee_id]
            body = {"stars": rng.randint(1, 5), "goal_reached": rng.choice(["yes", "partly", "no"]),
                    "churn_reason": rng.choice(["goal_reached", "no_time", "too_expensive", "mentor_fit"]),
                    "feedback_platform": "load test", "feedback_mentor": "", "feedback_other": ""}
            kind, path = "cancel", f"/mentorships/{row.id}/cancel"
        elif draw < 0.40 and pairs:
            mentee, mentor = pairs.pop()
            s = sessions[mentee]
            body = {"goal_category": "extend_skillset", "goal_text": "Learn to design systems under load.",
                    "meeting_preference": "video"}
            kind, path = "apply", f"/mentors/{mentor}"
        else:
            row = rng.choice(checkins)
            s = sessions[row.mentee_id]
            when = max(minute - timedelta(hours=1), row.trial_started_at.replace(second=0) + timedelta(minutes=1))
            body = {"occurred_at": when.strftime("%Y-%m-%dT%H:%M"), "mode": "video", "minutes": 30,
                    "note": f"load {n}"}
            kind, path = "checkin", f"/mentorships/{row.id}/checkins"
        planned[kind] += 1
        body["csrf_token"] = s.csrf
        handle.write(f"{kind}\tPOST\t{path}\t{s.cookie}\t{urllib.parse.urlencode(body)}\n")
    # The trivial run and the filler once writes run out: every list ends with page views.
    for i, handle in enumerate(files):
        mentee = mentee_ids[i % len(mentee_ids)]
        handle.write(f"view\tGET\t/me\t{sessions[mentee].cookie}\t\n")
        handle.close()
    plan["cancels"], plan["pairs"] = cancels, pairs
    return planned


def _trivial_items(connections: int) -> None:
    for i in range(connections):
        with open(os.path.join(OUT, f"load-items-{i + 1}.tsv"), "w") as handle:
            handle.write("view\tGET\t/readyz\t\t\n")


def _counts(app) -> dict:
    with app.app_context():
        return {"checkin": db.session.scalar(select(func.count()).select_from(CheckIn)),
                "apply": db.session.scalar(select(func.count()).select_from(Mentorship)),
                "cancel": db.session.scalar(select(func.count()).select_from(ExitSurvey))}


def _max_mentorship_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.max(Mentorship.id)))


def _wrk(base: str, seconds: int, connections: int, max_mentorship: int = 0) -> dict:
    command = ["wrk", "-t", str(connections), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
               "-s", os.path.join(ROOT, "bench", "load.lua"), base, "--", OUT, str(max_mentorship)]
    output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    result = json.loads(line[len("RESULT "):])
    result["rps"] = result["requests"] / result["seconds"]
    result["errors"] = result["socket_errors"] + sum(result["refused"].values())
    return result


def run(database_url: str | None, seconds: int, connections: int) -> dict:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: `apt-get install wrk` (bin/bench does it)")
    os.makedirs(OUT, exist_ok=True)
    url = database_url or sqlite_url("load")
    app = fresh_app(url)
    until = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)
    with app.app_context():
        seed_demo(count=SEED_SIZE, seed=3, until=until)
        if db.engine.dialect.name == "sqlite":
            db.session.execute(text("ANALYZE"))
            db.session.commit()
    plan = _plan(app, until)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="load-test-" + "k" * 40, PORT=str(port),
               GUNICORN_ACCESS_LOG="/dev/null", GUNICORN_LOG_LEVEL="warning")
    log = open(os.path.join(OUT, "load-gunicorn.log"), "w")
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_healthy(base, 30, server)
        sessions = {mentee: Session(base, email) for mentee, email in plan["emails"].items()}
        results = {"connections": connections, "seconds": seconds, "workers": _workers(env)}
        _trivial_items(connections)
        results["trivial"] = _wrk(base, seconds, connections)
        for mix in ("forms", "mixed"):
            before = _counts(app)
            planned = _write_items(plan, sessions, connections, mix, until)
            result = _wrk(base, seconds, connections, _max_mentorship_id(app))
            after = _counts(app)
            result["planned"] = planned
            result["rows_added"] = {kind: after[kind] - before[kind] for kind in before}
            result["acked_writes_missing"] = sum(max(0, result["acked"].get(kind, 0) - result["rows_added"][kind])
                                                 for kind in before)
            result["writes_rps"] = sum(result["acked"].get(k, 0) for k in before) / result["seconds"]
            results[mix] = result
            time.sleep(1)
    finally:
        server.terminate()
        server.wait(30)
        log.close()
    with app.app_context():  # the writes under load kept the rollups exact (docs/PERFORMANCE.md)
        results["rollups"] = rollup_service.first_difference() or "match the raw rows"
    return results


def _workers(env) -> int:
    return int(env.get("WEB_CONCURRENCY", (os.cpu_count() or 1) * 2 + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    print(json.dumps(run(args.database_url, args.seconds, args.connections), indent=1))


if __name__ == "__main__":
    main()
