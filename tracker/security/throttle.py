"""Failed-login throttling, per account and per address, shared by every app process.

Counts live in the database (table login_failures) or, when REDIS_URL is set, in Redis (keys
REDIS_KEY_PREFIX + "login-failures:..."), so all gunicorn workers and all app servers see the same
numbers. When Redis fails (refused, timed out) the counts fall over to the database, so the throttle
stays on through an outage (SECURITY.md argues this choice) and no login gets a 500; while Redis is
configured the database's counts are added to Redis's, so failures counted during an outage still
count after it. Flask-Limiter was considered: it counts requests rather than failures per account,
and its storage (the `limits` package) has no SQL backend, which the default, server-less setup needs.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from tracker.core.extensions import db
from tracker.data.database import unit_of_work
from tracker.data.models import LoginFailure
from tracker.security import redis_store

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


def _redis_key(key: str) -> str:
    return redis_store.key("login-failures:" + key)


def _redis_counts(keys: dict[str, str]) -> dict[str, tuple[int, int]] | None:
    """scope -> (failures, seconds until they expire) from Redis; None without a Redis that answers."""
    client = redis_store.client()
    if client is None:
        return None
    pipe = client.pipeline(transaction=False)
    for key in keys.values():
        pipe.get(_redis_key(key))
        pipe.ttl(_redis_key(key))
    try:
        values = pipe.execute()
    except redis_store.RedisError as error:
        redis_store.failed(error)
        return None
    redis_store.answered()
    return {scope: (int(values[2 * i] or 0), int(values[2 * i + 1]))
            for i, scope in enumerate(keys)}


def _database_count(key: str, at: datetime) -> tuple[int, int]:
    count, oldest = db.session.execute(
        select(func.count(), func.min(LoginFailure.at)).where(LoginFailure.key == key,
                                                               LoginFailure.at > at - WINDOW)).one()
    if not count:
        return 0, 0
    oldest_at = oldest if isinstance(oldest, datetime) else datetime.fromtimestamp(oldest, at.tzinfo)
    return count, int((oldest_at + WINDOW - at).total_seconds())


def blocked(email: str, address: str | None, at: datetime) -> Blocked | None:
    """Whether this login must be refused before the password is even checked."""
    keys = _keys(email, address)
    remote = _redis_counts(keys)
    for scope, key in keys.items():
        found = [_database_count(key, at)] + ([remote[scope]] if remote is not None else [])
        if sum(count for count, _ in found) >= LIMITS[scope]:
            return Blocked(scope, max(1, *(seconds for count, seconds in found if count)))
    return None


def record_failure(email: str, address: str | None, at: datetime) -> None:
    keys = list(_keys(email, address).values())
    client = redis_store.client()
    if client is not None:
        pipe = client.pipeline()
        for key in keys:
            pipe.incr(_redis_key(key))
            pipe.expire(_redis_key(key), int(WINDOW.total_seconds()), nx=True)
        try:
            pipe.execute()
        except redis_store.RedisError as error:
            redis_store.failed(error)  # counted in the database below instead
        else:
            redis_store.answered()
            return
    with unit_of_work():
        db.session.execute(delete(LoginFailure).where(LoginFailure.key.in_(keys), LoginFailure.at <= at - WINDOW))
        db.session.add_all([LoginFailure(key=key, at=at) for key in keys])


def forget_account(email: str) -> None:
    """After a successful login the account's count starts again (the address's does not)."""
    key = _keys(email, None)["account"]
    client = redis_store.client()
    if client is not None:
        try:
            client.delete(_redis_key(key))
        except redis_store.RedisError as error:
            redis_store.failed(error)
        else:
            redis_store.answered()
    with unit_of_work():
        db.session.execute(delete(LoginFailure).where(LoginFailure.key == key))
