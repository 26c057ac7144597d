"""The mentee's journey: directory, applying with a goal, withdrawing."""
from datetime import timedelta

import pytest

from tracker.data.models import Mentorship

from .factories import count, get, mentorship, user
from .helpers import T0

GOOD_APPLICATION = {"goal_category": "change_careers",
                    "goal_text": "Move from teaching into a junior developer role within a year.",
                    "meeting_preference": "video"}


def apply(client, mentor_id, **overrides):
    data = dict(GOOD_APPLICATION, **overrides)
    return client.post(f"/mentors/{mentor_id}", data=data)


def test_directory_lists_only_mentors_accepting_applications(app, world, login):
    user(app, "mentor", "paused@example.com", "Paula Paused", accepting=False)
    page = login(world.mentee).get("/mentors").get_data(as_text=True)
    assert "Max Mentor" in page and "Nora Mentor" in page and "Headline of Max Mentor" in page
    assert "Paula Paused" not in page


def test_mentee_applies_with_a_goal(app, world, login):
    client = login(world.mentee)
    response = apply(client, world.mentor.id)
    assert response.status_code == 302
    with app.app_context():
        from tracker.core.extensions import db
        m = db.session.query(Mentorship).one()
        assert (m.mentee_id, m.mentor_id, m.goal_category, m.meeting_preference) == \
            (world.mentee.id, world.mentor.id, "change_careers", "video")
        assert m.goal_text == GOOD_APPLICATION["goal_text"]
        assert m.applied_at == T0 and m.trial_started_at is None and m.ended_at is None
    assert response.headers["Location"] == f"/mentorships/{m.id}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "application pending" in page


@pytest.mark.parametrize("overrides, message", [
    ({"goal_category": ""}, "Choose the kind of goal."),
    ({"goal_category": "get_rich"}, "Not a valid choice"),
    ({"goal_text": ""}, "Describe your goal."),
    ({"goal_text": "Too short"}, "Describe your goal in 20 to 2000 characters."),
    ({"goal_text": "x" * 2001}, "Describe your goal in 20 to 2000 characters."),
    ({"goal_text": "A goal with a NUL \x00 byte in the middle"}, "control character"),
    ({"goal_text": "A goal with an escape \x1b[31m sequence inside"}, "control character"),
    ({"meeting_preference": ""}, "Choose how you would like to meet."),
    ({"meeting_preference": "telepathy"}, "Not a valid choice"),
])
def test_bad_applications_are_refused_and_change_nothing(app, world, login, overrides, message):
    response = apply(login(world.mentee), world.mentor.id, **overrides)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(app, Mentorship) == 0


def test_goal_text_keeps_newlines_and_is_shown_as_text(app, world, login):
    client = login(world.mentee)
    goal = "Line one of my goal\nand <script>alert('x')</script> line two"
    apply(client, world.mentor.id, goal_text=goal)
    mentor_page = login(world.mentor).get("/mentor/").get_data(as_text=True)
    assert "<script>alert" not in mentor_page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in mentor_page


def test_one_open_application_per_mentee_and_mentor(app, world, login):
    client = login(world.mentee)
    assert apply(client, world.mentor.id).status_code == 302
    second = apply(client, world.mentor.id)
    assert "You already have an open application or mentorship with Max Mentor." in second.get_data(as_text=True)
    assert count(app, Mentorship) == 1
    assert apply(client, world.other_mentor.id).status_code == 302  # another mentor is fine
    assert count(app, Mentorship) == 2


def test_a_new_application_is_possible_once_the_last_one_ended(app, world, login):
    mentorship(app, world.mentee, world.mentor, applied_at=T0 - timedelta(days=100),
               trial_started_at=T0 - timedelta(days=99), ended_at=T0 - timedelta(days=20))
    assert apply(login(world.mentee), world.mentor.id).status_code == 302
    assert count(app, Mentorship) == 2


def test_a_mentor_not_accepting_cannot_be_applied_to(app, world, login):
    paused = user(app, "mentor", "paused@example.com", "Paula Paused", accepting=False)
    client = login(world.mentee)
    assert "not taking new mentees" in client.get(f"/mentors/{paused.id}").get_data(as_text=True)
    response = apply(client, paused.id)
    assert "Paula Paused is not accepting applications at the moment." in response.get_data(as_text=True)
    assert count(app, Mentorship) == 0


@pytest.mark.parametrize("target", ["mentor_is_operator", "missing"])
def test_applying_to_someone_who_is_not_a_mentor_is_404(app, world, login, target):
    target_id = world.operator.id if target == "mentor_is_operator" else 9999
    client = login(world.mentee)
    assert client.get(f"/mentors/{target_id}").status_code == 404
    assert apply(client, target_id).status_code == 404
    assert count(app, Mentorship) == 0


def test_form_fields_naming_an_owner_or_state_are_ignored(app, world, login):
    apply(login(world.mentee), world.mentor.id, mentee_id=world.other_mentee.id,
          trial_started_at="2026-01-01T00:00:00", ended_at="2026-01-01T00:00:00")
    m = get(app, Mentorship, 1)
    assert m.mentee_id == world.mentee.id and m.trial_started_at is None and m.ended_at is None


def test_mentee_withdraws_a_pending_application(app, world, login):
    mid = world.pending()
    client = login(world.mentee)
    response = client.post(f"/mentorships/{mid}/withdraw")
    assert response.status_code == 302
    m = get(app, Mentorship, mid)
    assert (m.ended_at, m.end_reason, m.trial_started_at) == (T0, "withdrawn", None)
    assert "withdrawn" in client.get(f"/mentorships/{mid}").get_data(as_text=True)


def test_an_accepted_application_cannot_be_withdrawn(app, world, login):
    mid = world.in_trial()
    client = login(world.mentee)
    client.post(f"/mentorships/{mid}/withdraw")
    assert get(app, Mentorship, mid).ended_at is None
    assert "Only a pending application can be withdrawn." in client.get(f"/mentorships/{mid}").get_data(as_text=True)


def test_another_mentee_cannot_withdraw_it(app, world, login):
    mid = world.pending()
    assert login(world.other_mentee).post(f"/mentorships/{mid}/withdraw").status_code == 404
    assert get(app, Mentorship, mid).ended_at is None


def test_mentee_home_lists_their_mentorships_with_state(app, world, login):
    world.in_trial(days_in=2)
    page = login(world.mentee).get("/me").get_data(as_text=True)
    assert "Max Mentor" in page
    assert "trial, ends 7 Mar 2026 (5 days left)" in page


def test_mentee_home_is_helpful_when_empty(world, login):
    assert "No mentorships yet" in login(world.mentee).get("/me").get_data(as_text=True)
