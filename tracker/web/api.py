"""The JSON API for other programs (docs/INTERFACES.md) and the health check."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, jsonify, request
from flask_login import current_user

from tracker import services
from tracker.core import clock
from tracker.core.extensions import csrf
from tracker.reports import metrics, queries, scope
from tracker.security import log as security_log

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


@bp.get("/api/v1/metrics")
@operator_required
def metrics_v1():
    try:
        asked = scope.parse(request.args, clock.now(), queries.mentor_id_by_email)
    except scope.ScopeError as problem:
        return error(problem.message, 400)
    echo = asked.echo()
    return jsonify(metrics.report(queries.measure(asked.scope), echo["as_of"], echo["window"], echo["filters"]))


@bp.get("/healthz")
def healthz():
    if not queries.database_answers():
        return jsonify(status="unavailable"), 503
    return jsonify(status="ok")
