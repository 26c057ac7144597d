"""What mails link to: the mail settings page, the one-click unsubscribe (RFC 8058), the pulse answered
from a signed link without logging in, and the way back into an unfinished cancellation."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker import services
from tracker.core import clock
from tracker.core.extensions import csrf
from tracker.domain import lifecycle, notifications
from tracker.reports import mail_queries, queries
from tracker.security import links
from tracker.web.forms import MailSettingsForm, PulseForm, UnsubscribeForm
from tracker.web.pages import REFUSALS, form_page, show_service_error

bp = Blueprint("mail", __name__)


def _refused(message: str, status: int = 400):
    return render_template("mail/link_refused.html", message=message), status


def _verify(purpose: str, token: str | None, **expected) -> dict:
    if not token:
        raise links.LinkRefused("This link is incomplete: open the link from your mail as it is.")
    return links.verify(current_app.config["SECRET_KEY"], purpose, token, clock.now(), **expected)


# --- settings ------------------------------------------------------------------------------------

@bp.route("/settings/mail", methods=["GET", "POST"])
@login_required
def settings():
    kinds = notifications.optional_kinds_for(current_user.role)
    stored = mail_queries.mail_preferences(current_user.id, current_user.role)
    form = MailSettingsForm(data=stored) if request.method == "GET" else MailSettingsForm()
    if form.validate_on_submit():
        try:
            services.set_mail_preferences(current_user.id, {kind: form[kind].data for kind in kinds}, clock.now())
        except REFUSALS as error:
            show_service_error(error, form)
        else:
            flash("Your mail settings are saved.", "success")
            return redirect(url_for("mail.settings"))
    critical = [kind for code, kind in notifications.KINDS.items()
                if kind.critical and kind.recipient_role in (current_user.role, "any")]
    return form_page("mail/settings.html", form, kinds=kinds, critical=critical)


# --- one-click unsubscribe -----------------------------------------------------------------------

@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str):
    """GET only shows what the link would do; POST (the button, or a mail client's one-click POST of
    List-Unsubscribe=One-Click, with no cookie) unsubscribes and answers 200, with no redirect."""
    try:
        body = _verify(links.UNSUBSCRIBE, token)
    except links.LinkRefused as refusal:
        return _refused(refusal.message)
    code, user_id = body.get("k"), body.get("u")
    kind = notifications.KINDS.get(code) if isinstance(code, str) else None
    user = queries.user_by_id(user_id) if type(user_id) is int and 0 < user_id < 2**31 else None
    if kind is None or kind.critical or user is None or kind.recipient_role != user.role:
        return _refused("This link is not valid. It may have been copied incompletely.")
    if request.method == "POST":
        services.unsubscribe(user.id, kind.code, clock.now())
        return render_template("mail/unsubscribed.html", kind=kind, done=True, form=None)
    return render_template("mail/unsubscribed.html", kind=kind, done=False, form=UnsubscribeForm())


# --- the pulse from a mail -----------------------------------------------------------------------

def _pulse_link(mentorship_id: int, period: int):
    """(mentorship, link id, None) for a usable link, else (None, None, the refusal page)."""
    token = request.args.get("token")
    try:
        body = _verify(links.PULSE, token, m=mentorship_id, p=period)
    except links.LinkRefused as refusal:
        return None, None, _refused(refusal.message)
    link_id = body.get("jti")
    if not isinstance(link_id, str) or mail_queries.link_used(link_id):
        return None, None, _refused("This link has already been used. Thank you for answering.", 410)
    mentorship = queries.mentorship_by_id(mentorship_id)
    at = clock.now()
    answered = {p.period for p in queries.pulses_of(mentorship_id)} if mentorship else set()
    if mentorship is None or mentorship.trial_started_at is None or lifecycle.pulse_due(
            mentorship.trial_started_at, mentorship.state(at), answered, at) != period:
        return None, None, _refused("These questions are not open any more; thank you all the same.", 410)
    return mentorship, link_id, None


@bp.route("/pulse/<int:mentorship_id>/<int:period>", methods=["GET", "POST"])
def pulse(mentorship_id: int, period: int):
    mentorship, link_id, refusal = _pulse_link(mentorship_id, period)
    if refusal:
        return refusal
    form = PulseForm(period=period) if request.method == "GET" else PulseForm()
    if form.validate_on_submit():
        if form.period.data != period:
            return _refused("This link belongs to another page; open the link from your mail as it is.")
        usefulness = int(form.usefulness.data) if form.usefulness.data else None
        try:
            services.answer_pulse(mentorship.mentee_id, mentorship_id, period, form.progress.data, usefulness,
                                  at=clock.now(), link_id=link_id)
        except services.Conflict as error:
            return _refused(error.message, 409)
        except REFUSALS as error:
            show_service_error(error, form)
        else:
            return render_template("mail/pulse_done.html", mentorship=mentorship)
    return form_page("mail/pulse.html", form, mentorship=mentorship, period=period,
                     token=request.args.get("token"))


# --- back into an unfinished cancellation ----------------------------------------------------------

@bp.get("/cancel-link/<int:flow_id>")
def cancel_flow(flow_id: int):
    """Where the follow-up mail leads: the flow is finished on the logged-in pages (the exit survey
    belongs to the account), so this page says where things stand and links there."""
    try:
        body = _verify(links.CANCEL_FLOW, request.args.get("token"), f=flow_id)
    except links.LinkRefused as refusal:
        return _refused(refusal.message)
    flow = queries.cancel_flow(flow_id)
    if flow is None or flow.mentorship.mentee_id != body.get("u"):
        return _refused("This link is not valid. It may have been copied incompletely.")
    at = clock.now()
    outcome = lifecycle.flow_outcome(flow.started_at, flow.offer_accepted_at, flow.cancelled_at, at)
    still_open = outcome == "abandoned" and flow.superseded_at is None and flow.mentorship.state(at).can_cancel
    return render_template("mail/cancel_link.html", flow=flow, mentorship=flow.mentorship, still_open=still_open,
                           finish_url=url_for("mentee.cancel_flow", mentorship_id=flow.mentorship_id,
                                              flow_id=flow.id))
