"""The one place that reads the wall clock.

Everything else takes the moment as a parameter. Tests freeze the clock instead of sleeping.
Times are whole seconds in UTC: that is what the database keeps.
"""
from __future__ import annotations

from datetime import datetime, timezone

_frozen: datetime | None = None


def now() -> datetime:
    if _frozen is not None:
        return _frozen
    return datetime.now(timezone.utc).replace(microsecond=0)


def freeze(at: datetime) -> None:
    """Make now() return `at` until unfreeze(); for tests and reproducible scripts."""
    global _frozen
    if at.tzinfo is None:
        raise ValueError("freeze() needs an aware datetime")
    _frozen = at.astimezone(timezone.utc)


def unfreeze() -> None:
    global _frozen
    _frozen = None
