"""Settings, read from the environment in this one place.

Development gets safe defaults (a SQLite file in the instance folder, a throwaway secret key).
Production (TRACKER_ENV=production) refuses to start without a real SECRET_KEY and without an
explicit DATABASE_URL (it would otherwise run on a new, empty SQLite file).
"""
from __future__ import annotations

import os
from collections.abc import Mapping

DEV_SECRET_KEY = "dev-only-secret-key-do-not-use-in-production"
MIN_SECRET_KEY_LENGTH = 32
DEFAULT_REDIS_KEY_PREFIX = "tracker:"


class ConfigError(RuntimeError):
    """The environment asks for something the app cannot safely run with."""


def normalise_database_url(url: str) -> str:
    """Accept the common `postgres://` and `postgresql://` spellings and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def from_environment(instance_path: str, environ: Mapping[str, str] | None = None) -> dict:
    env = os.environ if environ is None else environ
    production = env.get("TRACKER_ENV", "development") == "production"
    secret_key = env.get("SECRET_KEY", "")
    if production and (not secret_key or secret_key == DEV_SECRET_KEY
                       or len(secret_key) < MIN_SECRET_KEY_LENGTH):
        raise ConfigError(
            "TRACKER_ENV=production needs SECRET_KEY set to a random string of at least "
            f"{MIN_SECRET_KEY_LENGTH} characters, e.g. python -c 'import secrets; print(secrets.token_hex(32))'"
        )
    database_url = env.get("DATABASE_URL", "").strip()
    if production and not database_url:
        raise ConfigError(
            "TRACKER_ENV=production needs DATABASE_URL set explicitly, e.g. "
            "postgresql://user:password@host:5432/tracker (without it the app would quietly use a new, "
            "empty SQLite file)")
    mail = mail_settings(env, production)
    mail["MAIL_FILE_PATH"] = os.path.join(instance_path, "mail")  # with no MAIL_SERVER: .eml files here
    database_url = normalise_database_url(
        database_url or "sqlite:///" + os.path.join(instance_path, "tracker.sqlite"))
    return {
        "TRACKER_ENV": "production" if production else "development",
        "SECRET_KEY": secret_key or DEV_SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url, env),
        # A form or API request larger than this is refused with 413.
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", 1024 * 1024)),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        # Production redirects plain HTTP to HTTPS and sends HSTS; set FORCE_HTTPS=0 only when a
        # proxy in front already does both.
        "FORCE_HTTPS": production and env.get("FORCE_HTTPS", "1") != "0",
        # How many reverse proxies (load balancers) sit in front and set X-Forwarded-For/-Proto.
        # 0 trusts none, so a client cannot fake its address for the login rate limit.
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0")),
        # Redis for state shared between processes (login-failure counters); None: the database.
        "REDIS_URL": env.get("REDIS_URL") or None,
        # Put before every key stored in Redis, so several apps (or environments) can share one Redis.
        "REDIS_KEY_PREFIX": env.get("REDIS_KEY_PREFIX", DEFAULT_REDIS_KEY_PREFIX),
        **mail,
    }


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def mail_settings(env: Mapping[str, str], production: bool) -> dict:
    """SMTP through Flask-Mailman when MAIL_SERVER is set; without it, mails are written as .eml files
    under instance/mail/ (docs/NOTIFICATIONS.md). PUBLIC_BASE_URL is where links in mails point."""
    server = env.get("MAIL_SERVER", "").strip() or None
    use_tls, use_ssl = _flag(env, "MAIL_USE_TLS"), _flag(env, "MAIL_USE_SSL")
    port_text = env.get("MAIL_PORT", "").strip() or ("465" if use_ssl else "587" if use_tls else "25")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"MAIL_PORT must be a port number, not {port_text!r}")
    if use_tls and use_ssl:
        raise ConfigError("set MAIL_USE_TLS (STARTTLS, usually port 587) or MAIL_USE_SSL (port 465), not both")
    base_url = env.get("PUBLIC_BASE_URL", "").strip().rstrip("/")
    if production and server and not base_url.startswith("https://"):
        raise ConfigError("sending mail in production needs PUBLIC_BASE_URL, the https:// address the app is "
                          "reached at: every mail's links (and its one-click unsubscribe) point there")
    return {
        "MAIL_SERVER": server,
        "MAIL_PORT": int(port_text),
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": use_tls,
        "MAIL_USE_SSL": use_ssl,
        "MAIL_TIMEOUT": 30,
        "MAIL_BACKEND": "smtp",
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER", "").strip() or "Mentorship Tracker <no-reply@localhost>",
        "PUBLIC_BASE_URL": base_url or "http://127.0.0.1:8000",
    }


def _optional_int(env: Mapping[str, str], name: str, least: int) -> int | None:
    value = env.get(name, "").strip()
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        number = least - 1
    if number < least:
        raise ConfigError(f"{name} must be a whole number of connections, {least} or more, not {value!r}")
    return number


def engine_options(database_url: str, env: Mapping[str, str]) -> dict:
    """On PostgreSQL: pool_pre_ping (a pooled connection the server dropped, after a restart or a
    failover, is replaced before a request uses it), and DATABASE_POOL_SIZE and DATABASE_MAX_OVERFLOW
    size each process's pool (gunicorn.conf.py may set them from a per-instance connection budget).
    SQLite needs neither: its connections are open files that no server can drop, and a ping on every
    checkout cost each form post two statements, one of them inside the write lock."""
    # SQLAlchemy reads pool_size=0 and max_overflow=-1 as "no limit": neither is accepted here.
    sizes = {"pool_size": _optional_int(env, "DATABASE_POOL_SIZE", 1),
             "max_overflow": _optional_int(env, "DATABASE_MAX_OVERFLOW", 0)}
    if database_url.startswith("sqlite"):
        return {}
    options: dict = {"pool_pre_ping": True}
    if database_url.startswith("postgresql"):
        options.update({option: size for option, size in sizes.items() if size is not None})
    return options
