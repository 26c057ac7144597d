"""Times the full metrics (GET /api/v1/metrics) and the dashboard page at growing data sizes.

    .venv/bin/python bench/metrics_bench.py [--sizes 10000,100000,1000000] [--runs 5]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench]

Each size gets a fresh database (a SQLite file under bench/out/ by default; a PostgreSQL URL is
emptied first, so give it a database of its own), seeded with seed-demo, then each request is
timed in-process (the Flask test client, no network) `--runs` times; the median is reported.
Results are printed as a Markdown table and appended to bench/out/results.md. Not a test: the
targets are recorded, not asserted.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import text  # noqa: E402

from tracker import create_app, services  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.seed import seed_demo  # noqa: E402

UNTIL = datetime(2026, 6, 30, tzinfo=timezone.utc)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")


def fresh_app(url: str):
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False})
    with app.app_context():
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade()
    return app


def timed(fn, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


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
    return {"size": size, "seed_s": seeded,
            "api_full_s": timed(lambda: get("/api/v1/metrics", full, auth), runs),
            "api_90d_s": timed(lambda: get("/api/v1/metrics", recent, auth), runs),
            "dashboard_full_s": timed(lambda: get("/ops/", full), runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", default=None, help="default: a SQLite file per size in bench/out/")
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        url = args.database_url
        if url is None:
            path = os.path.join(OUT, f"bench-{size}.sqlite")
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)
            url = "sqlite:///" + path
        result = bench(size, url, args.runs)
        rows.append(result)
        print(f"{size:>9,} mentorships: seeded in {result['seed_s']:.1f} s; API full {result['api_full_s']:.3f} s, "
              f"API 90 d {result['api_90d_s']:.3f} s, dashboard {result['dashboard_full_s']:.3f} s", flush=True)
    engine = "PostgreSQL" if args.database_url else "SQLite"
    table = [f"\n### {engine}, {datetime.now(timezone.utc):%Y-%m-%d} ({platform.machine()}, "
             f"{os.cpu_count()} cores, Python {platform.python_version()})\n",
             "| mentorships | seed (s) | API, full history (s) | API, 90 days (s) | dashboard (s) |",
             "|---:|---:|---:|---:|---:|"]
    table += [f"| {r['size']:,} | {r['seed_s']:.1f} | {r['api_full_s']:.3f} | {r['api_90d_s']:.3f} | "
              f"{r['dashboard_full_s']:.3f} |" for r in rows]
    print("\n".join(table))
    with open(os.path.join(OUT, "results.md"), "a") as handle:
        handle.write("\n".join(table) + "\n")


if __name__ == "__main__":
    main()
