"""What a metric is asked about (`Scope`), and reading it from a query string (window, as-of moment, filters).

The API and the dashboard share this, so a bookmarked dashboard URL and an API call with the same
parameters describe the same numbers. Every bad parameter is named in the error.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from werkzeug.datastructures import MultiDict

from tracker.domain.vocabulary import GOAL_CATEGORIES

PARAMETERS = ("from", "to", "as_of", "goal_category", "mentor")
DEFAULT_WINDOW_DAYS = 90  # the API's default window
# The dashboard opens on a year, long enough to see months and cohorts.
DASHBOARD_DEFAULT_DAYS = 365
# "All time" (a mentor's own ratings page opens on it): from this day on.
ALL_TIME_FROM = date(2000, 1, 1)
# The days a report can be asked about: four-digit years, with a year's room on either side for the
# windows counted from them (Python's dates end at the years 1 and 9999).
EARLIEST_DAY, LATEST_DAY = date(1000, 1, 1), date(9998, 12, 31)


# The windows the dashboard offers as one click each, ending on the as-of day: (label, days; None for
# all time). `rollups warm` computes each of them ahead of the day's first request.
WINDOW_CHOICES = (("Last 30 days", 30), ("Last 90 days", DEFAULT_WINDOW_DAYS),
                  ("Last 365 days", DASHBOARD_DEFAULT_DAYS), ("All time", None))


def all_time_days(now: datetime) -> int:
    """The default window, in days, that reaches back to ALL_TIME_FROM from `now`'s day."""
    return (now.date() - ALL_TIME_FROM).days + 1
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
                       r"(Z|[+-][0-9]{2}:[0-9]{2})?")


class ScopeError(ValueError):
    def __init__(self, parameter: str, message: str):
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = f"{parameter}: {message}"


@dataclass(frozen=True)
class Scope:
    """What a metric is asked about: the as-of moment T, the window [start, end), the filters."""

    as_of: datetime
    start: datetime
    end: datetime
    goal_category: str | None = None
    mentor_id: int | None = None

    @property
    def t(self) -> int:
        return int(self.as_of.timestamp())


@dataclass(frozen=True)
class Asked:
    """What a page or an API call asked for: the parsed scope, with what to echo back (the window as
    dates and the filters as given)."""

    scope: Scope
    window_from: date
    window_to: date
    goal_category: str | None
    mentor_email: str | None
    as_of_given: bool = False  # False: "now", so links and bookmarks stay live

    def echo(self) -> dict:
        return {"as_of": self.scope.as_of.isoformat(),
                "window": {"from": self.window_from.isoformat(), "to": self.window_to.isoformat()},
                "filters": {"goal_category": self.goal_category, "mentor": self.mentor_email}}

    def query_args(self) -> dict:
        """The parameters that ask for this again, for links and bookmarks."""
        args = {"from": self.window_from.isoformat(), "to": self.window_to.isoformat()}
        if self.as_of_given:
            args["as_of"] = self.scope.as_of.isoformat()
        if self.goal_category:
            args["goal_category"] = self.goal_category
        if self.mentor_email:
            args["mentor"] = self.mentor_email
        return args

    def window_choices(self, kept: dict | None = None) -> list[tuple[str, dict, bool]]:
        """WINDOW_CHOICES as (label, the parameters asking for it with the other filters and `kept` (a
        page's own, e.g. what the feedback page reads) kept, whether it is the window shown)."""
        end = self.scope.as_of.date() + timedelta(days=1)
        choices = []
        for label, days in WINDOW_CHOICES:
            start = ALL_TIME_FROM if days is None else end - timedelta(days=days)
            args = {**self.query_args(), "from": start.isoformat(), "to": end.isoformat(), **(kept or {})}
            choices.append((label, args, (start, end) == (self.window_from, self.window_to)))
        return choices


def _one(args, name: str) -> str | None:
    values = args.getlist(name)
    if len(values) > 1:
        raise ScopeError(name, "given more than once")
    if not values or values[0].strip() == "":
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in values[0]):
        raise ScopeError(name, "contains a control character")
    return values[0].strip()


def parse_date(name: str, text: str) -> date:
    if not _DATE.fullmatch(text):
        raise ScopeError(name, f"expected a date as YYYY-MM-DD, got {text!r}")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ScopeError(name, f"{text!r} is not a real date") from None
    _within_range(name, day, text)
    return day


def _within_range(name: str, day: date, text: str) -> None:
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ScopeError(name, f"must be from {EARLIEST_DAY} to {LATEST_DAY}, got {text!r}")


def parse_moment(name: str, text: str, naive_is_utc: bool = False) -> datetime:
    """A date (00:00 UTC) or an ISO 8601 date-time with a UTC offset, to the second (rounded down).

    naive_is_utc: a date-time without an offset is taken as UTC (the dashboard's form says so).
    """
    if naive_is_utc and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?", text):
        text += "+00:00"
    if _DATE.fullmatch(text):
        return datetime.combine(parse_date(name, text), time(), tzinfo=timezone.utc)
    if " " in text and re.search(r" [0-9]{2}:[0-9]{2}$", text):
        raise ScopeError(name, "the '+' of the UTC offset must be written %2B in a URL")
    if not _DATETIME.fullmatch(text):
        raise ScopeError(name, f"expected ISO 8601 like 2026-06-30T00:00:00+00:00, got {text!r}")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ScopeError(name, f"{text!r} is not a real date and time") from None
    if moment.tzinfo is None:
        raise ScopeError(name, "needs a UTC offset, e.g. 2026-06-30T00:00:00+00:00 or ...Z")
    _within_range(name, moment.date(), text)  # before the move to UTC, which could leave the calendar
    return moment.astimezone(timezone.utc).replace(microsecond=0)


def parse(args, now: datetime, mentor_id_by_email: Callable[[str], int | None],
          naive_is_utc: bool = False, default_days: int = DEFAULT_WINDOW_DAYS) -> Asked:
    """Read the metrics parameters; raise ScopeError naming the first bad one."""
    raw = {name: _one(args, name) for name in PARAMETERS}
    as_of = parse_moment("as_of", raw["as_of"], naive_is_utc) if raw["as_of"] else now
    last_day = as_of.date()
    window_to = parse_date("to", raw["to"]) if raw["to"] else last_day + timedelta(days=1)
    if raw["from"]:
        window_from = parse_date("from", raw["from"])
    else:
        window_from = window_to - timedelta(days=default_days)
    if window_from >= window_to:
        raise ScopeError("from", f"must be before to ({window_from} is not before {window_to})")
    category = raw["goal_category"]
    if category is not None and category not in GOAL_CATEGORIES:
        raise ScopeError("goal_category", f"must be one of {', '.join(GOAL_CATEGORIES)}")
    mentor_email, mentor_id = raw["mentor"], None
    if mentor_email is not None:
        mentor_email = mentor_email.lower()
        mentor_id = mentor_id_by_email(mentor_email)
        if mentor_id is None:
            raise ScopeError("mentor", f"no mentor with email {mentor_email!r}")
    midnight = lambda d: datetime.combine(d, time(), tzinfo=timezone.utc)  # noqa: E731
    scope = Scope(as_of=as_of, start=midnight(window_from), end=midnight(window_to),
                  goal_category=category, mentor_id=mentor_id)
    return Asked(scope, window_from, window_to, category, mentor_email, as_of_given=raw["as_of"] is not None)


def parse_or_defaults(args, now: datetime, mentor_id_by_email: Callable[[str], int | None],
                      naive_is_utc: bool = False, default_days: int = DEFAULT_WINDOW_DAYS
                      ) -> tuple[Asked, str | None]:
    """For pages: the parameters asked for, or on a bad one the defaults and the message naming it."""
    try:
        return parse(args, now, mentor_id_by_email, naive_is_utc, default_days), None
    except ScopeError as problem:
        return parse(MultiDict(), now, mentor_id_by_email, default_days=default_days), problem.message
