"""The mentorship page both sides share (and operators can read): state, check-ins, the ending."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from . import clock, lifecycle, services
from .access import role_required, visible_mentorship_or_404
from .forms import CheckInForm
from .views import show_service_error

bp = Blueprint("mentorship", __name__, url_prefix="/mentorships")


def _render(mentorship, form: CheckInForm, at):
    state = mentorship.state(at)
    activity = []
    if mentorship.trial_started_at is not None and state is not None and state.status in ("trial", "paid", "ended"):
        last = mentorship.ended_at if state.status == "ended" else at
        activity = lifecycle.activity_by_period(
            mentorship.trial_started_at, last, [(c.occurred_at, c.minutes) for c in mentorship.checkins])
    is_party = current_user.id in (mentorship.mentee_id, mentorship.mentor_id)
    return render_template(
        "mentorship/show.html", mentorship=mentorship, state=state, at=at, activity=activity, form=form,
        can_log=is_party and state.is_running,
        # The exit survey is the mentee's word to the platform: the mentor never sees it here.
        show_survey=current_user.role == "operator" or current_user.id == mentorship.mentee_id)


@bp.get("/<int:mentorship_id>")
@role_required("mentee", "mentor", "operator")
def show(mentorship_id: int):
    mentorship = visible_mentorship_or_404(mentorship_id)
    at = clock.now()
    form = CheckInForm(occurred_at=at.replace(second=0), minutes=30)
    return _render(mentorship, form, at)


@bp.post("/<int:mentorship_id>/checkins")
@role_required("mentee", "mentor")
def log_checkin(mentorship_id: int):
    mentorship = visible_mentorship_or_404(mentorship_id)
    at = clock.now()
    form = CheckInForm()
    if form.validate_on_submit():
        try:
            services.log_checkin(current_user.id, mentorship_id, form.occurred_at.data, form.mode.data,
                                 form.minutes.data, form.note.data or "", at=at)
        except services.NotFound:
            abort(404)
        except services.ServiceError as error:
            show_service_error(error, form)
        else:
            flash("Check-in logged.", "success")
            return redirect(url_for("mentorship.show", mentorship_id=mentorship_id) + "#checkins")
    return _render(mentorship, form, at), 400
