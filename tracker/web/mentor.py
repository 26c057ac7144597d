"""The mentor's pages: applications to decide, running mentorships, the public profile."""
from __future__ import annotations

import dataclasses
import random

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from tracker import services
from tracker.core import clock
from tracker.domain import health
from tracker.domain.lifecycle import TRIAL_LENGTH
from tracker.reports import charts, directory, metrics, queries, rollup_queries, scope
from tracker.web.access import role_required
from tracker.web.forms import MentorProfileForm, page_number
from tracker.web.pages import REFUSALS, attempt, form_page, show_service_error

bp = Blueprint("mentor", __name__, url_prefix="/mentor")


def _is_pending(mentorship, at) -> bool:
    state = mentorship.state(at)  # None: applied after `at`
    return state is not None and state.status == "pending"


@bp.get("/")
@role_required("mentor")
def home():
    at = clock.now()
    mentorships = queries.mentorships_of_mentor(current_user.id)
    pending = [m for m in mentorships if _is_pending(m, at)]
    # Running mentorships at risk come first, with the rule that flagged each.
    assessed = health.assess(queries.health_inputs(at, mentor_id=current_user.id), at)
    at_risk = [a for a in assessed if a.flags]
    flagged = {a.mentorship.id: a for a in at_risk}
    others = [m for m in mentorships if not _is_pending(m, at)]
    others.sort(key=lambda m: m.id not in flagged)
    return render_template("mentor/home.html", pending=pending, others=others, at_risk=at_risk, flagged=flagged,
                           profile=queries.mentor_profile_of(current_user.id), at=at)


@bp.route("/profile", methods=["GET", "POST"])
@role_required("mentor")
def profile():
    # Prefill from the saved profile only when showing it: a POST must carry every field itself.
    if request.method == "GET":
        form = MentorProfileForm(obj=queries.mentor_profile_of(current_user.id), name=current_user.name)
    else:
        form = MentorProfileForm()
    if form.validate_on_submit():
        try:
            services.update_mentor_profile(current_user.id, form.name.data, form.headline.data,
                                           form.expertise.data or "", form.bio.data or "",
                                           form.accepting_applications.data)
        except REFUSALS as error:
            show_service_error(error, form)
        else:
            flash("Your profile is saved.", "success")
            return redirect(url_for("mentor.profile"))
    return form_page("mentor/profile.html", form)


def _decide(mentorship_id: int, decision, done_message: str):
    if attempt(decision, current_user.id, mentorship_id, at=clock.now()):
        flash(done_message, "success")
    return redirect(url_for("mentorship.show", mentorship_id=mentorship_id))


@bp.post("/applications/<int:mentorship_id>/accept")
@role_required("mentor")
def accept(mentorship_id: int):
    return _decide(mentorship_id, services.accept, f"Accepted: the {TRIAL_LENGTH.days}-day trial starts now.")


@bp.post("/applications/<int:mentorship_id>/decline")
@role_required("mentor")
def decline(mentorship_id: int):
    return _decide(mentorship_id, services.decline, "The application was declined.")


@bp.get("/ratings")
@role_required("mentor")
def ratings():
    """The mentor's own ratings over a window they choose (all time by default), beside the platform's."""
    at = clock.now()
    wanted = MultiDict({k: request.args[k] for k in ("from", "to") if request.args.get(k)})
    asked, problem = scope.parse_or_defaults(wanted, at, queries.mentor_id_by_email,
                                             default_days=scope.all_time_days(at))
    echo = asked.echo()
    mine_counts = rollup_queries.measure(dataclasses.replace(asked.scope, mentor_id=current_user.id))
    mine = metrics.report(mine_counts, echo["as_of"], echo["window"], echo["filters"])
    platform = metrics.report(rollup_queries.measure(asked.scope), echo["as_of"], echo["window"], echo["filters"])
    ranked = next((row for row in platform["mentors"] if row["mentor"] == current_user.email), None)
    quarters = metrics.by_quarter(mine_counts)
    surveys_all_time = queries.survey_count_of_mentor(current_user.id, at)
    texts, feedback_visible = [], metrics.feedback_visible(surveys_all_time)
    if feedback_visible:
        texts = queries.mentor_feedback_for_mentor(current_user.id, at)
        random.shuffle(texts)
    return render_template(
        "mentor/ratings.html", asked=asked, problem=problem, mine=mine, platform=platform, ranked=ranked,
        better_than=metrics.better_than_share(platform["mentors"], current_user.email),
        mentors_ranked=len(platform["mentors"]), quarters=quarters, texts=texts,
        surveys=metrics.survey_count(mine), surveys_all_time=surveys_all_time, feedback_visible=feedback_visible,
        feedback_min=metrics.FEEDBACK_MIN_SURVEYS,
        figures={"stars": charts.star_distribution(mine), "trend": charts.quarterly_success(quarters)},
        public=directory.public_rating(current_user.id),
        reviews=directory.public_reviews(current_user.id, page_number(request.args.get("page", "1"))),
    ), (400 if problem else 200)
