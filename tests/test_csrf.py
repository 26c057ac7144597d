"""With CSRF protection on, as in production: no token, another session's token, a valid token."""
import re

import pytest

from tracker.data.models import ExitSurvey, Mentorship

from .factories import PASSWORD, count, get


@pytest.fixture
def app(make_app):
    return make_app(WTF_CSRF_ENABLED=True)


def token_from(client, url):
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get(url).get_data(as_text=True)) \
        or re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def csrf_login(app, user):
    client = app.test_client()
    token = token_from(client, "/login")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client


def test_login_without_a_token_is_refused(app, world):
    client = app.test_client()
    response = client.post("/login", data={"email": world.mentee.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "The form expired or did not come from this site." in response.get_data(as_text=True)
    assert client.get("/me").status_code == 302


def test_cancel_needs_this_sessions_token(app, world):
    mid = world.in_trial()
    survey = {"stars": "3", "goal_reached": "no", "churn_reason": "other"}
    client = csrf_login(app, world.mentee)
    intruder = csrf_login(app, world.other_mentee)
    foreign_token = token_from(intruder, "/mentors")

    assert client.post(f"/mentorships/{mid}/cancel", data=survey).status_code == 400
    assert client.post(f"/mentorships/{mid}/cancel", data=dict(survey, csrf_token=foreign_token)).status_code == 400
    assert client.post(f"/mentorships/{mid}/cancel", data=dict(survey, csrf_token="forged")).status_code == 400
    assert get(app, Mentorship, mid).ended_at is None and count(app, ExitSurvey) == 0

    token = token_from(client, f"/mentorships/{mid}/cancel")
    assert client.post(f"/mentorships/{mid}/cancel", data=dict(survey, csrf_token=token)).status_code == 302
    assert count(app, ExitSurvey) == 1


@pytest.mark.parametrize("path_of", [
    lambda w, mid: f"/mentor/applications/{mid}/accept",
    lambda w, mid: f"/mentor/applications/{mid}/decline",
])
def test_post_buttons_need_a_token(app, world, path_of):
    mid = world.pending()
    client = csrf_login(app, world.mentor)
    assert client.post(path_of(world, mid)).status_code == 400
    m = get(app, Mentorship, mid)
    assert m.trial_started_at is None and m.ended_at is None
    token = token_from(client, "/mentor/")
    assert client.post(path_of(world, mid), data={"csrf_token": token}).status_code == 302


def test_logout_needs_a_token(app, world):
    client = csrf_login(app, world.mentee)
    assert client.post("/logout").status_code == 400
    assert client.get("/me").status_code == 200
    client.post("/logout", data={"csrf_token": token_from(client, "/me")})
    assert client.get("/me").status_code == 302


def test_healthz_needs_no_token_and_no_login(app):
    assert app.test_client().get("/healthz").get_json() == {"status": "ok"}
