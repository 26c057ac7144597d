"""Cancellation is the exit survey: one form, one transaction, one survey, whatever happens."""
import threading

import pytest

from tracker.data.models import ExitSurvey, Mentorship
from tracker.domain import lifecycle

from .factories import count, get
from .helpers import T0

SURVEY = {"stars": "4", "goal_reached": "partly", "churn_reason": "no_time",
          "feedback_platform": "Reminders before calls", "feedback_mentor": "More homework please",
          "feedback_other": ""}


def cancel(client, mid, **overrides):
    return client.post(f"/mentorships/{mid}/cancel", data=dict(SURVEY, **overrides))


def survey_page(client, mid, reason="goal_reached") -> str:
    """Through the cancel flow's first step to the survey (no offer for "goal reached")."""
    started = client.post(f"/mentorships/{mid}/cancel/reason", data={"churn_reason": reason})
    assert started.status_code == 302, started.get_data(as_text=True)[-500:]
    return client.get(started.headers["Location"]).get_data(as_text=True)


def test_cancelling_ends_the_mentorship_and_stores_the_survey_together(app, world, login):
    mid = world.in_trial(days_in=20)
    client = login(world.mentee)
    first = client.get(f"/mentorships/{mid}/cancel").get_data(as_text=True)
    assert "Nothing ends yet" in first and 'name="churn_reason"' in first and 'name="stars"' not in first
    form = survey_page(client, mid)
    assert "ends the mentorship now" in form and 'name="stars"' in form
    response = cancel(client, mid)
    assert response.status_code == 302
    m = get(app, Mentorship, mid)
    assert (m.ended_at, m.end_reason) == (T0, "cancelled")
    assert lifecycle.stage_of_end(m.trial_started_at, m.ended_at) == "month_1"
    with app.app_context():
        from tracker.core.extensions import db
        s = db.session.query(ExitSurvey).one()
        assert (s.mentorship_id, s.stars, s.goal_reached, s.churn_reason, s.submitted_at) == \
            (mid, 4, "partly", "no_time", T0)
        assert (s.feedback_platform, s.feedback_mentor, s.feedback_other) == \
            ("Reminders before calls", "More homework please", "")
    assert "cancelled in month 1" in client.get(f"/mentorships/{mid}").get_data(as_text=True)


def test_cancelling_during_the_trial_counts_as_trial_churn(app, world, login):
    mid = world.in_trial(days_in=7 - 1 / 86400)  # one second before trial end
    cancel(login(world.mentee), mid, churn_reason="too_expensive")
    m = get(app, Mentorship, mid)
    assert m.ended_at == T0
    assert lifecycle.stage_of_end(m.trial_started_at, m.ended_at) == "trial"
    assert not lifecycle.converted(m.trial_started_at, m.ended_at)


@pytest.mark.parametrize("overrides, message", [
    ({"stars": ""}, "Choose from 1 to 5 stars."),
    ({"stars": "0"}, "Not a valid choice"),
    ({"stars": "6"}, "Not a valid choice"),
    ({"stars": "\uff15"}, "Not a valid choice"),  # fullwidth 5
    ({"stars": "4.0"}, "Not a valid choice"),
    ({"goal_reached": ""}, "Say whether you reached your goal."),
    ({"goal_reached": "maybe"}, "Not a valid choice"),
    ({"churn_reason": ""}, "Choose the main reason you are leaving."),
    ({"churn_reason": "bored"}, "Not a valid choice"),
    ({"feedback_mentor": "m" * 2001}, "Keep this under 2000 characters."),
    ({"feedback_platform": "nul \x00"}, "control character"),
    ({"feedback_other": "\x1b[2J"}, "control character"),
])
def test_a_bad_survey_changes_nothing(app, world, login, overrides, message):
    mid = world.in_trial()
    response = cancel(login(world.mentee), mid, **overrides)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert get(app, Mentorship, mid).ended_at is None
    assert count(app, ExitSurvey) == 0


def test_a_double_submit_makes_one_survey_and_says_so(app, world, login):
    mid = world.in_trial()
    client = login(world.mentee)
    assert cancel(client, mid).status_code == 302
    second = cancel(client, mid, stars="1", churn_reason="mentor_fit")
    assert second.status_code == 302
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "already been cancelled; your answers were recorded the first time" in page
    with app.app_context():
        from tracker.core.extensions import db
        assert [(s.stars, s.churn_reason) for s in db.session.query(ExitSurvey)] == [(4, "no_time")]


def test_simultaneous_submits_make_exactly_one_survey_and_no_error(app, world, login):
    mid = world.in_trial()
    clients = [login(world.mentee) for _ in range(8)]
    barrier = threading.Barrier(len(clients))
    statuses = []

    def submit(c):
        barrier.wait()
        statuses.append(cancel(c, mid).status_code)

    threads = [threading.Thread(target=submit, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert statuses == [302] * len(clients)
    assert count(app, ExitSurvey) == 1
    assert get(app, Mentorship, mid).ended_at == T0


@pytest.mark.parametrize("make, message", [
    ("pending", "This application has not been accepted yet: withdraw it instead."),
    ("cancelled", "already been cancelled"),
])
def test_cancel_is_refused_unless_running(app, world, login, make, message):
    mid = getattr(world, make)()
    surveys_before = count(app, ExitSurvey)
    client = login(world.mentee)
    for response in (client.get(f"/mentorships/{mid}/cancel"), cancel(client, mid)):
        assert response.status_code == 302
    assert message in client.get(f"/mentorships/{mid}").get_data(as_text=True)
    assert count(app, ExitSurvey) == surveys_before


def test_only_the_mentee_can_cancel(app, world, login):
    mid = world.in_trial()
    assert cancel(login(world.other_mentee), mid).status_code == 404
    for role in ("mentor", "operator"):
        assert cancel(login(getattr(world, role)), mid).status_code == 403
    assert get(app, Mentorship, mid).ended_at is None and count(app, ExitSurvey) == 0


def test_the_star_rating_is_a_labelled_radio_group(world, login):
    mid = world.in_trial()
    page = survey_page(login(world.mentee), mid)
    assert "<legend>How would you rate your mentorship?</legend>" in page
    for n in range(1, 6):
        assert f'id="stars-{n - 1}" name="stars" required type="radio" value="{n}"' in page
        assert f'{n} star' in page


def test_survey_text_is_shown_as_text(app, world, login):
    mid = world.in_trial(days_in=30)
    client = login(world.mentee)
    cancel(client, mid, feedback_other="<img src=x onerror=alert(1)>")
    page = login(world.operator).get(f"/mentorships/{mid}").get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
