"""The monthly pulse (when it is asked, what is stored) and the at-risk rules, at their boundaries,
for mentors and operators."""
from datetime import timedelta

import pytest

from tracker.core import clock
from tracker.data.models import Pulse, RiskReview
from tracker.domain import health, lifecycle
from tracker.domain.health import PulseAnswer

from .factories import count, mentorship
from .helpers import T0

DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize("offset, expected", [
    (7 * DAY - 2 * DAY - SECOND, None),      # trial: opens 2 days before trial end
    (7 * DAY - 2 * DAY, 0),
    (7 * DAY + 7 * DAY - SECOND, 0),          # ... and closes a week after it
    (7 * DAY + 7 * DAY, None),
    (7 * DAY + 23 * DAY - SECOND, None),      # paid month 1: opens 7 days before its end
    (7 * DAY + 23 * DAY, 1),
    (7 * DAY + 37 * DAY - SECOND, 1),
    (7 * DAY + 53 * DAY, 2),
])
def test_the_pulse_is_open_around_each_period_end(offset, expected):
    started = T0
    at = started + offset
    state = lifecycle.state_as_of(started, started, None, at)
    assert lifecycle.pulse_due(started, state, set(), at) == expected
    if expected is not None:
        assert lifecycle.pulse_due(started, state, {expected}, at) is None  # once per period


def test_no_pulse_while_paused_or_ended():
    started, at = T0, T0 + 30 * DAY
    paused = lifecycle.state_as_of(started, started, None, at, [(at - DAY, at + DAY)])
    ended = lifecycle.state_as_of(started, started, at - DAY, at)
    assert paused.status == "paused" and lifecycle.pulse_due(started, paused, set(), at) is None
    assert lifecycle.pulse_due(started, ended, set(), at) is None


def test_the_mentee_answers_the_pulse_and_the_page_draws_the_line(app, world, login):
    mid = world.in_trial(days_in=6)
    client = login(world.mentee)
    page = client.get(f"/mentorships/{mid}").get_data(as_text=True)
    assert "How is it going?" in page and 'name="period" type="hidden" value="0"' in page
    assert client.post(f"/mentorships/{mid}/pulse", data={"period": "0", "progress": "35", "usefulness": "4"}) \
        .status_code == 302
    clock.freeze(T0 + 24 * DAY + 3600 * SECOND)  # paid month 1 is ending
    assert client.post(f"/mentorships/{mid}/pulse", data={"period": "1", "progress": "", "usefulness": ""}) \
        .status_code == 302  # a skip is stored, so it is not asked again
    clock.freeze(T0 + 54 * DAY)
    client.post(f"/mentorships/{mid}/pulse", data={"period": "2", "progress": "70", "usefulness": "5"})
    with app.app_context():
        from tracker.core.extensions import db
        rows = [(p.period, p.progress, p.usefulness) for p in db.session.query(Pulse).order_by(Pulse.period)]
    assert rows == [(0, 35, 4), (1, None, None), (2, 70, 5)]
    page = login(world.mentor).get(f"/mentorships/{mid}").get_data(as_text=True)
    assert 'id="chart-progress"' in page and "70%" in page and "How is it going?" not in page


def test_a_pulse_out_of_its_window_or_twice_is_refused(app, world, login):
    mid = world.in_trial(days_in=2)
    client = login(world.mentee)
    response = client.post(f"/mentorships/{mid}/pulse", data={"period": "0", "progress": "50"})
    assert response.status_code == 302 and count(app, Pulse) == 0
    clock.freeze(T0 + 4 * DAY)
    assert client.post(f"/mentorships/{mid}/pulse", data={"period": "0", "progress": "50"}).status_code == 302
    client.post(f"/mentorships/{mid}/pulse", data={"period": "0", "progress": "90"})
    assert count(app, Pulse) == 1
    bad = client.post(f"/mentorships/{mid}/pulse", data={"period": "0", "progress": "101"})
    assert bad.status_code == 400 and "Enter a number from 0 to 100." in bad.get_data(as_text=True)


def _pulse(period, progress=None, usefulness=None, days=0):
    return PulseAnswer(period, progress, usefulness, T0 + days * DAY)


def test_the_rules_at_their_boundaries():
    start = T0
    trial = lambda at: lifecycle.state_as_of(start, start, None, at)  # noqa: E731
    rules = lambda at, last=None, pulses=(): [f.rule for f in health.flags(trial(at), start, last, list(pulses), at)]  # noqa: E731
    assert rules(start + 3 * DAY - SECOND) == []
    assert rules(start + 3 * DAY) == ["trial_silent"]
    assert rules(start + 3 * DAY, last=start + DAY) == []
    assert rules(start + 14 * DAY - SECOND, last=start + 5 * DAY) == []
    assert rules(start + 19 * DAY, last=start + 5 * DAY) == ["no_checkin"]
    assert rules(start + 10 * DAY, last=start + 9 * DAY, pulses=[_pulse(0, usefulness=2)]) == ["low_pulse"]
    recovered = [_pulse(0, usefulness=2), _pulse(1, usefulness=3)]
    assert rules(start + 10 * DAY, last=start + 9 * DAY, pulses=recovered) == []
    falling = [_pulse(0, 60), _pulse(1, 50), _pulse(2, 40)]
    assert rules(start + 70 * DAY, last=start + 69 * DAY, pulses=falling) == ["progress_falling"]
    flat = [_pulse(0, 60), _pulse(1, 50), _pulse(2, 50)]
    assert rules(start + 70 * DAY, last=start + 69 * DAY, pulses=flat) == []
    paused = lifecycle.state_as_of(start, start, None, start + 40 * DAY, [(start + 20 * DAY, start + 50 * DAY)])
    assert health.flags(paused, start, None, [], start + 40 * DAY) == []


def test_mentors_see_their_at_risk_mentorships_first_with_the_reason(app, world, login):
    quiet = world.in_trial(days_in=5)  # no check-in by day 3
    started = T0 - 30 * DAY
    fine = mentorship(app, world.other_mentee, world.mentor, started, trial_started_at=started,
                      checkins=[(T0 - DAY, 30)])
    page = login(world.mentor).get("/mentor/").get_data(as_text=True)
    assert "Needs attention (1)" in page and "A trial with no check-in by day 3" in page
    assert page.index(f"/mentorships/{quiet}") < page.index(f"/mentorships/{fine}")


def test_operators_list_flags_and_mark_them_handled_until_a_new_one(app, world, login):
    mid = world.in_trial(days_in=5)
    operator = login(world.operator)
    page = operator.get("/ops/at-risk").get_data(as_text=True)
    assert "1 waiting" in page and "A trial with no check-in by day 3" in page
    assert operator.post(f"/ops/mentorships/{mid}/handled", data={"note": "Emailed both"}).status_code == 302
    assert count(app, RiskReview) == 1
    page = operator.get("/ops/at-risk").get_data(as_text=True)
    assert "0 waiting" in page and "1 handled" in page and "Emailed both" in page
    clock.freeze(T0 + 11 * DAY)  # 16 days in: the 14-day rule is a new flag
    page = operator.get("/ops/at-risk").get_data(as_text=True)
    assert "1 waiting" in page and "No check-in in the last 14 days" in page
