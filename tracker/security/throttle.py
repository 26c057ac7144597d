"""Failed-login throttling, per account and per address, shared by every app process.

Counts live in the database (table login_failures) or, when REDIS_URL is set, in Redis, so all
gunicorn workers and all app servers see the same numbers. Flask-Limiter was considered: it counts
requests rather than failures per account, and its storage (the `limits` package) has no SQL backend,
which the default, server-less setup needs.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from flask import current_app
from sqlalchemy import delete, func, select

from tracker.core.extensions import db
from tracker.data.database import unit_of_work
from tracker.data.models import LoginFailure

WINDOW = timedelta(minutes=15)
LIMITS = {"account": 5, "address": 20}  # failures per WINDOW


@dataclass(frozen=True)
class Blocked:
    scope: str          # "account" or "address"
    retry_after: int    # seconds


def _keys(email: str, address: str | None) -> dict[str, str]:
    keys = {"account": f"account:{email.strip().lower()[:254]}"}
    if address:
        keys["address"] = f"address:{address[:45]}"
    return keys


def _redis():
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    client = current_app.extensions.get("tracker_redis")
    if client is None:
        client = current_app.extensions["tracker_redis"] = redis.Redis.from_url(url, socket_timeout=2)
    return client


def blocked(email: str, address: str | None, at: datetime) -> Blocked | None:
    """Whether this login must be refused before the password is even checked."""
    redis = _redis()
    for scope, key in _keys(email, address).items():
        if redis is not None:
            count = int(redis.get("login-failures:" + key) or 0)
            if count >= LIMITS[scope]:
                return Blocked(scope, max(1, int(redis.ttl("login-failures:" + key))))
            continue
        since = at - WINDOW
        count, oldest = db.session.execute(
            select(func.count(), func.min(LoginFailure.at)).where(LoginFailure.key == key,
                                                                   LoginFailure.at > since)).one()
        if count >= LIMITS[scope]:
            oldest_at = oldest if isinstance(oldest, datetime) else datetime.fromtimestamp(oldest, at.tzinfo)
            return Blocked(scope, max(1, int((oldest_at + WINDOW - at).total_seconds())))
    return None


def record_failure(email: str, address: str | None, at: datetime) -> None:
    keys = list(_keys(email, address).values())
    redis = _redis()
    if redis is not None:
        pipe = redis.pipeline()
        for key in keys:
            pipe.incr("login-failures:" + key)
            pipe.expire("login-failures:" + key, int(WINDOW.total_seconds()), nx=True)
        pipe.execute()
        return
    with unit_of_work():
        db.session.execute(delete(LoginFailure).where(LoginFailure.key.in_(keys), LoginFailure.at <= at - WINDOW))
        db.session.add_all([LoginFailure(key=key, at=at) for key in keys])


def forget_account(email: str) -> None:
    """After a successful login the account's count starts again (the address's does not)."""
    key = _keys(email, None)["account"]
    redis = _redis()
    if redis is not None:
        redis.delete("login-failures:" + key)
        return
    with unit_of_work():
        db.session.execute(delete(LoginFailure).where(LoginFailure.key == key))
