"""The domain errors every service raises: the message is safe to show to the user who acted."""
from __future__ import annotations


class ServiceError(Exception):
    """A user action that cannot be done; the message is safe to show to that user."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ServiceError):
    """The object does not exist *or* the user may not see it: the two are not told apart."""


class Conflict(ServiceError):
    """The action clashes with the current state (already cancelled, already applied, ...)."""


class Invalid(ServiceError):
    """A value is not acceptable."""
