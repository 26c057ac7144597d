"""The operator's pages: the overview and creating accounts."""
from datetime import timedelta

import pytest

from tracker.data.models import MentorProfile, User

from .factories import count, mentorship, user
from .helpers import T0

NEW_MENTOR = {"name": "Nina New", "email": "nina@example.com", "role": "mentor", "password": "a-fine-password"}


def test_operator_creates_a_mentor_who_can_log_in(app, world, login):
    response = login(world.operator).post("/ops/users", data=NEW_MENTOR)
    assert response.status_code == 302
    assert count(app, User, email="nina@example.com", role="mentor") == 1
    assert count(app, MentorProfile) == 3
    client = app.test_client()
    assert client.post("/login", data={"email": "nina@example.com", "password": "a-fine-password"}) \
        .headers["Location"] == "/mentor/"


@pytest.mark.parametrize("overrides, message", [
    ({"role": "admin"}, "Not a valid choice"),
    ({"email": "mentor@example.com"}, "An account with this email already exists."),
    ({"email": "nope"}, "Enter a valid email address"),
    ({"password": "short"}, "Use 8 to 128 characters."),
    ({"name": ""}, "Enter a name."),
])
def test_bad_account_input_changes_nothing(app, world, login, overrides, message):
    response = login(world.operator).post("/ops/users", data=dict(NEW_MENTOR, **overrides))
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert count(app, User) == 5


def test_overview_counts_mentorships_by_state_as_of_now(app, world, login):
    day = timedelta(days=1)
    a, b = world.mentee, world.other_mentee
    m, n = world.mentor, world.other_mentor
    mentorship(app, a, m, applied_at=T0 - day)                                            # pending
    mentorship(app, b, m, applied_at=T0 - 3 * day, trial_started_at=T0 - 2 * day)         # trial
    mentorship(app, a, n, applied_at=T0 - 30 * day, trial_started_at=T0 - 7 * day)        # paid, from trial end
    mentorship(app, b, n, applied_at=T0 - 9 * day, ended_at=T0 - 8 * day)                 # declined
    mentorship(app, b, n, applied_at=T0 - 60 * day, trial_started_at=T0 - 59 * day,
               ended_at=T0 - 10 * day)                                                    # cancelled
    mentorship(app, b, n, applied_at=T0 + day)                                            # after T0: not counted
    paused = mentorship(app, user(app, "mentee", "pia@example.com"), n, applied_at=T0 - 50 * day,
                        trial_started_at=T0 - 49 * day)
    with app.app_context():
        from tracker.core.extensions import db
        from tracker.data.models import Pause
        db.session.add(Pause(mentorship_id=paused, starts_at=T0 - day, ends_at=T0 + day))   # paused
        db.session.commit()
    page = login(world.operator).get("/ops/mentorships").get_data(as_text=True)
    for label in ["applications pending", "in trial", "in paid months", "paused", "cancelled",
                  "declined or withdrawn"]:
        assert f'<span class="tile-value">1</span><span class="tile-label">{label}</span>' in page


def test_overview_is_readable_with_no_data(app, login):
    from .factories import user
    op = user(app, "operator", "solo@example.com")
    page = login(op).get("/ops/mentorships").get_data(as_text=True)
    assert "No applications yet" in page
