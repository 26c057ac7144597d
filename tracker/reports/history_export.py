"""History CSV export (docs/INTERFACES.md, "History CSV"): every mentorship, its exit survey and its
check-ins in the format the import reads, with formula-like text neutralised (csvfiles.guard), so
export then import into an empty database gives the same metrics."""
from __future__ import annotations

import csv
import os
import tempfile
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import aliased

from tracker.core.extensions import db
from tracker.data.models import CheckIn, ExitSurvey, Mentorship, User
from tracker.reports.csvfiles import guard
from tracker.reports.history_format import CHECKIN_COLUMNS, HISTORY_COLUMNS, Summary


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat()


class ExportError(Exception):
    """An output file could not be written; no output file was created or changed."""


def _temporary_beside(path: str):
    """A new private (0600) file in the folder of `path`, to take its place once everything is written."""
    try:
        return tempfile.NamedTemporaryFile("w", newline="", encoding="utf-8", delete=False,
                                           dir=os.path.dirname(os.path.abspath(path)), prefix=".export-")
    except OSError as error:
        raise ExportError(f"{path}: cannot write there ({error.strerror})") from None


def export_history(path: str, checkins_path: str | None = None) -> Summary:
    """Write the history file (and the check-ins file): both appear together when everything is written,
    or neither is created or changed."""
    written: list[tuple[str, str]] = []
    try:
        summary = _export(path, checkins_path, written)
        for temporary, final in written:
            os.replace(temporary, final)
    except BaseException:
        for temporary, _ in written:
            if os.path.exists(temporary):
                os.unlink(temporary)
        raise
    return summary


def _export(path: str, checkins_path: str | None, written: list[tuple[str, str]]) -> Summary:
    mentee, mentor = aliased(User), aliased(User)
    stmt = (select(Mentorship, mentee.email, mentor.email, ExitSurvey)
            .join(mentee, mentee.id == Mentorship.mentee_id).join(mentor, mentor.id == Mentorship.mentor_id)
            .outerjoin(ExitSurvey, ExitSurvey.mentorship_id == Mentorship.id).order_by(Mentorship.id))
    summary = Summary()
    refs: dict[int, str] = {}
    used = set(db.session.scalars(select(Mentorship.ref).where(Mentorship.ref.is_not(None))))
    with _temporary_beside(path) as handle:
        written.append((handle.name, path))
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
            writer.writerow([guard(ref), guard(mentee_email), guard(mentor_email), m.goal_category, guard(m.goal_text),
                             _iso(m.applied_at), _iso(m.trial_started_at), _iso(m.ended_at), *survey_cells])
            summary.mentorships += 1
            summary.surveys += survey is not None
    if checkins_path:
        with _temporary_beside(checkins_path) as handle:
            written.append((handle.name, checkins_path))
            writer = csv.writer(handle)
            writer.writerow(CHECKIN_COLUMNS)
            stmt = select(CheckIn).order_by(CheckIn.mentorship_id, CheckIn.occurred_at, CheckIn.id)
            for checkin in db.session.scalars(stmt.execution_options(yield_per=5000)):
                writer.writerow([guard(refs[checkin.mentorship_id]), _iso(checkin.occurred_at), checkin.mode,
                                 checkin.minutes])
                summary.checkins += 1
    return summary
