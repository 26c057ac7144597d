"""Operators run the marketplace: one mentorship's whole timeline, one account's page (deactivate,
reactivate, send a password-reset link, export or erase the person's data), and the audit log of every
operator action with its CSV. The searchable lists themselves are ops.mentorships and ops.users."""
from __future__ import annotations

import csv
import io
import json

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user

from tracker import services
from tracker.core import clock
from tracker.reports import admin_queries, queries
from tracker.reports.csvfiles import guard
from tracker.services.audit import ACTIONS, Actor
from tracker.web.access import role_required
from tracker.web.forms import AuditFilterForm, EraseForm
from tracker.web.pages import REFUSALS, attempt

bp = Blueprint("admin", __name__, url_prefix="/ops")


def _me() -> Actor:
    return Actor.operator(current_user.id, current_user.email)


def _account_or_404(user_id: int):
    user = admin_queries.user_by_id(user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/mentorships/<int:mentorship_id>")
@role_required("operator")
def mentorship(mentorship_id: int):
    events = admin_queries.timeline(mentorship_id)
    if events is None:
        abort(404)
    return render_template("admin/mentorship.html", events=events, mentorship=queries.mentorship_by_id(mentorship_id),
                           at=clock.now())


@bp.get("/users/<int:user_id>")
@role_required("operator")
def account(user_id: int):
    user = _account_or_404(user_id)
    return render_template("admin/account.html", user=user, erase_form=EraseForm(),
                           mentorships=admin_queries.mentorships_page(user.email, None, None, None, None,
                                                                      clock.now(), 1).rows)


@bp.post("/users/<int:user_id>/deactivate")
@role_required("operator")
def deactivate(user_id: int):
    _account_or_404(user_id)
    if attempt(services.deactivate, _me(), user_id, at=clock.now()):
        flash("The account is deactivated: its sessions ended, it can no longer log in.", "success")
    return redirect(url_for("admin.account", user_id=user_id))


@bp.post("/users/<int:user_id>/reactivate")
@role_required("operator")
def reactivate(user_id: int):
    _account_or_404(user_id)
    if attempt(services.reactivate, _me(), user_id, at=clock.now()):
        flash("The account is active again.", "success")
    return redirect(url_for("admin.account", user_id=user_id))


@bp.post("/users/<int:user_id>/password-reset")
@role_required("operator")
def password_reset(user_id: int):
    _account_or_404(user_id)
    if attempt(services.send_password_reset, _me(), user_id, at=clock.now()):
        flash("A mail with a link to set a new password is on its way (valid for a day, once).", "success")
    return redirect(url_for("admin.account", user_id=user_id))


@bp.post("/users/<int:user_id>/export")
@role_required("operator")
def export(user_id: int):
    user = _account_or_404(user_id)
    try:
        document = services.export_user(user.email, _me(), at=clock.now())
    except REFUSALS as error:
        flash(error.message, "error")
        return redirect(url_for("admin.account", user_id=user_id))
    return Response(json.dumps(document, indent=2, ensure_ascii=False), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="person-{user_id}.json"'})


@bp.post("/users/<int:user_id>/erase")
@role_required("operator")
def erase(user_id: int):
    user = _account_or_404(user_id)
    form = EraseForm()
    if not form.validate_on_submit() or (form.confirm.data or "").strip().lower() != user.email:
        flash("Type the person's email exactly to confirm the erasure; nothing was erased.", "error")
        return redirect(url_for("admin.account", user_id=user_id))
    try:
        _, erased = services.erase_user(user.email, _me(), at=clock.now(),
                                        mail_folder=current_app.config["MAIL_FILE_PATH"])
    except REFUSALS as error:
        flash(error.message, "error")
    else:
        flash("The person's data is erased; every number stays as it was." if erased
              else "This person's data had already been erased.", "success")
    return redirect(url_for("admin.account", user_id=user_id))


@bp.get("/audit")
@role_required("operator")
def audit():
    filters = AuditFilterForm(request.args)
    action = filters.action.data if filters.action.data in ACTIONS else None
    found = admin_queries.audit_page(action, filters.actor.data, filters.page.data)
    return render_template("admin/audit.html", found=found, actions=ACTIONS, action=action,
                           actor=filters.actor.data or "")


@bp.get("/audit.csv")
@role_required("operator")
def audit_csv():
    filters = AuditFilterForm(request.args)
    action = filters.action.data if filters.action.data in ACTIONS else None

    def rows():
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["at", "actor", "action", "subject_type", "subject_id", "summary", "before", "after"])
        for entry in admin_queries.audit_entries(action, filters.actor.data):
            writer.writerow([guard(str(value)) for value in (
                entry.at.isoformat(), entry.actor, entry.action, entry.subject_type,
                "" if entry.subject_id is None else entry.subject_id, entry.summary, entry.before or "",
                entry.after or "")])
            yield out.getvalue()
            out.seek(0)
            out.truncate()
        yield out.getvalue()
    return Response(stream_with_context(rows()), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'})
