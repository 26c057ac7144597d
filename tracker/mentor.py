"""The mentor's pages: applications to decide, running mentorships, the public profile."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from . import clock, queries, services
from .access import role_required
from .forms import MentorProfileForm
from .views import form_page, show_service_error

bp = Blueprint("mentor", __name__, url_prefix="/mentor")


@bp.get("/")
@role_required("mentor")
def home():
    at = clock.now()
    mentorships = queries.mentorships_of_mentor(current_user.id)
    pending = [m for m in mentorships if m.state(at).status == "pending"]
    others = [m for m in mentorships if m.state(at).status != "pending"]
    return render_template("mentor/home.html", pending=pending, others=others,
                           profile=current_user.mentor_profile, at=at)


@bp.route("/profile", methods=["GET", "POST"])
@role_required("mentor")
def profile():
    # Prefill from the saved profile only when showing it: a POST must carry every field itself.
    if request.method == "GET":
        form = MentorProfileForm(obj=current_user.mentor_profile, name=current_user.name)
    else:
        form = MentorProfileForm()
    if form.validate_on_submit():
        try:
            services.update_mentor_profile(current_user.id, form.name.data, form.headline.data,
                                           form.expertise.data or "", form.bio.data or "",
                                           form.accepting_applications.data)
        except services.ServiceError as error:
            show_service_error(error, form)
        else:
            flash("Your profile is saved.", "success")
            return redirect(url_for("mentor.profile"))
    return form_page("mentor/profile.html", form)


def _decide(mentorship_id: int, decision, done_message: str):
    try:
        decision(current_user.id, mentorship_id, at=clock.now())
    except services.NotFound:
        abort(404)
    except services.ServiceError as error:
        show_service_error(error)
    else:
        flash(done_message, "success")
    return redirect(url_for("mentorship.show", mentorship_id=mentorship_id))


@bp.post("/applications/<int:mentorship_id>/accept")
@role_required("mentor")
def accept(mentorship_id: int):
    return _decide(mentorship_id, services.accept, "Accepted: the 7-day trial starts now.")


@bp.post("/applications/<int:mentorship_id>/decline")
@role_required("mentor")
def decline(mentorship_id: int):
    return _decide(mentorship_id, services.decline, "The application was declined.")
