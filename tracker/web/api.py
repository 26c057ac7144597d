"""The JSON API for other programs (docs/INTERFACES.md) and the health checks: /healthz (liveness)
and /readyz (readiness), both without login and answered over plain HTTP even in production, so a
load balancer's health check is not redirected to HTTPS."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, jsonify, request
from flask_login import current_user

from tracker import services
from tracker.core import clock
from tracker.core.extensions import csrf, talisman
from tracker.reports import api_v2, metrics, queries, rollup_queries, scope
from tracker.security import log as security_log
from tracker.security import redis_store
from tracker.web import openapi

bp = Blueprint("api", __name__)
csrf.exempt(bp)  # read-only, and bearer-token clients have no CSRF token


def error(message: str, status: int):
    if status in (401, 403):
        security_log.event("access_denied", status=status, api=True)
    return jsonify(error=message), status


def operator_required(view):
    """An operator's session cookie or `Authorization: Bearer <token>`; 401 without, 403 for others."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return error("Authorization must be 'Bearer <token>'", 401)
            user = services.user_for_token(token.strip())
            if user is None:
                return error("unknown or revoked token", 401)
        elif current_user.is_authenticated:
            user = current_user
        else:
            return error("authentication required: an operator session or a bearer token", 401)
        if user.role != "operator":
            return error("only operators may use this API", 403)
        return view(*args, **kwargs)
    return wrapped


def _metrics(body):
    """The metrics endpoints' one shape: parse the parameters (400 naming the first bad one), then
    answer body(scope, echo) as JSON."""
    try:
        asked = scope.parse(request.args, clock.now(), queries.mentor_id_by_email)
    except scope.ScopeError as problem:
        return error(problem.message, 400)
    return jsonify(body(asked.scope, asked.echo()))


@bp.get("/api/v1/metrics")
@operator_required
def metrics_v1():
    return _metrics(lambda asked_scope, echo: metrics.report(rollup_queries.measure(asked_scope), echo["as_of"],
                                                             echo["window"], echo["filters"]))


@bp.get("/api/v2/metrics")
@operator_required
def metrics_v2():
    """v1's keys unchanged, plus endings over time, the success rate's bounds and the retention numbers."""
    return _metrics(api_v2.report)


@bp.get("/api/v2/openapi.json")
def openapi_document():
    """The OpenAPI 3.1 description of v1 and v2 (no login: it describes, it holds no data)."""
    return jsonify(openapi.DOCUMENT)


@bp.get("/healthz")
@talisman(force_https=False)
def healthz():
    """Liveness: the process answers. Asks nothing of the database or Redis."""
    return jsonify(status="ok")


@bp.get("/readyz")
@talisman(force_https=False)
def readyz():
    """Readiness: the database answers and, when REDIS_URL is set, Redis answers (PING, 0.5 s at most).
    503 names what failed by the error's class only: no host, user or message reaches an anonymous caller
    (a Redis outage's message is in the security log)."""
    problem = queries.database_problem()
    checks = {"database": f"failed: {problem}" if problem else "ok", "redis": redis_store.ping()}
    if any(check.startswith("failed") for check in checks.values()):
        return jsonify(status="unavailable", checks=checks), 503
    return jsonify(status="ready", checks=checks)
