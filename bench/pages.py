"""Times every page people open, for bench/metrics_bench.py: cold, the first call of a day, and warm.

The pages (PAGES, in the order the tables list them):

- the operator's: the overview (/ops/) with the default window and with the full history, churn,
  retention, ratings, feedback, saves, health, research (each with its default window), at-risk and
  the list of mentorships;
- a mentor's own ratings (/mentor/ratings, all time by default), for the mentor with the most
  mentorships;
- the mentee's mentor directory (/mentors), for a mentee;
- the operators' outbox (/ops/outbox) and a mentee's mail settings (/settings/mail);
- the public reviews operators moderate, a mentor's profile with its reviews;
- the operators' search of mentorships (by name, by email, by state) and of accounts, a mentorship's
  timeline, and the audit log;
- the offer experiments (/ops/experiments) and one experiment's results, for an experiment on
  "no time" that every such cancel flow of the last 180 days took part in (bench_experiment).

Before the pages, the mail schedule is run as `notify` runs it (tracker/mail/schedule.py `plan`), with
the clock at "now": "notify_plan_first_s" queues what is due (every pulse, trial ending and follow-up
of the moment, so the outbox page has rows to show) and "notify_plan_again_s" is the next round,
which finds nothing new: the cost `notify run` pays every round.

"Now" is a moment in the middle of a day of the seeded history (metrics_bench.PAGES_NOW), the clock
frozen there: the pages open on their default windows ending then (the full history is the
dashboard's "All time" choice), so the day's own rows are read raw as in production. Each person is
logged in on a test client of their own, by putting the flask-login user id ("<id>:<session_version>",
as the app's user_loader reads it) in the session.

For each page, three timings:

- "cold": nothing computed today anywhere (this process's cache and the shared report cache emptied
  just before): what a page costs when nobody has asked for its window today;
- "first": after `rollups warm` (timed as "warm_job_s"), with only this process's cache emptied: the
  first request of the day in a worker, as in production with the daily warm-up (which covers the
  dashboard's window choices, not any window);
- "warm": the median of `runs` calls after that.

"status" is the first answer that was not 200 (or an exception's name, if the call raised), else 200:
a page that fails is recorded, not asserted.
"""
from __future__ import annotations

import random
import statistics
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl

from sqlalchemy import case, delete, func, insert, literal, select, update

from tracker.core import clock
from tracker.core.extensions import db
from tracker.data.models import (
    CancelFlow,
    MentorProfile,
    MentorReviewStats,
    Mentorship,
    OfferAssignment,
    OfferExperiment,
    User,
)
from tracker.mail import schedule
from tracker.reports import metrics, rollup_queries
from tracker.services import rollups as rollups_service

PAGES_CREATED = datetime(2026, 1, 1, tzinfo=timezone.utc)

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
    ("ops outbox", "operator", "/ops/outbox", None),
    ("ops reviews", "operator", "/ops/reviews", None),
    ("ops mentorships, search a name", "operator", "/ops/mentorships?q=grace", None),
    ("ops mentorships, search an email", "operator", "/ops/mentorships?q=mentee12345", None),
    ("ops mentorships, in trial", "operator", "/ops/mentorships?state=trial", None),
    ("ops mentorships, paid month 2", "operator", "/ops/mentorships?state=month_2", None),
    ("ops mentorships, paused", "operator", "/ops/mentorships?state=paused", None),
    ("ops mentorships, cancelled, page 20", "operator", "/ops/mentorships?state=ended&end_reason=cancelled&page=20",
     None),
    ("ops accounts, search", "operator", "/ops/users?q=hugo", None),
    ("ops accounts, mentors", "operator", "/ops/users?role=mentor", None),
    ("ops mentorship timeline", "operator", "/ops/mentorships/{top_mentorship}", None),
    ("ops audit log", "operator", "/ops/audit", None),
    ("mentee mentor profile", "mentee", "/mentors/{top_mentor}", None),
    ("mentee mail settings", "mentee", "/settings/mail", None),
    ("ops experiments", "operator", "/ops/experiments", None),
    ("ops experiment results", "operator", "/ops/experiments/{experiment}", None),
]
EXPERIMENT_DAYS = 180


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


def bench_experiment(app, now: datetime) -> int:
    """The id of an offer experiment on "no time" (pause against nothing) started EXPERIMENT_DAYS
    before `now`, with every cancel flow for that reason since then in it, arms alternating by id.
    The seeded flows showed the usual offer whatever their arm: the numbers are not meaningful, the
    work of computing them is the real one."""
    started = now - timedelta(days=EXPERIMENT_DAYS)
    planned_a, planned_b = metrics.planned_sample_size(0.30, 0.05, 0.5)
    with app.app_context():
        experiment_id = db.session.execute(insert(OfferExperiment).values(
            name="Bench: pause or nothing", reason="no_time", offer_a="pause", offer_b="none", share_b=50,
            baseline_percent=30.0, minimum_effect_points=5.0, planned_a=planned_a, planned_b=planned_b,
            started_at=started, ended_at=now).returning(OfferExperiment.id)).scalar_one()
        flows = select(CancelFlow.id, literal(experiment_id), case((CancelFlow.id % 2 == 0, "a"), else_="b")).where(
            CancelFlow.reason == "no_time", CancelFlow.started_at >= started, CancelFlow.started_at <= now)
        db.session.execute(insert(OfferAssignment).from_select(["cancel_flow_id", "experiment_id", "arm"], flows))
        db.session.commit()
    return experiment_id


def _client(app, user_id: str):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session["_fresh"] = True
    return client


def forget_everything(app) -> None:
    """Empty this process's cache and the shared report cache: nothing computed today anywhere."""
    with app.app_context():
        rollup_queries.forget_settled(shared=True)


def bench_pages(app, runs: int, params: dict[str, dict], now: datetime) -> dict:
    """{"warm_job_s": how long `rollups warm` took, "pages": {page name: {"cold_s", "first_s", "warm_s",
    "status"}}, "notify_plan_first_s", "notify_plan_again_s", "notify_queued"} for every page in PAGES,
    with the clock at `now`; `params` maps "as_of" and "full" to query strings."""
    who = people(app)
    clients = {role: _client(app, user_id) for role, user_id in who.items()}
    top_mentor = who["mentor"].split(":")[0]
    with app.app_context():
        top_mentorship = db.session.scalar(select(func.max(Mentorship.id)))
        db.session.rollback()
    experiment = bench_experiment(app, now)
    calls, statuses = {}, {}
    for name, role, path, which in PAGES:
        client, query = clients[role], params[which] if which else {}
        path = path.format(top_mentor=top_mentor, top_mentorship=top_mentorship, experiment=experiment)
        if "?" in path:
            path, asked = path.split("?", 1)
            query = dict(parse_qsl(asked))
        statuses[name] = []

        def call(client=client, path=path, query=query, seen=statuses[name]):
            try:
                response = client.get(path, query_string=query)
                seen.append(response.status_code)
                response.close()
            except Exception as error:  # noqa: BLE001 - a page that fails is a result, not the end of the bench
                seen.append(type(error).__name__)
        calls[name] = call

    def seconds(fn) -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    results: dict[str, dict] = {}
    clock.freeze(now)
    try:
        with app.app_context():
            start = time.perf_counter()
            queued = sum(schedule.plan(now).values())
            plan_first = time.perf_counter() - start
            plan_again = statistics.median(seconds(lambda: schedule.plan(now)) for _ in range(runs))
        for name, call in calls.items():  # nothing computed today anywhere
            forget_everything(app)
            results[name] = {"cold_s": seconds(call)}
        forget_everything(app)
        with app.app_context():
            warm_job = seconds(lambda: rollups_service.warm(now))
        for name, call in calls.items():  # a process's first request of the day, after `rollups warm`
            rollup_queries.forget_settled()
            results[name]["first_s"] = seconds(call)
            results[name]["warm_s"] = statistics.median(seconds(call) for _ in range(runs))
            results[name]["status"] = next((s for s in statuses[name] if s != 200), 200)
    finally:
        clock.unfreeze()
    return {"warm_job_s": warm_job, "pages": results, "notify_plan_first_s": plan_first,
            "notify_plan_again_s": plan_again, "notify_queued": queued}


# The directory at marketplace scale: the seed makes at most 80 mentors, so this tops them up to
# DIRECTORY_MENTORS (with public review counts), times the directory's usual asks, then takes the
# added mentors out of the directory and their counts away (`rollups verify` still holds).
DIRECTORY_MENTORS = 10_000
DIRECTORY_ASKS = [
    ("directory, by rating", {}),
    ("directory, search", {"q": "design"}),
    ("directory, expertise tag", {"expertise": "Career growth"}),
    ("directory, goal category", {"goal_category": "change_careers"}),
    ("directory, by name, page 200", {"sort": "name", "page": "200"}),
    ("directory, newest, search and category", {"q": "a", "goal_category": "get_promoted", "sort": "newest"}),
]


def bench_directory(app, runs: int) -> dict:
    """{"mentors": how many, "asks": {name: {"first_s", "warm_s", "status"}}}."""
    rng = random.Random(3)
    with app.app_context():
        existing = db.session.scalar(select(func.count()).select_from(User).where(User.role == "mentor"))
        first_id = (db.session.scalar(select(func.max(User.id))) or 0) + 1
        added = list(range(first_id, first_id + max(0, DIRECTORY_MENTORS - existing)))
        fields = ["Backend, System design", "Product design, UX research", "Career growth, Leadership",
                  "Data science, Machine learning", "Frontend, Accessibility"]
        users = [dict(id=i, email=f"bench-mentor{i}@demo.example", name=f"Bench Mentor {i}",
                      search_name=f"bench mentor {i}", role="mentor",
                      password_hash=None, session_version=1, created_at=PAGES_CREATED) for i in added]
        profiles = [dict(user_id=i, headline=f"Mentor in {fields[i % 5].split(',')[0].lower()}",
                         expertise=fields[i % 5], bio="", accepting_applications=True) for i in added]
        stats = []
        for i in added:
            n = rng.choice((0, 0, 1, 3, 8, 20))
            counts = [rng.randint(0, n) for _ in range(5)]
            counts[4] += n - min(n, sum(counts))
            n = sum(counts)
            stats.append(dict(mentor_id=i, n=n, star_sum=sum((k + 1) * c for k, c in enumerate(counts)),
                              **{f"stars_{k + 1}": c for k, c in enumerate(counts)}))
        for table, rows in ((User, users), (MentorProfile, profiles), (MentorReviewStats, stats)):
            for start in range(0, len(rows), 5000):
                db.session.execute(insert(table), rows[start:start + 5000])
        db.session.commit()
    client = _client(app, people(app)["mentee"])
    results = {}
    try:
        for name, query in DIRECTORY_ASKS:
            seen = []

            def call(query=query, seen=seen):
                response = client.get("/mentors", query_string=query)
                seen.append(response.status_code)
                response.close()
            start = time.perf_counter()
            call()
            first = time.perf_counter() - start
            warm = []
            for _ in range(runs):
                start = time.perf_counter()
                call()
                warm.append(time.perf_counter() - start)
            results[name] = {"first_s": first, "warm_s": statistics.median(warm),
                             "status": next((s for s in seen if s != 200), 200)}
    finally:
        # The added mentors stay (deleting users makes SQLite check every table that refers to them, a
        # long scan per row at a million mentorships); out of the directory, with no made-up counts.
        with app.app_context():
            for start in range(0, len(added), 5000):
                chunk = added[start:start + 5000]
                db.session.execute(delete(MentorReviewStats).where(MentorReviewStats.mentor_id.in_(chunk)))
                db.session.execute(update(MentorProfile).where(MentorProfile.user_id.in_(chunk))
                                   .values(accepting_applications=False))
            db.session.commit()
    return {"mentors": existing + len(added), "asks": results}
