"""A service's NotFound answers 404 through the application's error handler, also in views that show
other service errors on their form (NotFound is a ServiceError, and must not be shown as one)."""
from datetime import timedelta

import pytest

from tracker.data.models import Mentorship

from .factories import get, mentorship

SURVEY = {"stars": "4", "goal_reached": "partly", "churn_reason": "no_time", "feedback_platform": "",
          "feedback_mentor": "", "feedback_other": ""}


@pytest.mark.parametrize("which", ["another mentorship's", "zero", "missing"])
def test_an_exit_survey_naming_a_flow_that_is_not_this_mentorships_is_404(app, world, login, which):
    mid, flow_id = world.flow()
    started = world.at - timedelta(days=20)
    other = mentorship(app, world.mentee, world.other_mentor, started - timedelta(days=1), trial_started_at=started)
    sent = {"another mentorship's": str(flow_id), "zero": "0", "missing": "99999"}[which]
    response = login(world.mentee).post(f"/mentorships/{other}/cancel", data=dict(SURVEY, flow_id=sent))
    assert response.status_code == 404
    assert "not yours to see" in response.get_data(as_text=True)
    assert get(app, Mentorship, other).ended_at is None
    assert get(app, Mentorship, mid).ended_at is None
