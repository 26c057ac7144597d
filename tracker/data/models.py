"""Tables, constraints and relationships. Models never commit; services do."""
from __future__ import annotations

import math
from datetime import datetime, timezone

from flask_login import UserMixin
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from tracker.core import clock
from tracker.core.extensions import db
from tracker.domain import accounts
from tracker.domain.accounts import ROLES
from tracker.domain.lifecycle import CHECKIN_MINUTES_MAX, CHECKIN_MINUTES_MIN, END_REASONS, state_as_of
from tracker.domain.notifications import MAIL_KINDS
from tracker.domain.notifications import STATUSES as MAIL_STATUSES
from tracker.domain.reviews import ACTIONS, MODERATION_REASONS, NAMINGS, TARGETS
from tracker.domain.vocabulary import (
    CHECKIN_MODES,
    CHURN_REASONS,
    GOAL_CATEGORIES,
    GOAL_REACHED,
    MEETING_PREFERENCES,
    OFFERS,
    PROGRESS_MAX,
    PROGRESS_MIN,
    STARS_MAX,
    STARS_MIN,
    USEFULNESS_MAX,
    USEFULNESS_MIN,
)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in Python, stored as whole seconds since 1970-01-01 UTC.

    Integers make every duration an exact subtraction in SQL on both engines (docs/METRICS.md works
    to the second), with no engine-specific date functions and no time-zone ambiguity.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return math.floor(value.timestamp())

    def process_result_value(self, value, dialect):
        return None if value is None else datetime.fromtimestamp(value, tz=timezone.utc)


def one_of(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(one_of("role", ROLES), name="role"),
        # Operators find people by the start of an email or a name (reports/admin_queries.py): prefix
        # searches served by these (text_pattern_ops: LIKE 'abc%' on PostgreSQL whatever its collation).
        Index("ix_users_email_prefix", "email", postgresql_ops={"email": "text_pattern_ops"}),
        Index("ix_users_search_name", "search_name", postgresql_ops={"search_name": "text_pattern_ops"}),
        Index("ix_users_role_id", "role", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(accounts.NAME_MAX))
    # The name in lower case, kept with it (see `_keep_search_name`): what the operators' search reads.
    search_name: Mapped[str] = mapped_column(String(accounts.NAME_MAX), default="", server_default="")
    role: Mapped[str] = mapped_column(String(10))
    # None: the account exists (e.g. imported) but cannot log in until a password is set.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Bumped at logout and password change: every session cookie issued before stops working.
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # An operator closed the account: no login, no session, no mail, out of the directory.
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The person's data was erased at their request (services/data_rights.py); the row stays for the numbers.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    mentor_profile: Mapped[MentorProfile | None] = relationship(back_populates="user", uselist=False)

    def get_id(self) -> str:
        return accounts.session_id(self.id, self.session_version)

    @property
    def can_log_in(self) -> bool:
        return accounts.can_log_in(self.password_hash is not None, self.deactivated_at)

    @validates("name")
    def _keep_search_name(self, _key, name: str) -> str:
        self.search_name = accounts.search_name(name)
        return name


class MentorProfile(db.Model):
    __tablename__ = "mentor_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    headline: Mapped[str] = mapped_column(String(120), default="", server_default="")
    expertise: Mapped[str] = mapped_column(String(300), default="", server_default="")
    bio: Mapped[str] = mapped_column(Text, default="", server_default="")
    accepting_applications: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))

    user: Mapped[User] = relationship(back_populates="mentor_profile")

    @property
    def expertise_list(self) -> list[str]:
        return [part.strip() for part in self.expertise.split(",") if part.strip()]


class Mentorship(db.Model):
    """One mentee with one mentor, from the application on. Its state derives from the timestamps."""

    __tablename__ = "mentorships"
    __table_args__ = (
        CheckConstraint(one_of("goal_category", GOAL_CATEGORIES), name="goal_category"),
        CheckConstraint(one_of("meeting_preference", MEETING_PREFERENCES), name="meeting_preference"),
        CheckConstraint(one_of("end_reason", END_REASONS), name="end_reason"),
        CheckConstraint("(ended_at IS NULL) = (end_reason IS NULL)", name="ended_has_reason"),
        CheckConstraint("trial_started_at IS NULL OR trial_started_at >= applied_at", name="trial_after_applied"),
        CheckConstraint("ended_at IS NULL OR ended_at >= applied_at", name="ended_after_applied"),
        CheckConstraint("ended_at IS NULL OR trial_started_at IS NULL OR ended_at >= trial_started_at",
                        name="ended_after_trial"),
        CheckConstraint("mentee_id <> mentor_id", name="two_people"),
        # One open application or mentorship per mentee and mentor at a time.
        Index("uq_mentorships_open_pair", "mentee_id", "mentor_id", unique=True,
              sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL")),
        Index("ix_mentorships_mentor_id_trial_started_at", "mentor_id", "trial_started_at"),
        Index("ix_mentorships_mentee_id", "mentee_id"),
        # The directory's "helped with this goal category" filter: one index probe per mentor.
        Index("ix_mentorships_mentor_category", "mentor_id", "goal_category", "trial_started_at"),
        # Covering indexes: each metrics query reads only its index, never the rows (with their
        # long goal texts). One per window column the metrics select on (docs/PERFORMANCE.md).
        Index("ix_mentorships_applied_cover", "applied_at", "trial_started_at", "ended_at", "goal_category",
              "mentor_id"),
        Index("ix_mentorships_trial_cover", "trial_started_at", "ended_at", "goal_category", "mentor_id"),
        Index("ix_mentorships_ended_cover", "ended_at", "trial_started_at", "goal_category", "mentor_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The id in the system it was imported from, if any.
    ref: Mapped[str | None] = mapped_column(String(100), unique=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    goal_category: Mapped[str] = mapped_column(String(20))
    goal_text: Mapped[str] = mapped_column(Text)
    meeting_preference: Mapped[str | None] = mapped_column(String(10))
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime)
    trial_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(10))
    # Why an application was closed when it was not the mentor's own decision (the mentor's account was
    # closed, say); shown to the mentee.
    end_note: Mapped[str | None] = mapped_column(Text)

    mentee: Mapped[User] = relationship(foreign_keys=[mentee_id])
    mentor: Mapped[User] = relationship(foreign_keys=[mentor_id])
    checkins: Mapped[list[CheckIn]] = relationship(back_populates="mentorship",
                                                   order_by="CheckIn.occurred_at")
    exit_survey: Mapped[ExitSurvey | None] = relationship(back_populates="mentorship", uselist=False)
    # Loaded with the mentorship (one extra query per list), since every state needs them.
    pauses: Mapped[list[Pause]] = relationship(back_populates="mentorship", order_by="Pause.starts_at",
                                               lazy="selectin", foreign_keys="Pause.mentorship_id")
    pulses: Mapped[list[Pulse]] = relationship(back_populates="mentorship", order_by="Pulse.period")

    def state(self, at: datetime):
        return state_as_of(self.applied_at, self.trial_started_at, self.ended_at, at,
                           [(p.starts_at, p.ends_at) for p in self.pauses])


class CheckIn(db.Model):
    __tablename__ = "checkins"
    __table_args__ = (
        CheckConstraint(one_of("mode", CHECKIN_MODES), name="mode"),
        CheckConstraint(f"minutes BETWEEN {CHECKIN_MINUTES_MIN} AND {CHECKIN_MINUTES_MAX}", name="minutes"),
        Index("ix_checkins_mentorship_id_occurred_at", "mentorship_id", "occurred_at"),
        # The at-risk page reads the check-ins of the day (and of 14 days before) raw (reports/rollup_queries.py).
        Index("ix_checkins_occurred_at", "occurred_at"),
        Index("ix_checkins_logged_at", "logged_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mentorship_id: Mapped[int] = mapped_column(ForeignKey("mentorships.id", ondelete="CASCADE"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    mode: Mapped[str] = mapped_column(String(10))
    minutes: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    # None for check-ins imported from another system.
    logged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    logged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    mentorship: Mapped[Mentorship] = relationship(back_populates="checkins")
    logged_by: Mapped[User | None] = relationship()


class ExitSurvey(db.Model):
    """The cancellation's exit survey: at most one per mentorship, enforced by the database."""

    __tablename__ = "exit_surveys"
    __table_args__ = (
        CheckConstraint(f"stars BETWEEN {STARS_MIN} AND {STARS_MAX}", name="stars"),
        CheckConstraint(one_of("goal_reached", GOAL_REACHED), name="goal_reached"),
        CheckConstraint(one_of("churn_reason", CHURN_REASONS), name="churn_reason"),
        Index("ix_exit_surveys_metrics_cover", "mentorship_id", "submitted_at", "churn_reason", "goal_reached",
              "stars"),
        # The fast read path reads the surveys given on the as-of day raw (reports/rollup_queries.py).
        Index("ix_exit_surveys_submitted_at", "submitted_at"),
        # The review bias reads the window's surveys and their stars from this index only.
        Index("ix_exit_surveys_submitted_cover", "submitted_at", "mentorship_id", "stars"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mentorship_id: Mapped[int] = mapped_column(ForeignKey("mentorships.id", ondelete="CASCADE"), unique=True)
    stars: Mapped[int] = mapped_column(Integer)
    goal_reached: Mapped[str] = mapped_column(String(10))
    churn_reason: Mapped[str] = mapped_column(String(30))
    feedback_platform: Mapped[str] = mapped_column(Text, default="", server_default="")
    feedback_mentor: Mapped[str] = mapped_column(Text, default="", server_default="")
    feedback_other: Mapped[str] = mapped_column(Text, default="", server_default="")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # An operator can hide the "mentor could do better" text from the mentor (abusive, identifying).
    # It stays here and in operator exports; hidden_reason says why.
    mentor_feedback_hidden_reason: Mapped[str | None] = mapped_column(Text)
    mentor_feedback_hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mentor_feedback_hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    mentorship: Mapped[Mentorship] = relationship(back_populates="exit_survey")


class CancelFlow(db.Model):
    """One time a mentee set out to cancel: the reason they gave first, the offer shown for it, and
    how it came out. The outcome (accepted, cancelled, abandoned, open) derives from the timestamps
    (lifecycle.flow_outcome)."""

    __tablename__ = "cancel_flows"
    __table_args__ = (
        CheckConstraint(one_of("reason", CHURN_REASONS), name="reason"),
        CheckConstraint(one_of("offer", OFFERS), name="offer"),
        CheckConstraint("(offer = 'none') = (offer_shown_at IS NULL)", name="shown_has_offer"),
        CheckConstraint("offer_accepted_at IS NULL OR offer_declined_at IS NULL", name="accepted_or_declined"),
        CheckConstraint("offer_accepted_at IS NULL OR cancelled_at IS NULL", name="saved_or_cancelled"),
        CheckConstraint("(offer_accepted_at IS NULL) = (kept_mentorship_id IS NULL)", name="accepted_keeps"),
        Index("ix_cancel_flows_started_at", "started_at", "reason"),
        Index("ix_cancel_flows_mentorship_id", "mentorship_id"),
        # The saves page reads the flows whose timestamps fall on the as-of day (reports/rollup_queries.py).
        *(Index(f"ix_cancel_flows_{column}", column) for column in
          ("offer_shown_at", "offer_accepted_at", "offer_declined_at", "cancelled_at", "superseded_at")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mentorship_id: Mapped[int] = mapped_column(ForeignKey("mentorships.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(30))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    offer: Mapped[str] = mapped_column(String(20))
    offer_shown_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    offer_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    offer_declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The exit survey was sent from this flow (the mentorship ended).
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The mentee went back and began again: a later flow of theirs counts instead of this one.
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the accepted offer kept going: the same mentorship, or for a switch, the new one.
    kept_mentorship_id: Mapped[int | None] = mapped_column(ForeignKey("mentorships.id"))

    mentorship: Mapped[Mentorship] = relationship(foreign_keys=[mentorship_id])
    kept_mentorship: Mapped[Mentorship | None] = relationship(foreign_keys=[kept_mentorship_id])
    assignment: Mapped[OfferAssignment | None] = relationship(back_populates="flow", uselist=False)


class Pause(db.Model):
    """A pause of a paid mentorship, [starts_at, ends_at). It resumes by itself at ends_at; resuming
    early moves ends_at to that moment."""

    __tablename__ = "pauses"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_pauses_mentorship_id_starts_at", "mentorship_id", "starts_at", "ends_at"),
        Index("ix_pauses_starts_at", "starts_at"),
        Index("ix_pauses_ends_at", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mentorship_id: Mapped[int] = mapped_column(ForeignKey("mentorships.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cancel_flow_id: Mapped[int | None] = mapped_column(ForeignKey("cancel_flows.id"))

    mentorship: Mapped[Mentorship] = relationship(back_populates="pauses", foreign_keys=[mentorship_id])


class OfferSetting(db.Model):
    """Which offer an operator chose for one churn reason; a reason with no row uses the default."""

    __tablename__ = "offer_settings"
    __table_args__ = (
        CheckConstraint(one_of("reason", CHURN_REASONS), name="reason"),
        CheckConstraint(one_of("offer", OFFERS), name="offer"),
    )

    reason: Mapped[str] = mapped_column(String(30), primary_key=True)
    offer: Mapped[str] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class OfferExperiment(db.Model):
    """An operator's test of two offers (or an offer against none, the holdout) for one churn reason:
    each new cancel flow for that reason is assigned arm A or B at random, `share_b` percent to B, and
    shows its arm's offer. The plan (baseline, minimum effect, the sizes they call for) is kept with it.
    Ending it stops the assignment; its flows keep their arm, so its results stay."""

    __tablename__ = "offer_experiments"
    __table_args__ = (
        CheckConstraint(one_of("reason", CHURN_REASONS), name="reason"),
        CheckConstraint(one_of("offer_a", OFFERS), name="offer_a"),
        CheckConstraint(one_of("offer_b", OFFERS), name="offer_b"),
        CheckConstraint("offer_a <> offer_b", name="two_offers"),
        CheckConstraint("share_b BETWEEN 1 AND 99", name="share_b"),
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ended_after_start"),
        # At most one experiment runs for a reason at a time.
        Index("uq_offer_experiments_running_reason", "reason", unique=True,
              sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(String(30))
    offer_a: Mapped[str] = mapped_column(String(20))
    offer_b: Mapped[str] = mapped_column(String(20))
    share_b: Mapped[int] = mapped_column(Integer)
    # The plan: arm A's expected rate of saves that lasted, the smallest difference worth finding
    # (both in percent), and the flows per arm they call for (reports/metrics.planned_sample_size).
    baseline_percent: Mapped[float] = mapped_column(Float)
    minimum_effect_points: Mapped[float] = mapped_column(Float)
    planned_a: Mapped[int] = mapped_column(Integer)
    planned_b: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    def offer_of(self, arm: str) -> str:
        return self.offer_a if arm == "a" else self.offer_b


class OfferAssignment(db.Model):
    """The arm of an offer experiment a cancel flow was given, recorded with the flow. A flow outside
    any experiment has no row. (Its own table rather than columns of cancel_flows, so that adding or
    removing experiments never rebuilds cancel_flows, which other tables refer to.)"""

    __tablename__ = "offer_assignments"
    __table_args__ = (
        CheckConstraint("arm IN ('a', 'b')", name="arm"),
        # An experiment's results read its flows (reports/experiments.py).
        Index("ix_offer_assignments_experiment_id", "experiment_id", "cancel_flow_id"),
    )

    cancel_flow_id: Mapped[int] = mapped_column(ForeignKey("cancel_flows.id", ondelete="CASCADE"), primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("offer_experiments.id"))
    arm: Mapped[str] = mapped_column(String(1))

    flow: Mapped[CancelFlow] = relationship(back_populates="assignment")


class Pulse(db.Model):
    """The mentee's answer to one period's pulse (0 = the trial, k = paid month k). Both answers
    are optional: a pulse with neither is a skip, so the question is not asked again."""

    __tablename__ = "pulses"
    __table_args__ = (
        CheckConstraint("period >= 0", name="period"),
        CheckConstraint(f"progress IS NULL OR progress BETWEEN {PROGRESS_MIN} AND {PROGRESS_MAX}", name="progress"),
        CheckConstraint(f"usefulness IS NULL OR usefulness BETWEEN {USEFULNESS_MIN} AND {USEFULNESS_MAX}",
                        name="usefulness"),
        Index("uq_pulses_mentorship_id_period", "mentorship_id", "period", unique=True),
        Index("ix_pulses_submitted_at", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mentorship_id: Mapped[int] = mapped_column(ForeignKey("mentorships.id", ondelete="CASCADE"))
    period: Mapped[int] = mapped_column(Integer)
    progress: Mapped[int | None] = mapped_column(Integer)
    usefulness: Mapped[int | None] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)

    mentorship: Mapped[Mentorship] = relationship(back_populates="pulses")


class RiskReview(db.Model):
    """An operator marked a mentorship's at-risk flags as handled: flags raised up to handled_at."""

    __tablename__ = "risk_reviews"
    __table_args__ = (Index("ix_risk_reviews_mentorship_id_handled_at", "mentorship_id", "handled_at"),
                      Index("ix_risk_reviews_handled_at", "handled_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    mentorship_id: Mapped[int] = mapped_column(ForeignKey("mentorships.id", ondelete="CASCADE"))
    handled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="", server_default="")

    handled_by: Mapped[User | None] = relationship()


class ApiToken(db.Model):
    """A bearer token for the JSON API. Only a SHA-256 of the token is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class LoginFailure(db.Model):
    """One failed login, counted per account and per address by throttle.py (the database backend)."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300))  # "account:<email>" or "address:<ip>"
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxMail(db.Model):
    """One mail that must be sent: written in the same transaction as what causes it (or by the
    schedule, once per key), then claimed, sent and marked by a sender (tracker/mail/sender.py).

    The subject and bodies are rendered at the first attempt and kept, so a retry sends the same
    mail with the same Message-ID."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(one_of("kind", MAIL_KINDS), name="kind"),
        CheckConstraint(one_of("status", MAIL_STATUSES), name="status"),
        # What the senders look for: the mails due now.
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_outbox_recipient_id", "recipient_id"),
        Index("ix_outbox_mentorship_id", "mentorship_id"),
        # The schedule's "not queued yet" test for an unfinished cancel flow (mail/schedule.py).
        Index("ix_outbox_cancel_flow_id", "cancel_flow_id"),
        Index("ix_outbox_queued_at", "queued_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # kind:subject[:period], e.g. "pulse_open:m12:p2": the same mail is never queued twice.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # What the mail is about (whichever applies); the period is the pulse's, the label a month or week.
    mentorship_id: Mapped[int | None] = mapped_column(ForeignKey("mentorships.id", ondelete="CASCADE"))
    cancel_flow_id: Mapped[int | None] = mapped_column(ForeignKey("cancel_flows.id", ondelete="CASCADE"))
    period: Mapped[int | None] = mapped_column(Integer)
    label: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), default="queued", server_default="queued")
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_id: Mapped[str | None] = mapped_column(String(255))
    to_address: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(300))
    body_text: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    unsubscribe_url: Mapped[str | None] = mapped_column(Text)

    recipient: Mapped[User] = relationship()


class MailPreference(db.Model):
    """A kind of mail a person turned off (or on again). No row: the kind is on."""

    __tablename__ = "mail_preferences"
    __table_args__ = (CheckConstraint(one_of("kind", MAIL_KINDS), name="kind"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UsedLink(db.Model):
    """A single-use signed link that has been used (tracker/security/links.py)."""

    __tablename__ = "used_links"

    link_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Review(db.Model):
    """A mentee's public review of a mentorship, apart from the private exit survey; at most one per
    mentorship. The mentor may reply once. Operators may hide either, for a content-policy reason."""

    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint(f"stars BETWEEN {STARS_MIN} AND {STARS_MAX}", name="stars"),
        CheckConstraint(one_of("naming", NAMINGS), name="naming"),
        CheckConstraint(one_of("hidden_reason", MODERATION_REASONS), name="hidden_reason"),
        CheckConstraint(one_of("reply_hidden_reason", MODERATION_REASONS), name="reply_hidden_reason"),
        CheckConstraint("(hidden_at IS NULL) = (hidden_reason IS NULL)", name="hidden_has_reason"),
        # A mentor's profile lists the visible ones, newest first; operators list the hidden ones.
        Index("ix_reviews_mentor_id_created_at", "mentor_id", "created_at"),
        Index("ix_reviews_hidden_at", "hidden_at"),
        # The review bias joins the window's surveys to their reviews, reading this index only.
        Index("ix_reviews_bias_cover", "mentorship_id", "hidden_at", "created_at", "stars"),
        Index("ix_reviews_reply_hidden_at", "reply_hidden_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mentorship_id: Mapped[int] = mapped_column(ForeignKey("mentorships.id", ondelete="CASCADE"), unique=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    stars: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    naming: Mapped[str] = mapped_column(String(10))
    # How the author is shown, fixed when written ("Mia M." or "a mentee").
    display_name: Mapped[str] = mapped_column(String(110))
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_reason: Mapped[str | None] = mapped_column(String(20))
    reply_text: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reply_hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reply_hidden_reason: Mapped[str | None] = mapped_column(String(20))

    mentorship: Mapped[Mentorship] = relationship()
    moderations: Mapped[list[ReviewModeration]] = relationship(order_by="ReviewModeration.id",
                                                               viewonly=True)

    @property
    def visible(self) -> bool:
        return self.hidden_at is None


class ReviewModeration(db.Model):
    """Every hide and show of a review or a reply: who, when, which, why."""

    __tablename__ = "review_moderations"
    __table_args__ = (
        CheckConstraint(one_of("target", TARGETS), name="target"),
        CheckConstraint(one_of("action", ACTIONS), name="action"),
        CheckConstraint(one_of("reason", MODERATION_REASONS), name="reason"),
        Index("ix_review_moderations_review_id", "review_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(10))
    action: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(20))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    operator: Mapped[User | None] = relationship()


class MentorReviewStats(db.Model):
    """Derived: each mentor's visible public reviews, counted by stars. Kept by services/reviews.py in
    the same transaction as every write that changes it (atomic upserts); `rollups rebuild` and
    `rollups verify` rebuild and check it from the reviews."""

    __tablename__ = "mentor_review_stats"

    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    star_sum: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    stars_1: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    stars_2: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    stars_3: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    stars_4: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    stars_5: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class AuditEntry(db.Model):
    """One operator action, by a person on a page or by a command: who, when, what, and the values
    before and after (JSON). Written in the same transaction as the action; nothing changes or deletes
    an entry, except that an erasure removes the erased person's data from the entries about them."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_action_at", "action", "at"),
        Index("ix_audit_log_subject", "subject_type", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # "op@example.com" for a person, "command erase-user" for a command.
    actor: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(40))
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text, default="", server_default="")
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)


class ThemeRun(db.Model):
    """One computation of the themes in the written feedback (services/themes.py): the themes, their
    shares by month and by churn reason, and example quotes, as one JSON document. The page shows the
    latest; older runs stay, so a change of themes can be looked back on."""

    __tablename__ = "theme_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    themes_asked: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    texts: Mapped[int] = mapped_column(Integer)
    document: Mapped[str] = mapped_column(Text)
