"""The mentorship page both sides share (and operators can read): state, check-ins, the ending."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from tracker import services
from tracker.core import clock
from tracker.domain import lifecycle
from tracker.domain import reviews as review_rules
from tracker.reports import charts, directory, queries
from tracker.web import presenters
from tracker.web.access import own_mentorship_or_404, role_required, visible_mentorship_or_404
from tracker.web.forms import CheckInForm, PulseForm
from tracker.web.pages import REFUSALS, show_service_error

bp = Blueprint("mentorship", __name__, url_prefix="/mentorships")


def _render(mentorship, form: CheckInForm, at, pulse_form: PulseForm | None = None):
    state = mentorship.state(at)
    activity = []
    if mentorship.trial_started_at is not None and state is not None and state.status in ("trial", "paid", "ended"):
        last = mentorship.ended_at if state.status == "ended" else at
        activity = lifecycle.activity_by_period(
            mentorship.trial_started_at, last, [(c.occurred_at, c.minutes) for c in mentorship.checkins])
    is_party = current_user.id in (mentorship.mentee_id, mentorship.mentor_id)
    pulses = [p for p in queries.pulses_of(mentorship.id) if p.submitted_at <= at]
    progress = [(presenters.period_name(p.period).capitalize(), p.progress) for p in pulses if p.progress is not None]
    due = None
    if current_user.id == mentorship.mentee_id and mentorship.trial_started_at is not None:
        due = lifecycle.pulse_due(mentorship.trial_started_at, state, {p.period for p in pulses}, at)
    if due is not None and pulse_form is None:
        pulse_form = PulseForm(period=due)
    review = directory.review_of_mentorship(mentorship.id)
    is_mentee = current_user.id == mentorship.mentee_id
    may_review = is_mentee and review is None and services.review_blocker(mentorship, at) is None
    return render_template(
        "mentorship/show.html", mentorship=mentorship, state=state, at=at, activity=activity, form=form,
        pulses=pulses, pulse_due=due, pulse_form=pulse_form,
        progress_figure=charts.progress_line(progress) if progress else None,
        can_log=is_party and state is not None and state.is_running,
        # The exit survey is the mentee's word to the platform: the mentor never sees it here.
        show_survey=current_user.role == "operator" or current_user.id == mentorship.mentee_id,
        review=review if (is_mentee or (review is not None and review.visible)) else None, may_review=may_review,
        review_editable=review is not None and is_mentee and review_rules.editable(review.created_at, at))


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
    """The service checks who may log (NotFound answers 404); the mentorship is read here only to show
    the page again with the form's errors."""
    at = clock.now()
    form = CheckInForm()
    if form.validate_on_submit():
        try:
            services.log_checkin(current_user.id, mentorship_id, form.occurred_at.data, form.mode.data,
                                 form.minutes.data, form.note.data or "", at=at)
        except REFUSALS as error:
            show_service_error(error, form)
        else:
            flash("Check-in logged.", "success")
            return redirect(url_for("mentorship.show", mentorship_id=mentorship_id) + "#checkins")
    return _render(visible_mentorship_or_404(mentorship_id), form, at), 400


@bp.post("/<int:mentorship_id>/pulse")
@role_required("mentee")
def pulse(mentorship_id: int):
    mentorship = own_mentorship_or_404(mentorship_id)
    at = clock.now()
    form = PulseForm()
    if form.validate_on_submit():
        usefulness = int(form.usefulness.data) if form.usefulness.data else None
        try:
            services.answer_pulse(current_user.id, mentorship_id, form.period.data, form.progress.data,
                                  usefulness, at=at)
        except services.Conflict as error:
            flash(error.message, "info")
            return redirect(url_for("mentorship.show", mentorship_id=mentorship_id))
        except REFUSALS as error:
            show_service_error(error, form)
        else:
            flash("Thank you: your answers are saved." if form.progress.data is not None or usefulness
                  else "Skipped for this month.", "success")
            return redirect(url_for("mentorship.show", mentorship_id=mentorship_id))
    return _render(mentorship, CheckInForm(occurred_at=at.replace(second=0), minutes=30), at, form), 400
