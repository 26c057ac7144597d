"""Rows in, Plotly figures out (as plain dicts for `|tojson`). No database, no maths beyond layout.

Text that people typed never reaches a chart unescaped: plotly.js renders some HTML in labels.
"""
from __future__ import annotations

from html import escape

import plotly.graph_objects as go

from tracker.domain.lifecycle import PAID_MONTH, STAGE_ENDS, STAGES
from tracker.domain.vocabulary import CHURN_REASONS, STAGE_NAMES
from tracker.reports.metrics import STAR_VALUES

BRAND, GOOD, MUTED, GRID = "#3a4fd7", "#17784a", "#8a93a6", "#dde2ea"
REASON_COLOURS = {"goal_reached": GOOD, "too_expensive": "#d98c00", "no_time": "#a0a8ba",
                  "mentor_fit": "#b3261e", "mentor_unresponsive": "#e0675f", "switched_mentor": "#7b61c4",
                  "platform_issue": "#2c7fb8", "other": "#5b6475"}


def _layout(fig: go.Figure, title: str, y_title: str = "", percent: bool = False, height: int = 340) -> dict:
    """The figure as a plain dict with the common layout merged in, as `fig.update_layout`,
    `update_xaxes` and `update_yaxes` would set it (tests/test_dashboard.py compares the two). Done by hand
    because plotly validates every property path it updates: 8 of the 20 ms a mentorship page took."""
    figure = fig.to_plotly_json()
    layout = figure["layout"]
    _merge(layout, {
        "title": {"text": escape(title), "x": 0, "font": {"size": 15}}, "height": height,
        "margin": {"l": 50, "r": 20, "t": 45, "b": 45}, "paper_bgcolor": "white", "plot_bgcolor": "white",
        "font": {"family": "system-ui, sans-serif", "color": "#1d2433"},
        "legend": {"orientation": "h", "y": -0.2}, "hovermode": "x unified",
        "xaxis": {"gridcolor": GRID},
        "yaxis": {"gridcolor": GRID, "title": {"text": y_title}, "rangemode": "tozero",
                  **({"tickformat": ".0%"} if percent else {})}})
    return figure


def _merge(into: dict, values: dict) -> None:
    """Set `values` in `into`, nested dicts merged key by key, as plotly's update does. Unlike plotly's,
    a value never deletes a key (plotly's None does) and a string does not replace a dict (plotly's
    `title="..."` does), and only `xaxis` and `yaxis` are set, not `xaxis2` and on: no chart needs
    those today, and the test comparing every chart with plotly's own calls would show one that did."""
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def success_by_month(series: list[dict]) -> dict:
    months = [row["month"] for row in series if row["success_rate"]["value"] is not None]
    rates = [row["success_rate"] for row in series if row["success_rate"]["value"] is not None]
    fig = go.Figure([
        go.Scatter(x=months, y=[r["high"] for r in rates], mode="lines", line={"width": 0},
                   hoverinfo="skip", showlegend=False),
        go.Scatter(x=months, y=[r["low"] for r in rates], mode="lines", line={"width": 0}, fill="tonexty",
                   fillcolor="rgba(58,79,215,0.15)", name="95% interval", hoverinfo="skip"),
        go.Scatter(x=months, y=[r["value"] for r in rates], mode="lines+markers", name="Goal reached",
                   line={"color": BRAND}, customdata=[[r["numerator"], r["denominator"]] for r in rates],
                   hovertemplate="%{y:.1%} (%{customdata[0]} of %{customdata[1]})<extra></extra>"),
    ])
    return _layout(fig, "Success rate by month of cancellation", percent=True)


def reason_shares(report: dict) -> dict:
    reasons = list(CHURN_REASONS)
    shares = [report["churn_reasons"][r]["share"] or 0 for r in reasons]
    counts = [report["churn_reasons"][r]["count"] for r in reasons]
    fig = go.Figure(go.Bar(
        y=[CHURN_REASONS[r] for r in reasons], x=shares, orientation="h", customdata=counts,
        marker={"color": [REASON_COLOURS[r] for r in reasons]},
        hovertemplate="%{x:.1%} (%{customdata} surveys)<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    figure = _layout(fig, "Why mentees leave (share of surveys)", percent=False, height=360)
    figure["layout"]["xaxis"]["tickformat"] = ".0%"
    return figure


def reasons_by_month(series: list[dict]) -> dict:
    months = [row["month"] for row in series]
    fig = go.Figure([go.Bar(x=months, y=[row["reasons"][r] for row in series], name=CHURN_REASONS[r],
                            marker={"color": REASON_COLOURS[r]}) for r in CHURN_REASONS])
    fig.update_layout(barmode="stack")
    return _layout(fig, "Reasons by month of cancellation", y_title="surveys", height=400)


def reasons_by_stage(report: dict) -> dict:
    by_stage = report["churn_reasons_by_stage"]
    names = [STAGE_NAMES[s] for s in STAGES]
    fig = go.Figure([go.Bar(x=names, y=[by_stage[s][r] for s in STAGES], name=CHURN_REASONS[r],
                            marker={"color": REASON_COLOURS[r]}) for r in CHURN_REASONS])
    fig.update_layout(barmode="stack")
    return _layout(fig, "Reasons by stage", y_title="surveys", height=400)


def survival(curve: list[tuple[float, float]]) -> dict:
    fig = go.Figure(go.Scatter(x=[d for d, _ in curve], y=[s for _, s in curve], mode="lines",
                               line={"shape": "hv", "color": BRAND}, name="Still going",
                               hovertemplate="day %{x:.1f}: %{y:.1%}<extra></extra>"))
    for day in (end.days for _, end in STAGE_ENDS):  # where each stage ends
        fig.add_vline(x=day, line={"color": GRID, "dash": "dot"})
    figure = _layout(fig, "Share of mentorships still going (Kaplan-Meier)", percent=True)
    figure["layout"]["xaxis"]["title"] = {"text": "days since the trial started"}
    return figure


def endings(curve: list[tuple[float, float, float, float]]) -> dict:
    """Endings over time: the share ended with the goal reached, ended otherwise, and ended at all
    (1 - S(t), the sum of the two)."""
    days = [point[0] for point in curve]
    fig = go.Figure()
    for index, name, color, dash in ((3, "Ended, any reason (1 - S)", MUTED, "dot"),
                                     (1, "Ended with the goal reached", GOOD, None),
                                     (2, "Ended otherwise", BRAND, None)):
        fig.add_trace(go.Scatter(x=days, y=[point[index] for point in curve], mode="lines", name=name,
                                 line={"shape": "hv", "color": color, "dash": dash},
                                 hovertemplate="day %{x:.1f}: %{y:.1%}<extra>" + name + "</extra>"))
    figure = _layout(fig, "How mentorships ended over time (cumulative incidence)", percent=True)
    figure["layout"]["xaxis"]["title"] = {"text": "days since the trial started"}
    return figure


def cohort_heatmap(cohorts: list[dict]) -> dict:
    width = max((len(c["retained"]) for c in cohorts), default=0)
    z = [c["retained"] + [None] * (width - len(c["retained"])) for c in cohorts]
    fig = go.Figure(go.Heatmap(
        z=z, x=[f"+{PAID_MONTH.days * m} d" for m in range(width)], y=[c["month"] for c in cohorts],
        colorscale=[[0, "#f6f7fb"], [1, BRAND]], zmin=0, zmax=1, colorbar={"tickformat": ".0%"},
        hovertemplate="%{y}, %{x}: %{z:.1%}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", type="category")
    return _layout(fig, "Monthly cohorts: share still going", height=max(300, 26 * len(cohorts) + 120))


def star_distribution(report: dict) -> dict:
    counts = report["stars"]["counts"]
    fig = go.Figure(go.Bar(x=[f"{n} ★" for n in STAR_VALUES], y=[counts[str(n)] for n in STAR_VALUES],
                           marker={"color": ["#b3261e", "#e0675f", "#a0a8ba", "#6f86e8", BRAND]},
                           hovertemplate="%{x}: %{y} surveys<extra></extra>"))
    return _layout(fig, "Ratings", y_title="surveys")


def quarterly_success(quarters: list[dict]) -> dict:
    names = [q["quarter"] for q in quarters if q["success_rate"]["value"] is not None]
    rates = [q["success_rate"] for q in quarters if q["success_rate"]["value"] is not None]
    fig = go.Figure([
        go.Bar(x=names, y=[r["value"] for r in rates], name="Goal reached", marker={"color": BRAND},
               error_y={"type": "data", "symmetric": False, "array": [r["high"] - r["value"] for r in rates],
                        "arrayminus": [r["value"] - r["low"] for r in rates], "color": MUTED},
               customdata=[[r["numerator"], r["denominator"]] for r in rates],
               hovertemplate="%{y:.0%} (%{customdata[0]} of %{customdata[1]})<extra></extra>"),
    ])
    return _layout(fig, "Success rate by quarter (bars: 95% interval)", percent=True)


def progress_line(points: list[tuple[str, int]]) -> dict:
    """The mentee's pulse answers: (period name, progress %) in period order."""
    fig = go.Figure(go.Scatter(x=[name for name, _ in points], y=[value / 100 for _, value in points],
                               mode="lines+markers", line={"color": BRAND}, name="Progress",
                               hovertemplate="%{y:.0%}<extra></extra>"))
    figure = _layout(fig, "Progress towards the goal, as the mentee reported it", percent=True, height=300)
    figure["layout"]["yaxis"]["range"] = [0, 1.05]
    return figure
