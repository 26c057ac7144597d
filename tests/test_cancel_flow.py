"""The cancel flow: reason first, the offer that fits it, every offer shown / accepted / declined
recorded, pauses that resume by themselves, switches, and abandoned flows."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from tracker.core import clock
from tracker.core.extensions import db
from tracker.data.models import CancelFlow, CheckIn, ExitSurvey, Mentorship, OfferSetting, Pause
from tracker.domain import lifecycle

from .factories import count, get, mentorship, user
from .helpers import T0

SURVEY = {"stars": "4", "goal_reached": "partly", "churn_reason": "no_time", "feedback_platform": "",
          "feedback_mentor": "", "feedback_other": ""}


def start(client, mid, reason):
    response = client.post(f"/mentorships/{mid}/cancel/reason", data={"churn_reason": reason})
    assert response.status_code == 302, response.get_data(as_text=True)[-400:]
    flow_id = int(response.headers["Location"].rsplit("/", 1)[1])
    return flow_id, client.get(response.headers["Location"]).get_data(as_text=True)


def flows(app):
    with app.app_context():
        rows = list(db.session.scalars(select(CancelFlow).order_by(CancelFlow.id)))
        for row in rows:
            db.session.expunge(row)
        return rows


@pytest.mark.parametrize("reason, days_in, offer, shown_text", [
    ("no_time", 20, "pause", "Pause my mentorship"),
    ("mentor_fit", 20, "switch_mentor", "Switch to Nora Mentor"),
    ("mentor_unresponsive", 3, "switch_mentor", "Switch to Nora Mentor"),
    ("too_expensive", 20, "plan_reminder", "what your plan includes"),
    ("goal_reached", 20, "none", "Congratulations on reaching your goal"),
    ("platform_issue", 20, "none", "ends the mentorship now"),
    ("no_time", 3, "none", "ends the mentorship now"),  # a trial has nothing to pause
])
def test_the_offer_follows_the_reason(app, world, login, reason, days_in, offer, shown_text):
    mid = world.in_trial(days_in=days_in)
    _, page = start(login(world.mentee), mid, reason)
    assert shown_text in page
    assert ('name="stars"' in page) == (offer == "none")
    [flow] = flows(app)
    assert (flow.reason, flow.offer, flow.started_at) == (reason, offer, T0)
    assert flow.offer_shown_at == (T0 if offer != "none" else None)
    assert get(app, Mentorship, mid).ended_at is None  # nothing ends before the survey


def test_operators_choose_the_offer_per_reason(app, world, login):
    operator = login(world.operator)
    data = dict(lifecycle.DEFAULT_OFFERS, too_expensive="pause", no_time="none")
    del data["goal_reached"]
    assert operator.post("/ops/offers", data=data).status_code == 302
    with app.app_context():
        assert db.session.get(OfferSetting, "too_expensive").offer == "pause"
    _, page = start(login(world.mentee), world.in_trial(days_in=20), "too_expensive")
    assert "Pause my mentorship" in page
    started = T0 - timedelta(days=40)
    other = mentorship(app, world.other_mentee, world.mentor, started, trial_started_at=started)
    _, page = start(login(world.other_mentee), other, "no_time")
    assert 'name="stars"' in page and "Pause my mentorship" not in page
    # "I reached my goal" cannot be given an offer: a forged field is not part of the form and is ignored
    assert operator.post("/ops/offers", data=dict(data, goal_reached="pause")).status_code == 302
    third = mentorship(app, world.other_mentee, world.other_mentor, started, trial_started_at=started)
    _, page = start(login(world.other_mentee), third, "goal_reached")
    assert "Congratulations" in page


def test_a_pause_is_its_own_state_and_resumes_by_itself(app, world, login):
    mid = world.in_trial(days_in=20)
    client = login(world.mentee)
    flow_id, _ = start(client, mid, "no_time")
    response = client.post(f"/mentorships/{mid}/cancel/{flow_id}/accept", data={"months": "2"})
    assert response.status_code == 302 and response.headers["Location"] == f"/mentorships/{mid}"
    [flow] = flows(app)
    assert (flow.offer_accepted_at, flow.kept_mentorship_id, flow.cancelled_at) == (T0, mid, None)
    with app.app_context():
        pause = db.session.scalars(select(Pause)).one()
        assert (pause.starts_at, pause.ends_at) == (T0, T0 + timedelta(days=60))
        m = db.session.get(Mentorship, mid)
        end = T0 + timedelta(days=60)
        assert m.state(T0 - timedelta(seconds=1)).status == "paid"
        assert m.state(T0).status == "paused" and m.state(T0).paused_until == end
        assert m.state(end - timedelta(seconds=1)).status == "paused"
        assert m.state(end).status == "paid"  # resumed by itself, no job needed
    page = client.get(f"/mentorships/{mid}").get_data(as_text=True)
    assert "paused until" in page and "Resume now" in page
    # no check-ins while paused
    response = client.post(f"/mentorships/{mid}/checkins",
                           data={"occurred_at": "2026-03-02T08:00", "mode": "video", "minutes": "30"})
    assert response.status_code == 400 and count(app, CheckIn) == 0


def test_resuming_early_ends_the_pause_at_that_moment(app, world, login):
    mid = world.in_trial(days_in=20)
    client = login(world.mentee)
    flow_id, _ = start(client, mid, "no_time")
    client.post(f"/mentorships/{mid}/cancel/{flow_id}/accept", data={"months": "1"})
    clock.freeze(T0 + timedelta(days=3))
    assert client.post(f"/mentorships/{mid}/resume").status_code == 302
    with app.app_context():
        m = db.session.get(Mentorship, mid)
        assert m.pauses[0].ends_at == T0 + timedelta(days=3)
        assert m.state(T0 + timedelta(days=3)).status == "paid"
        assert m.state(T0 + timedelta(days=2)).status == "paused"  # the past stays as it was
    response = client.post(f"/mentorships/{mid}/resume")
    assert "not paused" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_paused_mentorship_can_still_be_cancelled(app, world, login):
    mid = world.in_trial(days_in=20)
    client = login(world.mentee)
    flow_id, _ = start(client, mid, "no_time")
    client.post(f"/mentorships/{mid}/cancel/{flow_id}/accept", data={"months": "1"})
    clock.freeze(T0 + timedelta(days=10))
    second, page = start(client, mid, "no_time")
    assert 'name="stars"' in page  # no second pause offered while paused
    response = client.post(f"/mentorships/{mid}/cancel", data=dict(SURVEY, flow_id=str(second)))
    assert response.status_code == 302
    m = get(app, Mentorship, mid)
    assert m.ended_at == T0 + timedelta(days=10)
    with app.app_context():
        assert db.session.get(Mentorship, mid).state(T0 + timedelta(days=11)).status == "ended"


def test_switching_ends_this_mentorship_and_applies_to_a_mentor_in_the_same_field(app, world, login):
    far = user(app, "mentor", "far@example.com", "Fay Far")
    with app.app_context():
        from tracker.data.models import MentorProfile
        db.session.get(MentorProfile, far.id).expertise = "Pottery"
        db.session.commit()
    mid = world.in_trial(days_in=20)
    client = login(world.mentee)
    flow_id, page = start(client, mid, "mentor_fit")
    assert "Switch to Nora Mentor" in page and "Fay Far" not in page
    refused = client.post(f"/mentorships/{mid}/cancel/{flow_id}/accept", data={"mentor_id": str(far.id)})
    assert refused.status_code == 400 and "Choose one of the suggested mentors." in refused.get_data(as_text=True)
    assert get(app, Mentorship, mid).ended_at is None
    response = client.post(f"/mentorships/{mid}/cancel/{flow_id}/accept",
                           data={"mentor_id": str(world.other_mentor.id)})
    assert response.status_code == 302
    old = get(app, Mentorship, mid)
    assert (old.ended_at, old.end_reason) == (T0, "cancelled")
    [flow] = flows(app)
    new = get(app, Mentorship, flow.kept_mentorship_id)
    assert (new.mentor_id, new.mentee_id, new.applied_at, new.goal_text, new.trial_started_at) == \
        (world.other_mentor.id, world.mentee.id, T0, old.goal_text, None)
    assert count(app, ExitSurvey) == 0


def test_no_switch_is_offered_when_nobody_shares_the_field(app, world, login):
    with app.app_context():
        from tracker.data.models import MentorProfile
        db.session.get(MentorProfile, world.other_mentor.id).expertise = "Pottery"
        db.session.commit()
    _, page = start(login(world.mentee), world.in_trial(days_in=20), "mentor_fit")
    assert 'name="stars"' in page and flows(app)[0].offer == "none"


def test_declining_records_it_and_leads_to_the_survey(app, world, login):
    mid = world.in_trial(days_in=20)
    client = login(world.mentee)
    flow_id, _ = start(client, mid, "too_expensive")
    clock.freeze(T0 + timedelta(minutes=1))
    response = client.post(f"/mentorships/{mid}/cancel/{flow_id}/decline")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="stars"' in page and f'name="flow_id" value="{flow_id}"' in page
    clock.freeze(T0 + timedelta(minutes=2))
    client.post(f"/mentorships/{mid}/cancel", data=dict(SURVEY, churn_reason="too_expensive", flow_id=str(flow_id)))
    [flow] = flows(app)
    assert (flow.offer_declined_at, flow.cancelled_at, flow.offer_accepted_at) == \
        (T0 + timedelta(minutes=1), T0 + timedelta(minutes=2), None)
    # an accepted or cancelled flow cannot be answered again
    again = client.post(f"/mentorships/{mid}/cancel/{flow_id}/accept", data={})
    assert again.status_code == 302 and get(app, Mentorship, mid).ended_at == T0 + timedelta(minutes=2)


def test_a_survey_sent_without_a_flow_is_recorded_as_a_flow_with_no_offer(app, world, login):
    mid = world.in_trial(days_in=20)
    assert login(world.mentee).post(f"/mentorships/{mid}/cancel", data=SURVEY).status_code == 302
    [flow] = flows(app)
    assert (flow.reason, flow.offer, flow.started_at, flow.cancelled_at) == ("no_time", "none", T0, T0)


def test_starting_again_supersedes_the_open_flow(app, world, login):
    mid = world.in_trial(days_in=20)
    client = login(world.mentee)
    first, _ = start(client, mid, "too_expensive")
    clock.freeze(T0 + timedelta(minutes=5))
    second, _ = start(client, mid, "goal_reached")
    old, new = flows(app)
    assert (old.id, old.superseded_at, new.id, new.superseded_at) == (first, T0 + timedelta(minutes=5), second, None)
    page = client.get(f"/mentorships/{mid}/cancel/{first}")
    assert page.status_code == 302  # back to the first step


def test_flow_outcomes_at_the_exact_boundaries():
    started = T0
    day = lifecycle.FLOW_ABANDONED_AFTER
    assert lifecycle.flow_outcome(started, None, None, started - timedelta(seconds=1)) is None
    assert lifecycle.flow_outcome(started, None, None, started + day - timedelta(seconds=1)) == "open"
    assert lifecycle.flow_outcome(started, None, None, started + day) == "abandoned"
    assert lifecycle.flow_outcome(started, None, started + 2 * day, started + 2 * day) == "cancelled"
    assert lifecycle.flow_outcome(started, None, started + 2 * day, started + 2 * day - timedelta(seconds=1)) \
        == "abandoned"
    hour = started + timedelta(hours=1)
    assert lifecycle.flow_outcome(started, hour, None, hour) == "accepted"


def test_a_save_lasts_only_if_the_kept_mentorship_is_going_30_days_later():
    accepted = T0
    check = accepted + timedelta(days=30)
    started = T0 - timedelta(days=40)
    assert lifecycle.save_outcome(accepted, started, None, check - timedelta(seconds=1)) == "too_soon"
    assert lifecycle.save_outcome(accepted, started, None, check) == "lasted"
    assert lifecycle.save_outcome(accepted, started, check, check) == "lost"  # ended at that very second
    later = check + timedelta(seconds=1)
    assert lifecycle.save_outcome(accepted, started, later, check + timedelta(days=9)) == "lasted"
    assert lifecycle.save_outcome(accepted, None, None, check) == "lost"  # a switch never accepted by the mentor
    assert lifecycle.save_outcome(accepted, check, None, check) == "lasted"
