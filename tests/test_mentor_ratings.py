"""A mentor's own ratings: the same numbers as the operator's dashboard filtered to them, a rank
without other names, and feedback that cannot point at the mentee who wrote it."""
import re
from datetime import timedelta

import pytest

from .factories import mentorship
from .helpers import T0

D = timedelta(days=1)


def _survey(stars, goal, reason, **texts):
    return dict(stars=stars, goal_reached=goal, churn_reason=reason, **texts)


def cancel(app, mentee, mentor, days_ago, survey, started_days_ago=60):
    start = T0 - started_days_ago * D
    return mentorship(app, mentee, mentor, applied_at=start - D, trial_started_at=start,
                      ended_at=T0 - days_ago * D, survey=survey)


@pytest.fixture
def rated(app, world):
    a, b, m, n = world.mentee, world.other_mentee, world.mentor, world.other_mentor
    cancel(app, a, m, 40, _survey(5, "yes", "goal_reached", feedback_mentor="Loved the homework",
                                  feedback_platform="PLATFORM-SECRET", feedback_other="OTHER-SECRET"))
    cancel(app, b, m, 30, _survey(4, "partly", "no_time", feedback_mentor="More structure please"))
    cancel(app, a, m, 20, _survey(2, "no", "mentor_unresponsive", feedback_mentor="Slow to reply"))
    cancel(app, b, n, 10, _survey(3, "no", "mentor_fit", feedback_mentor="NORA-ONLY"))
    mentorship(app, a, m, applied_at=T0 - 5 * D, trial_started_at=T0 - 4 * D)  # still in trial
    return world


def test_mentor_sees_their_numbers_beside_the_platform(rated, login):
    page = login(rated.mentor).get("/mentor/ratings").get_data(as_text=True)
    assert '<span class="tile-value">3</span>' in page          # surveys
    assert "3.67 ★" in page and "platform: 3.50 ★" in page        # (5+4+2)/3 and 14/4
    assert "1 of 3 · 95% CI" in page                              # success: 1 yes of 3 surveys
    assert "1 of 4 · 95% CI" in page                              # platform success
    assert "1 of 3 (33%) left because they" in page               # good churn set apart


def test_rank_is_a_share_not_names(app, rated, login):
    page = login(rated.mentor).get("/mentor/ratings").get_data(as_text=True)
    # Platform mean 3.5; Max: (5*3.5 + 11)/8 = 3.5625; Nora: (5*3.5 + 3)/6 = 3.417 -> better than 100% of 1.
    assert "better than 100%" in page and "of the 2 mentors rated" in page
    assert "other.mentor@example.com" not in page and "Nora" not in page


def test_figures_equal_the_operators_filtered_to_that_mentor(rated, login):
    mentor_page = login(rated.mentor).get("/mentor/ratings?from=2025-01-01&to=2026-03-03").get_data(as_text=True)
    api = login(rated.operator).get("/api/v1/metrics", query_string={
        "from": "2025-01-01", "to": "2026-03-03", "mentor": rated.mentor.email}).get_json()
    for key in ("success_rate", "trial_conversion"):
        rate = api[key]
        low, high = rate["low"] * 100, rate["high"] * 100
        expected = f"{rate['numerator']} of {rate['denominator']} · 95% CI {low:.1f}%–{high:.1f}%"
        assert expected in mentor_page, key
    assert f"{api['stars']['mean']:.2f} ★" in mentor_page
    for stars, n in api["stars"]["counts"].items():
        assert re.search(rf"<th scope=\"row\">{stars} ★</th><td class=\"num\">{n}</td>", mentor_page)
    for reason in ("no_time", "mentor_unresponsive", "mentor_fit"):
        assert f'<td class="num">{api["churn_reasons"][reason]["count"]}</td>' in mentor_page


def test_feedback_needs_three_surveys(app, world, login):
    cancel(app, world.mentee, world.mentor, 30, _survey(4, "yes", "goal_reached", feedback_mentor="First"))
    cancel(app, world.other_mentee, world.mentor, 20, _survey(4, "yes", "goal_reached", feedback_mentor="Second"))
    page = login(world.mentor).get("/mentor/ratings").get_data(as_text=True)
    assert "First" not in page and "Second" not in page and "You have 2 so far" in page


def test_feedback_is_anonymous_dated_by_month_and_only_about_the_mentor(rated, login):
    page = login(rated.mentor).get("/mentor/ratings").get_data(as_text=True)
    for text in ("Loved the homework", "More structure please", "Slow to reply"):
        assert text in page
    for secret in ("PLATFORM-SECRET", "OTHER-SECRET", "NORA-ONLY", "Mia Mentee", "Otto Mentee",
                   "mentee@example.com", "/mentorships/"):
        assert secret not in page
    assert "2026-01 " in page or "2026-01<" in page or "· 2026-01" in page  # dated by month
    assert not re.search(r"\b2026-0[12]-\d\d\b", page.split("What mentees said")[1])


def test_a_hidden_comment_leaves_the_mentor_page_but_not_the_data(app, rated, login):
    with app.app_context():
        from tracker.core.extensions import db
        from tracker.data.models import ExitSurvey
        survey_id = db.session.query(ExitSurvey.id).filter_by(feedback_mentor="Slow to reply").scalar()
    operator = login(rated.operator)
    assert operator.post(f"/ops/surveys/{survey_id}/hide", data={"reason": ""}).status_code == 302
    assert "Slow to reply" in login(rated.mentor).get("/mentor/ratings").get_data(as_text=True)  # no reason: not hidden
    operator.post(f"/ops/surveys/{survey_id}/hide", data={"reason": "names the mentee's employer"})
    assert "Slow to reply" not in login(rated.mentor).get("/mentor/ratings").get_data(as_text=True)
    feedback = operator.get("/ops/feedback?from=2025-01-01").get_data(as_text=True)
    assert "hidden from the mentor" in feedback and "names the mentee&#39;s employer" in feedback
    exported = operator.get("/ops/surveys.csv?from=2025-01-01").get_data(as_text=True)
    assert "Slow to reply" in exported and "names the mentee's employer" in exported
    operator.post(f"/ops/surveys/{survey_id}/unhide")
    assert "Slow to reply" in login(rated.mentor).get("/mentor/ratings").get_data(as_text=True)


def test_hiding_an_unknown_survey_is_404(rated, login):
    assert login(rated.operator).post("/ops/surveys/98765/hide", data={"reason": "x"}).status_code == 404


def test_a_mentor_cannot_ask_for_another_mentors_numbers(rated, login):
    client = login(rated.other_mentor)
    client.get("/mentor/")  # shows the welcome message once
    main = lambda page: page.split('<main id="main"')[1].split("</main>")[0]  # noqa: E731 (no CSRF token)
    own = main(client.get("/mentor/ratings").get_data(as_text=True))
    asked = main(client.get("/mentor/ratings?mentor=mentor%40example.com").get_data(as_text=True))
    assert own == asked
    assert '<span class="tile-value">1</span>' in own and "Loved the homework" not in own
    assert client.get("/api/v1/metrics?mentor=mentor%40example.com").status_code == 403
    assert client.get("/ops/feedback").status_code == 403


def test_no_ratings_yet_is_explained(app, world, login):
    page = login(world.mentor).get("/mentor/ratings").get_data(as_text=True)
    assert "No ratings yet in this window" in page and "You have 0 so far" in page


def test_a_bad_window_is_named(rated, login):
    response = login(rated.mentor).get("/mentor/ratings?from=2026-02-31")
    assert response.status_code == 400
    assert "from: &#39;2026-02-31&#39; is not a real date" in response.get_data(as_text=True)


def test_better_than_share_by_hand():
    from tracker.reports.metrics import better_than_share
    table = [{"mentor": "a", "bayesian_mean": 4.0}, {"mentor": "b", "bayesian_mean": 3.0},
             {"mentor": "c", "bayesian_mean": 3.0}, {"mentor": "d", "bayesian_mean": 4.5}]
    assert better_than_share(table, "a") == pytest.approx(2 / 3)
    assert better_than_share(table, "b") == 0.0
    assert better_than_share(table, "d") == 1.0
    assert better_than_share(table, "zz") is None and better_than_share(table[:1], "a") is None
