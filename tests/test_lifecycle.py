"""The time rules, without an app, at their exact boundaries."""
from datetime import datetime, timedelta, timezone

import pytest

from tracker.domain import lifecycle as lc

START = datetime(2026, 3, 1, 10, 0, 0, tzinfo=timezone.utc)
APPLIED = START - timedelta(days=2)
SECOND = timedelta(seconds=1)
TRIAL_END = datetime(2026, 3, 8, 10, 0, 0, tzinfo=timezone.utc)


def test_trial_end_is_exactly_seven_days_later():
    assert lc.trial_end(START) == TRIAL_END


@pytest.mark.parametrize("at, status, month", [
    (TRIAL_END - SECOND, "trial", 0),
    (TRIAL_END, "paid", 1),
    (TRIAL_END + SECOND, "paid", 1),
])
def test_trial_converts_at_trial_end_by_itself(at, status, month):
    state = lc.state_as_of(APPLIED, START, None, at)
    assert (state.status, state.month) == (status, month)


def test_time_left_in_trial():
    state = lc.state_as_of(APPLIED, START, None, TRIAL_END - timedelta(days=3))
    assert state.time_left_in_trial == timedelta(days=3)
    assert state.trial_ends_at == TRIAL_END


@pytest.mark.parametrize("k, start, end", [
    (1, "2026-03-08T10:00:00", "2026-04-07T10:00:00"),
    (2, "2026-04-07T10:00:00", "2026-05-07T10:00:00"),
    (3, "2026-05-07T10:00:00", "2026-06-06T10:00:00"),
])
def test_paid_month_bounds(k, start, end):
    iso = lambda s: datetime.fromisoformat(s).replace(tzinfo=timezone.utc)  # noqa: E731
    assert lc.paid_month_bounds(START, k) == (iso(start), iso(end))


def test_paid_month_zero_does_not_exist():
    with pytest.raises(ValueError):
        lc.paid_month_bounds(START, 0)


@pytest.mark.parametrize("offset, month", [
    (timedelta(days=30) - SECOND, 1), (timedelta(days=30), 2), (timedelta(days=30) + SECOND, 2),
    (timedelta(days=60) - SECOND, 2), (timedelta(days=60), 3),
])
def test_month_boundaries(offset, month):
    assert lc.state_as_of(APPLIED, START, None, TRIAL_END + offset).month == month
    assert lc.period_at(START, TRIAL_END + offset) == month


def test_period_before_the_trial_is_none_and_the_trial_is_zero():
    assert lc.period_at(START, START - SECOND) is None
    assert lc.period_at(START, START) == 0
    assert lc.period_at(START, TRIAL_END - SECOND) == 0


@pytest.mark.parametrize("ended, stage", [
    (TRIAL_END - SECOND, "trial"),
    (TRIAL_END, "month_1"),
    (TRIAL_END + timedelta(days=30) - SECOND, "month_1"),
    (TRIAL_END + timedelta(days=30), "months_2_3"),
    (TRIAL_END + timedelta(days=90) - SECOND, "months_2_3"),
    (TRIAL_END + timedelta(days=90), "later"),
])
def test_stage_of_end(ended, stage):
    assert lc.stage_of_end(START, ended) == stage
    assert lc.stage_after(int((ended - START).total_seconds())) == stage  # the rollups' whole seconds


def test_a_microsecond_before_a_stage_ends_is_still_in_it():
    assert lc.stage_of_end(START, TRIAL_END - timedelta(microseconds=1)) == "trial"
    assert lc.stage_of_end(START, TRIAL_END + timedelta(days=90, microseconds=-1)) == "months_2_3"
    assert lc.converted(START, TRIAL_END - timedelta(microseconds=1)) is False


@pytest.mark.parametrize("ended, converted", [
    (None, True), (TRIAL_END - SECOND, False), (TRIAL_END, True), (TRIAL_END + SECOND, True),
])
def test_conversion_unless_ended_before_trial_end(ended, converted):
    assert lc.converted(START, ended) is converted
    if ended is not None:
        assert lc.converted_after(int((ended - START).total_seconds())) is converted


def test_cancelling_in_the_trial_ends_it_there():
    state = lc.state_as_of(APPLIED, START, TRIAL_END - SECOND, TRIAL_END + timedelta(days=10))
    assert (state.status, state.month) == ("ended", 0)


def test_nothing_after_the_moment_exists():
    ended = TRIAL_END + timedelta(days=40)
    assert lc.state_as_of(APPLIED, START, ended, APPLIED - SECOND) is None
    assert lc.state_as_of(APPLIED, START, ended, START - SECOND).status == "pending"
    assert lc.state_as_of(APPLIED, START, ended, ended - SECOND).status == "paid"
    assert lc.state_as_of(APPLIED, START, ended, ended).status == "ended"


def test_ended_without_trial_is_closed():
    assert lc.state_as_of(APPLIED, None, APPLIED + SECOND, APPLIED + SECOND).status == "closed"
    assert lc.state_as_of(APPLIED, None, APPLIED + SECOND, APPLIED).status == "pending"


def test_activity_by_period_counts_idle_months_as_zero():
    checkins = [(START + timedelta(days=1), 30), (START + timedelta(days=6), 45),
                (TRIAL_END, 60), (TRIAL_END + timedelta(days=61), 20), (START - SECOND, 99)]
    periods = lc.activity_by_period(START, TRIAL_END + timedelta(days=65), checkins)
    assert [(p.month, p.checkins, p.minutes) for p in periods] == [
        (0, 2, 75), (1, 1, 60), (2, 0, 0), (3, 1, 20)]
    assert periods[2].start == TRIAL_END + timedelta(days=30)
    assert [p.complete for p in periods] == [True, True, True, False]


def test_periods_until_includes_a_month_from_its_first_second():
    assert [k for k, _, _ in lc.periods_until(START, TRIAL_END - SECOND)] == [0]
    assert [k for k, _, _ in lc.periods_until(START, TRIAL_END)] == [0, 1]
