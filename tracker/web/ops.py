"""The operator's pages: the success and churn dashboard with its drill-downs, feedback to read,
survey downloads, the list of mentorships, and accounts.

Every dashboard page reads the same filters from the URL (scope.py), so a view can be bookmarked,
and every number comes from metrics.report over rollup_queries.measure, as in the API.
"""
from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from flask import Blueprint, Response, flash, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user

from tracker import services
from tracker.core import clock
from tracker.domain import lifecycle, notifications
from tracker.reports import admin_queries, charts, directory, mail_queries, metrics, queries, rollup_queries
from tracker.reports.csvfiles import guard
from tracker.reports.scope import DASHBOARD_DEFAULT_DAYS, parse_or_defaults
from tracker.services.audit import Actor
from tracker.web.access import role_required, safe_next_url
from tracker.web.forms import (
    CreateUserForm,
    FeedbackFilterForm,
    HandleRiskForm,
    HideFeedbackForm,
    MentorshipSearchForm,
    OfferSettingsForm,
    UserSearchForm,
    page_number,
)
from tracker.web.pages import REFUSALS, form_page, show_service_error

bp = Blueprint("ops", __name__, url_prefix="/ops")
FEEDBACK_PAGE_SIZE = 50


def _asked():
    """The filters in the URL; on a bad one, the defaults and a message saying what was wrong."""
    return parse_or_defaults(request.args, clock.now(), queries.mentor_id_by_email, naive_is_utc=True,
                             default_days=DASHBOARD_DEFAULT_DAYS)


def _dashboard(template: str, extra=lambda counts, report, scope: {}):
    """Render a dashboard page: the filters, the report, the success rate's bounds, and whatever
    `extra(counts, report, scope)` adds (series, figures)."""
    asked, problem = _asked()
    counts = rollup_queries.measure(asked.scope)
    echo = asked.echo()
    report = metrics.report(counts, echo["as_of"], echo["window"], echo["filters"])
    context = {"surveys": metrics.survey_count(report), "bounds": metrics.success_bounds_of(report),
               **extra(counts, report, asked.scope)}
    return render_template(template, asked=asked, args=asked.query_args(), problem=problem, report=report,
                           mentors=queries.mentor_emails(), page=request.endpoint, **context), (400 if problem else 200)


def _scoped(template: str, numbers):
    """A dashboard page whose numbers are not the main report: numbers(scope) -> template context."""
    asked, problem = _asked()
    return render_template(template, asked=asked, args=asked.query_args(), problem=problem,
                           mentors=queries.mentor_emails(), page=request.endpoint,
                           **numbers(asked.scope)), (400 if problem else 200)


@bp.get("/")
@role_required("operator")
def home():
    def extra(counts, report, scope):
        series = metrics.by_month(counts)
        return {"series": series, "figures": {"success": charts.success_by_month(series),
                                              "reasons": charts.reason_shares(report)}}
    return _dashboard("ops/home.html", extra)


@bp.get("/churn")
@role_required("operator")
def churn():
    def extra(counts, report, scope):
        series = metrics.by_month(counts)
        return {"series": series, **metrics.churn_summary(report),
                "respondents": metrics.respondents(rollup_queries.response_groups(scope)),
                "figures": {"reasons": charts.reason_shares(report),
                                              "by_month": charts.reasons_by_month(series),
                                              "by_stage": charts.reasons_by_stage(report)}}
    return _dashboard("ops/churn.html", extra)


@bp.get("/retention")
@role_required("operator")
def retention():
    def extra(counts, report, scope):
        endings = rollup_queries.endings(scope, counts.durations)
        return {"still_going": metrics.still_going(report), "survival_days": metrics.SURVIVAL_DAYS,
                "endings": endings.report(),
                "figures": {"survival": charts.survival(metrics.survival_curve(counts)),
                            "endings": charts.endings(metrics.endings_curve(endings)),
                            "cohorts": charts.cohort_heatmap(report["cohorts"])}}
    return _dashboard("ops/retention.html", extra)


@bp.get("/ratings")
@role_required("operator")
def ratings():
    return _dashboard("ops/ratings.html", lambda counts, report, scope: {
        "figures": {"stars": charts.star_distribution(report)},
        "bias": metrics.review_bias(directory.review_bias_sums(scope))})


@bp.get("/feedback")
@role_required("operator")
def feedback():
    filters = FeedbackFilterForm(request.args)
    reason, stars, words, page = filters.reason.data, filters.stars.data, filters.q.data, filters.page.data
    reading = {"reason": reason, "stars": stars, "q": words}
    asked, problem = _asked()
    rows = queries.feedback_page(asked.scope, reason, stars, words, limit=FEEDBACK_PAGE_SIZE + 1,
                                 offset=(page - 1) * FEEDBACK_PAGE_SIZE)
    return render_template(
        "ops/feedback.html", asked=asked, args=asked.query_args(), problem=problem,
        mentors=queries.mentor_emails(), page=request.endpoint, rows=rows[:FEEDBACK_PAGE_SIZE],
        has_next=len(rows) > FEEDBACK_PAGE_SIZE, page_number=page, reading=reading,
        window_extra={k: v for k, v in reading.items() if v},  # the window links keep what is being read
        pager_args=dict(asked.query_args(), **{k: v for k, v in reading.items() if v})), (400 if problem else 200)


@bp.post("/surveys/<int:survey_id>/hide")
@role_required("operator")
def hide_feedback(survey_id: int):
    form = HideFeedbackForm()
    if not form.validate_on_submit():
        flash("; ".join(form.reason.errors) or "Say why the comment is hidden.", "error")
    else:
        services.hide_mentor_feedback(current_user.id, survey_id, form.reason.data, at=clock.now())
        flash("The comment is hidden from the mentor. It stays in the data and the exports.", "success")
    return redirect(_back_to_feedback())


@bp.post("/surveys/<int:survey_id>/unhide")
@role_required("operator")
def unhide_feedback(survey_id: int):
    services.show_mentor_feedback(survey_id, current_user.id, clock.now())
    flash("The comment is visible to the mentor again.", "success")
    return redirect(_back_to_feedback())


def _back_to_feedback() -> str:
    return safe_next_url(request.form.get("next")) or url_for("ops.feedback")


SURVEY_COLUMNS = ["mentorship_id", "ref", "mentor_email", "mentee_email", "goal_category", "trial_started_at",
                  "ended_at", "stage", "stars", "goal_reached", "churn_reason", "feedback_platform",
                  "feedback_mentor", "feedback_other", "survey_submitted_at", "mentor_feedback_hidden_reason"]


@bp.get("/surveys.csv")
@role_required("operator")
def surveys_csv():
    asked, problem = _asked()
    if problem:
        return Response(problem + "\n", status=400, mimetype="text/plain")

    def rows():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(SURVEY_COLUMNS)
        for survey, m, mentee_email, _, mentor_email, _ in queries.surveys_for_export(asked.scope):
            writer.writerow([m.id, guard(m.ref or ""), guard(mentor_email), guard(mentee_email), m.goal_category,
                             m.trial_started_at.isoformat(), m.ended_at.isoformat(),
                             lifecycle.stage_of_end(m.trial_started_at, m.ended_at), survey.stars,
                             survey.goal_reached, survey.churn_reason, guard(survey.feedback_platform),
                             guard(survey.feedback_mentor), guard(survey.feedback_other),
                             survey.submitted_at.isoformat(), guard(survey.mentor_feedback_hidden_reason or "")])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate(0)
        yield buffer.getvalue()

    name = f"exit-surveys-{asked.window_from}-to-{asked.window_to}.csv"
    return Response(stream_with_context(rows()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/mentorships")
@role_required("operator")
def mentorships():
    """Newest first, paged; q: the start of a mentee's or mentor's email or name, an id or a history ref."""
    at = clock.now()
    search = MentorshipSearchForm(request.args)
    asked = {name: search[name].data for name in ("q", "state", "end_reason", "goal_category", "mentor")}
    mentor_id = queries.mentor_id_by_email(asked["mentor"]) if asked["mentor"] else None
    unknown_mentor = asked["mentor"] is not None and mentor_id is None
    found = admin_queries.Page([], 1, False) if unknown_mentor else admin_queries.mentorships_page(
        asked["q"], asked["state"], asked["end_reason"], asked["goal_category"], mentor_id, at, search.page.data)
    return render_template("ops/mentorships.html", counts=rollup_queries.counts_by_status(at), found=found,
                           asked={k: v for k, v in asked.items() if v}, states=admin_queries.states(), at=at,
                           unknown_mentor=unknown_mentor)


@bp.route("/users", methods=["GET", "POST"])
@role_required("operator")
def users():
    form = CreateUserForm()
    if form.validate_on_submit():
        try:
            user = services.create_user(form.email.data, form.role.data, form.name.data, form.password.data,
                                        at=clock.now(), actor=Actor.operator(current_user.id, current_user.email))
        except REFUSALS as error:
            show_service_error(error, form)
        else:
            flash(f"Created the {user.role} account for {user.email}.", "success")
            return redirect(url_for("ops.users"))
    search = UserSearchForm(request.args)
    asked = {name: search[name].data for name in ("q", "role") if search[name].data}
    found = admin_queries.users_page(asked.get("q"), asked.get("role"), search.page.data)
    return form_page("ops/users.html", form, found=found, asked=asked)


@bp.get("/themes")
@role_required("operator")
def themes():
    """The themes in the written feedback, as last computed (`flask --app wsgi themes recompute`)."""
    run = queries.latest_theme_run()
    return render_template("ops/themes.html", run=run, found=json.loads(run.document) if run else None)


@bp.get("/outbox")
@role_required("operator")
def outbox():
    """Every mail's state: queued, sending, sent, retrying, failed (the dead letter) or skipped."""
    status = request.args.get("status") or None
    if status is not None and status not in notifications.STATUSES:
        status = None
    page = page_number(request.args.get("page", "1"))
    return render_template("ops/outbox.html", outbox=mail_queries.outbox_page(status, page),
                           statuses=notifications.STATUSES, kinds=notifications.KINDS)


# --- keeping mentorships alive: saves, pulse and health, research, at-risk, offers ------------------------

@bp.get("/saves")
@role_required("operator")
def saves():
    def numbers(scope):
        return {"saves": metrics.saves_report(rollup_queries.save_groups(scope)),
                "offers": lifecycle.offers_in_force(queries.offer_settings()),
                "save_lasts": lifecycle.SAVE_LASTS,
                "abandoned_hours": lifecycle.FLOW_ABANDONED_AFTER // timedelta(hours=1)}
    return _scoped("ops/saves.html", numbers)


@bp.get("/health")
@role_required("operator")
def health_dashboard():
    def numbers(scope):
        return {"tiers": metrics.pulse_tiers(rollup_queries.pulse_tier_groups(scope)),
                "month_one": metrics.month_one_prediction(rollup_queries.month_one_groups(scope)),
                "risk": metrics.risk_history(rollup_queries.ending_groups(scope))}
    return _scoped("ops/health.html", numbers)


@bp.get("/research")
@role_required("operator")
def research():
    return _scoped("ops/research.html", lambda scope: {"research": metrics.research(
        rollup_queries.ending_groups(scope), rollup_queries.duration_groups_by_category(scope))})


AT_RISK_SHOWN = 200


def _at_risk_page(form: HandleRiskForm, form_for: int | None = None):
    at = clock.now()
    found = rollup_queries.at_risk(at, AT_RISK_SHOWN)
    return form_page("ops/at_risk.html", form, at=at, waiting=found.waiting, waiting_count=found.waiting_count,
                     handled=found.handled, handled_count=found.handled_count, running=found.running,
                     shown=AT_RISK_SHOWN, form_for=form_for)


@bp.get("/at-risk")
@role_required("operator")
def at_risk():
    return _at_risk_page(HandleRiskForm())


@bp.post("/mentorships/<int:mentorship_id>/handled")
@role_required("operator")
def mark_handled(mentorship_id: int):
    form = HandleRiskForm()
    if not form.validate_on_submit():
        return _at_risk_page(form, form_for=mentorship_id)
    services.mark_risk_handled(current_user.id, mentorship_id, form.note.data or "", at=clock.now())
    flash("Marked as handled. It comes back here if a new flag is raised.", "success")
    return redirect(url_for("ops.at_risk"))


@bp.route("/offers", methods=["GET", "POST"])
@role_required("operator")
def offers():
    current = lifecycle.offers_in_force(queries.offer_settings())
    form = OfferSettingsForm(data=current) if request.method == "GET" else OfferSettingsForm()
    if form.validate_on_submit():
        try:
            services.set_offers(current_user.id, {reason: form[reason].data for reason in form.reasons()},
                                at=clock.now())
        except REFUSALS as error:
            show_service_error(error, form)
        else:
            flash("The offers are saved. New cancel flows use them from now on.", "success")
            return redirect(url_for("ops.offers"))
    return form_page("ops/offers.html", form, rows=queries.offer_settings_rows())
