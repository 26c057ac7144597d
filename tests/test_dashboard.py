"""The operator dashboard: every page draws from the same report as the API, keeps its filters in
the URL, says "no data yet" rather than 0%, and lets the operator read and download the surveys."""
import csv
import io
import json
import re
from datetime import timedelta
from html import escape

import pytest
from sqlalchemy import update

from tracker import services
from tracker.core.extensions import db
from tracker.data.models import User
from tracker.reports import charts
from tracker.web import presenters

from .factories import mentorship
from .helpers import T0

D = timedelta(days=1)
PAGES = ["/ops/", "/ops/churn", "/ops/retention", "/ops/ratings", "/ops/feedback"]


def _survey(stars, goal, reason, **texts):
    return dict(stars=stars, goal_reached=goal, churn_reason=reason, **texts)


@pytest.fixture
def data(app, world):
    a, b, m, n = world.mentee, world.other_mentee, world.mentor, world.other_mentor
    start = T0 - 80 * D
    mentorship(app, a, m, applied_at=start - D, trial_started_at=start, ended_at=T0 - 10 * D,
               survey=_survey(5, "yes", "goal_reached", feedback_platform="=HYPERLINK(\"http://x\")",
                              feedback_mentor="Great <b>sessions</b>"))
    mentorship(app, b, m, applied_at=start - D, trial_started_at=start, ended_at=start + 3 * D,
               survey=_survey(2, "no", "too_expensive", feedback_other="Too pricey for me"))
    mentorship(app, a, n, applied_at=start - D, trial_started_at=start, ended_at=T0 - 40 * D,
               survey=_survey(3, "partly", "mentor_unresponsive", feedback_mentor="Answered late"))
    mentorship(app, b, n, applied_at=T0 - 5 * D, trial_started_at=T0 - 4 * D)
    return world


def figures(page: str) -> dict:
    found = re.findall(r'<script type="application/json" class="chart-data" data-target="([^"]+)">(.*?)</script>',
                       page, re.S)
    return {target: json.loads(body) for target, body in found}


@pytest.mark.parametrize("path", PAGES)
def test_every_dashboard_page_renders_with_charts_as_json(data, login, path):
    response = login(data.operator).get(path)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<script src="/assets/plotly.min.js"></script>' in page and "/static/js/charts.js" in page
    assert "<script>" not in page  # no inline script: the figures travel as JSON
    for figure in figures(page).values():
        assert figure["data"], "every chart has data"


def test_overview_tiles_match_the_api(data, login):
    client = login(data.operator)
    api = client.get("/api/v1/metrics", query_string={"from": "2025-03-03", "to": "2026-03-03"}).get_json()
    page = client.get("/ops/").get_data(as_text=True)
    success = api["success_rate"]
    assert success["numerator"] == 1 and success["denominator"] == 3
    assert f"{success['value'] * 100:.1f}%" in page
    assert f"1 of 3 · 95% CI {success['low'] * 100:.1f}%–{success['high'] * 100:.1f}%" in page
    assert "Window 3 Mar 2025 to 3 Mar 2026" in page  # the dashboard opens on 365 days


def test_filters_live_in_the_url_and_carry_between_pages(data, login):
    client = login(data.operator)
    query = ("?from=2026-01-01&to=2026-03-01&as_of=2026-02-28T12:00&goal_category=change_careers"
             "&mentor=mentor%40example.com")
    page = client.get("/ops/churn" + query).get_data(as_text=True)
    assert 'value="2026-01-01"' in page and 'value="2026-02-28T12:00"' in page
    assert '<option value="mentor@example.com" selected>' in page
    assert '<option value="change_careers" selected>' in page
    assert ('href="/ops/retention?from=2026-01-01&amp;to=2026-03-01&amp;as_of=2026-02-28T12:00:00%2B00:00'
            '&amp;goal_category=change_careers&amp;mentor=mentor@example.com"') in page


def test_window_choices_are_one_click_each_and_keep_the_other_filters(data, login):
    client = login(data.operator)
    page = client.get("/ops/churn").get_data(as_text=True)  # now: T0, 2 Mar 2026; the window ends on 3 Mar
    choices = re.findall(r'<a href="/ops/churn\?from=([0-9-]+)&amp;to=([0-9-]+)"( aria-current="true")?>([^<]+)</a>',
                         page)
    assert choices == [("2026-02-01", "2026-03-03", "", "Last 30 days"),
                       ("2025-12-03", "2026-03-03", "", "Last 90 days"),
                       ("2025-03-03", "2026-03-03", ' aria-current="true"', "Last 365 days"),
                       ("2000-01-01", "2026-03-03", "", "All time")]
    page = client.get("/ops/retention?from=2000-01-01&to=2026-03-03&goal_category=change_careers&as_of=2026-02-28T12:00"
                      ).get_data(as_text=True)
    assert ('<a href="/ops/retention?from=2026-01-30&amp;to=2026-03-01&amp;as_of=2026-02-28T12:00:00%2B00:00'
            '&amp;goal_category=change_careers">Last 30 days</a>') in page  # ends on the as-of day
    assert re.search(r'<a href="[^"]*from=2000-01-01&amp;to=2026-03-01[^"]*" aria-current="true">All time</a>', page) \
        is None  # the window asked (to 3 Mar) is not the all-time choice as of 28 Feb (to 1 Mar)
    feedback = client.get("/ops/feedback?reason=too_expensive&stars=2&q=pricey&page=2").get_data(as_text=True)
    assert ('<a href="/ops/feedback?from=2026-02-01&amp;to=2026-03-03&amp;reason=too_expensive&amp;stars=2'
            '&amp;q=pricey">Last 30 days</a>') in feedback  # what is being read is kept, the page starts again
    all_time = client.get("/ops/?from=2000-01-01&to=2026-03-03").get_data(as_text=True)
    assert "Window 1 Jan 2000 to 3 Mar 2026" in all_time
    assert re.search(r'aria-current="true">All time</a>', all_time)


def test_an_empty_window_says_no_data_yet(data, login):
    client = login(data.operator)
    for path in PAGES:
        page = client.get(path + "?from=2020-01-01&to=2020-02-01").get_data(as_text=True)
        assert '<section class="empty">' in page, path
        assert "0.0%" not in page, path


def test_a_bad_filter_is_named_and_the_defaults_are_shown(data, login):
    response = login(data.operator).get("/ops/?from=2026-02-30")
    assert response.status_code == 400
    assert "from: &#39;2026-02-30&#39; is not a real date" in response.get_data(as_text=True)


def test_churn_page_sets_good_churn_apart(data, login):
    page = login(data.operator).get("/ops/churn?from=2025-01-01").get_data(as_text=True)
    assert "Good churn: goal reached" in page and 'class="good-churn"' in page
    assert "2 of 3 · 95% CI" in page  # the other reasons, with their interval
    assert set(figures(page)) == {"chart-reasons", "chart-stage", "chart-month"}


def test_ratings_page_ranks_mentors(data, login):
    page = login(data.operator).get("/ops/ratings?from=2025-01-01").get_data(as_text=True)
    # mentor: 5 and 2 stars; other mentor: 3 stars. Platform mean 10/3.
    mean = 10 / 3
    bayes_m = (5 * mean + 7) / 7
    bayes_n = (5 * mean + 3) / 6
    first, second = ("mentor@example.com", "other.mentor@example.com") if bayes_m > bayes_n else \
        ("other.mentor@example.com", "mentor@example.com")
    table = page.split("Mentor leaderboard")[1]
    assert table.index(f">{first}<") < table.index(f">{second}<")


def test_feedback_is_readable_filterable_and_escaped(data, login):
    client = login(data.operator)
    page = client.get("/ops/feedback?from=2025-01-01").get_data(as_text=True)
    assert "Great &lt;b&gt;sessions&lt;/b&gt;" in page and "Too pricey for me" in page
    # newest cancellations first (the order the window's index gives, so a page reads only its own rows)
    assert page.index("Great &lt;b&gt;") < page.index("Answered late") < page.index("Too pricey for me")
    assert f"ended {presenters.day(T0 - 10 * D)}" in page
    only_late = client.get("/ops/feedback?from=2025-01-01&q=LATE").get_data(as_text=True)
    assert "Answered late" in only_late and "Too pricey" not in only_late
    by_reason = client.get("/ops/feedback?from=2025-01-01&reason=too_expensive").get_data(as_text=True)
    assert "Too pricey for me" in by_reason and "Answered late" not in by_reason
    by_stars = client.get("/ops/feedback?from=2025-01-01&stars=5").get_data(as_text=True)
    assert "Great &lt;b&gt;" in by_stars and "Too pricey" not in by_stars
    wildcard = client.get("/ops/feedback?from=2025-01-01&q=%25").get_data(as_text=True)
    assert "No written feedback matches" in wildcard  # % is a character, not a wildcard


def test_surveys_csv_follows_the_filters_and_neutralises_formulas(data, login):
    client = login(data.operator)
    response = client.get("/ops/surveys.csv?from=2025-01-01&mentor=mentor%40example.com")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 2 and {r["mentor_email"] for r in rows} == {"mentor@example.com"}
    first = rows[0]  # oldest first: the trial cancellation
    assert (first["stage"], first["stars"], first["churn_reason"]) == ("trial", "2", "too_expensive")
    assert rows[1]["feedback_platform"] == "'=HYPERLINK(\"http://x\")"


def test_surveys_csv_neutralises_formula_like_emails(app, data, login):
    # an address such as =cmd@example.com is valid, so it is guarded like any other text cell
    with app.app_context():
        db.session.execute(update(User).where(User.id == data.mentee.id).values(email="=cmd@example.com"))
        db.session.commit()
    response = login(data.operator).get("/ops/surveys.csv?from=2025-01-01")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert {r["mentee_email"] for r in rows} == {"'=cmd@example.com", data.other_mentee.email}


def test_the_plotly_bundle_is_served_locally(client):
    response = client.get("/assets/plotly.min.js")
    assert response.status_code == 200 and b"plotly.js v" in response.data[:200]
    assert response.headers["Cache-Control"] == "public, max-age=31536000"


def _layout_through_plotly(fig, title, y_title="", percent=False, height=340):
    """The common layout set through plotly's own API, as charts._layout did before it set it by hand."""
    fig.update_layout(
        title={"text": escape(title), "x": 0, "font": {"size": 15}}, height=height,
        margin={"l": 50, "r": 20, "t": 45, "b": 45}, paper_bgcolor="white", plot_bgcolor="white",
        font={"family": "system-ui, sans-serif", "color": "#1d2433"},
        legend={"orientation": "h", "y": -0.2}, hovermode="x unified")
    fig.update_xaxes(gridcolor=charts.GRID)
    fig.update_yaxes(gridcolor=charts.GRID, title=y_title, tickformat=".0%" if percent else None,
                     rangemode="tozero")
    return fig.to_plotly_json()


def test_every_chart_is_the_figure_plotly_itself_would_make(app, data, login, monkeypatch):
    """charts._layout merges the layout into plain dicts (plotly's validation was most of a mentorship
    page's time): every chart of every page is the same as with plotly's update_layout."""
    mid = data.in_trial(days_in=6)
    with app.app_context():
        services.answer_pulse(data.mentee.id, mid, 0, 35, 4, T0)
    pages = [(data.operator, path) for path in PAGES + ["/ops/retention?window=all"]]
    pages += [(data.mentor, "/mentor/ratings"), (data.mentee, f"/mentorships/{mid}")]
    fast = {(user.id, path): figures(login(user).get(path).get_data(as_text=True)) for user, path in pages}
    monkeypatch.setattr(charts, "_layout", _layout_through_plotly)
    for user, path in pages:
        through_plotly = figures(login(user).get(path).get_data(as_text=True))
        assert fast[(user.id, path)] == through_plotly, path
    drawn = [target for found in fast.values() for target in found]
    assert len(drawn) == 15 and "chart-progress" in drawn


@pytest.mark.parametrize("path", PAGES)
def test_every_dashboard_page_renders_while_every_trial_in_the_window_still_runs(app, world, login, path):
    """A new platform's first weeks: trials started, nobody has left yet (the survival curve has people and
    no step)."""
    mentorship(app, world.mentee, world.mentor, applied_at=T0 - 3 * D, trial_started_at=T0 - 2 * D)
    response = login(world.operator).get(path)
    assert response.status_code == 200
    if path == "/ops/retention":
        assert figures(response.get_data(as_text=True))["chart-survival"]["data"][0]["y"] == [1.0]
