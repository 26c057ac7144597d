"""The whole pipeline (SQL aggregates + metrics.py) against an independent computation from raw
rows, on thousands of generated mentorships, with some timestamps after T. Rates are checked
against statsmodels' Wilson interval and retention against lifelines, to 1e-9."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from tracker import services
from tracker.core.extensions import db
from tracker.data.models import ExitSurvey, Mentorship, User
from tracker.domain import lifecycle, vocabulary
from tracker.services.seed import seed_demo

UNTIL = datetime(2026, 6, 30, tzinfo=timezone.utc)
AS_OF = UNTIL - timedelta(days=20, hours=3)
WINDOW = ("2025-03-01", "2026-06-01")


def _check_rate(rate, k, n):
    from statsmodels.stats.proportion import proportion_confint
    assert (rate["numerator"], rate["denominator"]) == (k, n)
    low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert abs(rate["value"] - k / n) < 1e-12
    assert abs(rate["low"] - low) < 1e-9 and abs(rate["high"] - high) < 1e-9


@pytest.fixture
def seeded(app):
    with app.app_context():
        seed_demo(count=3000, seed=11, until=UNTIL)
        token = services.create_api_token("operator@demo.example", at=UNTIL)
        ms = db.session.scalars(select(Mentorship)).all()
        surveys = {s.mentorship_id: s for s in db.session.scalars(select(ExitSurvey))}
        emails = dict(db.session.execute(select(User.id, User.email)).all())
        rows = [(m.applied_at, m.trial_started_at, m.ended_at, m.mentor_id, surveys.get(m.id)) for m in ms]
    return token, rows, emails


def test_pipeline_matches_an_independent_computation(app, seeded):
    token, rows, emails = seeded
    response = app.test_client().get("/api/v1/metrics", headers={"Authorization": f"Bearer {token}"},
                                     query_string={"from": WINDOW[0], "to": WINDOW[1], "as_of": AS_OF.isoformat()})
    body = response.get_json()
    t = AS_OF
    lo = datetime.fromisoformat(WINDOW[0]).replace(tzinfo=timezone.utc)
    hi = datetime.fromisoformat(WINDOW[1]).replace(tzinfo=timezone.utc)
    seen = lambda x: x if x is not None and x <= t else None  # noqa: E731
    in_window = lambda x: x is not None and lo <= x < hi and x <= t  # noqa: E731

    # applications
    apps = [(seen(s), seen(e)) for a, s, e, _, _ in rows if in_window(a)]
    accepted = sum(1 for s, e in apps if s)
    declined = sum(1 for s, e in apps if not s and e)
    assert body["applications"] == {"count": len(apps), "accepted": accepted, "declined": declined,
                                    "pending": len(apps) - accepted - declined}
    _check_rate(body["acceptance_rate"], accepted, accepted + declined)

    # trial conversion
    decided = converted = 0
    for _, s, e, _, _ in rows:
        if not in_window(s):
            continue
        end = lifecycle.trial_end(s)
        churned = seen(e) is not None and e < end
        if end <= t or churned:
            decided += 1
            converted += not churned
    _check_rate(body["trial_conversion"], converted, decided)

    # cancellations, surveys, reasons, stars, mentors
    cancelled = [(s, e, mentor, survey if survey and survey.submitted_at <= t else None)
                 for _, s, e, mentor, survey in rows if s is not None and in_window(e)]
    stages = {stage: 0 for stage in lifecycle.STAGES}
    for s, e, _, _ in cancelled:
        stages[lifecycle.stage_of_end(s, e)] += 1
    assert body["cancellations"] == {"count": len(cancelled), "by_stage": stages}
    surveys = [sv for *_, sv in cancelled if sv]
    _check_rate(body["survey_response_rate"], len(surveys), len(cancelled))
    _check_rate(body["success_rate"], sum(sv.goal_reached == "yes" for sv in surveys), len(surveys))
    _check_rate(body["partly_rate"], sum(sv.goal_reached == "partly" for sv in surveys), len(surveys))
    for reason in vocabulary.CHURN_REASONS:
        k = sum(sv.churn_reason == reason for sv in surveys)
        assert body["churn_reasons"][reason] == {"count": k, "share": k / len(surveys)}
    mean = sum(sv.stars for sv in surveys) / len(surveys)
    assert abs(body["stars"]["mean"] - mean) < 1e-12
    assert body["stars"]["counts"] == {str(n): sum(sv.stars == n for sv in surveys) for n in range(1, 6)}
    per_mentor: dict[str, list] = {}
    for _, _, mentor, sv in cancelled:
        if sv:
            per_mentor.setdefault(emails[mentor], []).append(sv)
    totals = {email: (len(svs), sum(x.stars for x in svs)) for email, svs in per_mentor.items()}
    expected = sorted(((email, n, stars, (5 * mean + stars) / (5 + n)) for email, (n, stars) in totals.items()),
                      key=lambda r: (-r[3], -r[1], r[0]))
    assert [(r["mentor"], r["n"]) for r in body["mentors"]] == [(e, n) for e, n, _, _ in expected]
    for row, (_, n, stars, bayes) in zip(body["mentors"], expected, strict=True):
        assert abs(row["bayesian_mean"] - bayes) < 1e-12 and abs(row["mean_stars"] - stars / n) < 1e-12

    # retention against lifelines
    from lifelines import KaplanMeierFitter
    started = [(s, seen(e)) for _, s, e, _, _ in rows if in_window(s)]
    durations = [((e or t) - s).total_seconds() / 86400 for s, e in started]
    observed = [e is not None for s, e in started]
    km = KaplanMeierFitter().fit(durations, observed)
    retention = body["retention"]
    assert (retention["n"], retention["events"]) == (len(started), sum(observed))
    assert 0 < sum(observed) < len(started)  # both events and censorings are present
    for days in (7, 30, 90, 180):
        assert abs(retention[f"s{days}"] - float(km.survival_function_at_times(days).iloc[0])) < 1e-9
    assert abs(retention["median_days"] - km.median_survival_time_) < 1e-9

    # cohorts by brute force
    cohorts: dict[str, list] = {}
    for s, e in started:
        cohorts.setdefault(f"{s:%Y-%m}", []).append((s, e))
    expected_cohorts = []
    for month, members in sorted(cohorts.items()):
        latest = max(s for s, _ in members)
        months = int((t - latest).total_seconds() // (30 * 86400))
        retained = [sum(1 for s, e in members if e is None or e > s + timedelta(days=30 * m)) / len(members)
                    for m in range(months + 1)]
        expected_cohorts.append({"month": month, "size": len(members), "retained": retained})
    assert body["cohorts"] == expected_cohorts
