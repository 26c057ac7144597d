"""What the benchmark scripts share: a fresh, migrated database for each run."""
from __future__ import annotations

import os

from flask_migrate import upgrade
from sqlalchemy import text

from tracker import create_app
from tracker.core.extensions import db

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")


def sqlite_url(name: str) -> str:
    """A new, empty SQLite file under bench/out/."""
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, f"{name}.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    return "sqlite:///" + path


def fresh_app(url: str):
    """The app on `url`, migrated from empty (a PostgreSQL database's public schema is dropped first)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False})
    with app.app_context():
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade()
    return app
