"""What users do: validate, change, commit once, or raise a domain error and change nothing.

Every function takes the moment `at` from the caller (clock.now() in views), and owns its
transaction: each write is one `database.unit_of_work()`, committed whole or rolled back on error.

One module per capability: `errors` (the domain errors), `accounts` (users, passwords, sessions,
the mentor profile, API tokens), `applications` (apply, withdraw, accept, decline, check-ins),
`cancellation` (the cancel flow, offers, the exit survey, pause and resume), `pulse`, `mail_preferences`
(which optional mails a person gets, unsubscribe), `operators` (offer settings, at-risk reviews,
moderation), `experiments` (offer experiments and each flow's arm), `reviews` (public reviews,
replies, their moderation), `audit` (the log of operators' actions), `data_rights` (a person's
export and erasure), `history_import` (the history CSV import), `seed` (the demo data) and
`database_copy` (a whole database to another engine, checked). The public names are re-exported here: callers write
`services.apply`.

Imports core, domain, data and reports; never tracker.web or tracker.cli.
"""
from tracker.services.accounts import (
    DUMMY_HASH,
    authenticate,
    create_api_token,
    create_user,
    deactivate,
    end_all_sessions,
    hash_token,
    normalise_email,
    reactivate,
    reset_password,
    send_password_reset,
    set_password,
    update_mentor_profile,
    user_by_email,
    user_for_token,
)
from tracker.services.applications import Application, accept, apply, decline, log_checkin, withdraw
from tracker.services.cancellation import (
    ALREADY_CANCELLED,
    SurveyAnswers,
    accept_offer,
    cancel_with_survey,
    cancellation_blocker,
    decline_offer,
    resume,
    start_cancel_flow,
)
from tracker.services.data_rights import erase_user, export_user
from tracker.services.errors import Conflict, Invalid, NotFound, ServiceError
from tracker.services.experiments import ExperimentPlan, end_experiment, start_experiment
from tracker.services.mail_preferences import set_mail_preferences, unsubscribe
from tracker.services.operators import hide_mentor_feedback, mark_risk_handled, set_offers, show_mentor_feedback
from tracker.services.pulse import answer_pulse
from tracker.services.reviews import moderate, reply_to_review, review_blocker, write_review

__all__ = [
    "ALREADY_CANCELLED", "Application", "Conflict", "DUMMY_HASH", "ExperimentPlan", "end_experiment",
    "start_experiment", "Invalid", "NotFound", "ServiceError", "SurveyAnswers", "accept",
    "accept_offer", "answer_pulse", "apply", "authenticate", "cancel_with_survey", "cancellation_blocker",
    "create_api_token", "create_user", "deactivate", "decline", "decline_offer", "end_all_sessions", "erase_user",
    "export_user", "hash_token", "hide_mentor_feedback", "log_checkin", "mark_risk_handled", "moderate",
    "normalise_email", "reactivate", "reply_to_review", "reset_password", "resume", "review_blocker",
    "send_password_reset", "set_mail_preferences", "set_offers", "set_password", "show_mentor_feedback",
    "start_cancel_flow", "unsubscribe", "update_mentor_profile", "user_by_email", "user_for_token", "withdraw",
    "write_review",
]
