"""The vocabulary the product speaks: each code stored in the database, with the label people read.

Pure data: no Flask, no database. The rules that use these codes live in lifecycle.py and health.py.
"""
from __future__ import annotations

GOAL_CATEGORIES = {
    "change_careers": "Change careers",
    "extend_skillset": "Extend my skill set",
    "get_promoted": "Get promoted",
    "land_first_job": "Land my first job",
    "start_business": "Start a business",
    "other": "Something else",
}
MEETING_PREFERENCES = {"video": "Video calls", "in_person": "In person", "mixed": "A mix of both"}
CHECKIN_MODES = {"video": "Video", "in_person": "In person", "phone": "Phone", "chat": "Chat"}
GOAL_REACHED = {"yes": "Yes", "partly": "Partly", "no": "No"}
CHURN_REASONS = {
    "goal_reached": "I reached my goal",
    "too_expensive": "It is too expensive",
    "no_time": "I don't have the time right now",
    "mentor_fit": "The mentor was not the right fit",
    "mentor_unresponsive": "The mentor was unresponsive",
    "switched_mentor": "I am switching to another mentor",
    "platform_issue": "A problem with the platform",
    "other": "Something else",
}
STAGE_NAMES = {"trial": "Trial", "month_1": "Month 1", "months_2_3": "Months 2-3", "later": "Later"}

# --- the cancel flow's save offers (docs/RETENTION.md) ---
OFFERS = {
    "none": "No offer: straight to the exit survey",
    "pause": "Pause for one or two months",
    "switch_mentor": "Switch to another mentor in the same field",
    "plan_reminder": "Remind them what the plan includes",
}

# The answer scales: the exit survey's stars, and the monthly pulse's usefulness and progress (percent).
STARS_MIN, STARS_MAX = 1, 5
USEFULNESS_MIN, USEFULNESS_MAX = 1, 5
PROGRESS_MIN, PROGRESS_MAX = 0, 100
