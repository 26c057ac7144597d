"""Signed links in mails: they act without a login, so each says exactly what it is for.

A link carries a payload signed with SECRET_KEY (itsdangerous, HMAC-SHA1 over a per-purpose salt, so
an unsubscribe token is never accepted as a pulse token). The payload names its purpose's objects
(the mentorship and the pulse's period, the user and the kind of mail), and the view compares them
with the URL, so a valid token pointed at another pulse is refused. Expiry is checked against the
moment passed in (tests set the clock), not the wall clock: a pulse link lives until its window
closes. A single-use link has a random id, recorded in `used_links` in the same transaction as the
action it allowed.
"""
from __future__ import annotations

import secrets
from datetime import datetime

from itsdangerous import BadSignature, URLSafeSerializer

PULSE = "pulse-link"
CANCEL_FLOW = "cancel-flow-link"
UNSUBSCRIBE = "unsubscribe-link"
PASSWORD_RESET = "password-reset-link"


class LinkRefused(Exception):
    """The link cannot be used; `message` says why, in words for the person who clicked it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _serializer(secret_key: str, purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=purpose)


def sign(secret_key: str, purpose: str, payload: dict, expires_at: datetime | None = None,
         single_use: bool = False) -> str:
    body = dict(payload)
    if expires_at is not None:
        body["exp"] = int(expires_at.timestamp())
    if single_use:
        body["jti"] = secrets.token_hex(16)
    return _serializer(secret_key, purpose).dumps(body)


def verify(secret_key: str, purpose: str, token: str, at: datetime, **expected) -> dict:
    """The payload, if the token is this purpose's, unaltered, unexpired at `at` and names `expected`."""
    try:
        body = _serializer(secret_key, purpose).loads(token)
    except BadSignature:
        raise LinkRefused("This link is not valid. It may have been copied incompletely.") from None
    if not isinstance(body, dict):
        raise LinkRefused("This link is not valid. It may have been copied incompletely.")
    for name, value in expected.items():
        if body.get(name) != value:
            raise LinkRefused("This link belongs to another page; open the link from your mail as it is.")
    if "exp" in body and at.timestamp() >= body["exp"]:
        raise LinkRefused("This link has expired.")
    return body
