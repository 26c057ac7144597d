"""The history CSV format (docs/INTERFACES.md, "History CSV"), shared by the import
(tracker/services/history_import.py) and the export (tracker/reports/history_export.py): the columns
of both files and the counts either reports."""
from __future__ import annotations

from dataclasses import dataclass

HISTORY_COLUMNS = ["ref", "mentee_email", "mentor_email", "goal_category", "goal_text", "applied_at",
                   "trial_started_at", "ended_at", "stars", "goal_reached", "churn_reason",
                   "survey_submitted_at", "feedback_platform", "feedback_mentor", "feedback_other"]
CHECKIN_COLUMNS = ["ref", "occurred_at", "mode", "minutes"]


@dataclass
class Summary:
    mentorships: int = 0
    surveys: int = 0
    checkins: int = 0
    new_users: int = 0
    dry_run: bool = False
