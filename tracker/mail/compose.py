"""One outbox row -> the mail itself: subject, plain text and HTML from templates/mail/, the links.

Links are absolute, built on PUBLIC_BASE_URL. User text (names, goal statements) reaches headers only
through `header_text`, which folds every line break and control character into a space, so it cannot
add a header; the HTML templates escape it like every page.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timezone
from email.utils import formataddr, make_msgid
from urllib.parse import urlsplit

from flask import current_app, render_template, url_for

from tracker.data.models import OutboxMail
from tracker.domain import lifecycle, notifications, vocabulary
from tracker.reports import metrics, queries, rollup_queries
from tracker.reports.scope import ALL_TIME_FROM, Scope
from tracker.security import links

DIGEST_AT_RISK_SHOWN = 10
ALL_TIME_START = datetime.combine(ALL_TIME_FROM, time(), tzinfo=timezone.utc)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


class Moot(Exception):
    """What the mail was about is over (the pulse answered, the trial ended): it is not sent."""


@dataclass
class Composed:
    to_address: str
    subject: str
    body_text: str
    body_html: str
    message_id: str
    unsubscribe_url: str | None


def header_text(text: str) -> str:
    return " ".join(_CONTROL.sub(" ", text).split())


def base_url() -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


def _link(endpoint: str, **values) -> str:
    return url_for(endpoint, _external=True, **values)


def unsubscribe_token(user_id: int, kind: str) -> str:
    return links.sign(current_app.config["SECRET_KEY"], links.UNSUBSCRIBE, {"u": user_id, "k": kind})


def pulse_token(mentorship_id: int, period: int, closes: datetime) -> str:
    return links.sign(current_app.config["SECRET_KEY"], links.PULSE, {"m": mentorship_id, "p": period},
                      expires_at=closes, single_use=True)


def flow_token(flow_id: int, mentee_id: int, expires_at: datetime) -> str:
    return links.sign(current_app.config["SECRET_KEY"], links.CANCEL_FLOW, {"f": flow_id, "u": mentee_id},
                      expires_at=expires_at)


def compose(row: OutboxMail, at: datetime) -> Composed:
    """Render `row` as of `at`; raises Moot when it should not be sent any more."""
    with current_app.test_request_context("/", base_url=base_url()):
        context = CONTEXTS[row.kind](row, at)
        user = row.recipient
        unsubscribe = None
        if not notifications.KINDS[row.kind].critical:
            unsubscribe = _link("mail.unsubscribe", token=unsubscribe_token(user.id, row.kind))
        context.update(recipient=user, kind=notifications.KINDS[row.kind], unsubscribe_url=unsubscribe,
                       settings_url=_link("mail.settings"), vocabulary=vocabulary)
        subject = header_text(render_template(f"mails/{row.kind}.subject.txt", **context))
        text = render_template(f"mails/{row.kind}.txt", **context)
        html = render_template(f"mails/{row.kind}.html", **context)
    domain = urlsplit(base_url()).hostname or "localhost"
    return Composed(to_address=formataddr((header_text(user.name), user.email)), subject=subject,
                    body_text=text, body_html=html,
                    message_id=make_msgid(idstring=f"outbox-{row.id}", domain=domain),
                    unsubscribe_url=unsubscribe)


# --- what each kind says ------------------------------------------------------------------------

def _mentorship(row: OutboxMail):
    m = queries.mentorship_by_id(row.mentorship_id)
    if m is None:
        raise Moot("the mentorship no longer exists")
    return m


def _application_received(row, at):
    m = _mentorship(row)
    if m.state(at).status != "pending":
        raise Moot("the application was answered or withdrawn before the mail went out")
    return {"m": m, "decide_url": _link("mentorship.show", mentorship_id=m.id, _anchor="decide")}


def _application_decided(row, at):
    m = _mentorship(row)
    accepted = m.trial_started_at is not None
    return {"m": m, "accepted": accepted,
            "trial_ends_at": lifecycle.trial_end(m.trial_started_at) if accepted else None,
            "mentorship_url": _link("mentorship.show", mentorship_id=m.id),
            "mentors_url": _link("mentee.mentors")}


def _trial_ending(row, at):
    m = _mentorship(row)
    state = m.state(at)
    if state is None or state.status != "trial":
        raise Moot("the trial is no longer running")
    return {"m": m, "trial_ends_at": state.trial_ends_at, "month_days": lifecycle.PAID_MONTH.days,
            "mentorship_url": _link("mentorship.show", mentorship_id=m.id),
            "cancel_url": _link("mentee.cancel", mentorship_id=m.id)}


def _pulse_open(row, at):
    m = _mentorship(row)
    answered = {p.period for p in queries.pulses_of(m.id)}
    if lifecycle.pulse_due(m.trial_started_at, m.state(at), answered, at) != row.period:
        raise Moot("the pulse was answered, or its window closed, before the mail went out")
    _, closes = lifecycle.pulse_window(m.trial_started_at, row.period)
    token = pulse_token(m.id, row.period, closes)
    return {"m": m, "period": row.period, "closes": closes,
            "pulse_url": _link("mail.pulse", mentorship_id=m.id, period=row.period, token=token)}


def _cancel_unfinished(row, at):
    flow = queries.cancel_flow(row.cancel_flow_id)
    if flow is None or lifecycle.flow_outcome(flow.started_at, flow.offer_accepted_at, flow.cancelled_at,
                                              at) != "abandoned" or flow.superseded_at is not None:
        raise Moot("the cancellation was finished or begun again before the mail went out")
    m = flow.mentorship
    if m.ended_at is not None and m.ended_at <= at:
        raise Moot("the mentorship has ended")
    _, until = notifications.cancel_follow_up_span(flow.started_at)
    expires = until + notifications.CANCEL_FOLLOW_UP_FOR
    return {"m": m, "flow": flow, "reason": vocabulary.CHURN_REASONS.get(flow.reason, flow.reason),
            "flow_url": _link("mail.cancel_flow", flow_id=flow.id, token=flow_token(flow.id, m.mentee_id, expires))}


def _report(scope: Scope) -> dict:
    return metrics.report(rollup_queries.measure(scope), scope.as_of.isoformat(), {}, {})


def _period(row) -> tuple[datetime, datetime]:
    span = (notifications.summary_month if row.kind == "mentor_summary" else notifications.digest_week)(
        row.queued_at)
    if span is None:  # queued outside its span: only by hand
        raise Moot("queued outside the days it is sent on")
    return span


def _mentor_summary(row, at):
    start, end = _period(row)
    month = _report(Scope(as_of=at, start=start, end=end, mentor_id=row.recipient_id))
    all_time = _report(Scope(as_of=at, start=ALL_TIME_START, end=end, mentor_id=row.recipient_id))
    return {"start": start, "end": end, "month": month, "all_time": all_time,
            "ratings_url": _link("mentor.ratings")}


def _operator_digest(row, at):
    start, end = _period(row)
    report = _report(Scope(as_of=at, start=start, end=end))
    surveys = sum(r["count"] for r in report["churn_reasons"].values())
    reasons = [(vocabulary.CHURN_REASONS.get(reason, reason), r["count"], metrics.wilson(r["count"], surveys))
               for reason, r in report["churn_reasons"].items() if r["count"]]
    reasons.sort(key=lambda item: -item[1])
    risk = rollup_queries.at_risk(at, shown=DIGEST_AT_RISK_SHOWN)
    return {"start": start, "end": end, "report": report, "reasons": reasons, "risk": risk,
            "dashboard_url": _link("ops.home", **{"from": f"{start:%Y-%m-%d}", "to": f"{end:%Y-%m-%d}"}),
            "at_risk_url": _link("ops.at_risk"),
            "mentorship_url": lambda mentorship_id: _link("mentorship.show", mentorship_id=mentorship_id)}


def password_reset_token(user_id: int, expires_at: datetime) -> str:
    return links.sign(current_app.config["SECRET_KEY"], links.PASSWORD_RESET, {"u": user_id}, expires_at=expires_at,
                      single_use=True)


def _password_reset(row, at):
    expires = row.queued_at + notifications.PASSWORD_RESET_VALID_FOR
    if at >= expires:
        raise Moot("the link would have expired before the mail went out")
    return {"expires": expires,
            "reset_url": _link("auth.reset_password", token=password_reset_token(row.recipient_id, expires))}


CONTEXTS = {
    "application_received": _application_received,
    "application_decided": _application_decided,
    "trial_ending": _trial_ending,
    "pulse_open": _pulse_open,
    "cancel_unfinished": _cancel_unfinished,
    "mentor_summary": _mentor_summary,
    "operator_digest": _operator_digest,
    "password_reset": _password_reset,
}
assert set(CONTEXTS) == set(notifications.KINDS)
