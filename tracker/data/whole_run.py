"""A whole run, judged in SQL: what an ended mentorship's check-ins and pulses looked like from its trial's
start to its end. The at-risk rules of domain/health.py held at any moment of the run (no check-in for
NO_CHECKIN_DAYS, a silent trial, a low pulse, progress falling), whether it ended early, and the
cadence of its check-ins; the twins of health's Python rules (tests/test_rule_twins.py).

The health and research pages group cancellations by these (reports/queries.ending_groups), and the
rollups keep them per ended mentorship (data/rollups.py): one definition for both.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, and_, case, func, literal, or_, select, type_coerce

from tracker.data.models import CheckIn, Mentorship, Pulse
from tracker.domain.health import (
    CADENCE_DAYS,
    CADENCE_MIN_CHECKINS,
    FALLING_ANSWERS,
    IRREGULAR_GAP_FACTOR,
    LOW_USEFULNESS,
    NO_CHECKIN_DAYS,
    TRIAL_SILENT_DAYS,
)
from tracker.domain.lifecycle import MONTH_1_ENDS

DAY = 86400


def _s(column):
    return type_coerce(column, BigInteger)


def _int(value: int):
    return literal(value, BigInteger)


def _checkin_visits(population):
    """Per mentorship of `population`: check-ins (n), the first and last, and the longest gap, in seconds."""
    c = CheckIn
    gap = _s(c.occurred_at) - func.lag(_s(c.occurred_at)).over(partition_by=c.mentorship_id,
                                                               order_by=c.occurred_at)
    ordered = (select(c.mentorship_id, _s(c.occurred_at).label("at"), gap.label("gap"))
               .join(population, population.c.id == c.mentorship_id).subquery())
    return (select(ordered.c.mentorship_id, func.count().label("n"), func.min(ordered.c.at).label("first"),
                   func.max(ordered.c.at).label("last"), func.max(ordered.c.gap).label("max_gap"))
            .group_by(ordered.c.mentorship_id).subquery())


def _answered_while_running(population, *conditions):
    """Pulses of `population` submitted before the mentorship ended, meeting `conditions`."""
    m, p = Mentorship, Pulse
    return (select(p.mentorship_id).join(population, population.c.id == p.mentorship_id)
            .join(m, m.id == p.mentorship_id).where(p.submitted_at < m.ended_at, *conditions))


def _progress_fell(population):
    """Mentorships of `population` whose progress answers fell FALLING_ANSWERS times in a row while running."""
    p = Pulse
    # back_k: the progress answer k answers back (back_0 is this one)
    back = [p.progress.label("back_0")] + [
        func.lag(p.progress, k).over(partition_by=p.mentorship_id, order_by=p.period).label(f"back_{k}")
        for k in range(1, FALLING_ANSWERS)]
    progress = (_answered_while_running(population, p.progress.is_not(None))
                .add_columns(*back).subquery())
    return (select(progress.c.mentorship_id).where(*(progress.c[f"back_{k + 1}"] > progress.c[f"back_{k}"]
                                                      for k in range(FALLING_ANSWERS - 1)))
            .distinct().subquery())


def _low_pulse(population):
    """Mentorships of `population` with a usefulness answer of LOW_USEFULNESS or less while running."""
    return _answered_while_running(population, Pulse.usefulness <= LOW_USEFULNESS).distinct().subquery()


def _cadence_expression(visits):
    """health.cadence in SQL, over the `_checkin_visits` columns."""
    n, span = visits.c.n, visits.c.last - visits.c.first
    return case(
        (or_(n.is_(None), n < CADENCE_MIN_CHECKINS), "too_few"),
        (visits.c.max_gap * (n - 1) > IRREGULAR_GAP_FACTOR * span, "irregular"),
        *((span <= days * DAY * (n - 1), name) for name, days in CADENCE_DAYS.items()),
        else_="irregular")


def _silence_rules(visits):
    """(no_checkin, trial_silent): whether each rule held at any moment of an ended mentorship's run."""
    m = Mentorship
    start, end = _s(m.trial_started_at), _s(m.ended_at)
    quiet = _int(NO_CHECKIN_DAYS * DAY)
    no_checkin = or_(visits.c.n.is_(None) & (end - start > quiet),
                     visits.c.first - start > quiet, visits.c.max_gap > quiet, end - visits.c.last > quiet)
    silent_by = start + _int(TRIAL_SILENT_DAYS * DAY)
    trial_silent = and_(end > silent_by, or_(visits.c.n.is_(None), visits.c.first > silent_by))
    return no_checkin, trial_silent


@dataclass(frozen=True)
class Judged:
    """The whole-run columns of the mentorships of a population, and how to join what they read."""

    columns: tuple  # no_checkin, trial_silent, low_pulse, progress_falling, ended early, cadence
    visits: object
    low: object
    falling: object

    def joined(self, stmt):
        """`stmt` (selecting from mentorships) with the check-in and pulse summaries joined."""
        m = Mentorship
        return (stmt.outerjoin(self.visits, self.visits.c.mentorship_id == m.id)
                .outerjoin(self.low, self.low.c.mentorship_id == m.id)
                .outerjoin(self.falling, self.falling.c.mentorship_id == m.id))


def judged(population) -> Judged:
    """`population`: a subquery of ended mentorships' ids (column `id`)."""
    m = Mentorship
    visits, low, falling = _checkin_visits(population), _low_pulse(population), _progress_fell(population)
    no_checkin, trial_silent = _silence_rules(visits)
    early = _s(m.ended_at) - _s(m.trial_started_at) < _int(int(MONTH_1_ENDS.total_seconds()))  # lifecycle.ended_early
    columns = (case((no_checkin, True), else_=False), case((trial_silent, True), else_=False),
               case((low.c.mentorship_id.is_not(None), True), else_=False),
               case((falling.c.mentorship_id.is_not(None), True), else_=False),
               case((early, True), else_=False), _cadence_expression(visits))
    return Judged(columns, visits, low, falling)
