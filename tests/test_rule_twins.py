"""Rules written twice, once in SQL for the reports and once in Python (the live at-risk flags, the
mentorship pages; health.cadence, health.progress_tier and lifecycle.ended_early state in Python what
the SQL computes, for this test), held to each other: both run on the same rows, generated at
explicit times (random with a fixed seed, and every boundary at -1 s, at, +1 s), and must agree on
each mentorship.

  status       queries.status_expression / counts_by_status   lifecycle.state_as_of
               / health_inputs (the running ones)               (State.is_running)
  stage        queries.stage_expression                        lifecycle.stage_of_end
  success tier queries.progress_tier_expression                health.progress_tier
  whole run    queries.ending_groups (at-risk flags, cadence,  health.flags at every moment of the run,
               ended early)                                    health.cadence, lifecycle.ended_early
  conversion   queries.trial_counts                            lifecycle.trial_end, lifecycle.converted
  saves        queries.save_groups (outcome, save)             lifecycle.flow_outcome, lifecycle.save_outcome
  at-risk list queries.at_risk (the operator's page)           health.assess over queries.health_inputs
"""
from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from tracker.core.extensions import db
from tracker.data.models import CancelFlow, CheckIn, ExitSurvey, Mentorship, Pause, Pulse, RiskReview, User
from tracker.domain import health, lifecycle, vocabulary
from tracker.domain.health import PulseAnswer
from tracker.reports import metrics, queries
from tracker.reports.scope import Scope

T = datetime(2026, 3, 2, 9, 0, 0, tzinfo=timezone.utc)
SECOND, DAY = timedelta(seconds=1), timedelta(days=1)
NUDGES = (-SECOND, timedelta(0), SECOND)


class Rows:
    """Inserts users and mentorships straight into the test database, each mentorship with its own
    mentor and mentee (so a scope filtered on the mentor holds exactly that one)."""

    def __init__(self):
        self.n = 0

    def mentorship(self, applied_at, trial_started_at=None, ended_at=None, pauses=(), checkins=(), pulses=(),
                   survey=False) -> Mentorship:
        self.n += 1
        mentee = User(email=f"mentee{self.n}@example.com", role="mentee", name=f"Mentee {self.n}",
                      password_hash="x", created_at=T - 1000 * DAY)
        mentor = User(email=f"mentor{self.n}@example.com", role="mentor", name=f"Mentor {self.n}",
                      password_hash="x", created_at=T - 1000 * DAY)
        reason = None if ended_at is None else ("cancelled" if trial_started_at else "declined")
        m = Mentorship(mentee=mentee, mentor=mentor, goal_category="change_careers",
                       goal_text="A goal of twenty chars", meeting_preference="video", applied_at=applied_at,
                       trial_started_at=trial_started_at,
                       ended_at=ended_at, end_reason=reason)
        db.session.add_all([mentee, mentor, m])
        db.session.flush()
        for starts_at, ends_at in pauses:
            db.session.add(Pause(mentorship_id=m.id, starts_at=starts_at, ends_at=ends_at))
        for occurred_at in checkins:
            db.session.add(CheckIn(mentorship_id=m.id, occurred_at=occurred_at, mode="video", minutes=30,
                                   logged_at=occurred_at))
        for period, (submitted_at, progress, usefulness) in enumerate(pulses):
            db.session.add(Pulse(mentorship_id=m.id, period=period, progress=progress, usefulness=usefulness,
                                 submitted_at=submitted_at))
        if survey:
            db.session.add(ExitSurvey(mentorship_id=m.id, stars=4, goal_reached="yes", churn_reason="goal_reached",
                                      submitted_at=ended_at))
        return m


def _seconds(rng, low: timedelta, high: timedelta) -> timedelta:
    return timedelta(seconds=rng.randint(int(low.total_seconds()), int(high.total_seconds())))


# --- status -------------------------------------------------------------------------------------------

def _status_rows(rows: Rows, rng: random.Random) -> list[datetime]:
    """Mentorships around T at every boundary of the status, and random ones; returns moments to ask at."""
    trial = lifecycle.TRIAL_LENGTH
    for nudge in NUDGES:
        rows.mentorship(T + nudge)  # applied just before, at, just after T
        rows.mentorship(T - DAY, T + nudge)  # trial starts around T
        rows.mentorship(T - DAY, ended_at=T + nudge)  # declined around T
        rows.mentorship(T - 10 * DAY, T - trial + nudge)  # trial ends around T
        rows.mentorship(T - 10 * DAY, T - 9 * DAY, T + nudge)  # ends around T
        rows.mentorship(T - 90 * DAY, T - 80 * DAY, pauses=[(T + nudge, T + 30 * DAY)])  # a pause starts
        rows.mentorship(T - 90 * DAY, T - 80 * DAY, pauses=[(T - 30 * DAY, T + nudge)])  # a pause ends
        rows.mentorship(T - 90 * DAY, T - 80 * DAY, T + nudge, pauses=[(T - 10 * DAY, T + 20 * DAY)])
    for _ in range(150):
        applied = T + _seconds(rng, -200 * DAY, 5 * DAY)
        started = applied + _seconds(rng, timedelta(0), 5 * DAY) if rng.random() < 0.8 else None
        ended = None
        if rng.random() < 0.5:
            ended = (started or applied) + _seconds(rng, timedelta(0), 150 * DAY)
        pauses = []
        if started is not None and rng.random() < 0.3:
            begins = lifecycle.trial_end(started) + _seconds(rng, timedelta(0), 60 * DAY)
            pauses.append((begins, begins + _seconds(rng, SECOND, 60 * DAY)))
        rows.mentorship(applied, started, ended, pauses=pauses)
    return [T + nudge for nudge in NUDGES] + [T + _seconds(rng, -200 * DAY, 10 * DAY) for _ in range(6)]


def test_status_in_sql_is_the_status_of_lifecycle(app):
    rng = random.Random(18)
    with app.app_context():
        moments = _status_rows(Rows(), rng)
        db.session.commit()
        mentorships = db.session.scalars(select(Mentorship)).all()
        for at in moments:
            python = {m.id: m.state(at).status for m in mentorships if m.state(at) is not None}
            sql = dict(db.session.execute(select(Mentorship.id, queries.status_expression(at))
                                          .where(Mentorship.applied_at <= at)).all())
            assert sql == python, at
            counted = queries.counts_by_status(at)
            assert counted == {status: Counter(python.values())[status] for status in lifecycle.STATUSES}
            running = {row.mentorship.id for row in queries.health_inputs(at)}
            assert running == {m.id for m in mentorships if m.state(at) is not None and m.state(at).is_running}
        assert len(mentorships) > 150


# --- stage --------------------------------------------------------------------------------------------

def test_stage_in_sql_is_the_stage_of_lifecycle(app):
    rng = random.Random(18)
    rows = Rows()
    with app.app_context():
        start = T - 400 * DAY
        lived = [timedelta(0)] + [end + nudge for _, end in lifecycle.STAGE_ENDS for nudge in NUDGES]
        lived += [_seconds(rng, timedelta(0), 200 * DAY) for _ in range(100)]
        for duration in lived:
            rows.mentorship(start, start, start + duration)
        db.session.commit()
        python = {m.id: lifecycle.stage_of_end(m.trial_started_at, m.ended_at)
                  for m in db.session.scalars(select(Mentorship))}
        sql = dict(db.session.execute(select(Mentorship.id, queries.stage_expression())).all())
        assert sql == python
        assert set(python.values()) == set(lifecycle.STAGES)


# --- success tiers ------------------------------------------------------------------------------------

def test_success_tier_in_sql_is_the_tier_of_health(app):
    rows = Rows()
    with app.app_context():
        answers = [None, *range(0, 101)]
        rows.mentorship(T - 400 * DAY, T - 400 * DAY,
                        pulses=[(T - 400 * DAY + i * SECOND, progress, None) for i, progress in enumerate(answers)])
        db.session.commit()
        sql = dict(db.session.execute(select(Pulse.progress, queries.progress_tier_expression(Pulse.progress)))
                   .all())
        assert sql == {progress: health.progress_tier(progress) for progress in answers}
        assert set(sql.values()) == {None, *metrics.PROGRESS_TIERS}


def test_success_tier_labels_name_the_floors():
    members = {tier: [p for p in range(0, 101) if health.progress_tier(p) == tier] for tier in metrics.PROGRESS_TIERS}
    labels = metrics.PROGRESS_TIERS
    assert f"({min(members['highly'])}% or more" in labels["highly"]
    assert f"({min(members['somewhat'])}-{max(members['somewhat'])}%)" in labels["somewhat"]
    assert f"({max(members[health.LOWEST_PROGRESS_TIER])}% or under)" in labels[health.LOWEST_PROGRESS_TIER]


# --- a whole run: at-risk flags, cadence, ended early ------------------------------------------------------

def _held_during_run(m: Mentorship, checkins: list[datetime], pulses: list[PulseAnswer]) -> dict[str, bool]:
    """Whether each at-risk rule of health.flags held at any moment while the mentorship ran.

    Its inputs change only at the start, the trial's end, a check-in, a pulse and the end; between two
    such moments a rule either holds throughout (a pulse rule) or from some moment on (a silence rule),
    so asking at each of those moments and one second before each is asking at every moment."""
    start, end = m.trial_started_at, m.ended_at
    changes = {start, lifecycle.trial_end(start), end, *checkins, *(p.submitted_at for p in pulses)}
    moments = sorted({moment for change in changes for moment in (change, change - SECOND) if start <= moment < end})
    held = dict.fromkeys(metrics.ENDING_FLAGS, False)
    for at in moments:
        state = lifecycle.state_as_of(m.applied_at, start, end, at)
        last = max((c for c in checkins if c <= at), default=None)
        for flag in health.flags(state, start, last, [p for p in pulses if p.submitted_at <= at], at):
            held[flag.rule] = True
    return held


def _run_rows(rows: Rows, rng: random.Random) -> None:
    """Ended mentorships (no pauses: the SQL of ending_groups does not know them) with check-ins and pulses
    at the boundaries of each rule, and random ones."""
    quiet, silent = timedelta(days=health.NO_CHECKIN_DAYS), timedelta(days=health.TRIAL_SILENT_DAYS)
    start = T - 300 * DAY
    for nudge in NUDGES:
        rows.mentorship(start, start, start + silent + nudge)  # a silent trial ends around day 3
        rows.mentorship(start, start, start + 5 * DAY, checkins=[start + silent + nudge])  # first check-in on day 3
        rows.mentorship(start, start, start + quiet + nudge)  # no check-in at all, ends around day 14
        rows.mentorship(start, start, start + quiet + 3 * DAY,  # first check-in around day 14
                        checkins=[start + quiet + nudge, start + quiet + 2 * DAY])
        gap_end = start + DAY + quiet + nudge
        rows.mentorship(start, start, gap_end + 3 * DAY,  # a gap around 14 days
                        checkins=[start + DAY, gap_end, gap_end + 2 * DAY])
        rows.mentorship(start, start, start + 2 * DAY + quiet + nudge, checkins=[start + DAY, start + 2 * DAY])
        rows.mentorship(start, start, lifecycle.trial_end(start) + lifecycle.PAID_MONTH + nudge,  # ended early?
                        checkins=[start + DAY * k for k in range(1, 37, 5)])
        rows.mentorship(start, start, start + 10 * DAY,  # one gap around twice the average
                        checkins=[start + DAY, start + 2 * DAY, start + 3 * DAY, start + 7 * DAY + nudge])
        ended = start + 70 * DAY
        rows.mentorship(start, start, ended, checkins=[start + DAY * k for k in range(1, 70, 7)],
                        pulses=[(ended - 9 * DAY, 60, 3), (ended - 3 * DAY, 50, 3), (ended + nudge, 40, 2)])
    for days in (7, 10, 11, 21, 22, 45, 46):  # average gaps at the cadence boundaries, and one gap over twice it
        for nudge in NUDGES:
            rows.mentorship(start, start, start + 200 * DAY, checkins=[start + DAY + k * (days * DAY + nudge)
                                                                       for k in range(4)])
        rows.mentorship(start, start, start + 200 * DAY,
                        checkins=[start + DAY, start + 2 * DAY, start + 3 * DAY, start + 3 * DAY + 2 * days * DAY])
    for _ in range(120):
        started = start + _seconds(rng, timedelta(0), 20 * DAY)
        ended = started + _seconds(rng, timedelta(0), 150 * DAY)
        checkins = sorted({started + _seconds(rng, timedelta(0), ended - started - SECOND)
                           for _ in range(rng.choice([0, 1, 2, 3, 5, 8, 12]))}) if ended > started else []
        pulses, period_end = [], lifecycle.trial_end(started)
        while period_end < ended and rng.random() < 0.8:
            submitted = min(period_end + _seconds(rng, -2 * DAY, 3 * DAY), ended)
            if pulses and submitted <= pulses[-1][0]:
                break
            pulses.append((submitted, rng.choice([None, *range(0, 101, 5)]), rng.choice([None, 1, 2, 3, 4, 5])))
            period_end += lifecycle.PAID_MONTH
        rows.mentorship(started, started, ended, checkins=checkins, pulses=pulses, survey=rng.random() < 0.5)


def test_a_whole_run_in_sql_is_judged_as_health_judges_it(app):
    rng = random.Random(18)
    with app.app_context():
        _run_rows(Rows(), rng)
        db.session.commit()
        everything = Scope(as_of=T + 1000 * DAY, start=T - 1000 * DAY, end=T + 1000 * DAY)
        mentorships = db.session.scalars(select(Mentorship)).all()
        seen = Counter()
        for m in mentorships:
            checkins = [c.occurred_at for c in m.checkins]
            pulses = [PulseAnswer(p.period, p.progress, p.usefulness, p.submitted_at) for p in m.pulses]
            groups = queries.ending_groups(Scope(everything.as_of, everything.start, everything.end,
                                                 mentor_id=m.mentor_id))
            assert list(groups.values()) == [1], m.id
            ending = next(iter(groups))
            held = _held_during_run(m, checkins, pulses)
            python = (*(held[rule] for rule in metrics.ENDING_FLAGS),
                      lifecycle.ended_early(m.trial_started_at, m.ended_at), health.cadence(checkins))
            assert (*ending.flags, ending.ended_early, ending.cadence) == python, (m.id, checkins, pulses)
            seen.update([ending.cadence, *(rule for rule in metrics.ENDING_FLAGS if held[rule])])
        # the generated rows reach every cadence and every rule, held and not
        assert set(seen) == {*metrics.CADENCES, *metrics.ENDING_FLAGS}
        assert all(seen[rule] < len(mentorships) for rule in metrics.ENDING_FLAGS)


@pytest.mark.parametrize("checkins, expected", [
    ([], "too_few"),
    ([T, T + DAY], "too_few"),
    ([T, T + 10 * DAY, T + 20 * DAY], "weekly"),
    ([T, T + 10 * DAY + SECOND, T + 20 * DAY + 2 * SECOND], "biweekly"),
    ([T, T + 45 * DAY, T + 90 * DAY], "monthly"),
    ([T, T + 46 * DAY, T + 92 * DAY], "irregular"),
    ([T, T + DAY, T + 2 * DAY + SECOND], "weekly"),
    ([T, T + DAY, T + 2 * DAY, T + 10 * DAY], "irregular"),
    ([T, T + DAY, T + 2 * DAY, T + 6 * DAY], "weekly"),
    ([T, T + DAY, T + 2 * DAY, T + 6 * DAY + SECOND], "irregular"),
])
def test_cadence_at_its_boundaries(checkins, expected):
    assert health.cadence(checkins) == expected


def test_every_stage_has_a_name():
    assert tuple(vocabulary.STAGE_NAMES) == lifecycle.STAGES


# --- trial conversion ---------------------------------------------------------------------------------

def _python_trial(started: datetime, ended: datetime | None, at: datetime) -> tuple[int, int]:
    """(decided, converted) of one trial as of `at`, by the definition in docs/METRICS.md and lifecycle."""
    if started > at:
        return 0, 0
    ended_by_t = ended if ended is not None and ended <= at else None
    decided = lifecycle.trial_end(started) <= at or not lifecycle.converted(started, ended_by_t)
    return int(decided), int(decided and lifecycle.converted(started, ended_by_t))


def test_trial_conversion_in_sql_is_the_conversion_of_lifecycle(app):
    rng = random.Random(18)
    rows = Rows()
    trial = lifecycle.TRIAL_LENGTH
    with app.app_context():
        cases = []
        for nudge in NUDGES:
            cases += [(T - trial + nudge, None), (T - DAY, T - DAY + trial + nudge), (T - 2 * DAY, T + nudge),
                      (T - trial - DAY, T - DAY + nudge), (T + nudge, None)]
        cases += [(started, started + _seconds(rng, timedelta(0), 20 * DAY) if rng.random() < 0.6 else None)
                  for started in (T + _seconds(rng, -20 * DAY, DAY) for _ in range(80))]
        made = [rows.mentorship(started - DAY, started, ended) for started, ended in cases]
        db.session.commit()
        seen = Counter()
        for m in made:
            scope = Scope(as_of=T, start=T - 400 * DAY, end=T + 400 * DAY, mentor_id=m.mentor_id)
            python = _python_trial(m.trial_started_at, m.ended_at, T)
            assert queries.trial_counts(scope) == python, (m.trial_started_at, m.ended_at)
            seen[python] += 1
        assert set(seen) == {(0, 0), (1, 0), (1, 1)}


# --- cancel flows and the saves that lasted ---------------------------------------------------------------

def test_flow_and_save_outcomes_in_sql_are_those_of_lifecycle(app):
    rng = random.Random(18)
    rows = Rows()
    abandon, lasts = lifecycle.FLOW_ABANDONED_AFTER, lifecycle.SAVE_LASTS
    with app.app_context():
        flows = []

        def flow(started, accepted=None, cancelled=None, kept_started=True, kept_ended=None):
            m = rows.mentorship(T - 200 * DAY, T - 199 * DAY if kept_started else None, kept_ended)
            offer = "pause" if accepted else "none"
            f = CancelFlow(mentorship_id=m.id, reason="no_time", started_at=started, offer=offer,
                           offer_shown_at=started if accepted else None, offer_accepted_at=accepted,
                           kept_mentorship_id=m.id if accepted else None, cancelled_at=cancelled)
            db.session.add(f)
            flows.append((m, f))

        for nudge in NUDGES:
            flow(T - abandon + nudge)  # abandoned, or still open
            flow(T - DAY, cancelled=T + nudge)  # cancelled around T
            flow(T - 2 * DAY, accepted=T + nudge)  # accepted around T
            flow(T - lasts - DAY, accepted=T - lasts + nudge)  # the save's 30 days end around T
            flow(T - lasts - DAY, accepted=T - lasts - DAY, kept_ended=T - DAY + nudge)  # ends around day 30
            flow(T + nudge)  # started around T
        for _ in range(60):
            started = T + _seconds(rng, -80 * DAY, DAY)
            if rng.random() < 0.5:
                accepted = started + _seconds(rng, timedelta(0), 2 * DAY)
                ended = accepted + _seconds(rng, timedelta(0), 60 * DAY) if rng.random() < 0.5 else None
                flow(started, accepted=accepted, kept_ended=ended)
            else:
                flow(started, cancelled=started + _seconds(rng, timedelta(0), 2 * DAY) if rng.random() < 0.5 else None)
        db.session.commit()
        seen = Counter()
        for m, f in flows:
            scope = Scope(as_of=T, start=T - 400 * DAY, end=T + 400 * DAY, mentor_id=m.mentor_id)
            outcome = lifecycle.flow_outcome(f.started_at, f.offer_accepted_at, f.cancelled_at, T)
            save = (lifecycle.save_outcome(f.offer_accepted_at, m.trial_started_at, m.ended_at, T)
                    if outcome == "accepted" else None)
            groups = queries.save_groups(scope)
            if outcome is None:
                assert groups == {}, f.started_at
                continue
            assert [(key[3], key[4]) for key in groups] == [(outcome, save)], (f.started_at, f.offer_accepted_at)
            seen[outcome] += 1
            seen[save] += 1
        assert set(seen) >= {*lifecycle.FLOW_OUTCOMES, "lasted", "lost", "too_soon"}


# --- the at-risk list: health.flags over health_inputs, and its twin in SQL ----------------------------------

def _running_rows(rows: Rows, rng: random.Random) -> list[datetime]:
    """Running mentorships at every boundary of each rule around T (and handled around their flags), and
    random ones with check-ins, pulses (answers left out too), pauses and reviews; returns moments to ask at."""
    quiet, silent = timedelta(days=health.NO_CHECKIN_DAYS), timedelta(days=health.TRIAL_SILENT_DAYS)
    trial = lifecycle.TRIAL_LENGTH
    reviews = []
    for nudge in NUDGES:
        rows.mentorship(T - 10 * DAY, T - silent + nudge)  # a silent trial reaches day 3 around T
        rows.mentorship(T - 10 * DAY, T - trial + nudge)  # the trial ends around T, silent
        rows.mentorship(T - 20 * DAY, T - 19 * DAY, checkins=[T - quiet + nudge])  # 14 quiet days around T
        rows.mentorship(T - 20 * DAY, T - quiet + nudge)  # never a check-in, 14 days around T
        rows.mentorship(T - 30 * DAY, T - 29 * DAY, checkins=[T - 28 * DAY, T + nudge])  # a check-in ends a silence
        rows.mentorship(T - 10 * DAY, T - 4 * DAY, checkins=[T + nudge])  # ... and a silent trial
        rows.mentorship(T - 90 * DAY, T - 80 * DAY, checkins=[T - DAY],  # the latest rated pulse is low
                        pulses=[(T - 40 * DAY, 50, 4), (T - 10 * DAY, 40, 2), (T + nudge, 30, None)])
        rows.mentorship(T - 90 * DAY, T - 80 * DAY, checkins=[T - DAY],  # falls two months running, at T
                        pulses=[(T - 60 * DAY, 70, 3), (T - 30 * DAY, 60, 3), (T + nudge, 50, 3)])
        m = rows.mentorship(T - 40 * DAY, T - 30 * DAY)  # no check-in since day 16: handled around T
        reviews.append((m, T - 30 * DAY + quiet + nudge))
        m = rows.mentorship(T - 40 * DAY, T - 30 * DAY, checkins=[T - 30 * DAY + DAY])
        reviews.append((m, T + nudge))
    for _ in range(160):
        started = T + _seconds(rng, -120 * DAY, DAY)
        ended = started + _seconds(rng, timedelta(0), 150 * DAY) if rng.random() < 0.3 else None
        stop = min(ended or T + 2 * DAY, T + 2 * DAY)
        checkins = sorted({started + _seconds(rng, timedelta(0), max(stop - started, SECOND))
                           for _ in range(rng.choice([0, 0, 1, 2, 4]))})
        pulses, period_end = [], lifecycle.trial_end(started)
        while period_end < stop and rng.random() < 0.85:
            pulses.append((period_end + _seconds(rng, -2 * DAY, 2 * DAY), rng.choice([None, *range(0, 101, 10)]),
                           rng.choice([None, 1, 2, 3, 4, 5])))
            period_end += lifecycle.PAID_MONTH
        pauses = []
        if rng.random() < 0.15 and lifecycle.trial_end(started) < stop:
            begins = lifecycle.trial_end(started) + _seconds(rng, timedelta(0), 20 * DAY)
            pauses.append((begins, begins + _seconds(rng, DAY, 40 * DAY)))
        m = rows.mentorship(started, started, ended, checkins=checkins, pulses=pulses, pauses=pauses)
        if rng.random() < 0.3:
            reviews.append((m, T + _seconds(rng, -30 * DAY, DAY)))
    db.session.flush()
    for m, handled_at in reviews:
        db.session.add(RiskReview(mentorship_id=m.id, handled_at=handled_at, note=f"note {m.id}"))
    return [T + nudge for nudge in NUDGES] + [T + _seconds(rng, -60 * DAY, DAY) for _ in range(5)]


def test_the_at_risk_list_in_sql_is_the_list_of_health_assess(app):
    rng = random.Random(18)
    with app.app_context():
        moments = _running_rows(Rows(), rng)
        db.session.commit()
        seen = Counter()
        for at in moments:
            python = health.assess(queries.health_inputs(at), at)
            waiting = [a for a in python if a.open_flags]
            handled = [a for a in python if a.flags and not a.open_flags]
            for shown in (1000, 3):
                sql = queries.at_risk(at, shown)
                assert (sql.waiting_count, sql.handled_count, sql.running) == \
                    (len(waiting), len(handled), len(python)), at
                for got, expected in ((sql.waiting, waiting[:shown]), (sql.handled, handled[:shown])):
                    assert [(a.mentorship.id, a.flags, a.open_flags, a.handled_at, a.handled_note) for a in got] == \
                        [(a.mentorship.id, a.flags, a.open_flags, a.handled_at, a.handled_note) for a in expected]
            seen.update(flag.rule for a in python for flag in a.flags)
            seen.update(["waiting"] * len(waiting) + ["handled"] * len(handled))
        assert set(seen) == {*health.RISK_RULE_TEXTS, "waiting", "handled"}, seen


def test_a_calendar_month_in_python_is_the_month_in_sql(app):
    """rollup_queries._month_of and queries.utc_month, down to years of fewer than four digits (an imported
    typo such as 0025 for 2025), which strftime may write unpadded."""
    from sqlalchemy import BigInteger, literal

    from tracker.reports.rollup_queries import _month_of
    moments = [datetime(25, 3, 1, tzinfo=timezone.utc), datetime(999, 12, 31, 23, 59, 59, tzinfo=timezone.utc),
               datetime(1969, 12, 31, 23, 59, 59, tzinfo=timezone.utc), datetime(1970, 1, 1, tzinfo=timezone.utc),
               T - SECOND, T, datetime(9998, 12, 31, 23, 59, 59, tzinfo=timezone.utc)]
    with app.app_context():
        for moment in moments:
            seconds = int(moment.timestamp())
            in_sql = db.session.scalar(select(queries.utc_month(literal(seconds, BigInteger))))
            assert _month_of(seconds) == in_sql == f"{moment.year:04d}-{moment.month:02d}", moment
