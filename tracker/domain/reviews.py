"""Public reviews: who may write one, how the author is named, how long it can be edited, and why an
operator may hide one. Pure rules, the moment passed in.

A public review is separate from the exit survey: the survey stays private and anonymous, its stars
and texts never appear in public, and the metrics never read public reviews.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from tracker.domain import lifecycle

TEXT_MAX = 1000
REPLY_MAX = 1000
EDITABLE_FOR = timedelta(days=14)
# A mentor's public rating and goal-reached share are shown once this many stand behind them (the
# threshold that also protects written feedback: reports/metrics.FEEDBACK_MIN_SURVEYS).
SHOWN_FROM = 3
PAGE_SIZE = 10

NAMINGS = {"initial": "My first name and the initial of my last name", "anonymous": 'Just "a mentee"'}
# Content policy: the only reasons an operator may hide a review or a reply. Never its stars:
# suppressing negative reviews is unlawful in several markets.
MODERATION_REASONS = {
    "abuse": "Abuse or harassment",
    "personal_data": "Personal data",
    "spam": "Spam or advertising",
    "off_topic": "Off-topic",
}
TARGETS = ("review", "reply")
ACTIONS = ("hide", "show")


def display_name(full_name: str, naming: str) -> str:
    """'Mia M.' for "initial" (the first name alone if there is one word), 'a mentee' otherwise."""
    words = full_name.split()
    if naming != "initial" or not words:
        return "a mentee"
    return words[0] if len(words) == 1 else f"{words[0]} {words[-1][0]}."


def reached_a_paid_month(trial_started_at: datetime | None, ended_at: datetime | None, at: datetime) -> bool:
    """The mentorship went past its trial into its first paid month by `at`: a review stands on real
    sessions."""
    if trial_started_at is None or at < lifecycle.trial_end(trial_started_at):
        return False
    return lifecycle.converted(trial_started_at, ended_at if ended_at is not None and ended_at <= at else None)


def may_review(trial_started_at: datetime | None, ended_at: datetime | None, surveyed: bool,
               month_one_pulse_answered: bool, at: datetime) -> bool:
    """At the end of the exit survey (ended, survey given), or once the month-1 pulse is answered while
    the mentorship goes on; either way only after a paid month began."""
    if not reached_a_paid_month(trial_started_at, ended_at, at):
        return False
    ended = ended_at is not None and ended_at <= at
    return surveyed if ended else month_one_pulse_answered


def editable(created_at: datetime, at: datetime) -> bool:
    return at < created_at + EDITABLE_FOR
