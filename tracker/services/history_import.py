"""History CSV import (docs/INTERFACES.md, "History CSV"); the export is tracker/reports/history_export.py.

Import is all or nothing: every row of both files is checked first, every problem is reported as
"FILE, line L, column C: message", and only a clean file is written, in one unit of work. Cells the
export guarded against spreadsheet formulas are read back as they were (csvfiles.unguard).
"""
from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import insert, select
from sqlalchemy.orm import aliased

from tracker.core.extensions import db
from tracker.data import rollups
from tracker.data.database import unit_of_work
from tracker.data.models import CheckIn, ExitSurvey, MentorProfile, Mentorship, User
from tracker.domain import vocabulary
from tracker.domain.accounts import NAME_MAX
from tracker.domain.lifecycle import CHECKIN_MINUTES_MAX, CHECKIN_MINUTES_MIN
from tracker.reports.csvfiles import unguard
from tracker.reports.history_format import CHECKIN_COLUMNS, HISTORY_COLUMNS, Summary

__all__ = ["HistoryError", "import_history", "parse_timestamp"]

REQUIRED = ["ref", "mentee_email", "mentor_email", "goal_category", "goal_text", "applied_at"]
SURVEY = ["stars", "goal_reached", "churn_reason", "survey_submitted_at"]
TEXT_MAX = 10_000
MAX_ERRORS = 50
BATCH = 5000
TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})")


class HistoryError(Exception):
    """One or more problems in the files; nothing was written."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class _Row:
    line: int
    values: dict = field(default_factory=dict)


class _Problems:
    def __init__(self, path: str):
        self.path, self.items = path, []

    def add(self, line: int | None, column: str | None, message: str) -> None:
        where = ", ".join(part for part in (self.path, f"line {line}" if line else None,
                                            f"column {column}" if column else None) if part)
        self.items.append(f"{where}: {message}")
        if len(self.items) >= MAX_ERRORS:
            self.items.append(f"{self.path}: stopped after {MAX_ERRORS} problems")
            raise HistoryError(self.items)


def _rows(path: str, expected: list[str], required: list[str], problems: _Problems) -> Iterator[_Row]:
    """The rows of a CSV file as dicts, with the physical line each starts on; header checked."""
    try:
        handle = open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115 (closed below)
    except OSError as error:
        raise HistoryError([f"{path}: cannot be read ({error.strerror})"]) from None
    with handle:
        try:
            reader = csv.reader(handle, strict=True)
            header = next(reader, None)
            if header is None:
                raise HistoryError([f"{path}: the file is empty; the first line must name the columns"])
            header = [name.strip() for name in header]
            for position, name in enumerate(header, start=1):
                if name not in expected:
                    problems.add(1, name or f"#{position}", f"unknown column (expected some of: {', '.join(expected)})")
                elif header.index(name) != position - 1:
                    problems.add(1, name, "the column appears twice")
            for name in required:
                if name not in header:
                    problems.add(1, name, "this required column is missing")
            if problems.items:
                raise HistoryError(problems.items)
            line = reader.line_num + 1
            for cells in reader:
                if cells:  # blank lines are skipped
                    if len(cells) != len(header):
                        problems.add(line, None, f"{len(cells)} cells where the header has {len(header)}")
                    else:
                        yield _Row(line, dict(zip(header, cells, strict=True)))
                line = reader.line_num + 1
        except UnicodeDecodeError as error:
            raise HistoryError([f"{path}: not UTF-8 text (byte {error.start} of a chunk cannot be decoded)"]) from None
        except csv.Error as error:
            raise HistoryError([f"{path}, line {reader.line_num}: {error}"]) from None


# --- cell parsers: each returns the value or reports the problem and returns None ----------------

def _text(row: _Row, column: str, problems: _Problems, required=False, limit=TEXT_MAX) -> str | None:
    value = unguard(row.values.get(column, ""))
    if value.strip() == "":
        if required:
            problems.add(row.line, column, "this value is required")
        return None if required else ""
    if len(value) > limit:
        problems.add(row.line, column, f"longer than {limit} characters")
        return None
    if any(unicodedata.category(c) in ("Cc", "Cs") and c not in "\n\r\t" for c in value):
        problems.add(row.line, column, "contains a control character (such as NUL)")
        return None
    return value


def parse_timestamp(text: str) -> datetime:
    """ISO 8601 with a UTC offset, e.g. 2026-03-01T09:30:00+00:00; kept to the second."""
    if not TIMESTAMP.fullmatch(text):
        raise ValueError("expected ISO 8601 with a UTC offset, like 2026-03-01T09:30:00+00:00")
    return datetime.fromisoformat(text).astimezone(timezone.utc).replace(microsecond=0)


def _timestamp(row: _Row, column: str, problems: _Problems, at: datetime, required=False) -> datetime | None:
    """The cell's moment, which a history cannot have after `at`, the moment of the import."""
    text = row.values.get(column, "").strip()
    if not text:
        if required:
            problems.add(row.line, column, "this value is required")
        return None
    try:
        moment = parse_timestamp(text)
    except ValueError as error:
        problems.add(row.line, column, f"{text!r}: {error}")
        return None
    if moment > at:  # the row is refused; its other checks still see the moment, so say nothing false
        problems.add(row.line, column, f"{text!r} is in the future (the import runs at {at:%Y-%m-%dT%H:%M:%S}Z)")
    return moment


def _choice(row: _Row, column: str, choices, problems: _Problems, required=False) -> str | None:
    text = row.values.get(column, "").strip()
    if not text:
        if required:
            problems.add(row.line, column, "this value is required")
        return None
    if text not in choices:
        problems.add(row.line, column, f"{text!r} is not one of {', '.join(choices)}")
        return None
    return text


def _whole(row: _Row, column: str, low: int, high: int, problems: _Problems) -> int | None:
    text = row.values.get(column, "").strip()
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        problems.add(row.line, column, f"{text!r} is not a whole number from {low} to {high}")
        return None
    return int(text)


def _email(row: _Row, column: str, problems: _Problems) -> str | None:
    text = unguard(row.values.get(column, "").strip())
    if not text:
        problems.add(row.line, column, "this value is required")
        return None
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        problems.add(row.line, column, f"{text!r} is not an email address ({error})")
        return None


# --- import ----------------------------------------------------------------------------------------

@dataclass
class _Known:
    """What each row is checked against: the database as it is, and the rows of the file so far."""

    users: dict[str, tuple[int, str]]   # email -> (id, role), in the database
    refs: set[str]                      # refs in the database
    open_pairs: set[tuple[str, str]]    # (mentee email, mentor email) with an open mentorship
    roles: dict[str, str] = field(default_factory=dict)      # email -> role, in the file
    seen_refs: dict[str, int] = field(default_factory=dict)  # ref -> the line it is first used on


def _known_from_database() -> _Known:
    users = {email: (uid, role) for uid, email, role in db.session.execute(select(User.id, User.email, User.role))}
    refs = set(db.session.scalars(select(Mentorship.ref).where(Mentorship.ref.is_not(None))))
    mentee, mentor = aliased(User), aliased(User)
    open_pairs = {(a, b) for a, b in db.session.execute(
        select(mentee.email, mentor.email).select_from(Mentorship)
        .join(mentee, mentee.id == Mentorship.mentee_id).join(mentor, mentor.id == Mentorship.mentor_id)
        .where(Mentorship.ended_at.is_(None)))}
    return _Known(users, refs, open_pairs)


def import_history(path: str, at: datetime, checkins_path: str | None = None, dry_run: bool = False,
                   progress: Callable[[str], None] = lambda message: None) -> Summary:
    """Check both files, then write them in one transaction. `at` is the moment of the import: it stamps
    the users it creates, and no moment in the files may be after it."""
    problems = _Problems(path)
    known = _known_from_database()

    mentorships: list[dict] = []
    for row in _rows(path, HISTORY_COLUMNS, REQUIRED, problems):
        record = _mentorship(row, problems, known, at)
        if record is not None:
            mentorships.append(record)
        if len(mentorships) % 10000 == 0 and mentorships:
            progress(f"checked {len(mentorships)} rows of {path}")

    checkins: list[dict] = []
    if checkins_path:
        by_ref = {m["ref"]: m for m in mentorships}
        checkin_problems = _Problems(checkins_path)
        checkin_problems.items = problems.items  # one list, both files
        for row in _rows(checkins_path, CHECKIN_COLUMNS, CHECKIN_COLUMNS, checkin_problems):
            record = _checkin(row, checkin_problems, by_ref, at)
            if record is not None:
                checkins.append(record)
    if problems.items:
        raise HistoryError(problems.items)

    new_users = {email: role for email, role in known.roles.items() if email not in known.users}
    summary = Summary(len(mentorships), sum(1 for m in mentorships if m["survey"]), len(checkins),
                      len(new_users), dry_run)
    if dry_run:
        return summary
    progress(f"writing {summary.mentorships} mentorships, {summary.surveys} surveys, {summary.checkins} check-ins")
    _write(mentorships, checkins, new_users, known.users, at)
    return summary


# --- one row of the history file ---------------------------------------------------------------------

def _mentorship(row: _Row, problems: _Problems, known: _Known, at: datetime) -> dict | None:
    """The row as a mentorship record, or None once its problems are reported (in column order)."""
    before = len(problems.items)
    ref = _ref(row, problems, known)
    emails = _people(row, problems, known)
    category = _choice(row, "goal_category", vocabulary.GOAL_CATEGORIES, problems, required=True)
    goal = _text(row, "goal_text", problems, required=True)
    applied, started, ended = _dates(row, problems, at)
    survey = _survey(row, problems, started, ended, at)
    if len(emails) == 2 and ended is None:
        _one_open_per_pair(row, problems, known, (emails["mentee"], emails["mentor"]))
    if len(problems.items) > before:
        return None
    return dict(ref=ref, mentee=emails["mentee"], mentor=emails["mentor"], goal_category=category,
                goal_text=goal, applied_at=applied, trial_started_at=started, ended_at=ended,
                end_reason=None if ended is None else ("cancelled" if started else "declined"), survey=survey)


def _ref(row: _Row, problems: _Problems, known: _Known) -> str | None:
    """The row's ref, used once in the file and not yet in the database."""
    ref = _text(row, "ref", problems, required=True, limit=100)
    if ref is not None:
        if ref in known.seen_refs:
            problems.add(row.line, "ref", f"{ref!r} is already used on line {known.seen_refs[ref]}")
        elif ref in known.refs:
            problems.add(row.line, "ref", f"{ref!r} is already in the database")
        known.seen_refs.setdefault(ref, row.line)
    return ref


def _people(row: _Row, problems: _Problems, known: _Known) -> dict[str, str]:
    """{"mentee": email, "mentor": email} for the emails that are valid and keep one role each."""
    emails = {}
    parsed = {role: _email(row, column, problems) for column, role in
              (("mentee_email", "mentee"), ("mentor_email", "mentor"))}
    if parsed["mentee"] and parsed["mentee"] == parsed["mentor"]:
        problems.add(row.line, "mentor_email", "the mentor and the mentee are the same person")
        return emails
    for column, role in (("mentee_email", "mentee"), ("mentor_email", "mentor")):
        email = parsed[role]
        if email is None:
            continue
        known_role = known.users.get(email, (None, known.roles.get(email)))[1]
        if known_role is not None and known_role != role:
            problems.add(row.line, column, f"{email} is a {known_role}, not a {role}")
            continue
        known.roles[email] = role
        emails[role] = email
    return emails


def _dates(row: _Row, problems: _Problems, at: datetime) -> tuple[datetime | None, datetime | None, datetime | None]:
    """(applied_at, trial_started_at, ended_at), in that order in time and none after `at`."""
    applied = _timestamp(row, "applied_at", problems, at, required=True)
    started = _timestamp(row, "trial_started_at", problems, at)
    ended = _timestamp(row, "ended_at", problems, at)
    if applied and started and started < applied:
        problems.add(row.line, "trial_started_at", "is before applied_at")
    if applied and ended and ended < (started or applied):
        problems.add(row.line, "ended_at", f"is before {'trial_started_at' if started else 'applied_at'}")
    return applied, started, ended


def _survey(row: _Row, problems: _Problems, started: datetime | None, ended: datetime | None,
            at: datetime) -> dict | None:
    """The row's exit survey with its feedback texts, or None: all of SURVEY or none of it, and
    feedback only with a survey."""
    survey = None
    given = [column for column in SURVEY if row.values.get(column, "").strip()]
    if given and len(given) < len(SURVEY):
        missing = [column for column in SURVEY if column not in given]
        problems.add(row.line, missing[0], f"an exit survey needs all of {', '.join(SURVEY)}")
    elif given:
        stars = _whole(row, "stars", vocabulary.STARS_MIN, vocabulary.STARS_MAX, problems)
        reached = _choice(row, "goal_reached", vocabulary.GOAL_REACHED, problems)
        reason = _choice(row, "churn_reason", vocabulary.CHURN_REASONS, problems)
        submitted = _timestamp(row, "survey_submitted_at", problems, at)
        if not (started and ended):
            problems.add(row.line, "stars", "an exit survey belongs to a cancellation: "
                                            "trial_started_at and ended_at are needed")
        elif submitted and submitted < started:
            problems.add(row.line, "survey_submitted_at", "is before trial_started_at")
        survey = dict(stars=stars, goal_reached=reached, churn_reason=reason, submitted_at=submitted)
    texts = {column: _text(row, column, problems) for column in
             ("feedback_platform", "feedback_mentor", "feedback_other")}
    if any(texts.values()) and survey is None:
        problems.add(row.line, "feedback_platform", "feedback comes with an exit survey (stars, goal_reached, ...)")
    if survey is not None:
        survey.update({column: text or "" for column, text in texts.items()})
    return survey


def _one_open_per_pair(row: _Row, problems: _Problems, known: _Known, pair: tuple[str, str]) -> None:
    """A mentee has at most one open mentorship with a mentor, in the database and the file together."""
    if pair in known.open_pairs:
        problems.add(row.line, "ended_at", f"{pair[0]} already has an open mentorship with {pair[1]}")
    known.open_pairs.add(pair)


# --- one row of the check-ins file -------------------------------------------------------------------

def _checkin(row: _Row, problems: _Problems, by_ref: dict[str, dict], at: datetime) -> dict | None:
    before = len(problems.items)
    ref = unguard(row.values.get("ref", "")).strip()
    mentorship = by_ref.get(ref)
    if mentorship is None:
        problems.add(row.line, "ref", f"{ref!r} is not a mentorship in the history file")
    occurred = _timestamp(row, "occurred_at", problems, at, required=True)
    mode = _choice(row, "mode", vocabulary.CHECKIN_MODES, problems, required=True)
    minutes = _whole(row, "minutes", CHECKIN_MINUTES_MIN, CHECKIN_MINUTES_MAX, problems)
    if mentorship is not None and occurred is not None:
        if mentorship["trial_started_at"] is None:
            problems.add(row.line, "ref", f"{ref!r} never started a trial, so it has no check-ins")
        elif occurred < mentorship["trial_started_at"]:
            problems.add(row.line, "occurred_at", "is before the trial started")
        elif mentorship["ended_at"] is not None and occurred > mentorship["ended_at"]:
            problems.add(row.line, "occurred_at", "is after the mentorship ended")
    if len(problems.items) > before:
        return None
    return dict(ref=ref, occurred_at=occurred, mode=mode, minutes=minutes)


# --- the write ---------------------------------------------------------------------------------------

def _write(mentorships: list[dict], checkins: list[dict], new_users: dict, existing_users: dict,
           at: datetime) -> None:
    """Everything checked, in one unit of work: the new users, then mentorships, surveys and
    check-ins as bulk inserts of BATCH rows."""
    with unit_of_work():
        ids = {email: uid for email, (uid, _) in existing_users.items()}
        ids.update(_add_users(new_users, at))
        mentorship_ids: dict[str, int] = {}
        for start in range(0, len(mentorships), BATCH):
            batch = mentorships[start:start + BATCH]
            rows = [dict(ref=m["ref"], mentee_id=ids[m["mentee"]], mentor_id=ids[m["mentor"]],
                         goal_category=m["goal_category"], goal_text=m["goal_text"], meeting_preference=None,
                         applied_at=m["applied_at"], trial_started_at=m["trial_started_at"],
                         ended_at=m["ended_at"], end_reason=m["end_reason"]) for m in batch]
            result = db.session.execute(insert(Mentorship).returning(Mentorship.id, Mentorship.ref,
                                                                     sort_by_parameter_order=True), rows)
            mentorship_ids.update({ref: mid for mid, ref in result})
        surveys = [dict(mentorship_id=mentorship_ids[m["ref"]], **m["survey"]) for m in mentorships if m["survey"]]
        for start in range(0, len(surveys), BATCH):
            db.session.execute(insert(ExitSurvey), surveys[start:start + BATCH])
        rows = [dict(mentorship_id=mentorship_ids[c["ref"]], occurred_at=c["occurred_at"], mode=c["mode"],
                     minutes=c["minutes"], note="", logged_by_id=None, logged_at=c["occurred_at"]) for c in checkins]
        for start in range(0, len(rows), BATCH):
            db.session.execute(insert(CheckIn), rows[start:start + BATCH])
        # The bulk inserts pass by the session's flush, so the new mentorships enter the rollups here.
        connection = db.session.connection()
        rollups.record(connection, [], rollups.facts_of(connection, mentorship_ids.values()))


def _add_users(new_users: dict[str, str], at: datetime) -> dict[str, int]:
    """Create the file's new users (no password yet) and return their ids by email."""
    if not new_users:
        return {}
    for email, role in new_users.items():
        # The address is stored in lower case, which can be longer than it was written: cut to a name's length.
        user = User(email=email, name=email.split("@")[0][:NAME_MAX], role=role, password_hash=None, created_at=at)
        if role == "mentor":  # imported mentors cannot log in yet: keep them out of the directory
            user.mentor_profile = MentorProfile(accepting_applications=False)
        db.session.add(user)
    db.session.flush()
    return {u.email: u.id for u in db.session.scalars(select(User).where(User.email.in_(list(new_users))))}
