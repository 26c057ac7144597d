"""Offer experiments for operators: the list with the form to start one (and its sample-size
calculator), one experiment's results, and ending it (docs/EXPERIMENTS.md)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from tracker import services
from tracker.core import clock
from tracker.domain import lifecycle
from tracker.reports import experiments as experiment_queries
from tracker.reports import metrics, queries, rollup_queries
from tracker.reports.scope import DASHBOARD_DEFAULT_DAYS, parse_or_defaults
from tracker.services.audit import Actor
from tracker.services.experiments import ExperimentPlan, check_plan
from tracker.web.access import role_required
from tracker.web.forms import EXPERIMENT_OFFERS, ExperimentForm
from tracker.web.pages import REFUSALS, attempt, form_page, show_service_error

bp = Blueprint("experiments", __name__, url_prefix="/ops/experiments")


def _recent_save_rates() -> dict:
    """Each reason's saves that lasted over the dashboards' default window: a guide to arm A's rate."""
    asked, _ = parse_or_defaults(MultiDict(), clock.now(), queries.mentor_id_by_email,
                                 default_days=DASHBOARD_DEFAULT_DAYS)
    report = metrics.saves_report(rollup_queries.save_groups(asked.scope))
    return {"days": DASHBOARD_DEFAULT_DAYS, "rates": {reason: row["lasting_rate"] for reason, row in report.items()},
            "offers": lifecycle.offers_in_force(queries.offer_settings())}


def _plan(form: ExperimentForm) -> ExperimentPlan:
    return ExperimentPlan(name=form.name.data or "", reason=form.reason.data, offer_a=form.offer_a.data,
                          offer_b=form.offer_b.data, share_b=form.share_b.data,
                          baseline_percent=form.baseline_percent.data,
                          minimum_effect_points=form.minimum_effect_points.data)


def _index_page(form: ExperimentForm, planned: tuple[int, int] | None = None):
    found = experiment_queries.experiments()
    return form_page("ops/experiments.html", form, experiments=found, planned=planned,
                     assigned=experiment_queries.assigned_counts([e.id for e in found]),
                     recent=_recent_save_rates(), experiment_offers=EXPERIMENT_OFFERS)


@bp.route("", methods=["GET", "POST"])
@role_required("operator")
def index():
    form = ExperimentForm()
    if request.method == "GET" or not form.validate_on_submit():
        return _index_page(form)
    plan = _plan(form)
    try:
        if not form.start.data:  # the calculator: the sizes, nothing started
            return _index_page(form, planned=check_plan(plan))
        experiment = services.start_experiment(Actor.operator(current_user.id, current_user.email), plan,
                                               at=clock.now())
    except REFUSALS as error:
        show_service_error(error, form)
        return _index_page(form)
    flash("The experiment is running: new cancel flows for its reason are assigned an arm from now on.", "success")
    return redirect(url_for("experiments.show", experiment_id=experiment.id))


@bp.get("/<int:experiment_id>")
@role_required("operator")
def show(experiment_id: int):
    experiment = experiment_queries.experiment(experiment_id) or abort(404)
    at = clock.now()
    report = metrics.experiment_report(experiment_queries.assignment_groups(experiment, at),
                                       {"a": experiment.planned_a, "b": experiment.planned_b},
                                       lifecycle.decisive_outcome(experiment.offer_a, experiment.offer_b))
    return render_template("ops/experiment.html", experiment=experiment, report=report, at=at,
                           horizons=lifecycle.EXPERIMENT_HORIZONS,
                           abandoned_hours=lifecycle.FLOW_ABANDONED_AFTER.total_seconds() // 3600,
                           experiment_offers=EXPERIMENT_OFFERS)


@bp.post("/<int:experiment_id>/end")
@role_required("operator")
def end(experiment_id: int):
    if experiment_queries.experiment(experiment_id) is None:
        abort(404)
    if attempt(services.end_experiment, Actor.operator(current_user.id, current_user.email), experiment_id,
               clock.now()) is not None:
        flash("The experiment has ended: new cancel flows get the usual offer. Its results stay here.", "success")
    return redirect(url_for("experiments.show", experiment_id=experiment_id))
