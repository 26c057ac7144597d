"""gunicorn settings, from the environment: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every app process is stateless (sessions are signed cookies, shared state is in the database or
Redis), so any number of these can run behind a load balancer. See docs/DEPLOY.md.

Per instance (one gunicorn master), decided in `on_starting`, after the command line is read:
- its own control socket (gunicorn's default, ~/.gunicorn/gunicorn.ctl, is one path for every instance
  on a host: a new instance takes it over and stopping any instance deletes it for all). The path is
  GUNICORN_CONTROL_SOCKET, or one named after the bind address; GUNICORN_CONTROL_SOCKET=off turns it off.
- its database connections: at most DATABASE_CONNECTIONS (default 20) for the whole instance, so each
  worker's pool is DATABASE_CONNECTIONS // workers with no overflow (DATABASE_POOL_SIZE and
  DATABASE_MAX_OVERFLOW, set before the workers fork; an explicit setting of either wins).
Access log lines are JSON objects, one per request, like the security log.
"""
import gc
import json
import multiprocessing
import os
import re

from gunicorn.glogging import Logger, SafeAtoms

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))                  # kill a stuck worker
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))  # finish requests on SIGTERM
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Recycle each worker now and then (a guard against slow leaks), spread out: a worker's start costs
# over a second of CPU, and workers restarted together leave none to answer (docs/PERFORMANCE.md).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = max_requests // 2
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Behind a proxy, the app trusts X-Forwarded-* only as set by TRUSTED_PROXIES (tracker/core/config.py).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

DEFAULT_CONNECTION_BUDGET = 20
_CONTROL_SOCKET_OFF = {"off", "none", "false", "0", ""}


# --- access log: one JSON object per line ---------------------------------------------------------

class JsonAtoms(SafeAtoms):
    """gunicorn's atoms with every string escaped for a JSON string (gunicorn's own escaping doubles
    only quotes, so a backslash or a control character in a user agent or a path would break the line)."""

    def __init__(self, atoms):
        dict.__init__(self)
        for key, value in atoms.items():
            self[key] = json.dumps(value)[1:-1] if isinstance(value, str) else value


class JsonAccessLogger(Logger):
    atoms_wrapper_class = JsonAtoms


logger_class = JsonAccessLogger
access_log_format = ('{"time": "%(t)s", "address": "%(h)s", "method": "%(m)s", "path": "%(U)s", '
                     '"query": "%(q)s", "request": "%(r)s", "status": %(s)s, "bytes": "%(b)s", '
                     '"duration_ms": %(M)s, "referrer": "%(f)s", "user_agent": "%(a)s", "pid": "%(p)s"}')


# --- per instance: control socket and connection pool ---------------------------------------------

def control_socket_path(bind_address: str, directory: str) -> str:
    """One path per bind address: 127.0.0.1:8001 -> <directory>/tracker-127.0.0.1-8001.ctl."""
    name = re.sub(r"[^A-Za-z0-9.]+", "-", bind_address.removeprefix("unix:")).strip("-") or "default"
    return os.path.join(directory, f"tracker-{name}.ctl")


def pool_per_worker(budget: int, worker_count: int) -> int:
    """Each worker's share of the instance's connection budget (at least one connection)."""
    return max(1, budget // max(1, worker_count))


def on_starting(server):
    cfg = server.cfg
    chosen = os.environ.get("GUNICORN_CONTROL_SOCKET")
    if chosen is not None and chosen.strip().lower() in _CONTROL_SOCKET_OFF:
        cfg.set("control_socket_disable", True)
    elif chosen:
        cfg.set("control_socket", chosen)
    elif cfg.control_socket == cfg.settings["control_socket"].default:  # not given on the command line
        cfg.set("control_socket", control_socket_path(cfg.bind[0], os.path.dirname(cfg.control_socket)))

    budget = int(os.environ.get("DATABASE_CONNECTIONS", DEFAULT_CONNECTION_BUDGET))
    pool = pool_per_worker(budget, cfg.workers)
    os.environ.setdefault("DATABASE_POOL_SIZE", str(pool))
    os.environ.setdefault("DATABASE_MAX_OVERFLOW", "0")
    size, overflow = int(os.environ["DATABASE_POOL_SIZE"]), int(os.environ["DATABASE_MAX_OVERFLOW"])
    total = cfg.workers * (size + overflow)
    server.log.info("database connections: %d workers x (pool %d + overflow %d) = %d, budget %d",
                    cfg.workers, size, overflow, total, budget)
    if total > budget:
        server.log.warning("database connections: %d exceed DATABASE_CONNECTIONS=%d", total, budget)
    if cfg.threads > size + overflow:
        server.log.warning("database connections: %d threads per worker share %d connections",
                           cfg.threads, size + overflow)


# --- per worker -----------------------------------------------------------------------------------

def post_worker_init(worker):
    """The app a worker has just loaded (modules, Flask, SQLAlchemy, plotly) lives as long as the worker:
    frozen, Python's full garbage collections no longer walk it. They took 70-80 ms each on a page
    like a mentorship's, several times that on busy cores: the mixed load's p99 (docs/PERFORMANCE.md).
    Collected first, so no garbage of the loading is kept for good."""
    gc.collect()
    gc.freeze()

