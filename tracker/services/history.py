"""History CSV import and export (INTERFACES.md, "History CSV").

Import is all or nothing: every row of both files is checked first, every problem is reported as
"FILE, line L, column C: message", and only a clean file is written, in one transaction. Export
writes the same format back, with formula-like text neutralised (csvfiles.guard), so export then
import into an empty database gives the same metrics.
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
from tracker.data.database import begin_write
from tracker.data.models import CheckIn, ExitSurvey, MentorProfile, Mentorship, User
from tracker.domain import lifecycle
from tracker.reports.csvfiles import guard, unguard

HISTORY_COLUMNS = ["ref", "mentee_email", "mentor_email", "goal_category", "goal_text", "applied_at",
                   "trial_started_at", "ended_at", "stars", "goal_reached", "churn_reason",
                   "survey_submitted_at", "feedback_platform", "feedback_mentor", "feedback_other"]
REQUIRED = ["ref", "mentee_email", "mentor_email", "goal_category", "goal_text", "applied_at"]
SURVEY = ["stars", "goal_reached", "churn_reason", "survey_submitted_at"]
CHECKIN_COLUMNS = ["ref", "occurred_at", "mode", "minutes"]
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
class Summary:
    mentorships: int = 0
    surveys: int = 0
    checkins: int = 0
    new_users: int = 0
    dry_run: bool = False


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


def _timestamp(row: _Row, column: str, problems: _Problems, required=False) -> datetime | None:
    text = row.values.get(column, "").strip()
    if not text:
        if required:
            problems.add(row.line, column, "this value is required")
        return None
    try:
        return parse_timestamp(text)
    except ValueError as error:
        problems.add(row.line, column, f"{text!r}: {error}")
        return None


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
    text = row.values.get(column, "").strip()
    if not text:
        problems.add(row.line, column, "this value is required")
        return None
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        problems.add(row.line, column, f"{text!r} is not an email address ({error})")
        return None


# --- import ----------------------------------------------------------------------------------------

def import_history(path: str, at: datetime, checkins_path: str | None = None, dry_run: bool = False,
                   progress: Callable[[str], None] = lambda message: None) -> Summary:
    """Check both files, then write them in one transaction; `at` stamps the users it creates."""
    problems = _Problems(path)
    existing_users = {email: (uid, role) for uid, email, role in db.session.execute(
        select(User.id, User.email, User.role))}
    existing_refs = set(db.session.scalars(select(Mentorship.ref).where(Mentorship.ref.is_not(None))))
    mentee, mentor = aliased(User), aliased(User)
    open_pairs = {(a, b) for a, b in db.session.execute(
        select(mentee.email, mentor.email).select_from(Mentorship)
        .join(mentee, mentee.id == Mentorship.mentee_id).join(mentor, mentor.id == Mentorship.mentor_id)
        .where(Mentorship.ended_at.is_(None)))}

    mentorships: list[dict] = []
    roles: dict[str, str] = {}
    seen_refs: dict[str, int] = {}
    for row in _rows(path, HISTORY_COLUMNS, REQUIRED, problems):
        record = _mentorship(row, problems, existing_users, roles, existing_refs, seen_refs, open_pairs)
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
            record = _checkin(row, checkin_problems, by_ref)
            if record is not None:
                checkins.append(record)
    if problems.items:
        raise HistoryError(problems.items)

    new_users = {email: role for email, role in roles.items() if email not in existing_users}
    summary = Summary(len(mentorships), sum(1 for m in mentorships if m["survey"]), len(checkins),
                      len(new_users), dry_run)
    if dry_run:
        return summary
    progress(f"writing {summary.mentorships} mentorships, {summary.surveys} surveys, {summary.checkins} check-ins")
    _write(mentorships, checkins, new_users, existing_users, at)
    return summary


def _mentorship(row, problems, existing_users, roles, existing_refs, seen_refs, open_pairs) -> dict | None:
    before = len(problems.items)
    ref = _text(row, "ref", problems, required=True, limit=100)
    if ref is not None:
        if ref in seen_refs:
            problems.add(row.line, "ref", f"{ref!r} is already used on line {seen_refs[ref]}")
        elif ref in existing_refs:
            problems.add(row.line, "ref", f"{ref!r} is already in the database")
        seen_refs.setdefault(ref, row.line)
    emails = {}
    parsed = {role: _email(row, column, problems) for column, role in
              (("mentee_email", "mentee"), ("mentor_email", "mentor"))}
    if parsed["mentee"] and parsed["mentee"] == parsed["mentor"]:
        problems.add(row.line, "mentor_email", "the mentor and the mentee are the same person")
    else:
        for column, role in (("mentee_email", "mentee"), ("mentor_email", "mentor")):
            email = parsed[role]
            if email is None:
                continue
            known = existing_users.get(email, (None, roles.get(email)))[1]
            if known is not None and known != role:
                problems.add(row.line, column, f"{email} is a {known}, not a {role}")
                continue
            roles[email] = role
            emails[role] = email
    category = _choice(row, "goal_category", lifecycle.GOAL_CATEGORIES, problems, required=True)
    goal = _text(row, "goal_text", problems, required=True)
    applied = _timestamp(row, "applied_at", problems, required=True)
    started = _timestamp(row, "trial_started_at", problems)
    ended = _timestamp(row, "ended_at", problems)
    if applied and started and started < applied:
        problems.add(row.line, "trial_started_at", "is before applied_at")
    if applied and ended and ended < (started or applied):
        problems.add(row.line, "ended_at", f"is before {'trial_started_at' if started else 'applied_at'}")

    survey = None
    given = [column for column in SURVEY if row.values.get(column, "").strip()]
    if given and len(given) < len(SURVEY):
        missing = [column for column in SURVEY if column not in given]
        problems.add(row.line, missing[0], f"an exit survey needs all of {', '.join(SURVEY)}")
    elif given:
        stars = _whole(row, "stars", 1, 5, problems)
        reached = _choice(row, "goal_reached", lifecycle.GOAL_REACHED, problems)
        reason = _choice(row, "churn_reason", lifecycle.CHURN_REASONS, problems)
        submitted = _timestamp(row, "survey_submitted_at", problems)
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

    if len(emails) == 2 and ended is None:
        pair = (emails["mentee"], emails["mentor"])
        if pair in open_pairs:
            problems.add(row.line, "ended_at", f"{pair[0]} already has an open mentorship with {pair[1]}")
        open_pairs.add(pair)
    if len(problems.items) > before:
        return None
    return dict(ref=ref, mentee=emails["mentee"], mentor=emails["mentor"], goal_category=category,
                goal_text=goal, applied_at=applied, trial_started_at=started, ended_at=ended,
                end_reason=None if ended is None else ("cancelled" if started else "declined"), survey=survey)


def _checkin(row, problems, by_ref) -> dict | None:
    before = len(problems.items)
    ref = row.values.get("ref", "").strip()
    mentorship = by_ref.get(ref)
    if mentorship is None:
        problems.add(row.line, "ref", f"{ref!r} is not a mentorship in the history file")
    occurred = _timestamp(row, "occurred_at", problems, required=True)
    mode = _choice(row, "mode", lifecycle.CHECKIN_MODES, problems, required=True)
    minutes = _whole(row, "minutes", 1, 600, problems)
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


def _write(mentorships: list[dict], checkins: list[dict], new_users: dict, existing_users: dict,
           at: datetime) -> None:
    begin_write()
    try:
        ids = {email: uid for email, (uid, _) in existing_users.items()}
        for email, role in new_users.items():
            user = User(email=email, name=email.split("@")[0], role=role, password_hash=None, created_at=at)
            if role == "mentor":  # imported mentors cannot log in yet: keep them out of the directory
                user.mentor_profile = MentorProfile(accepting_applications=False)
            db.session.add(user)
        db.session.flush()
        ids.update({u.email: u.id for u in db.session.scalars(select(User).where(User.email.in_(list(new_users))))}
                   if new_users else {})
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
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


# --- export ------------------------------------------------------------------------------------------

def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat()


def export_history(path: str, checkins_path: str | None = None) -> Summary:
    mentee, mentor = aliased(User), aliased(User)
    stmt = (select(Mentorship, mentee.email, mentor.email, ExitSurvey)
            .join(mentee, mentee.id == Mentorship.mentee_id).join(mentor, mentor.id == Mentorship.mentor_id)
            .outerjoin(ExitSurvey, ExitSurvey.mentorship_id == Mentorship.id).order_by(Mentorship.id))
    summary = Summary()
    refs: dict[int, str] = {}
    used = set(db.session.scalars(select(Mentorship.ref).where(Mentorship.ref.is_not(None))))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HISTORY_COLUMNS)
        for m, mentee_email, mentor_email, survey in db.session.execute(stmt.execution_options(yield_per=2000)):
            ref = m.ref
            if ref is None:  # made in this app: a ref that no imported one uses
                ref = f"tracker-{m.id}"
                while ref in used:
                    ref += "-x"
                used.add(ref)
            refs[m.id] = ref
            survey_cells = ([survey.stars, survey.goal_reached, survey.churn_reason, _iso(survey.submitted_at),
                             guard(survey.feedback_platform), guard(survey.feedback_mentor),
                             guard(survey.feedback_other)] if survey else [""] * 7)
            writer.writerow([guard(ref), mentee_email, mentor_email, m.goal_category, guard(m.goal_text),
                             _iso(m.applied_at), _iso(m.trial_started_at), _iso(m.ended_at), *survey_cells])
            summary.mentorships += 1
            summary.surveys += survey is not None
    if checkins_path:
        with open(checkins_path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(CHECKIN_COLUMNS)
            stmt = select(CheckIn).order_by(CheckIn.mentorship_id, CheckIn.occurred_at, CheckIn.id)
            for checkin in db.session.scalars(stmt.execution_options(yield_per=5000)):
                writer.writerow([guard(refs[checkin.mentorship_id]), _iso(checkin.occurred_at), checkin.mode,
                                 checkin.minutes])
                summary.checkins += 1
    return summary
