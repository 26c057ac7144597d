"""The marketplace front's reads: the mentor directory (search, filters, sort, pages), a mentor's public
summary and reviews, the reviews operators moderate, and the review bias on the ratings page.

Public ratings come from mentor_review_stats (one row per mentor, kept by services/reviews.py), the
goal-reached share from the rollup of exit surveys per mentor: a page reads neither the reviews of
every mentor nor the mentorships.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import Float, and_, exists, func, literal, or_, select, union
from sqlalchemy.orm import joinedload

from tracker.core.extensions import db
from tracker.data import rollups
from tracker.data.models import ExitSurvey, MentorProfile, MentorReviewStats, Mentorship, Review, User
from tracker.domain import reviews as rules
from tracker.domain.vocabulary import STARS_MAX, STARS_MIN
from tracker.reports import metrics

PAGE_SIZE = 24
SORTS = ("rating", "newest", "name")


@dataclass
class DirectoryEntry:
    mentor: User
    rating: metrics.PublicRating


@dataclass
class DirectoryPage:
    entries: list[DirectoryEntry]
    total: int
    page: int
    pages: int


def platform_public_mean() -> float | None:
    """The mean stars of every visible public review: the prior the Bayesian means shrink towards."""
    n, star_sum = db.session.execute(select(func.coalesce(func.sum(MentorReviewStats.n), 0),
                                            func.coalesce(func.sum(MentorReviewStats.star_sum), 0))).one()
    return star_sum / n if n else None


def _rating(stats: MentorReviewStats | None, prior: float | None) -> metrics.PublicRating:
    counts = {n: getattr(stats, f"stars_{n}") if stats else 0 for n in range(STARS_MIN, STARS_MAX + 1)}
    return metrics.public_rating(counts, prior, rules.SHOWN_FROM)


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _tags_column():
    """The profile's expertise as ",tag one,tag two," (lower case, no spaces around commas)."""
    column = func.lower(MentorProfile.expertise)
    return "," + func.replace(func.replace(column, ", ", ","), " ,", ",") + ","


def normalise_tag(tag: str) -> str:
    return tag.strip().lower()


def directory_page(q: str | None, expertise: str | None, goal_category: str | None, sort: str,
                   page: int) -> DirectoryPage:
    """Accepting mentors matching the search, PAGE_SIZE a page. `sort`: rating (the Bayesian-shrunk
    public rating, then how many reviews, then name), newest or name."""
    conditions = [User.role == "mentor", MentorProfile.accepting_applications.is_(True), User.deactivated_at.is_(None)]
    if q:
        pattern = _like(q)
        conditions.append(or_(*(func.lower(column).like(pattern, escape="\\") for column in
                                (User.name, MentorProfile.headline, MentorProfile.expertise))))
    if expertise:
        conditions.append(_tags_column().like(_like("," + normalise_tag(expertise) + ","), escape="\\"))
    if goal_category:
        conditions.append(exists().where(Mentorship.mentor_id == User.id, Mentorship.goal_category == goal_category,
                                         Mentorship.trial_started_at.is_not(None)))
    base = select(User.id).join(MentorProfile, MentorProfile.user_id == User.id).where(*conditions)
    total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(page, 1), pages)
    prior = platform_public_mean()
    n = func.coalesce(MentorReviewStats.n, 0)
    if sort == "newest":
        order = (User.created_at.desc(), User.id.desc())
    elif sort == "name":
        order = (func.lower(User.name), User.id)
    else:
        shrunk = (literal(metrics.BAYES_C * (prior or 0.0), Float) + func.coalesce(MentorReviewStats.star_sum, 0)) \
            / (literal(float(metrics.BAYES_C), Float) + n)
        order = (shrunk.desc(), n.desc(), func.lower(User.name), User.id)
    rows = db.session.execute(
        select(User, MentorReviewStats).join(MentorProfile, MentorProfile.user_id == User.id)
        .outerjoin(MentorReviewStats, MentorReviewStats.mentor_id == User.id)
        .options(joinedload(User.mentor_profile))
        .where(*conditions).order_by(*order).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return DirectoryPage([DirectoryEntry(user, _rating(stats, prior)) for user, stats in rows], total, page, pages)


def expertise_tags() -> list[str]:
    """Every expertise tag of an accepting mentor, as first written, sorted without regard to case."""
    found: dict[str, str] = {}
    for text in db.session.scalars(select(MentorProfile.expertise).join(User, User.id == MentorProfile.user_id)
                                   .where(User.role == "mentor", MentorProfile.accepting_applications.is_(True),
                                          User.deactivated_at.is_(None))):
        for tag in text.split(","):
            if tag.strip():
                found.setdefault(normalise_tag(tag), tag.strip())
    return sorted(found.values(), key=str.lower)


# --- one mentor's public profile --------------------------------------------------------------------

def public_rating(mentor_id: int) -> metrics.PublicRating:
    return _rating(db.session.get(MentorReviewStats, mentor_id), platform_public_mean())


def goal_reached_share(mentor_id: int) -> metrics.Rate:
    """Exit surveys about this mentor that say the goal was reached, of all of them (all time)."""
    table = rollups.mentor_surveys
    n, yes = db.session.execute(select(func.coalesce(func.sum(table.c.n), 0),
                                       func.coalesce(func.sum(table.c.goal_yes), 0))
                                .where(table.c.mentor_id == mentor_id)).one()
    return metrics.wilson(int(yes), int(n))


@dataclass
class ReviewPage:
    reviews: list[Review]
    total: int
    page: int
    pages: int


def public_reviews(mentor_id: int, page: int) -> ReviewPage:
    visible = and_(Review.mentor_id == mentor_id, Review.hidden_at.is_(None))
    total = db.session.scalar(select(func.count()).select_from(Review).where(visible)) or 0
    pages = max(1, math.ceil(total / rules.PAGE_SIZE))
    page = min(max(page, 1), pages)
    reviews = list(db.session.scalars(select(Review).where(visible).order_by(Review.created_at.desc(), Review.id.desc())
                                      .limit(rules.PAGE_SIZE).offset((page - 1) * rules.PAGE_SIZE)))
    return ReviewPage(reviews, total, page, pages)


def review_of_mentorship(mentorship_id: int) -> Review | None:
    return db.session.scalar(select(Review).where(Review.mentorship_id == mentorship_id))


def review_by_id(review_id: int) -> Review | None:
    return db.session.get(Review, review_id)


# --- operators ---------------------------------------------------------------------------------------

def reviews_for_moderation(state: str | None, page: int) -> ReviewPage:
    """Newest first; state "hidden" (the review or its reply hidden), "visible", or None for all."""
    query = select(Review)
    if state == "hidden":  # two index lookups: the hidden reviews and the hidden replies
        query = query.where(Review.id.in_(union(select(Review.id).where(Review.hidden_at.is_not(None)),
                                                select(Review.id).where(Review.reply_hidden_at.is_not(None)))))
    elif state == "visible":
        query = query.where(Review.hidden_at.is_(None))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(page, 1), pages)
    reviews = list(db.session.scalars(query.options(joinedload(Review.mentorship))
                                      .order_by(Review.created_at.desc(), Review.id.desc())
                                      .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    return ReviewPage(reviews, total, page, pages)


def review_bias_sums(scope) -> metrics.PairSums:
    """The sums behind the review bias, over every mentorship with a public review (visible now,
    written by the scope's as-of moment) and an exit survey given in the scope's window, by its
    filters: summed in the database (two covering indexes), not fetched pair by pair."""
    r, s = Review, ExitSurvey
    conditions = [r.hidden_at.is_(None), r.created_at <= scope.as_of, s.submitted_at >= scope.start,
                  s.submitted_at < scope.end, s.submitted_at <= scope.as_of]
    query = select(func.count(), func.sum(r.stars), func.sum(s.stars), func.sum(r.stars * r.stars),
                   func.sum(s.stars * s.stars), func.sum((r.stars - s.stars) * (r.stars - s.stars))) \
        .select_from(s).join(r, r.mentorship_id == s.mentorship_id)
    if scope.goal_category:
        query = query.join(Mentorship, Mentorship.id == s.mentorship_id)
        conditions.append(Mentorship.goal_category == scope.goal_category)
    if scope.mentor_id:
        conditions.append(r.mentor_id == scope.mentor_id)
    n, public, private, public_sq, private_sq, difference_sq = db.session.execute(query.where(*conditions)).one()
    return metrics.PairSums(int(n), int(public or 0), int(private or 0), int(public_sq or 0), int(private_sq or 0),
                            int(difference_sq or 0))
