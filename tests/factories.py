"""Plain functions that build users and mentorships at explicit times, straight in the database.

They return light records (ids and emails), never live ORM objects, so a test cannot lean on an
identity map that requests do not share.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from werkzeug.security import generate_password_hash

from tracker.core.extensions import db
from tracker.data.models import CancelFlow, CheckIn, ExitSurvey, MentorProfile, Mentorship, User

PASSWORD = "correct-horse-battery"
_HASH = generate_password_hash(PASSWORD)  # hashed once: scrypt is slow by design


@dataclass(frozen=True)
class U:
    id: int
    email: str
    role: str
    name: str


def user(app, role: str, email: str, name: str | None = None, accepting: bool = True) -> U:
    return users(app, [(role, email, name, accepting)])[0]


def users(app, specs) -> list[U]:
    """Several users, each given as (role, email, name, accepting), made in one transaction."""
    with app.app_context():
        made = []
        for role, email, name, accepting in specs:
            u = User(email=email, role=role, name=name or email.split("@")[0].title(), password_hash=_HASH,
                     created_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
            if role == "mentor":
                u.mentor_profile = MentorProfile(headline=f"Headline of {u.name}", expertise="Python, Careers",
                                                 bio="", accepting_applications=accepting)
            db.session.add(u)
            db.session.flush()  # one at a time: ids in the order given
            made.append(U(u.id, u.email, u.role, u.name))
        db.session.commit()
        return made


def mentorship(app, mentee: U, mentor: U, applied_at: datetime, trial_started_at: datetime | None = None,
               ended_at: datetime | None = None, end_reason: str | None = None,
               goal_category: str = "change_careers", goal_text: str = "Become a backend developer in a year.",
               survey: dict | None = None, checkins: list[tuple[datetime, int]] = (),
               meeting_preference: str | None = "video") -> int:
    if ended_at is not None and end_reason is None:
        end_reason = "cancelled" if trial_started_at else "declined"
    with app.app_context():
        m = Mentorship(mentee_id=mentee.id, mentor_id=mentor.id, goal_category=goal_category,
                       goal_text=goal_text, meeting_preference=meeting_preference, applied_at=applied_at,
                       trial_started_at=trial_started_at, ended_at=ended_at, end_reason=end_reason)
        db.session.add(m)
        db.session.flush()
        if survey is not None:
            db.session.add(ExitSurvey(mentorship_id=m.id, submitted_at=ended_at, **survey))
        for occurred_at, minutes in checkins:
            db.session.add(CheckIn(mentorship_id=m.id, occurred_at=occurred_at, mode="video", minutes=minutes,
                                   logged_by_id=mentor.id, logged_at=occurred_at))
        db.session.commit()
        return m.id


def get(app, model, id_):
    """A fresh copy of one row, read in its own app context."""
    with app.app_context():
        obj = db.session.get(model, id_)
        if obj is not None:
            db.session.expunge(obj)
        return obj


def count(app, model, **where) -> int:
    with app.app_context():
        return db.session.query(model).filter_by(**where).count()


@dataclass
class World:
    """An operator, two mentees and two mentors. `mentee` and `mentor` own what the helpers make."""

    app: object
    at: datetime
    operator: U
    mentee: U
    other_mentee: U
    mentor: U
    other_mentor: U

    @classmethod
    def build(cls, app, at: datetime):
        return cls(app, at, *users(app, [("operator", "op@example.com", "Olive Operator", True),
                                         ("mentee", "mentee@example.com", "Mia Mentee", True),
                                         ("mentee", "other.mentee@example.com", "Otto Mentee", True),
                                         ("mentor", "mentor@example.com", "Max Mentor", True),
                                         ("mentor", "other.mentor@example.com", "Nora Mentor", True)]))

    def pending(self) -> int:
        """An application made an hour ago, not yet answered."""
        return mentorship(self.app, self.mentee, self.mentor, applied_at=self.at - timedelta(hours=1))

    def in_trial(self, days_in: float = 2) -> int:
        """A trial that started `days_in` days ago."""
        started = self.at - timedelta(days=days_in)
        return mentorship(self.app, self.mentee, self.mentor, applied_at=started - timedelta(days=1),
                          trial_started_at=started)

    def flow(self, reason: str = "too_expensive", offer: str = "plan_reminder", days_in: float = 20) -> tuple[int, int]:
        """(mentorship id, cancel flow id): the mentee set out to cancel a paid mentorship just now and
        is being shown `offer`."""
        mid = self.in_trial(days_in=days_in)
        with self.app.app_context():
            flow = CancelFlow(mentorship_id=mid, reason=reason, started_at=self.at, offer=offer,
                              offer_shown_at=self.at if offer != "none" else None)
            db.session.add(flow)
            db.session.commit()
            return mid, flow.id

    def survey(self) -> int:
        """The id of the exit survey of a cancelled mentorship."""
        mid = self.cancelled()
        with self.app.app_context():
            return db.session.query(ExitSurvey.id).filter_by(mentorship_id=mid).scalar()

    def review(self) -> int:
        """The id of the mentee's public review (4 stars, written yesterday) of a cancelled mentorship."""
        mid = self.cancelled()
        with self.app.app_context():
            from tracker import services
            return services.write_review(self.mentee.id, mid, 4, "Clear plans and honest feedback.", "initial",
                                         True, at=self.at - timedelta(days=1)).id

    def experiment(self, reason: str = "no_time", offer_a: str = "pause", offer_b: str = "none",
                   share_b: int = 50) -> int:
        """The id of a running offer experiment, started an hour ago by the operator."""
        with self.app.app_context():
            from tracker import services
            from tracker.services.audit import Actor
            plan = services.ExperimentPlan(name=f"{offer_a} or {offer_b}", reason=reason, offer_a=offer_a,
                                           offer_b=offer_b, share_b=share_b, baseline_percent=30,
                                           minimum_effect_points=10)
            actor = Actor.operator(self.operator.id, self.operator.email)
            return services.start_experiment(actor, plan, at=self.at - timedelta(hours=1)).id

    def cancelled(self) -> int:
        started = self.at - timedelta(days=60)
        return mentorship(self.app, self.mentee, self.mentor, applied_at=started - timedelta(days=1),
                          trial_started_at=started, ended_at=self.at - timedelta(days=5),
                          survey=dict(stars=4, goal_reached="yes", churn_reason="goal_reached",
                                      feedback_mentor="Private words for the platform"))
