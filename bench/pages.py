"""Times every page people open, for bench/metrics_bench.py: the first call of a day and warm.

The pages (PAGES, in the order the tables list them):

- the operator's: the overview (/ops/) with the default window and with the full history, churn,
  retention, ratings, feedback, saves, health, research (each with its default window), at-risk and
  the list of mentorships;
- a mentor's own ratings (/mentor/ratings, all time by default), for the mentor with the most
  mentorships;
- the mentee's mentor directory (/mentors), for a mentee.

"Now" is what metrics_bench uses: the pages that read the dashboard filters get its `as_of` in the
URL (the default window ending then; the full history gets metrics_bench.FULL), the others read the
clock (not frozen). Each person is logged in on a test client of their own, by putting the
flask-login user id ("<id>:<session_version>", as the app's user_loader reads it) in the session.

For each page: "first" is one call with this process's cache of what is settled emptied just
before (rollup_queries.forget_settled), what the first request of a day pays; "warm" is the median
of `runs` calls after that one. "status" is the first answer that was not 200 (or an exception's
name, if the call raised), else 200: a page that fails is recorded, not asserted.
"""
from __future__ import annotations

import statistics
import time

from sqlalchemy import func, select

from tracker.core.extensions import db
from tracker.data.models import Mentorship, User
from tracker.reports import rollup_queries

# name, role, path, parameters ("as_of": metrics_bench's now; "full": its full-history scope; None: none)
PAGES = [
    ("ops overview", "operator", "/ops/", "as_of"),
    ("ops overview, full history", "operator", "/ops/", "full"),
    ("ops churn", "operator", "/ops/churn", "as_of"),
    ("ops retention", "operator", "/ops/retention", "as_of"),
    ("ops ratings", "operator", "/ops/ratings", "as_of"),
    ("ops feedback", "operator", "/ops/feedback", "as_of"),
    ("ops saves", "operator", "/ops/saves", "as_of"),
    ("ops health", "operator", "/ops/health", "as_of"),
    ("ops research", "operator", "/ops/research", "as_of"),
    ("ops at-risk", "operator", "/ops/at-risk", None),
    ("ops mentorships", "operator", "/ops/mentorships", None),
    ("mentor ratings", "mentor", "/mentor/ratings", None),
    ("mentee mentor directory", "mentee", "/mentors", None),
]


def people(app) -> dict[str, str]:
    """The flask-login id of who opens the pages, per role: the operator, the mentor with the most
    mentorships, a mentee (the demo one if there is one)."""
    with app.app_context():
        operator = db.session.scalar(select(User).where(User.email == "operator@demo.example"))
        top_mentor = db.session.scalar(select(Mentorship.mentor_id).group_by(Mentorship.mentor_id)
                                       .order_by(func.count().desc(), Mentorship.mentor_id).limit(1))
        mentor = db.session.get(User, top_mentor)
        mentee = (db.session.scalar(select(User).where(User.email == "mentee@demo.example", User.role == "mentee"))
                  or db.session.scalar(select(User).where(User.role == "mentee").order_by(User.id).limit(1)))
        ids = {"operator": operator.get_id(), "mentor": mentor.get_id(), "mentee": mentee.get_id()}
        db.session.rollback()
    return ids


def _client(app, user_id: str):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session["_fresh"] = True
    return client


def bench_pages(app, runs: int, params: dict[str, dict]) -> dict[str, dict]:
    """{page name: {"first_s", "warm_s", "status"}} for every page in PAGES; `params` maps "as_of" and
    "full" to query strings."""
    clients = {role: _client(app, user_id) for role, user_id in people(app).items()}
    results = {}
    for name, role, path, which in PAGES:
        client, query = clients[role], params[which] if which else {}
        statuses = []

        def call():
            try:
                response = client.get(path, query_string=query)
                statuses.append(response.status_code)
                response.close()
            except Exception as error:  # noqa: BLE001 - a page that fails is a result, not the end of the bench
                statuses.append(type(error).__name__)

        rollup_queries.forget_settled()
        start = time.perf_counter()
        call()
        first = time.perf_counter() - start
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            call()
            samples.append(time.perf_counter() - start)
        status = next((s for s in statuses if s != 200), 200)
        results[name] = {"first_s": first, "warm_s": statistics.median(samples), "status": status}
    return results
