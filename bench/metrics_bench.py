"""Times the full metrics (GET /api/v1/metrics) and every page (bench/pages.py) at growing data sizes.

    .venv/bin/python bench/metrics_bench.py [--sizes 10000,100000,1000000] [--runs 5] [--raw-runs N]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench]

Each size gets a fresh database (a SQLite file under bench/out/ by default; a PostgreSQL URL is
emptied first, so give it a database of its own), seeded with seed-demo (which includes rebuilding
the rollups, so "seed" counts that too), then each request is timed in-process (the Flask test
client, no network):

- API full, cold: the first full-history call after seeding, with this process's cache and the shared
  report cache emptied first (rollup_queries.forget_settled(shared=True)), so it reads the rollups and
  computes the settled part; "cold, median" repeats that (emptied before each call) `--runs` times;
- API full, shared: the median of `--runs` calls each with only this process's cache emptied, so the
  settled part comes from the report cache another process stored (a worker's first request of the day
  for a window someone already asked);
- API full (warm), API 90 days, dashboard (the overview, full history): the median of `--runs` calls
  after a first one, so the settled part comes from the process's cache;
- every page (bench/pages.py: the operator's dashboard pages, at-risk and mentorships, a mentor's
  ratings, the mentee's mentor directory) cold, first in a day after `rollups warm` (and how long the
  warm-up took), and warm, with its HTTP status (recorded, not asserted);
- raw reference: metrics.report over queries.measure (the raw computation the fast path must equal)
  for the same full-history scope, in-process without Flask, the median of `--raw-runs` (default:
  `--runs`, 1 from a million mentorships on).

It also checks that the fast path's report (cold and warm, full history and 90 days) equals the
raw reference's, with ==; "same as raw" is False when any differs. bench/run.py (`bin/bench`) runs
this on both engines with the load test and writes docs/PERFORMANCE.md. Not a test: the targets
are recorded, not asserted.

Result keys: size, seed_s, api_full_cold_s, api_full_cold_median_s, api_full_shared_s, api_full_s
(warm), raw_full_s (the raw reference), api_90d_s, dashboard_full_s, same_as_raw, warm_job_s, and
pages: {page name: {"cold_s", "first_s", "warm_s", "status"}} in bench/pages.py's order.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import text  # noqa: E402
from werkzeug.datastructures import MultiDict  # noqa: E402

from bench import pages as pages_module  # noqa: E402
from bench.common import fresh_app, sqlite_url  # noqa: E402
from bench.pages import bench_pages  # noqa: E402
from tracker import services  # noqa: E402
from tracker.core import clock  # noqa: E402
from tracker.core.extensions import db  # noqa: E402
from tracker.reports import metrics, queries, rollup_queries, scope  # noqa: E402
from tracker.services.seed import seed_demo  # noqa: E402

UNTIL = datetime(2026, 6, 30, tzinfo=timezone.utc)
FULL = {"from": "2024-01-01", "to": "2026-07-01", "as_of": "2026-06-30T00:00:00+00:00"}
RECENT = {"as_of": "2026-06-30T00:00:00+00:00"}  # the default 90-day window
# The pages are timed in the middle of the history's last full day, so that day's rows are read raw.
PAGES_NOW = datetime(2026, 6, 29, 15, tzinfo=timezone.utc)
PAGES_FULL = {"from": "2000-01-01", "to": "2026-06-30"}  # the dashboard's "All time" at PAGES_NOW


def timed(fn, runs: int, before=None) -> float:
    samples = []
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def reporter(params: dict, measure):
    """A function giving metrics.report over `measure` for the scope the API would parse from `params`."""
    asked = scope.parse(MultiDict(params), clock.now(), queries.mentor_id_by_email)
    echo = asked.echo()
    return lambda: metrics.report(measure(asked.scope), echo["as_of"], echo["window"], echo["filters"])


def same_as_raw(app, params: dict) -> tuple[bool, dict]:
    """Whether the fast path's report, cold and warm, equals the raw computation's (==); and the raw one."""
    with app.app_context():
        fast = reporter(params, rollup_queries.measure)
        rollup_queries.forget_settled(shared=True)
        cold, warm = fast(), fast()
        raw = reporter(params, queries.measure)()
        db.session.rollback()
    return cold == raw and warm == raw, raw


def bench(size: int, url: str, runs: int, raw_runs: int | None = None) -> dict:
    app = fresh_app(url)
    start = time.perf_counter()
    with app.app_context():
        seed_demo(count=size, seed=1, until=UNTIL)
        token = services.create_api_token("operator@demo.example", at=UNTIL)
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        else:
            db.session.execute(text("ANALYZE"))
            db.session.commit()
    seeded = time.perf_counter() - start
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}

    def get(path, params, headers=None):
        response = client.get(path, query_string=params, headers=headers or {})
        assert response.status_code == 200, response.status_code
    client.post("/login", data={"email": "operator@demo.example", "password": "demo-password"})
    api_full = lambda: get("/api/v1/metrics", FULL, auth)  # noqa: E731
    forget_everything = lambda: pages_module.forget_everything(app)  # noqa: E731
    cold = timed(api_full, 1, before=forget_everything)  # the first metrics call after seeding
    cold_median = timed(api_full, runs, before=forget_everything)
    api_full()  # the caches hold the full-history scope again
    shared = timed(api_full, runs, before=rollup_queries.forget_settled)  # another process, the shared cache
    warm = timed(api_full, runs)
    get("/api/v1/metrics", RECENT, auth)
    recent = timed(lambda: get("/api/v1/metrics", RECENT, auth), runs)
    get("/ops/", FULL)
    dashboard = timed(lambda: get("/ops/", FULL), runs)
    pages = bench_pages(app, runs, {"as_of": {}, "full": PAGES_FULL}, PAGES_NOW)
    directory = pages_module.bench_directory(app, runs)
    if raw_runs is None:
        raw_runs = 1 if size >= 1_000_000 else runs
    with app.app_context():
        raw_report = reporter(FULL, queries.measure)
        raw = timed(raw_report, raw_runs)
        db.session.rollback()
    same = all(same_as_raw(app, params)[0] for params in (FULL, RECENT))
    return {"size": size, "seed_s": seeded, "api_full_cold_s": cold, "api_full_cold_median_s": cold_median,
            "api_full_s": warm, "raw_full_s": raw, "api_90d_s": recent, "dashboard_full_s": dashboard,
            "api_full_shared_s": shared, "same_as_raw": same, "pages": pages["pages"],
            "warm_job_s": pages["warm_job_s"], "notify_plan_first_s": pages["notify_plan_first_s"],
            "notify_plan_again_s": pages["notify_plan_again_s"], "notify_queued": pages["notify_queued"],
            "directory": directory}


def run(sizes: list[int], database_url: str | None, runs: int, progress=print, raw_runs: int | None = None
        ) -> list[dict]:
    rows = []
    for size in sizes:
        result = bench(size, database_url or sqlite_url(f"bench-{size}"), runs, raw_runs)
        rows.append(result)
        progress(f"{size:>9,} mentorships: seeded in {result['seed_s']:.1f} s; API full cold "
                 f"{result['api_full_cold_s']:.3f} s (median {result['api_full_cold_median_s']:.3f} s), "
                 f"shared {result['api_full_shared_s']:.3f} s, "
                 f"warm {result['api_full_s']:.3f} s (raw reference {result['raw_full_s']:.3f} s), "
                 f"API 90 d {result['api_90d_s']:.3f} s, dashboard {result['dashboard_full_s']:.3f} s; "
                 f"same as raw: {'yes' if result['same_as_raw'] else 'NO'}")
        progress(f"    notify schedule: first round {result['notify_plan_first_s']:.2f} s "
                 f"({result['notify_queued']:,} mails queued), next round {result['notify_plan_again_s']:.3f} s")
        progress(f"    directory at {result['directory']['mentors']:,} mentors, first / warm (s): "
                 + "; ".join(f"{name} {a['first_s']:.3f} / {a['warm_s']:.3f}"
                             for name, a in result["directory"]["asks"].items()))
        progress(f"    rollups warm {result['warm_job_s']:.1f} s; pages, cold / first after warm / warm (s): "
                 + "; ".join(f"{name} {page['cold_s']:.3f} / {page['first_s']:.3f} / {page['warm_s']:.3f}"
            + ("" if page["status"] == 200 else f" (status {page['status']})")
            for name, page in result["pages"].items()))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--raw-runs", type=int, default=None,
                        help="runs of the raw reference (default: --runs, 1 from 1,000,000 mentorships)")
    parser.add_argument("--database-url", default=None, help="default: a SQLite file per size in bench/out/")
    args = parser.parse_args()
    run([int(s) for s in args.sizes.split(",")], args.database_url, args.runs, raw_runs=args.raw_runs)


if __name__ == "__main__":
    main()
