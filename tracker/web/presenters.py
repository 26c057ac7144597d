"""How dates and states read to a person: "12 Mar 2026", "in 3 days", "trial, ends 12 Mar (3 days left)"."""
from __future__ import annotations

from datetime import datetime, timedelta

from markupsafe import Markup

from tracker.domain.lifecycle import State
from tracker.domain.vocabulary import STARS_MAX


def day(moment: datetime | None) -> str:
    return "" if moment is None else f"{moment.day} {moment:%b %Y}"


def day_time(moment: datetime | None) -> Markup:
    """A date and time in UTC, marked up so static/js/local-time.js can show it in the viewer's zone."""
    if moment is None:
        return Markup("")
    return Markup('<time datetime="{}" data-local>{} {} UTC</time>').format(
        moment.isoformat(), moment.day, f"{moment:%b %Y, %H:%M}")


def utc_time(moment: datetime | None) -> str:
    """A date and time in UTC as plain text (mails: no script shows it in the reader's zone)."""
    return "" if moment is None else f"{moment.day} {moment:%b %Y, %H:%M} UTC"


def month(moment: datetime | None) -> str:
    return "" if moment is None else f"{moment:%B %Y}"


def span(delta: timedelta) -> str:
    """A duration in the largest whole unit that fits: '3 days', '5 hours', '12 minutes'."""
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return "less than a minute"


def relative(moment: datetime | None, at: datetime) -> str:
    if moment is None:
        return ""
    if moment > at:
        return f"in {span(moment - at)}"
    return f"{span(at - moment)} ago"


def period_name(k: int) -> str:
    return "trial" if k == 0 else f"month {k}"


def status(mentorship, at: datetime) -> str:
    """The mentorship's state as of `at`, in words."""
    state: State | None = mentorship.state(at)
    if state is None:
        return "not yet applied"
    if state.status == "pending":
        return "application pending"
    if state.status == "closed":
        return "declined by the mentor" if mentorship.end_reason == "declined" else "withdrawn"
    if state.status == "trial":
        return (f"trial, ends {day(state.trial_ends_at)} "
                f"({span(state.time_left_in_trial)} left)")
    if state.status == "paid":
        return f"month {state.month}"
    if state.status == "paused":
        return f"paused until {day(state.paused_until)}"
    return "cancelled during the trial" if state.month == 0 else f"cancelled in month {state.month}"


def star_glyphs(stars: int) -> str:
    """'★★★☆☆' for 3 stars out of STARS_MAX."""
    return "★" * stars + "☆" * (STARS_MAX - stars)


def percent(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def number(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


FILTERS = {"percent": percent, "number": number, "day": day, "day_time": day_time, "utc_time": utc_time,
           "month": month, "relative": relative, "status": status, "period_name": period_name,
           "star_glyphs": star_glyphs, "span": span}
