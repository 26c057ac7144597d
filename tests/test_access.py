"""Every route x every method x every role, built from app.url_map: a new route without an
expected answer here fails the suite. Refused requests change nothing, and ids that exist
and ids that do not get the same answer."""
import pytest

from tracker import create_app

from .helpers import table_state

ROLES = ("anonymous", "mentee", "other_mentee", "mentor", "other_mentor", "operator")
LOGIN = "login"  # a redirect to the login page


def answers(anonymous, mentee, other_mentee, mentor, other_mentor, operator):
    return dict(zip(ROLES, (anonymous, mentee, other_mentee, mentor, other_mentor, operator), strict=True))


MENTEES_ONLY = answers(LOGIN, 200, 200, 403, 403, 403)
MENTORS_ONLY = answers(LOGIN, 403, 403, 200, 200, 403)
OPERATORS_ONLY = answers(LOGIN, 403, 403, 403, 403, 200)
ANONYMOUS_ONLY = answers(200, 302, 302, 302, 302, 302)

# (endpoint, method) -> (the object the URL names, expected status per role).
# Objects: "pending" (mentee applied to mentor), "running" (mentee with mentor, in trial),
# "mentor" (the mentor's user id), "flow" (a cancel flow of the mentee's paid mentorship, showing an
# offer), None. POSTs send an empty form (CSRF is tested elsewhere).
EXPECTED = {
    ("auth.index", "GET"): (None, ANONYMOUS_ONLY),
    ("auth.login", "GET"): (None, ANONYMOUS_ONLY),
    ("auth.login", "POST"): (None, answers(400, 302, 302, 302, 302, 302)),
    ("auth.signup", "GET"): (None, ANONYMOUS_ONLY),
    ("auth.signup", "POST"): (None, answers(400, 302, 302, 302, 302, 302)),
    ("auth.logout", "POST"): (None, answers(LOGIN, 302, 302, 302, 302, 302)),
    ("mentee.home", "GET"): (None, MENTEES_ONLY),
    ("mentee.mentors", "GET"): (None, MENTEES_ONLY),
    ("mentee.mentor_profile", "GET"): ("mentor", MENTEES_ONLY),
    ("mentee.mentor_profile", "POST"): ("mentor", answers(LOGIN, 400, 400, 403, 403, 403)),
    ("mentee.withdraw", "POST"): ("pending", answers(LOGIN, 302, 404, 403, 403, 403)),
    ("mentee.cancel", "GET"): ("running", answers(LOGIN, 200, 404, 403, 403, 403)),
    ("mentee.cancel", "POST"): ("running", answers(LOGIN, 400, 404, 403, 403, 403)),
    ("mentor.home", "GET"): (None, MENTORS_ONLY),
    ("mentor.profile", "GET"): (None, MENTORS_ONLY),
    ("mentor.ratings", "GET"): (None, MENTORS_ONLY),
    ("ops.hide_feedback", "POST"): ("survey", answers(LOGIN, 403, 403, 403, 403, 302)),
    ("ops.unhide_feedback", "POST"): ("survey", answers(LOGIN, 403, 403, 403, 403, 302)),
    ("mentor.profile", "POST"): (None, answers(LOGIN, 403, 403, 400, 400, 403)),
    ("mentor.accept", "POST"): ("pending", answers(LOGIN, 403, 403, 302, 404, 403)),
    ("mentor.decline", "POST"): ("pending", answers(LOGIN, 403, 403, 302, 404, 403)),
    ("mentorship.show", "GET"): ("running", answers(LOGIN, 200, 404, 200, 404, 200)),
    ("mentorship.log_checkin", "POST"): ("running", answers(LOGIN, 400, 404, 400, 404, 403)),
    ("ops.home", "GET"): (None, OPERATORS_ONLY),
    ("ops.churn", "GET"): (None, OPERATORS_ONLY),
    ("ops.retention", "GET"): (None, OPERATORS_ONLY),
    ("ops.ratings", "GET"): (None, OPERATORS_ONLY),
    ("ops.feedback", "GET"): (None, OPERATORS_ONLY),
    ("ops.surveys_csv", "GET"): (None, OPERATORS_ONLY),
    ("ops.mentorships", "GET"): (None, OPERATORS_ONLY),
    ("api.metrics_v1", "GET"): (None, answers(401, 403, 403, 403, 403, 200)),
    ("api.metrics_v2", "GET"): (None, answers(401, 403, 403, 403, 403, 200)),
    ("api.openapi_document", "GET"): (None, answers(200, 200, 200, 200, 200, 200)),
    ("assets.plotly_js", "GET"): (None, answers(200, 200, 200, 200, 200, 200)),
    ("ops.users", "GET"): (None, OPERATORS_ONLY),
    ("ops.users", "POST"): (None, answers(LOGIN, 403, 403, 403, 403, 400)),
    ("api.healthz", "GET"): (None, answers(200, 200, 200, 200, 200, 200)),
    ("api.readyz", "GET"): (None, answers(200, 200, 200, 200, 200, 200)),
    ("mentee.start_cancel", "POST"): ("running", answers(LOGIN, 400, 404, 403, 403, 403)),
    ("mentee.cancel_flow", "GET"): ("flow", answers(LOGIN, 200, 404, 403, 403, 403)),
    ("mentee.accept_offer", "POST"): ("flow", answers(LOGIN, 302, 404, 403, 403, 403)),
    ("mentee.decline_offer", "POST"): ("flow", answers(LOGIN, 302, 404, 403, 403, 403)),
    ("mentee.resume", "POST"): ("running", answers(LOGIN, 302, 404, 403, 403, 403)),
    ("mentorship.pulse", "POST"): ("running", answers(LOGIN, 400, 404, 403, 403, 403)),
    ("ops.saves", "GET"): (None, OPERATORS_ONLY),
    ("ops.health_dashboard", "GET"): (None, OPERATORS_ONLY),
    ("ops.research", "GET"): (None, OPERATORS_ONLY),
    ("ops.at_risk", "GET"): (None, OPERATORS_ONLY),
    ("ops.mark_handled", "POST"): ("running", answers(LOGIN, 403, 403, 403, 403, 302)),
    ("ops.offers", "GET"): (None, OPERATORS_ONLY),
    ("ops.offers", "POST"): (None, answers(LOGIN, 403, 403, 403, 403, 400)),
    ("ops.outbox", "GET"): (None, OPERATORS_ONLY),
    ("ops.themes", "GET"): (None, OPERATORS_ONLY),
    ("mail.settings", "GET"): (None, answers(LOGIN, 200, 200, 200, 200, 200)),
    ("mail.settings", "POST"): (None, answers(LOGIN, 302, 302, 302, 302, 302)),
    # Signed links act for whoever holds them, logged in or not: here with no valid token, for everyone
    # the same clear refusal (tests/test_mail_links.py tries them with real tokens).
    ("mail.unsubscribe", "GET"): ("junk_token", answers(400, 400, 400, 400, 400, 400)),
    ("mail.unsubscribe", "POST"): ("junk_token", answers(400, 400, 400, 400, 400, 400)),
    ("mail.pulse", "GET"): ("running", answers(400, 400, 400, 400, 400, 400)),
    ("mail.pulse", "POST"): ("running", answers(400, 400, 400, 400, 400, 400)),
    ("mail.cancel_flow", "GET"): ("flow", answers(400, 400, 400, 400, 400, 400)),
    # A trial two days in cannot be reviewed yet: its mentee is told so (409), nobody else sees it.
    ("reviews.write", "GET"): ("running", answers(LOGIN, 409, 404, 403, 403, 403)),
    ("reviews.write", "POST"): ("running", answers(LOGIN, 409, 404, 403, 403, 403)),
    ("reviews.reply", "POST"): ("review", answers(LOGIN, 403, 403, 400, 404, 403)),
    ("reviews.moderation", "GET"): (None, OPERATORS_ONLY),
    ("reviews.moderate", "POST"): ("review", answers(LOGIN, 403, 403, 403, 403, 303)),
    ("admin.mentorship", "GET"): ("running", OPERATORS_ONLY),
    ("admin.account", "GET"): ("user", OPERATORS_ONLY),
    ("admin.deactivate", "POST"): ("user", answers(LOGIN, 403, 403, 403, 403, 302)),
    ("admin.reactivate", "POST"): ("user", answers(LOGIN, 403, 403, 403, 403, 302)),
    ("admin.password_reset", "POST"): ("user", answers(LOGIN, 403, 403, 403, 403, 302)),
    ("admin.export", "POST"): ("user", answers(LOGIN, 403, 403, 403, 403, 200)),
    ("admin.erase", "POST"): ("user", answers(LOGIN, 403, 403, 403, 403, 302)),
    ("admin.audit", "GET"): (None, OPERATORS_ONLY),
    ("experiments.index", "GET"): (None, OPERATORS_ONLY),
    ("experiments.index", "POST"): (None, answers(LOGIN, 403, 403, 403, 403, 400)),
    ("experiments.show", "GET"): ("experiment", OPERATORS_ONLY),
    ("experiments.end", "POST"): ("experiment", answers(LOGIN, 403, 403, 403, 403, 302)),
    ("admin.audit_csv", "GET"): (None, OPERATORS_ONLY),
    ("auth.reset_password", "GET"): ("junk_token", answers(400, 400, 400, 400, 400, 400)),
    ("auth.reset_password", "POST"): ("junk_token", answers(400, 400, 400, 400, 400, 400)),
}


def routes():
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_has_expected_answers():
    listed = {(rule.endpoint, method) for rule, method in routes()}
    assert listed == set(EXPECTED), (
        f"routes without expectations: {sorted(listed - set(EXPECTED))}; "
        f"expectations without routes: {sorted(set(EXPECTED) - listed)}")


def _url(app, endpoint, obj_id):
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    if isinstance(obj_id, tuple):  # a cancel flow: (mentorship id, flow id)
        params = {name: value for name, value in zip(("mentorship_id", "flow_id"), obj_id, strict=True)
                  if name in rule.arguments}
    else:
        params = {arg: obj_id for arg in rule.arguments}
    with app.test_request_context():
        from flask import url_for
        return url_for(endpoint, **params)


def _object(world, kind):
    return {"pending": world.pending, "running": world.in_trial, "survey": world.survey, "flow": world.flow,
            "review": world.review, "user": lambda: world.mentor.id, "experiment": world.experiment,
            "mentor": lambda: world.mentor.id, "junk_token": lambda: "not-a-signed-token",
            None: lambda: None}[kind]()


def _client(world, login, role):
    return login(None if role == "anonymous" else getattr(world, role))


def _request(client, method, url):
    # A non-empty body: Flask-WTF treats an empty one as "no form sent" and falls back to defaults.
    return client.get(url) if method == "GET" else client.post(url, data={"unrelated": "1"})


@pytest.mark.parametrize("endpoint, method", sorted(EXPECTED))
@pytest.mark.parametrize("role", ROLES)
def test_access(app, world, login, endpoint, method, role):
    kind, expected = EXPECTED[(endpoint, method)]
    url = _url(app, endpoint, _object(world, kind))
    client = _client(world, login, role)
    before = table_state(app)
    response = _request(client, method, url)
    want = expected[role]
    if want == LOGIN:
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    else:
        assert response.status_code == want, response.get_data(as_text=True)[:500]
    if want in (LOGIN, 403, 404, 400, 409):
        assert table_state(app) == before


ID_ROUTES = sorted(k for k, (kind, _) in EXPECTED.items()
                   if kind in ("pending", "running", "mentor", "survey", "flow", "review", "user"))


@pytest.mark.parametrize("endpoint, method", ID_ROUTES)
@pytest.mark.parametrize("role", ["other_mentee", "other_mentor"])
def test_someone_elses_id_and_a_missing_id_get_the_same_answer(app, world, login, endpoint, method, role):
    kind, _ = EXPECTED[(endpoint, method)]
    real = _url(app, endpoint, _object(world, kind))
    missing = _url(app, endpoint, 987654)
    client = _client(world, login, role)
    if kind == "mentor":  # every mentee may see every mentor: only the missing one is 404
        expected_missing = 404 if role == "other_mentee" else 403
        assert _request(client, method, missing).status_code == expected_missing
        return
    assert _request(client, method, real).status_code == _request(client, method, missing).status_code
