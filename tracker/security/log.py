"""Security events as one structured (JSON) line each on the `tracker.security` logger.

Logged: failed and throttled logins, access denials (401, 403, 404), CSRF failures. Never a
password, a token or survey text: only what identifies who, from where, and what was asked.
"""
from __future__ import annotations

import json
import logging

from flask import has_request_context, request
from flask_login import current_user

logger = logging.getLogger("tracker.security")


def event(name: str, **fields) -> None:
    record = {"event": name}
    if has_request_context():
        record.update(method=request.method, path=request.path, address=request.remote_addr)
        if current_user and current_user.is_authenticated:
            record.update(user_id=current_user.id, role=current_user.role)
    record.update(fields)
    logger.warning(json.dumps(record, sort_keys=True, default=str))


def process_event(name: str, **fields) -> None:
    """An event about this app process rather than a request (a dependency failing or coming back):
    no method, path or user, so logging it never needs the database."""
    logger.warning(json.dumps({"event": name, **fields}, sort_keys=True, default=str))
