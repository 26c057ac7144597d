"""Times the full metrics (GET /api/v1/metrics) and the dashboard page at growing data sizes.

    .venv/bin/python bench/metrics_bench.py [--sizes 10000,100000,1000000] [--runs 5]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench]

Each size gets a fresh database (a SQLite file under bench/out/ by default; a PostgreSQL URL is
emptied first, so give it a database of its own), seeded with seed-demo, then each request is
timed in-process (the Flask test client, no network) `--runs` times; the median is reported.
"Raw SQL" replays the very statements the full-history API call sent, straight on the database
driver, so API / raw is what Flask, the ORM and metrics.py add. bench/run.py (`bin/bench`) runs
this on both engines with the load test and writes docs/PERFORMANCE.md. Not a test: the targets
are recorded, not asserted.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import event, text  # noqa: E402

from bench.common import fresh_app, sqlite_url  # noqa: E402
from tracker import services  # noqa: E402
from tracker.core.extensions import db  # noqa: E402
from tracker.services.seed import seed_demo  # noqa: E402

UNTIL = datetime(2026, 6, 30, tzinfo=timezone.utc)


def timed(fn, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def captured_aggregates(app, request) -> list[tuple[str, object]]:
    """The metrics statements (SQL and parameters) one request sends to the database."""
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "mentorships" in statement:
            statements.append((statement, parameters))
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            request()
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
    return statements


def raw_sql_seconds(app, statements, runs: int) -> float:
    """The same statements run straight on the driver (no Flask, no ORM, no Python metrics)."""
    with app.app_context():
        connection = db.engine.raw_connection()
        try:
            def run_all():
                cursor = connection.cursor()
                for statement, parameters in statements:
                    cursor.execute(statement, parameters)
                    cursor.fetchall()
                cursor.close()
                connection.rollback()
            run_all()
            return timed(run_all, runs)
        finally:
            connection.close()


def bench(size: int, url: str, runs: int) -> dict:
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
    full = {"from": "2024-01-01", "to": "2026-07-01", "as_of": "2026-06-30T00:00:00+00:00"}
    recent = {"as_of": "2026-06-30T00:00:00+00:00"}  # the default 90-day window

    def get(path, params, headers=None):
        response = client.get(path, query_string=params, headers=headers or {})
        assert response.status_code == 200, response.status_code
    client.post("/login", data={"email": "operator@demo.example", "password": "demo-password"})
    get("/api/v1/metrics", full, auth)  # warm up (imports, plans)
    get("/ops/", full)
    statements = captured_aggregates(app, lambda: get("/api/v1/metrics", full, auth))
    return {"size": size, "seed_s": seeded, "raw_full_s": raw_sql_seconds(app, statements, runs),
            "api_full_s": timed(lambda: get("/api/v1/metrics", full, auth), runs),
            "api_90d_s": timed(lambda: get("/api/v1/metrics", recent, auth), runs),
            "dashboard_full_s": timed(lambda: get("/ops/", full), runs)}


def run(sizes: list[int], database_url: str | None, runs: int, progress=print) -> list[dict]:
    rows = []
    for size in sizes:
        result = bench(size, database_url or sqlite_url(f"bench-{size}"), runs)
        rows.append(result)
        progress(f"{size:>9,} mentorships: seeded in {result['seed_s']:.1f} s; API full {result['api_full_s']:.3f} s "
                 f"(raw SQL {result['raw_full_s']:.3f} s), API 90 d {result['api_90d_s']:.3f} s, "
                 f"dashboard {result['dashboard_full_s']:.3f} s")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", default=None, help="default: a SQLite file per size in bench/out/")
    args = parser.parse_args()
    run([int(s) for s in args.sizes.split(",")], args.database_url, args.runs)


if __name__ == "__main__":
    main()
