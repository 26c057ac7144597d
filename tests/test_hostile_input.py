"""Every field of every form, the API parameters and the importer, fed hostile values: each gets
a clear 400 (or the form back with its message), changes nothing, and never a 500, on SQLite and
on PostgreSQL (which refuses NUL bytes where SQLite stores them).

Public reviews and the mentor directory too: the review, reply and moderation forms (a bad moderation
form answers 303 back to the list with the message flashed), the directory's and the profiles' query
parameters (always a page), over-long or control-character text, and a review after its 14 days.

The mail feature's forms and links too: the mail settings, the pulse answered from a signed link, and
the signed links themselves (unsubscribe, pulse, back into a cancellation) fed garbage tokens."""
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from itsdangerous import URLSafeSerializer
from wtforms import BooleanField, SubmitField
from wtforms.fields import HiddenField

from tracker.core.extensions import db
from tracker.data.models import (
    ExitSurvey,
    MailPreference,
    MentorReviewStats,
    Mentorship,
    OutboxMail,
    Review,
    ReviewModeration,
    UsedLink,
)
from tracker.domain import lifecycle, notifications
from tracker.domain import reviews as review_rules
from tracker.security import links
from tracker.web import forms

from .factories import World, count, get, mentorship
from .helpers import empty_tables, table_state

GOOD_REVIEW = {"stars": "5", "text": "Patient, concrete and honest.", "naming": "initial", "consent": "y"}
GOOD_CANCEL = {"stars": "4", "goal_reached": "yes", "churn_reason": "goal_reached", "feedback_platform": "ok",
               "feedback_mentor": "ok", "feedback_other": "ok"}

# name -> (form class, who posts, how to build the URL from the world, a valid submission[, the status of
# the answer to a bad one: 400 with the form and its messages unless given])
FORMS = {
    "signup": (forms.SignupForm, None, lambda w: "/signup",
               {"name": "Sam", "email": "sam@example.com", "password": "long-enough-1", "confirm": "long-enough-1"}),
    "login": (forms.LoginForm, None, lambda w: "/login", {"email": "mentee@example.com", "password": "whatever-1"}),
    "create_user": (forms.CreateUserForm, "operator", lambda w: "/ops/users",
                    {"name": "Nia", "email": "nia@example.com", "role": "mentor", "password": "long-enough-1"}),
    "mentor_profile": (forms.MentorProfileForm, "mentor", lambda w: "/mentor/profile",
                       {"name": "Max", "headline": "Engineer", "expertise": "Python", "bio": "Hello",
                        "accepting_applications": "y"}),
    "application": (forms.ApplicationForm, "mentee", lambda w: f"/mentors/{w.other_mentor.id}",
                    {"goal_category": "get_promoted", "goal_text": "Reach senior engineer this year, please.",
                     "meeting_preference": "video"}),
    "checkin": (forms.CheckInForm, "mentee", lambda w: f"/mentorships/{w.in_trial()}/checkins",
                {"occurred_at": "2026-03-01T10:00", "mode": "video", "minutes": "30", "note": "fine"}),
    "exit_survey": (forms.ExitSurveyForm, "mentee", lambda w: f"/mentorships/{w.in_trial()}/cancel", GOOD_CANCEL),
    "cancel_reason": (forms.CancelReasonForm, "mentee", lambda w: f"/mentorships/{w.in_trial()}/cancel/reason",
                      {"churn_reason": "no_time"}),
    "accept_offer": (forms.AcceptOfferForm, "mentee",
                     lambda w: "/mentorships/{}/cancel/{}/accept".format(*w.flow("no_time", "pause")), {"months": "1"}),
    "pulse": (forms.PulseForm, "mentee", lambda w: f"/mentorships/{w.in_trial(days_in=6)}/pulse",
              {"period": "0", "progress": "40", "usefulness": "4"}),
    "offers": (forms.OfferSettingsForm, "operator", lambda w: "/ops/offers",
               {reason: "none" for reason in forms.OfferSettingsForm.reasons()}),
    "experiment": (forms.ExperimentForm, "operator", lambda w: "/ops/experiments",
                   {"name": "Pause or nothing", "reason": "no_time", "offer_a": "pause", "offer_b": "none",
                    "share_b": "50", "baseline_percent": "30", "minimum_effect_points": "10", "start": "1"}),
    "handle_risk": (forms.HandleRiskForm, "operator", lambda w: f"/ops/mentorships/{w.in_trial(days_in=5)}/handled",
                    {"note": "Called the mentee"}),
    # The pulse from a mail's signed link, with no login: the trial's pulse, open since a day.
    "pulse_link": (forms.PulseForm, None, lambda w: _pulse_link(w, w.in_trial(days_in=6)),
                   {"period": "0", "progress": "40", "usefulness": "4"}),
    # Public reviews: the mentee's review of a mentorship that reached a paid month and has an exit survey
    # (its consent checkbox: test_hostile_review_consent), the mentor's reply, an operator's moderation.
    "review": (forms.ReviewForm, "mentee", lambda w: f"/mentorships/{w.cancelled()}/review", GOOD_REVIEW),
    "reply": (forms.ReplyForm, "mentor", lambda w: f"/reviews/{w.review()}/reply", {"text": "Thank you, Mia."}),
    "moderate": (forms.ModerateReviewForm, "operator", lambda w: f"/ops/reviews/{w.review()}/moderate",
                 {"target": "review", "action": "hide", "reason": "spam"}, 303),
}


def _pulse_token(app, mentorship_id: int, period: int, started: datetime) -> str:
    _, closes = lifecycle.pulse_window(started, period)
    return links.sign(app.config["SECRET_KEY"], links.PULSE, {"m": mentorship_id, "p": period},
                      expires_at=closes, single_use=True)


def _pulse_link(w, mentorship_id: int, period: int = 0) -> str:
    started = get(w.app, Mentorship, mentorship_id).trial_started_at
    return f"/pulse/{mentorship_id}/{period}?token={_pulse_token(w.app, mentorship_id, period, started)}"


# What table_state leaves out: the mail feature's tables and the public reviews' (the reviews, their
# moderation log, the derived counts per mentor), which a refused request must not change either.
MAIL_MODELS = (OutboxMail, MailPreference, UsedLink)
REVIEW_MODELS = (Review, ReviewModeration, MentorReviewStats)


def _rows(app, models) -> dict[str, list[tuple]]:
    with app.app_context():
        with db.engine.connect() as conn:
            return {model.__tablename__: [tuple(row) for row in conn.execute(
                db.select(*model.__table__.columns).order_by(*model.__table__.primary_key.columns))]
                for model in models}


def mail_state(app) -> dict[str, list[tuple]]:
    return _rows(app, MAIL_MODELS)


def review_state(app) -> dict[str, list[tuple]]:
    return _rows(app, REVIEW_MODELS)


def all_state(app) -> tuple:
    return table_state(app), mail_state(app), review_state(app)

HOSTILE = {
    "nul": lambda good: good + "\x00",
    "escape": lambda good: good + "\x1b[31m",
    "oversized": lambda good: "y" * 20_000,
    "lookalike_digits": lambda good: "\uff14\uff15",
    "empty": lambda good: "",
    "wrong_type": lambda good: "[object Object]",
}
TEXT_OK = {"lookalike_digits", "wrong_type"}  # fine in free text: only wrong for numbers and choices


def cases():
    for name, (form_class, *_rest) in FORMS.items():
        form_fields = [(field_name, unbound) for field_name, unbound in vars(form_class).items()
                       if hasattr(unbound, "field_class")]
        for field_name, unbound in form_fields:
            if unbound.field_class in (SubmitField, HiddenField, BooleanField):
                continue
            for kind in HOSTILE:
                if kind in TEXT_OK and _is_free_text(form_class, field_name):
                    continue  # ordinary text for a free-text field
                if kind == "empty" and not _required(form_class, field_name):
                    continue  # the field is optional
                yield pytest.param(name, field_name, kind, id=f"{name}-{field_name}-{kind}")


def _is_free_text(form_class, field_name) -> bool:
    from wtforms import EmailField, PasswordField, StringField, TextAreaField
    cls = getattr(form_class, field_name).field_class
    return cls in (StringField, TextAreaField, PasswordField, EmailField)


def _required(form_class, field_name) -> bool:
    from wtforms.validators import DataRequired, InputRequired
    return any(isinstance(v, (DataRequired, InputRequired))
               for v in getattr(form_class, field_name).kwargs.get("validators", []))


def _without(state: dict, *tables: str) -> dict:
    """A table_state snapshot without the tables a successful submission is meant to change."""
    return {name: rows for name, rows in state.items() if name not in tables}


@pytest.mark.parametrize("name, field_name, kind", list(cases()))
def test_hostile_value_in_every_field(app, world, login, name, field_name, kind):
    form_class, who, url_of, good, *answer = FORMS[name]
    url = url_of(world)
    data = dict(good)
    data[field_name] = HOSTILE[kind](good.get(field_name, ""))
    client = login(getattr(world, who) if who else None)
    before = all_state(app)
    response = client.post(url, data=data)
    status = answer[0] if answer else 400
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[-800:])
    if status == 303:  # back to the list, the form's message flashed there
        page = client.get(response.headers["Location"])
        assert page.status_code == 200 and 'class="flash flash-error"' in page.get_data(as_text=True)
    else:
        assert 'class="field-errors"' in response.get_data(as_text=True)
    assert all_state(app) == before


@pytest.mark.parametrize("name", ["review", "reply", "moderate"])
def test_the_review_forms_take_their_good_submission(app, world, login, name):
    """The control for the hostile cases above: the same URLs and values, unaltered, are stored."""
    _, who, url_of, good, *_ = FORMS[name]
    url = url_of(world)
    before = review_state(app)
    response = login(getattr(world, who)).post(url, data=good)
    assert response.status_code in (302, 303), (response.status_code, response.get_data(as_text=True)[-800:])
    assert review_state(app) != before


@pytest.mark.parametrize("params", [
    {"from": "2026-01-01\x00"}, {"to": "\x00"}, {"as_of": "2026-01-01T00:00:00\x00+00:00"},
    {"goal_category": "other\x00"}, {"mentor": "mentor@example.com\x00"}, {"mentor": "x" * 5000},
    {"from": "9999999999-01-01"}, {"as_of": "0000-01-01"}, {"from": "2026-01-01", "to": "2025-01-01"},
])
def test_hostile_api_parameters_are_400(world, login, params):
    response = login(world.operator).get("/api/v1/metrics", query_string=params)
    assert response.status_code == 400 and response.get_json()["error"]


@pytest.mark.parametrize("query", ["q=%00", "q=" + "z" * 5000, "stars=%EF%BC%95", "page=-1", "page=%00",
                                   "reason=%00", "from=%00", "mentor=%00"])
def test_hostile_dashboard_filters_never_fail(world, login, query):
    response = login(world.operator).get("/ops/feedback?" + query)
    assert response.status_code in (200, 400)


# --- the mail feature: settings, the pulse by link, signed links, the outbox page ---------------------

def _settings_cases():
    for role in ("mentee", "mentor", "operator"):
        for kind in notifications.optional_kinds_for(role):
            for hostile in HOSTILE:
                yield pytest.param(role, kind, hostile, id=f"{role}-{kind}-{hostile}")
        # a critical kind, which has no checkbox, posted anyway
        for kind in (k.code for k in notifications.KINDS.values() if k.critical and k.recipient_role == role):
            yield pytest.param(role, kind, "nul", id=f"{role}-{kind}-critical")


@pytest.mark.parametrize("role, kind, hostile", list(_settings_cases()))
def test_hostile_value_in_every_mail_setting(app, world, login, role, kind, hostile):
    """A checkbox takes any value as "on" (and "" as off): 302 then, or 400; never a 500, and no
    preference stored for a kind that is not the person's to turn off."""
    person = world.mentee if role == "mentee" else world.mentor if role == "mentor" else world.operator
    optional = notifications.optional_kinds_for(role)
    data = {k: "y" for k in optional}
    data[kind] = HOSTILE[hostile]("y")
    before = all_state(app)
    response = login(person).post("/settings/mail", data=data)
    assert response.status_code in (302, 400), (response.status_code, response.get_data(as_text=True)[-800:])
    if response.status_code == 400:
        assert all_state(app) == before
    assert _without(table_state(app), "mail_preferences") == _without(before[0], "mail_preferences")
    with app.app_context():
        stored = dict(db.session.execute(db.select(MailPreference.kind, MailPreference.enabled)
                                         .where(MailPreference.user_id == person.id)).all())
    assert set(stored) <= set(optional)
    if response.status_code == 302 and kind in optional:
        assert stored[kind] is (HOSTILE[hostile]("y") != "")


def test_the_pulse_link_form_takes_the_good_submission_once(app, world, login):
    """The control for the hostile cases above: the same link and values, unaltered, are stored once."""
    _, _, url_of, good = FORMS["pulse_link"]
    url = url_of(world)
    client = login(None)
    first = client.post(url, data=good)
    assert first.status_code == 200 and "Thank you" in first.get_data(as_text=True)
    assert count(app, UsedLink) == 1 and count(app, Mentorship) == 1
    before = all_state(app)
    again = client.post(url, data=good)
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)
    assert all_state(app) == before


def test_a_pulse_link_posted_for_another_period_is_refused(app, world, login):
    mid = world.in_trial(days_in=6)
    before = all_state(app)
    response = login(None).post(_pulse_link(world, mid), data={"period": "1", "progress": "40", "usefulness": "4"})
    assert response.status_code == 400
    assert "This link belongs to another page" in response.get_data(as_text=True)
    assert all_state(app) == before


def _other_purpose(app, purpose: str) -> str:
    """A valid token, but made for another purpose than `purpose` (each purpose has its own salt)."""
    key = app.config["SECRET_KEY"]
    if purpose == links.UNSUBSCRIBE:
        return links.sign(key, links.PULSE, {"m": 1, "p": 0}, single_use=True)
    return links.sign(key, links.UNSUBSCRIBE, {"u": 1, "k": "pulse_open"})


TOKENS = {
    "garbage": lambda app, purpose: "not-a-token",
    "empty": lambda app, purpose: "",
    "very_long": lambda app, purpose: "A" * 20_000,
    "nul": lambda app, purpose: "eyJ1IjoxfQ\x00.abc",
    "unicode": lambda app, purpose: "eyJ1IjoxfQ.\u00e9\u202e\U0001f600\uff10",
    "other_purpose": _other_purpose,
    "other_purpose_with_nul": lambda app, purpose: _other_purpose(app, purpose) + "\x00",
    "wrong_key": lambda app, purpose: links.sign("k" * 40, purpose, {"u": 1, "k": "pulse_open", "m": 1, "p": 0,
                                                                      "f": 1}),
}

LINKS = {  # name -> (purpose, method, builds the URL from the world and a token)
    "unsubscribe_get": (links.UNSUBSCRIBE, "get", lambda w, t: "/unsubscribe/" + quote(t, safe="")),
    "unsubscribe_post": (links.UNSUBSCRIBE, "post", lambda w, t: "/unsubscribe/" + quote(t, safe="")),
    "pulse_get": (links.PULSE, "get", lambda w, t: f"/pulse/{w.in_trial(days_in=6)}/0?token=" + quote(t, safe="")),
    "pulse_post": (links.PULSE, "post", lambda w, t: f"/pulse/{w.in_trial(days_in=6)}/0?token=" + quote(t, safe="")),
    "cancel_link_get": (links.CANCEL_FLOW, "get",
                        lambda w, t: f"/cancel-link/{w.flow()[1]}?token=" + quote(t, safe="")),
}


@pytest.mark.parametrize("token_kind", list(TOKENS))
@pytest.mark.parametrize("link", list(LINKS))
def test_hostile_tokens_get_a_clean_refusal(app, world, login, link, token_kind):
    purpose, method, url_of = LINKS[link]
    url = url_of(world, TOKENS[token_kind](app, purpose))
    before = all_state(app)
    client = login(None)
    response = getattr(client, method)(url, data={"period": "0", "progress": "40", "usefulness": "4",
                                                  "List-Unsubscribe": "One-Click"} if method == "post" else None)
    body = response.get_data(as_text=True)
    assert response.status_code in (400, 404, 410), (response.status_code, body[-800:])
    assert "This link cannot be used" in body or "Not found" in body, body[-800:]
    assert "Traceback" not in body
    assert all_state(app) == before


@pytest.mark.parametrize("url", [
    "/pulse/99999999999999999999/0?token=x", "/pulse/1/99999999999999999999?token=x", "/pulse/-1/0?token=x",
    "/cancel-link/99999999999999999999?token=x", "/cancel-link/%00?token=x", "/pulse/1/0?token=x&token=y",
    "/pulse/1/0", "/cancel-link/1", "/unsubscribe/%00",
])
def test_hostile_link_paths_get_a_clean_refusal(app, world, login, url):
    world.in_trial(days_in=6)
    before = all_state(app)
    for method in ("get", "post"):
        response = getattr(login(None), method)(url)
        assert response.status_code in (400, 404, 405, 410), (method, url, response.status_code)
    assert all_state(app) == before


def test_valid_tokens_for_the_wrong_object_are_refused(app, world, login):
    """Right purpose, right key, but naming another pulse, another mentee's flow, an expired window,
    a critical kind or a user that does not exist."""
    key = app.config["SECRET_KEY"]
    _, flow_id = world.flow()
    started = world.at - timedelta(days=6)
    mid = mentorship(app, world.mentee, world.other_mentor, applied_at=started - timedelta(days=1),
                     trial_started_at=started)
    cases = [
        ("get", f"/pulse/{mid}/1?token={_pulse_token(app, mid, 0, started)}", 400),
        ("get", f"/pulse/{mid + 1000}/0?token={_pulse_token(app, mid, 0, started)}", 400),
        ("get", f"/pulse/{mid}/0?token=" + links.sign(key, links.PULSE, {"m": mid, "p": 0},
                                                      expires_at=world.at - timedelta(seconds=1), single_use=True),
         400),
        ("get", f"/pulse/{mid}/0?token=" + links.sign(key, links.PULSE, {"m": mid, "p": 0}), 410),  # no link id
        ("get", f"/pulse/{mid}/0?token=" + URLSafeSerializer(key, salt=links.PULSE).dumps([mid, 0]), 400),
        ("get", f"/cancel-link/{flow_id}?token=" + links.sign(key, links.CANCEL_FLOW,
                                                             {"f": flow_id, "u": world.other_mentee.id}), 400),
        ("get", f"/cancel-link/{flow_id + 1000}?token=" + links.sign(key, links.CANCEL_FLOW,
                                                                    {"f": flow_id + 1000, "u": world.mentee.id}), 400),
        ("post", "/unsubscribe/" + links.sign(key, links.UNSUBSCRIBE, {"u": world.mentee.id, "k": "trial_ending"}),
         400),
        ("post", "/unsubscribe/" + links.sign(key, links.UNSUBSCRIBE, {"u": world.mentee.id, "k": "no_such_kind"}),
         400),
        ("post", "/unsubscribe/" + links.sign(key, links.UNSUBSCRIBE, {"u": 987654, "k": "pulse_open"}), 400),
        ("post", "/unsubscribe/" + links.sign(key, links.UNSUBSCRIBE, {"u": str(world.mentee.id), "k": "pulse_open"}),
         400),
        ("post", "/unsubscribe/" + links.sign(key, links.UNSUBSCRIBE, {"u": [1], "k": "pulse_open"}), 400),
    ]
    before = all_state(app)
    for method, url, status in cases:
        response = getattr(login(None), method)(url)
        assert response.status_code == status, (url, response.status_code, response.get_data(as_text=True)[-500:])
        assert "This link cannot be used" in response.get_data(as_text=True)
    assert all_state(app) == before


@pytest.mark.parametrize("payload", [
    {"u": 1, "k": ["pulse_open"]}, {"u": 1, "k": {"a": 1}}, {"u": 10**30, "k": "pulse_open"},
    {"u": True, "k": "pulse_open"}, {"u": "operator", "k": "application_received"},
])
def test_a_signed_unsubscribe_payload_of_the_wrong_shape_is_refused(app, world, login, payload):
    """Only someone holding SECRET_KEY can make such a token; still a refusal, not a 500."""
    payload = {**payload, "u": world.operator.id} if payload["u"] == "operator" else payload  # a mentor's kind
    token = links.sign(app.config["SECRET_KEY"], links.UNSUBSCRIBE, payload)
    before = all_state(app)
    response = login(None).post("/unsubscribe/" + token)
    assert response.status_code == 400
    assert all_state(app) == before


@pytest.mark.parametrize("query", [
    "status=%00", "status=" + "z" * 5000, "status=sent%00", "status=SENT", "status[]=sent", "page=-1", "page=0",
    "page=%00", "page=" + "9" * 5000, "page=99999999", "page=1e9", "page=%EF%BC%92", "page=%D9%A3",
    "page=%C2%B2", "page=1%00", "status=failed&page=%E2%91%A0", "status=&page=",
])
def test_hostile_outbox_parameters_still_show_the_page(world, login, query):
    response = login(world.operator).get("/ops/outbox?" + query)
    assert response.status_code == 200, (query, response.status_code)


# --- public reviews: consent, text, the 14 days; the directory's and profiles' parameters ------------------

@pytest.mark.parametrize("value", ["", "false", None, "y\x00", "\x1b[31m", "y" * 20_000, "[object Object]"])
def test_hostile_review_consent(app, world, login, value):
    """A checkbox takes any value but "" and "false" as ticked: the review is then published with the
    consent recorded, or else refused with the message and nothing stored; never a 500."""
    mid = world.cancelled()
    data = dict(GOOD_REVIEW)
    if value is None:
        del data["consent"]
    else:
        data["consent"] = value
    before = all_state(app)
    response = login(world.mentee).post(f"/mentorships/{mid}/review", data=data)
    body = response.get_data(as_text=True)
    if value in ("", "false", None):
        assert response.status_code == 400, (response.status_code, body[-800:])
        assert "Tick the box to agree that the review is shown publicly." in body
        assert all_state(app) == before
    else:
        assert response.status_code == 302, (response.status_code, body[-800:])
        with app.app_context():
            (review,) = db.session.scalars(db.select(Review)).all()
            assert (review.mentorship_id, review.stars, review.text, review.consented_at) == \
                (mid, 5, GOOD_REVIEW["text"], world.at)
        review_tables = ("reviews", "mentor_review_stats")
        assert _without(table_state(app), *review_tables) == _without(before[0], *review_tables)
        assert mail_state(app) == before[1]


CONTROL_TEXTS = {
    "nul": "Fine sessions.\x00", "bell": "Fine\x07 sessions.", "escape": "\x1b[31mFine sessions.",
    "delete": "Fine sessions.\x7f", "vertical_tab": "Fine\x0bsessions.", "form_feed": "Fine\x0csessions.",
    "next_line_c1": "Fine\x85sessions.", "csi_c1": "Fine\x9bsessions.",
}


@pytest.mark.parametrize("form", ["review", "reply"])
@pytest.mark.parametrize("text, message", [
    ("x" * 1001, "Keep it to 1,000 characters."), ("x" * 20_000, "Keep it to 1,000 characters."),
    ("\n" * 3 + "y" * 1001, "Keep it to 1,000 characters."), ("   \n\t ", "Write a few words."),
    *[pytest.param(text, "control character", id=kind) for kind, text in CONTROL_TEXTS.items()],
])
def test_bad_review_and_reply_text_is_refused_with_a_message(app, world, login, form, text, message):
    _, who, url_of, good, *_ = FORMS[form]
    url = url_of(world)
    before = all_state(app)
    response = login(getattr(world, who)).post(url, data=dict(good, text=text))
    body = response.get_data(as_text=True)
    assert response.status_code == 400, (response.status_code, body[-800:])
    assert 'class="field-errors"' in body and message in body, body[-1500:]
    assert all_state(app) == before


@pytest.mark.parametrize("form", ["review", "reply"])
def test_review_and_reply_text_of_exactly_the_limit_with_line_breaks_is_taken(app, world, login, form):
    _, who, url_of, good, *_ = FORMS[form]
    text = ("Line one.\r\n\tLine two." + "z" * 2000)[:review_rules.TEXT_MAX if form == "review"
                                                     else review_rules.REPLY_MAX]
    response = login(getattr(world, who)).post(url_of(world), data=dict(good, text=text))
    assert response.status_code == 302, (response.status_code, response.get_data(as_text=True)[-800:])
    with app.app_context():
        (review,) = db.session.scalars(db.select(Review)).all()
        assert (review.text if form == "review" else review.reply_text) == text


def test_a_review_cannot_be_written_again_after_its_14_days(app, world, login):
    """Written exactly 14 days ago: the form is no longer offered and a POST (edit or "second" review
    of the same mentorship) changes nothing; a second before, it is still an edit of the one review."""
    from tracker import services
    started, ended = world.at - timedelta(days=80), world.at - timedelta(days=20)
    mid, younger = (mentorship(app, world.mentee, world.mentor, applied_at=started, trial_started_at=started,
                               ended_at=ended, survey=dict(stars=4, goal_reached="yes", churn_reason="goal_reached"))
                    for _ in range(2))
    with app.app_context():
        services.write_review(world.mentee.id, mid, 4, "Written two weeks ago.", "initial", True,
                              at=world.at - review_rules.EDITABLE_FOR)
        services.write_review(world.mentee.id, younger, 4, "Almost two weeks ago.", "initial", True,
                              at=world.at - review_rules.EDITABLE_FOR + timedelta(seconds=1))
    client = login(world.mentee)
    before = all_state(app)
    for data in (dict(GOOD_REVIEW, stars="1", text="A second opinion."), GOOD_REVIEW):
        response = client.post(f"/mentorships/{mid}/review", data=data)
        body = response.get_data(as_text=True)
        assert response.status_code in (200, 409), (response.status_code, body[-800:])
        assert "can no longer be changed" in body and "Written two weeks ago." in body
        assert 'name="text"' not in body  # no form offered any more
    assert all_state(app) == before
    response = client.post(f"/mentorships/{younger}/review", data=dict(GOOD_REVIEW, stars="1", text="Edited."))
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Review)) == 2
        assert db.session.scalar(db.select(Review.text).where(Review.mentorship_id == younger)) == "Edited."
        assert db.session.get(MentorReviewStats, world.mentor.id).n == 2


def test_someone_elses_review_form_is_not_found(app, world, login):
    mid = world.cancelled()
    review_id = world.review()
    before = all_state(app)
    assert login(world.other_mentee).post(f"/mentorships/{mid}/review", data=GOOD_REVIEW).status_code == 404
    assert login(world.other_mentor).post(f"/reviews/{review_id}/reply", data={"text": "Hi"}).status_code == 404
    assert login(world.mentee).post(f"/reviews/{review_id}/reply", data={"text": "Hi"}).status_code in (302, 403)
    assert login(world.mentor).post(f"/ops/reviews/{review_id}/moderate",
                                    data=FORMS["moderate"][3]).status_code in (302, 403)
    assert all_state(app) == before


@pytest.mark.parametrize("url", [
    "/mentorships/99999999999999999999/review", "/reviews/99999999999999999999/reply",
    "/ops/reviews/99999999999999999999/moderate", "/mentors/99999999999999999999",
    "/mentorships/-1/review", "/reviews/0/reply", "/ops/reviews/%00/moderate", "/mentors/1%00",
])
def test_hostile_review_paths_are_not_found(app, world, login, url):
    world.review()
    who = {"/mentorships": world.mentee, "/reviews/": world.mentor, "/ops/revi": world.operator,
           "/mentors/": world.mentee}[next(p for p in ("/mentorships", "/reviews/", "/ops/revi", "/mentors/")
                                           if url.startswith(p))]
    before = all_state(app)
    for method in ("get", "post"):
        response = getattr(login(who), method)(url, data=GOOD_REVIEW if method == "post" else None)
        assert response.status_code in (404, 405), (method, url, response.status_code)
    assert all_state(app) == before


PAGE_VALUES = ["-1", "0", "%00", "9" * 5000, "99999999", "1e9", "%EF%BC%92", "%D9%A3", "%C2%B2", "1%00", "2.0",
               "%20 2", "0x2", "2&page=x", "&page=", "[]", "%FF", "%ED%A0%80"]
DIRECTORY_QUERIES = [
    "q=%00", "q=%00%01%1b%7f", "q=" + "z" * 5000, "q=%25", "q=_", "q=%5C", "q=%5C%25", "q=%27%22--%3B",
    "q=%ED%A0%80", "q=%C0%80", "q=%FF%FE", "q=%E2%80%AE", "q=%F0%9F%98%80", "q[]=a", "q=a&q=%00",
    "expertise=%00", "expertise=%2C", "expertise=%2C%2C", "expertise=" + "x" * 5000, "expertise=%25",
    "expertise=%5F", "expertise[]=a", "expertise=Python%00", "expertise=python&expertise=%00",
    "goal_category=%00", "goal_category=get_promoted%00", "goal_category=" + "z" * 5000, "goal_category[]=x",
    "goal_category=GET_PROMOTED", "sort=%00", "sort=RATING", "sort=name%00", "sort=" + "z" * 5000,
    "sort=rating&sort=evil", "sort[]=name", "sort=-rating", "sort=rating%20desc",
    *[f"page={value}" for value in PAGE_VALUES],
    "q=&expertise=&goal_category=&sort=&page=", "q=a&sort=name&page=99", "q=%00&expertise=%00&goal_category=%00"
    "&sort=%00&page=%00",
]


@pytest.mark.parametrize("query", DIRECTORY_QUERIES)
def test_hostile_directory_parameters_still_show_the_page(app, world, login, query):
    world.review()
    before = all_state(app)
    response = login(world.mentee).get("/mentors?" + query)
    assert response.status_code == 200, (query[:80], response.status_code)
    assert "Find a mentor" in response.get_data(as_text=True)
    assert all_state(app) == before


@pytest.mark.parametrize("value", PAGE_VALUES)
@pytest.mark.parametrize("where", ["profile", "moderation", "moderation_hidden", "moderation_hostile_state"])
def test_hostile_review_page_numbers_still_show_the_page(app, world, login, where, value):
    world.review()
    path, who = {
        "profile": (f"/mentors/{world.mentor.id}?page=", world.mentee),
        "moderation": ("/ops/reviews?page=", world.operator),
        "moderation_hidden": ("/ops/reviews?state=hidden&page=", world.operator),
        "moderation_hostile_state": ("/ops/reviews?state=hidden%00&page=", world.operator),
    }[where]
    before = all_state(app)
    response = login(who).get(path + value)
    assert response.status_code == 200, (where, value[:40], response.status_code)
    assert all_state(app) == before


@pytest.mark.parametrize("query", ["state=%00", "state=HIDDEN", "state=hidden%00", "state=" + "z" * 5000,
                                   "state[]=hidden", "state=visible&state=hidden", "state=visible%20",
                                   "state=&page=", "state=%ED%A0%80&page=%00"])
def test_hostile_moderation_filters_still_show_the_page(app, world, login, query):
    world.review()
    before = all_state(app)
    response = login(world.operator).get("/ops/reviews?" + query)
    assert response.status_code == 200, (query[:80], response.status_code)
    assert "Clear plans and honest feedback." in response.get_data(as_text=True)
    assert all_state(app) == before


# --- property-based ---------------------------------------------------------------------------------

text_values = st.one_of(st.text(max_size=60), st.sampled_from(["", "0", "5", "6", "-1", "\x00", "yes", "no",
                                                                 "partly", "goal_reached", "mentor_fit", "\uff15"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stars=text_values, goal=text_values, reason=text_values, note=st.text(max_size=300))
def test_any_exit_survey_submission_is_all_or_nothing(app, world, login, stars, goal, reason, note):
    with app.app_context():
        empty_tables()
    w = World.build(app, world.at)
    mid = w.in_trial()
    response = login(w.mentee).post(f"/mentorships/{mid}/cancel", data={
        "stars": stars, "goal_reached": goal, "churn_reason": reason, "feedback_mentor": note})
    assert response.status_code in (302, 400)
    surveys, ended = count(app, ExitSurvey), count(app, Mentorship, end_reason="cancelled")
    assert surveys == ended == (1 if response.status_code == 302 else 0)
    if response.status_code == 302:
        assert stars in {"1", "2", "3", "4", "5"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.text(max_size=40), min_size=15, max_size=15))
def test_any_history_row_imports_whole_or_not_at_all(app, tmp_path_factory, cells):
    import csv

    from tracker.data.models import User
    from tracker.reports.history_format import HISTORY_COLUMNS
    from tracker.services.history_import import HistoryError, import_history
    path = tmp_path_factory.mktemp("h") / "h.csv"
    with open(path, "w", newline="", encoding="utf-8", errors="surrogatepass") as handle:
        writer = csv.writer(handle)
        writer.writerow(HISTORY_COLUMNS)
        writer.writerow(cells)
    with app.app_context():
        try:
            summary = import_history(str(path), at=datetime(2026, 1, 1, tzinfo=timezone.utc))
            imported = summary.mentorships
        except HistoryError as error:
            assert all(str(path) in problem for problem in error.problems)
            imported = 0
        except UnicodeEncodeError:
            imported = 0
    assert count(app, Mentorship) == imported and imported in (0, 1)
    if imported == 0:
        assert count(app, User) == 0
    else:
        with app.app_context():
            empty_tables()
