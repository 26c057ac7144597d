"""The mentor's side: profile, deciding applications, and what the mentorship page shows them."""
from datetime import timedelta

import pytest

from tracker.core import clock
from tracker.data.models import MentorProfile, Mentorship, User

from .factories import get
from .helpers import T0

PROFILE = {"name": "Max Mentor", "headline": "Staff engineer", "expertise": "Python,  Careers , ,Leadership",
           "bio": "Ten years of backend work.", "accepting_applications": "y"}


def test_mentor_edits_the_profile_and_can_stop_accepting(app, world, login):
    client = login(world.mentor)
    response = client.post("/mentor/profile", data=dict(PROFILE, accepting_applications=""))
    assert response.status_code == 302
    profile = get(app, MentorProfile, world.mentor.id)
    assert (profile.headline, profile.expertise, profile.accepting_applications) == \
        ("Staff engineer", "Python, Careers, Leadership", False)
    assert "Max Mentor" not in login(world.mentee).get("/mentors").get_data(as_text=True)
    assert "You are not accepting new applications." in client.get("/mentor/").get_data(as_text=True)


@pytest.mark.parametrize("overrides, message", [
    ({"name": ""}, "Enter a name."),
    ({"headline": ""}, "Write a one-line headline"),
    ({"headline": "h" * 121}, "Keep the headline under 120 characters."),
    ({"expertise": "e" * 301}, "Keep the expertise list under 300 characters."),
    ({"bio": "b" * 4001}, "Keep it under 4000 characters."),
    ({"bio": "null \x00 byte"}, "control character"),
])
def test_bad_profile_input_changes_nothing(app, world, login, overrides, message):
    response = login(world.mentor).post("/mentor/profile", data=dict(PROFILE, **overrides))
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert get(app, MentorProfile, world.mentor.id).headline == "Headline of Max Mentor"
    assert get(app, User, world.mentor.id).name == "Max Mentor"


def test_mentor_sees_pending_applications_with_the_goal_as_written(world, login):
    world.pending()
    page = login(world.mentor).get("/mentor/").get_data(as_text=True)
    assert "Applications waiting for you (1)" in page
    assert "Become a backend developer in a year." in page and "Mia Mentee" in page


def test_accepting_starts_the_trial_at_that_moment(app, world, login):
    mid = world.pending()
    client = login(world.mentor)
    assert client.post(f"/mentor/applications/{mid}/accept").status_code == 302
    m = get(app, Mentorship, mid)
    assert m.trial_started_at == T0 and m.ended_at is None
    page = client.get(f"/mentorships/{mid}").get_data(as_text=True)
    assert "trial, ends 9 Mar 2026 (7 days left)" in page


def test_declining_closes_the_application(app, world, login):
    mid = world.pending()
    login(world.mentor).post(f"/mentor/applications/{mid}/decline")
    m = get(app, Mentorship, mid)
    assert (m.trial_started_at, m.ended_at, m.end_reason) == (None, T0, "declined")
    assert "declined by the mentor" in login(world.mentee).get(f"/mentorships/{mid}").get_data(as_text=True)


@pytest.mark.parametrize("action", ["accept", "decline"])
def test_an_answered_application_cannot_be_answered_again(app, world, login, action):
    mid = world.in_trial()
    before = get(app, Mentorship, mid)
    client = login(world.mentor)
    client.post(f"/mentor/applications/{mid}/{action}")
    after = get(app, Mentorship, mid)
    assert (after.trial_started_at, after.ended_at) == (before.trial_started_at, before.ended_at)
    assert "already been answered" in client.get(f"/mentorships/{mid}").get_data(as_text=True)


@pytest.mark.parametrize("action", ["accept", "decline"])
def test_another_mentor_cannot_decide(app, world, login, action):
    mid = world.pending()
    assert login(world.other_mentor).post(f"/mentor/applications/{mid}/{action}").status_code == 404
    m = get(app, Mentorship, mid)
    assert m.trial_started_at is None and m.ended_at is None


def test_state_follows_the_clock_with_no_job(app, world, login):
    mid = world.pending()
    client = login(world.mentor)
    client.post(f"/mentor/applications/{mid}/accept")
    expectations = [(timedelta(days=3), "trial, ends 9 Mar 2026 (4 days left)"),
                    (timedelta(days=7) - timedelta(seconds=1), "(less than a minute left)"),
                    (timedelta(days=7), "month 1"),
                    (timedelta(days=37), "month 2")]
    for offset, text in expectations:
        clock.freeze(T0 + offset)
        assert text in client.get(f"/mentorships/{mid}").get_data(as_text=True), offset


def test_the_mentor_never_sees_the_exit_survey_on_the_mentorship_page(app, world, login):
    mid = world.cancelled()
    mentor_page = login(world.mentor).get(f"/mentorships/{mid}").get_data(as_text=True)
    assert "Private words for the platform" not in mentor_page and "Exit survey" not in mentor_page
    for reader in (world.mentee, world.operator):
        assert "Private words for the platform" in login(reader).get(f"/mentorships/{mid}").get_data(as_text=True)
