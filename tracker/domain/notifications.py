"""The mails the product sends, and when: pure rules, with the moment passed in.

Each kind has one recipient role, and is either account-critical (cannot be turned off: a decision
on the person's own application, and the notice before a trial becomes a paid month, which
auto-renewal laws ask for) or optional (turned off on the settings page or by one-click unsubscribe).

A scheduled mail is due from a moment the lifecycle defines until a later one; outside that span it
is no longer worth sending (a sender that was down for a week does not mail last week's pulse). Its
key (kind, subject, period) is unique in the outbox, so it is queued once however often, and by
however many schedulers, the schedule is worked out.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tracker.domain import lifecycle


@dataclass(frozen=True)
class Kind:
    code: str
    recipient_role: str
    critical: bool
    label: str  # as the settings page names it


KINDS = {kind.code: kind for kind in (
    Kind("application_received", "mentor", False, "A mentee applied to you"),
    Kind("application_decided", "mentee", True, "Your application was accepted or declined"),
    Kind("trial_ending", "mentee", True, "Your trial ends in 2 days"),
    Kind("pulse_open", "mentee", False, "This month's two questions are open"),
    Kind("cancel_unfinished", "mentee", False, "You left a cancellation unfinished"),
    Kind("mentor_summary", "mentor", False, "Your monthly summary"),
    Kind("operator_digest", "operator", False, "The weekly digest"),
    # Sent when an operator asks for it (services/accounts.py): a single-use link, valid for a day.
    Kind("password_reset", "any", True, "A link to set a new password"),
)}
MAIL_KINDS = tuple(KINDS)
OPTIONAL_KINDS = tuple(code for code, kind in KINDS.items() if not kind.critical)


def optional_kinds_for(role: str) -> tuple[str, ...]:
    """The kinds a person with this role can turn off (the settings page's checkboxes)."""
    return tuple(code for code in OPTIONAL_KINDS if KINDS[code].recipient_role == role)


# What the outbox says of a mail. "skipped": not sent, on purpose (the recipient turned the kind
# off, or what it was about is over: the pulse answered, the trial ended); "failed" is the dead letter.
STATUSES = ("queued", "sending", "sent", "retrying", "failed", "skipped")
DONE = ("sent", "failed", "skipped")

# --- the schedule ---------------------------------------------------------------------------------

TRIAL_ENDING_NOTICE = timedelta(days=2)
# An unfinished cancel flow is followed up once it counts as abandoned (24 h), for a week after.
CANCEL_FOLLOW_UP_FOR = timedelta(days=7)
# The mentor's summary of a calendar month goes out from the 1st of the next month for a week; the
# operators' digest of an ISO week (Monday to Sunday, UTC) from the Monday after, for 3 days.
SUMMARY_SENDS_FOR = timedelta(days=7)
DIGEST_SENDS_FOR = timedelta(days=3)


def trial_ending_span(trial_started_at: datetime) -> tuple[datetime, datetime]:
    """[from, until) in which the 'trial ends in 2 days' mail is due."""
    end = lifecycle.trial_end(trial_started_at)
    return end - TRIAL_ENDING_NOTICE, end


def cancel_follow_up_span(flow_started_at: datetime) -> tuple[datetime, datetime]:
    """[from, until) in which an unfinished cancel flow is followed up."""
    due = flow_started_at + lifecycle.FLOW_ABANDONED_AFTER
    return due, due + CANCEL_FOLLOW_UP_FOR


def month_start(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def summary_month(at: datetime) -> tuple[datetime, datetime] | None:
    """The calendar month [start, end) whose mentor summary is due at `at`, or None."""
    end = month_start(at)
    if not end <= at < end + SUMMARY_SENDS_FOR:
        return None
    start = month_start(end - timedelta(days=1))
    return start, end


def digest_week(at: datetime) -> tuple[datetime, datetime] | None:
    """The ISO week [Monday, next Monday) whose digest is due at `at`, or None."""
    this_monday = (at - timedelta(days=at.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    if not this_monday <= at < this_monday + DIGEST_SENDS_FOR:
        return None
    return this_monday - timedelta(days=7), this_monday


def month_label(start: datetime) -> str:
    return f"{start:%Y-%m}"


def week_label(start: datetime) -> str:
    year, week, _ = start.isocalendar()
    return f"{year}-W{week:02d}"


# --- delivery -------------------------------------------------------------------------------------

# After a failed attempt (server down, or a 4xx answer), the next one waits this long; after the
# last, the mail is given up (the dead letter). About 2 days in all, like a mail server's queue.
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1),
                timedelta(hours=3), timedelta(hours=6), timedelta(hours=12), timedelta(hours=24))
# A sender claims a mail for this long; if it dies mid-send, another takes the mail over afterwards.
CLAIM_LEASE = timedelta(minutes=5)


def next_attempt(attempts: int, at: datetime) -> datetime | None:
    """When to try again after `attempts` failed attempts (counting the one just made), or None to
    give up."""
    if attempts > len(RETRY_DELAYS):
        return None
    return at + RETRY_DELAYS[attempts - 1]


PASSWORD_RESET_VALID_FOR = timedelta(hours=24)
