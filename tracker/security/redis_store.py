"""Redis, when REDIS_URL is set: one client per app with short timeouts and no retries, the key
prefix (REDIS_KEY_PREFIX) for everything stored there, the readiness PING, and outages noticed once.

A failed call marks Redis down for COOL_OFF seconds, during which callers (the login throttle) go
straight to their fallback instead of waiting for a timeout on every request. The security log says
"redis_unavailable" when an outage starts and "redis_recovered" when Redis answers again: once each
per outage and app process, never per request.
"""
from __future__ import annotations

import threading
import time

import redis
from flask import current_app
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from tracker.core.config import DEFAULT_REDIS_KEY_PREFIX
from tracker.security import log as security_log

TIMEOUT = 0.5   # seconds to connect, and to wait for each reply
COOL_OFF = 2.0  # seconds a failed Redis is left alone before callers try it again

__all__ = ["RedisError", "client", "key", "failed", "answered", "ping"]


class _Link:
    """One app's client and what it knows about the outage, shared by the app's threads."""

    def __init__(self, url: str):
        self.client = redis.Redis.from_url(url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT,
                                           retry=Retry(NoBackoff(), 0))
        self.lock = threading.Lock()
        self.down_since: float | None = None  # time.monotonic() of the first failure of this outage
        self.retry_at = 0.0


def _link() -> _Link | None:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    link = current_app.extensions.get("tracker_redis")
    if link is None:
        link = current_app.extensions.setdefault("tracker_redis", _Link(url))
    return link


def key(name: str) -> str:
    """The name under which `name` is stored in Redis: REDIS_KEY_PREFIX + name."""
    return current_app.config.get("REDIS_KEY_PREFIX", DEFAULT_REDIS_KEY_PREFIX) + name


def client() -> redis.Redis | None:
    """The client to use now; None when Redis is not configured or failed less than COOL_OFF ago."""
    link = _link()
    if link is None or (link.down_since is not None and time.monotonic() < link.retry_at):
        return None
    return link.client


def failed(error: Exception) -> None:
    """Call after a RedisError: marks the outage, and logs it if it has just begun."""
    link = _link()
    if link is None:
        return
    with link.lock:
        began = link.down_since is None
        now = time.monotonic()
        if began:
            link.down_since = now
        link.retry_at = now + COOL_OFF
    if began:
        security_log.process_event("redis_unavailable", error=type(error).__name__, detail=str(error)[:200],
                                   fallback="login throttle counts in the database")


def answered() -> None:
    """Call after a Redis call succeeded: ends an outage, and logs that once."""
    link = _link()
    if link is None or link.down_since is None:
        return
    with link.lock:
        since, link.down_since = link.down_since, None
    if since is not None:
        security_log.process_event("redis_recovered", down_seconds=round(time.monotonic() - since, 1))


def ping() -> str:
    """Readiness: "ok", "not configured" or "failed: <error class>". Always asks Redis, even while
    cooling off, so /readyz tells the truth the moment Redis is back."""
    link = _link()
    if link is None:
        return "not configured"
    try:
        link.client.ping()
    except RedisError as error:
        failed(error)
        return f"failed: {type(error).__name__}"
    answered()
    return "ok"
