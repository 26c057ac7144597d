"""The mentee's pages: the mentor directory, applying with a goal, withdrawing, cancelling."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from . import clock, queries, services
from .access import role_required, visible_mentorship_or_404
from .forms import ApplicationForm, ExitSurveyForm
from .views import form_page, show_service_error

bp = Blueprint("mentee", __name__)


@bp.get("/me")
@role_required("mentee")
def home():
    return render_template("mentee/home.html",
                           mentorships=queries.mentorships_of_mentee(current_user.id), at=clock.now())


@bp.get("/mentors")
@role_required("mentee")
def mentors():
    return render_template("mentee/mentors.html", mentors=queries.mentor_directory())


@bp.route("/mentors/<int:mentor_id>", methods=["GET", "POST"])
@role_required("mentee")
def mentor_profile(mentor_id: int):
    mentor = queries.mentor_for_directory(mentor_id)
    if mentor is None:
        abort(404)
    form = ApplicationForm()
    if form.validate_on_submit():
        try:
            mentorship = services.apply(current_user.id, mentor_id, form.goal_category.data,
                                        form.goal_text.data, form.meeting_preference.data, at=clock.now())
        except services.ServiceError as error:
            show_service_error(error, form)
        else:
            flash(f"Your application was sent to {mentor.name}. You will see their answer here.", "success")
            return redirect(url_for("mentorship.show", mentorship_id=mentorship.id))
    return form_page("mentee/mentor.html", form, mentor=mentor,
                           open_mentorship=queries.open_mentorship_between(current_user.id, mentor_id))


@bp.post("/mentorships/<int:mentorship_id>/withdraw")
@role_required("mentee")
def withdraw(mentorship_id: int):
    try:
        services.withdraw(current_user.id, mentorship_id, at=clock.now())
    except services.NotFound:
        abort(404)
    except services.ServiceError as error:
        show_service_error(error)
    else:
        flash("Your application was withdrawn.", "info")
    return redirect(url_for("mentorship.show", mentorship_id=mentorship_id))


@bp.route("/mentorships/<int:mentorship_id>/cancel", methods=["GET", "POST"])
@role_required("mentee")
def cancel(mentorship_id: int):
    mentorship = visible_mentorship_or_404(mentorship_id)
    if mentorship.mentee_id != current_user.id:
        abort(404)
    at = clock.now()
    blocker = services.cancellation_blocker(mentorship, at)
    if blocker:
        flash(blocker, "info")
        return redirect(url_for("mentorship.show", mentorship_id=mentorship_id))
    form = ExitSurveyForm()
    if form.validate_on_submit():
        try:
            services.cancel_with_survey(
                current_user.id, mentorship_id, int(form.stars.data), form.goal_reached.data,
                form.churn_reason.data, form.feedback_platform.data or "", form.feedback_mentor.data or "",
                form.feedback_other.data or "", at=at)
        except services.NotFound:
            abort(404)
        except services.Conflict as error:
            flash(error.message, "info")
            return redirect(url_for("mentorship.show", mentorship_id=mentorship_id))
        except services.ServiceError as error:
            show_service_error(error, form)
        else:
            flash("Your mentorship is cancelled. Thank you for telling us how it went.", "success")
            return redirect(url_for("mentorship.show", mentorship_id=mentorship_id))
    return form_page("mentee/cancel.html", form, mentorship=mentorship, at=at)
