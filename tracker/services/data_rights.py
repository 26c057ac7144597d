"""A person's data rights: everything held about them as one JSON document (access and portability),
and erasure: their personal data gone, from the rows and from the database files, while every number
stays what it was (timestamps, categories, stars and answers stay; names, emails, texts go).

Operators' own accounts are neither exported nor erased here: an operator's actions are the audit
log's subject, and a platform must not let an operator erase their own trail.
"""
from __future__ import annotations

import glob
import json
import os
import time
from datetime import datetime

from sqlalchemy import and_, or_, select, text, update

from tracker.core.extensions import db
from tracker.data.database import unit_of_work
from tracker.data.models import (
    ApiToken,
    AuditEntry,
    CancelFlow,
    CheckIn,
    ExitSurvey,
    LoginFailure,
    MailPreference,
    MentorProfile,
    Mentorship,
    OutboxMail,
    Review,
    RiskReview,
    User,
)
from tracker.reports import rollup_queries
from tracker.services import audit
from tracker.services.accounts import normalise_email
from tracker.services.errors import Conflict, NotFound

ERASED = "[erased]"
CHECKPOINT_TRIES, CHECKPOINT_WAIT_S = 10, 0.5


class ErasureIncomplete(Conflict):
    """The rows are erased but an old copy could not yet be wiped from the database files."""
# The tables an erasure rewrites: on PostgreSQL each is vacuumed afterwards.
TOUCHED = ("users", "mentor_profiles", "mentorships", "checkins", "exit_surveys", "reviews", "risk_reviews",
           "outbox", "audit_log", "api_tokens", "mail_preferences", "login_failures", "report_cache")


def _person(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound(f"No account has the email {normalise_email(email)!r}.")
    if user.role == "operator":
        raise Conflict("Operators' accounts are not exported or erased: their actions are what the audit log "
                       "records. Give the account another role first if the person is no longer an operator.")
    return user


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


# --- export ----------------------------------------------------------------------------------------------

def _mentorship_as_mentee(m: Mentorship, user_id: int) -> dict:
    survey = m.exit_survey
    review = db.session.scalar(select(Review).where(Review.mentorship_id == m.id))
    flows = db.session.scalars(select(CancelFlow).where(CancelFlow.mentorship_id == m.id).order_by(CancelFlow.id))
    return {
        "id": m.id, "ref": m.ref, "mentor": m.mentor.name, "goal_category": m.goal_category, "goal": m.goal_text,
        "meeting_preference": m.meeting_preference, "applied_at": _iso(m.applied_at),
        "trial_started_at": _iso(m.trial_started_at), "ended_at": _iso(m.ended_at), "end_reason": m.end_reason,
        "end_note": m.end_note,
        "checkins": [{"occurred_at": _iso(c.occurred_at), "mode": c.mode, "minutes": c.minutes, "note": c.note,
                      "logged_by_you": c.logged_by_id == user_id} for c in m.checkins],
        "pulses": [{"period": p.period, "progress": p.progress, "usefulness": p.usefulness,
                    "submitted_at": _iso(p.submitted_at)} for p in m.pulses],
        "pauses": [{"starts_at": _iso(p.starts_at), "ends_at": _iso(p.ends_at)} for p in m.pauses],
        "cancel_flows": [{"reason": f.reason, "started_at": _iso(f.started_at), "offer": f.offer,
                          "offer_accepted_at": _iso(f.offer_accepted_at),
                          "offer_declined_at": _iso(f.offer_declined_at), "cancelled_at": _iso(f.cancelled_at),
                          # Which arm of an offer experiment decided the offer shown (None: no experiment).
                          "experiment_arm": f.assignment.arm if f.assignment else None}
                         for f in flows],
        "exit_survey": None if survey is None else {
            "stars": survey.stars, "goal_reached": survey.goal_reached, "churn_reason": survey.churn_reason,
            "feedback_platform": survey.feedback_platform, "feedback_mentor": survey.feedback_mentor,
            "feedback_other": survey.feedback_other, "submitted_at": _iso(survey.submitted_at)},
        "public_review": None if review is None else {
            "stars": review.stars, "text": review.text, "shown_as": review.display_name,
            "written_at": _iso(review.created_at), "hidden": review.hidden_at is not None},
    }


def _mentorship_as_mentor(m: Mentorship, user_id: int) -> dict:
    review = db.session.scalar(select(Review).where(Review.mentorship_id == m.id))
    return {
        "id": m.id, "goal_category": m.goal_category, "applied_at": _iso(m.applied_at),
        "trial_started_at": _iso(m.trial_started_at), "ended_at": _iso(m.ended_at), "end_reason": m.end_reason,
        "checkins_you_logged": [{"occurred_at": _iso(c.occurred_at), "mode": c.mode, "minutes": c.minutes,
                                 "note": c.note} for c in m.checkins if c.logged_by_id == user_id],
        "your_reply_to_its_review": None if review is None or review.reply_text is None else {
            "text": review.reply_text, "replied_at": _iso(review.replied_at)},
    }


def export_user(email: str, actor: audit.Actor, at: datetime) -> dict:
    """Everything the app holds about this person, as one JSON-ready document; the export is logged."""
    user = _person(email)
    if user.erased_at is not None:
        raise Conflict(f"This person's data was erased on {user.erased_at:%d %b %Y}; nothing is left to export.")
    as_mentee = db.session.scalars(select(Mentorship).where(Mentorship.mentee_id == user.id).order_by(Mentorship.id))
    as_mentor = db.session.scalars(select(Mentorship).where(Mentorship.mentor_id == user.id).order_by(Mentorship.id))
    profile = user.mentor_profile
    document = {
        "exported_at": _iso(at),
        "account": {"id": user.id, "email": user.email, "name": user.name, "role": user.role,
                    "created_at": _iso(user.created_at), "has_password": user.password_hash is not None,
                    "deactivated_at": _iso(user.deactivated_at)},
        "mentor_profile": None if profile is None else {
            "headline": profile.headline, "expertise": profile.expertise, "bio": profile.bio,
            "accepting_applications": profile.accepting_applications},
        "mentorships_as_mentee": [_mentorship_as_mentee(m, user.id) for m in as_mentee],
        "mentorships_as_mentor": [_mentorship_as_mentor(m, user.id) for m in as_mentor],
        "mail_settings": {p.kind: p.enabled for p in db.session.scalars(
            select(MailPreference).where(MailPreference.user_id == user.id))},
        "mails_to_you": [{"kind": o.kind, "status": o.status, "queued_at": _iso(o.queued_at),
                          "sent_at": _iso(o.sent_at), "subject": o.subject} for o in db.session.scalars(
            select(OutboxMail).where(OutboxMail.recipient_id == user.id).order_by(OutboxMail.id))],
        "api_tokens": [{"created_at": _iso(t.created_at)} for t in db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id))],
        "operator_actions_about_you": [{"at": _iso(e.at), "action": e.action, "summary": e.summary}
                                       for e in db.session.scalars(select(AuditEntry).where(
                                           AuditEntry.subject_type == "user", AuditEntry.subject_id == user.id)
                                           .order_by(AuditEntry.id))],
    }
    with unit_of_work():
        audit.record(actor, "account_exported", "user", user.id, at, summary=f"user {user.id}")
    return document


# --- erasure -----------------------------------------------------------------------------------------------

def _scrub(value, secrets: set[str]):
    if isinstance(value, dict):
        return {key: _scrub(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, secrets) for item in value]
    if isinstance(value, str) and any(secret and secret in value for secret in secrets):
        return ERASED
    return value


def erase_user(email: str, actor: audit.Actor, at: datetime, mail_folder: str | None = None) -> tuple[User, bool]:
    """Erase the person's personal data; (the account, whether anything was erased now: False when it
    had been already). Then wipe the freed space from the database files, forget every report
    computed today (a mentor's leaderboard row carries their email), and delete the .eml files of the
    mails about them from `mail_folder` (where mails are written with no mail server)."""
    user = _person(email)
    if user.erased_at is not None:
        return user, False
    sqlite = db.engine.dialect.name == "sqlite"
    with unit_of_work():
        if sqlite:  # this connection overwrites what it frees with zeros, for this erasure
            secure_before = db.session.execute(text("PRAGMA secure_delete")).scalar()
            db.session.execute(text("PRAGMA secure_delete = ON"))
        user = db.session.scalar(select(User).where(User.id == user.id).with_for_update())
        if user.erased_at is not None:  # another erasure committed first
            return user, False
        secrets = {user.email, user.name}
        uid = user.id
        mine = select(Mentorship.id).where(Mentorship.mentee_id == uid)
        theirs = select(Mentorship.id).where(or_(Mentorship.mentee_id == uid, Mentorship.mentor_id == uid))
        run = db.session.execute
        run(update(Mentorship).where(Mentorship.mentee_id == uid).values(goal_text=""))
        run(update(CheckIn).where(or_(CheckIn.mentorship_id.in_(mine), CheckIn.logged_by_id == uid)).values(note=""))
        run(update(ExitSurvey).where(ExitSurvey.mentorship_id.in_(mine)).values(
            feedback_platform="", feedback_mentor="", feedback_other=""))
        run(update(Review).where(Review.mentorship_id.in_(mine)).values(
            text="", display_name="a mentee", naming="anonymous"))
        run(update(Review).where(Review.mentor_id == uid, Review.reply_text.is_not(None)).values(reply_text=""))
        run(update(RiskReview).where(RiskReview.mentorship_id.in_(theirs)).values(note=""))
        run(update(MentorProfile).where(MentorProfile.user_id == uid).values(
            headline="", expertise="", bio="", accepting_applications=False))
        # Mails to them, and about their mentorships to others: no address, no text; unsent ones stop.
        about = or_(OutboxMail.recipient_id == uid, OutboxMail.mentorship_id.in_(theirs))
        mail_ids = list(db.session.scalars(select(OutboxMail.id).where(about)))
        run(update(OutboxMail).where(about).values(to_address=None, subject=None, body_text=None, body_html=None,
                                                   unsubscribe_url=None))
        run(update(OutboxMail).where(about, OutboxMail.status.in_(("queued", "retrying", "sending"))).values(
            status="skipped", last_error="the person's data was erased", claimed_until=None))
        for entry in db.session.scalars(select(AuditEntry).where(or_(
                and_(AuditEntry.subject_type == "user", AuditEntry.subject_id == uid),
                and_(AuditEntry.subject_type == "mentorship", AuditEntry.subject_id.in_(theirs))))):
            entry.summary = _scrub(entry.summary, secrets)
            if entry.subject_type == "mentorship":  # an operator's note about their mentorship
                entry.after = json.dumps({"note": ""}) if entry.action == "risk_handled" else entry.after
            for column in ("before", "after"):
                value = getattr(entry, column)
                if value is not None:
                    setattr(entry, column, json.dumps(_scrub(json.loads(value), secrets), sort_keys=True))
        run(ApiToken.__table__.delete().where(ApiToken.user_id == uid))
        run(MailPreference.__table__.delete().where(MailPreference.user_id == uid))
        run(LoginFailure.__table__.delete().where(LoginFailure.key == f"account:{user.email}"))
        user.email, user.name = f"erased-{uid}@erased.invalid", "Erased person"
        user.password_hash, user.session_version = None, user.session_version + 1
        user.erased_at, user.deactivated_at = at, user.deactivated_at or at
        audit.record(actor, "account_erased", "user", uid, at, summary=f"user {uid} ({user.role})")
    if sqlite:  # as the connection was (some builds of SQLite have it on by default)
        db.session.execute(text(f"PRAGMA secure_delete = {int(secure_before)}"))
        db.session.commit()
    rollup_queries.forget_settled(shared=True)
    _wipe_old_copies()
    if mail_folder:
        for mail_id in mail_ids:
            for path in glob.glob(os.path.join(glob.escape(mail_folder), f"{mail_id:08d}-*.eml")):
                os.remove(path)
    return user, True


def _wipe_old_copies() -> None:
    """SQLite: the write-ahead log still holds the pages as they were before the erasure; a TRUNCATE
    checkpoint copies the new pages into the file and empties the log. PostgreSQL: VACUUM the touched
    tables, so the old row versions are removed and their space freed (docs/DATA-RIGHTS.md says what
    that does not wipe, and how long backups keep it)."""
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        if connection.dialect.name == "sqlite":
            for _ in range(CHECKPOINT_TRIES):  # a reader holding an old snapshot blocks it; try again
                busy, _log, _done = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
                if not busy:
                    return
                time.sleep(CHECKPOINT_WAIT_S)
            raise ErasureIncomplete("the erasure is saved, but readers kept the old pages in the write-ahead "
                                    "log; run `flask --app wsgi erase-user` again when the app is quieter")
        else:
            for table in TOUCHED:
                connection.exec_driver_sql(f"VACUUM {table}")
