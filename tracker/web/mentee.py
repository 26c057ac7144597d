"""The mentee's pages: the mentor directory, applying with a goal, withdrawing, and the cancel flow
(reason, the offer that fits it, the exit survey), pausing and resuming."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from tracker import services
from tracker.core import clock
from tracker.domain.reviews import SHOWN_FROM
from tracker.reports import directory, queries
from tracker.web import presenters
from tracker.web.access import own_mentorship_or_404, role_required
from tracker.web.forms import (
    AcceptOfferForm,
    ApplicationForm,
    CancelReasonForm,
    DirectoryFilterForm,
    ExitSurveyForm,
    page_number,
)
from tracker.web.pages import REFUSALS, attempt, form_page, show_service_error

bp = Blueprint("mentee", __name__)


@bp.get("/me")
@role_required("mentee")
def home():
    return render_template("mentee/home.html",
                           mentorships=queries.mentorships_of_mentee(current_user.id), at=clock.now())


@bp.get("/mentors")
@role_required("mentee")
def mentors():
    """The directory: search in name, headline and expertise; filter by an expertise tag and by a goal
    category the mentor has helped with; sort; page. The URL holds every choice."""
    search = DirectoryFilterForm(request.args)
    asked = {name: search[name].data for name in ("q", "expertise", "goal_category", "sort")}
    found = directory.directory_page(asked["q"], asked["expertise"], asked["goal_category"], asked["sort"],
                                     search.page.data)
    return render_template("mentee/mentors.html", found=found, asked=asked, tags=directory.expertise_tags(),
                           sorts={"rating": "Rating", "newest": "Newest", "name": "Name"})


@bp.route("/mentors/<int:mentor_id>", methods=["GET", "POST"])
@role_required("mentee")
def mentor_profile(mentor_id: int):
    """GET: the mentor's profile and the application form. POST: the application; the service refuses
    a mentor the directory does not show (NotFound answers 404), so the profile is read only to show
    the page."""
    form = ApplicationForm()
    if form.validate_on_submit():
        try:
            application = services.apply(current_user.id, mentor_id, form.goal_category.data,
                                         form.goal_text.data, form.meeting_preference.data, at=clock.now())
        except REFUSALS as error:
            show_service_error(error, form)
        else:
            flash(f"Your application was sent to {application.mentor_name}. You will see their answer here.",
                  "success")
            return redirect(url_for("mentorship.show", mentorship_id=application.id))
    mentor = queries.mentor_for_directory(mentor_id)
    if mentor is None:
        abort(404)
    return form_page("mentee/mentor.html", form, mentor=mentor,
                     open_mentorship=queries.open_mentorship_between(current_user.id, mentor_id),
                     rating=directory.public_rating(mentor_id), goal_share=directory.goal_reached_share(mentor_id),
                     reviews=directory.public_reviews(mentor_id, page_number(request.args.get("page", "1"))),
                     shown_from=SHOWN_FROM)


@bp.post("/mentorships/<int:mentorship_id>/withdraw")
@role_required("mentee")
def withdraw(mentorship_id: int):
    if attempt(services.withdraw, current_user.id, mentorship_id, at=clock.now()):
        flash("Your application was withdrawn.", "info")
    return _back_to(mentorship_id)


def _back_to(mentorship_id: int):
    return redirect(url_for("mentorship.show", mentorship_id=mentorship_id))


def _own_cancellable(mentorship_id: int, at):
    """The logged-in mentee's mentorship, or a redirect to its page when it cannot be cancelled."""
    mentorship = own_mentorship_or_404(mentorship_id)
    blocker = services.cancellation_blocker(mentorship, at)
    if blocker:
        flash(blocker, "info")
        return mentorship, _back_to(mentorship_id)
    return mentorship, None


@bp.route("/mentorships/<int:mentorship_id>/cancel", methods=["GET", "POST"])
@role_required("mentee")
def cancel(mentorship_id: int):
    """GET: the first step, the reason. POST: the exit survey, which ends the mentorship. The service
    checks that the mentorship is the mentee's (NotFound answers 404) and can be cancelled (a Conflict,
    the same message `_own_cancellable` gives); the mentorship is read here only to show a page."""
    at = clock.now()
    form = ExitSurveyForm() if request.method == "POST" else None
    if form is not None and form.validate_on_submit():
        try:
            answers = services.SurveyAnswers(
                int(form.stars.data), form.goal_reached.data, form.churn_reason.data,
                form.feedback_platform.data or "", form.feedback_mentor.data or "", form.feedback_other.data or "")
            survey = services.cancel_with_survey(current_user.id, mentorship_id, answers, at=at,
                                                 flow_id=form.flow_id.data)
        except services.Conflict as error:
            flash(error.message, "info")
            return _back_to(mentorship_id)
        except REFUSALS as error:
            show_service_error(error, form)
        else:
            flash("Your mentorship is cancelled. Thank you for telling us how it went.", "success")
            if services.review_blocker(survey.mentorship, at) is None:
                return redirect(url_for("reviews.write", mentorship_id=mentorship_id))
            return _back_to(mentorship_id)
    mentorship, away = _own_cancellable(mentorship_id, at)
    if away:
        return away
    if form is None:
        return form_page("mentee/cancel_reason.html", CancelReasonForm(), mentorship=mentorship)
    flow_id = form.flow_id.data
    flow = queries.cancel_flow(flow_id) if flow_id else None
    if flow is not None and flow.mentorship_id != mentorship_id:
        flow = None
    return form_page("mentee/cancel.html", form, mentorship=mentorship, at=at, flow=flow)


@bp.post("/mentorships/<int:mentorship_id>/cancel/reason")
@role_required("mentee")
def start_cancel(mentorship_id: int):
    at = clock.now()
    mentorship, away = _own_cancellable(mentorship_id, at)
    if away:
        return away
    form = CancelReasonForm()
    if form.validate_on_submit():
        try:
            flow = services.start_cancel_flow(current_user.id, mentorship_id, form.churn_reason.data, at=at)
        except REFUSALS as error:
            show_service_error(error, form)
        else:
            return redirect(url_for("mentee.cancel_flow", mentorship_id=mentorship_id, flow_id=flow.id))
    return form_page("mentee/cancel_reason.html", form, mentorship=mentorship)


def _own_flow(mentorship_id: int, flow_id: int, at):
    mentorship, away = _own_cancellable(mentorship_id, at)
    flow = queries.cancel_flow(flow_id)
    if flow is None or flow.mentorship_id != mentorship.id or flow.started_at > at:
        abort(404)
    return mentorship, flow, away


@bp.get("/mentorships/<int:mentorship_id>/cancel/<int:flow_id>")
@role_required("mentee")
def cancel_flow(mentorship_id: int, flow_id: int):
    """The offer that fits the reason given; once declined (or with no offer), the exit survey."""
    at = clock.now()
    mentorship, flow, away = _own_flow(mentorship_id, flow_id, at)
    if away:
        return away
    if flow.superseded_at is not None or flow.offer_accepted_at is not None:
        return redirect(url_for("mentee.cancel", mentorship_id=mentorship_id))
    return _flow_page(mentorship, flow, at, AcceptOfferForm())


def _flow_page(mentorship, flow, at, accept_form: AcceptOfferForm):
    offering = flow.offer != "none" and flow.offer_declined_at is None
    return render_template(
        "mentee/cancel.html", mentorship=mentorship, at=at, flow=flow, offering=offering,
        form=ExitSurveyForm(churn_reason=flow.reason), accept_form=accept_form,
        suggestions=queries.switch_suggestions(mentorship) if offering and flow.offer == "switch_mentor" else []
    ), (400 if accept_form.errors else 200)


@bp.post("/mentorships/<int:mentorship_id>/cancel/<int:flow_id>/accept")
@role_required("mentee")
def accept_offer(mentorship_id: int, flow_id: int):
    at = clock.now()
    mentorship, flow, away = _own_flow(mentorship_id, flow_id, at)
    if away:
        return away
    form = AcceptOfferForm()
    if not form.validate_on_submit():
        return _flow_page(mentorship, flow, at, form)
    months = int(form.months.data) if form.months.data else None
    try:
        flow = services.accept_offer(current_user.id, mentorship_id, flow_id, at=at, months=months,
                                     mentor_id=form.mentor_id.data)
    except services.Conflict as error:
        flash(error.message, "info")
        return redirect(url_for("mentee.cancel_flow", mentorship_id=mentorship_id, flow_id=flow_id))
    except REFUSALS as error:
        show_service_error(error, form)
        return _flow_page(mentorship, flow, at, form)
    kept = flow.kept_mentorship
    if flow.offer == "pause":
        flash(f"Your mentorship is paused until {presenters.day(kept.pauses[-1].ends_at)}. "
              "It resumes by itself; you can resume sooner from this page.", "success")
    elif flow.offer == "switch_mentor":
        flash(f"Your application was sent to {kept.mentor.name}, and your mentorship with "
              f"{mentorship.mentor.name} has ended.", "success")
    else:
        flash("Glad you are staying. Your mentorship goes on as before.", "success")
    return _back_to(kept.id)


@bp.post("/mentorships/<int:mentorship_id>/cancel/<int:flow_id>/decline")
@role_required("mentee")
def decline_offer(mentorship_id: int, flow_id: int):
    at = clock.now()
    _mentorship, _flow, away = _own_flow(mentorship_id, flow_id, at)
    if away:
        return away
    attempt(services.decline_offer, current_user.id, mentorship_id, flow_id, at=at, flash_as="info")
    return redirect(url_for("mentee.cancel_flow", mentorship_id=mentorship_id, flow_id=flow_id) + "#survey")


@bp.post("/mentorships/<int:mentorship_id>/resume")
@role_required("mentee")
def resume(mentorship_id: int):
    if attempt(services.resume, current_user.id, mentorship_id, at=clock.now(), flash_as="info"):
        flash("Welcome back: your mentorship is running again.", "success")
    return _back_to(mentorship_id)
