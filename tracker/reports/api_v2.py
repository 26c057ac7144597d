"""The body of GET /api/v2/metrics (docs/INTERFACES.md): every key of v1, unchanged, plus the endings
over time, the success rate's bounds, and the retention numbers of docs/RETENTION.md under the names
the pages use. All of it from the fast read path (reports/rollup_queries.py)."""
from __future__ import annotations

from tracker.reports import metrics, rollup_queries
from tracker.reports.scope import Scope

# Keys v2 adds to v1, in order; the OpenAPI document lists the same.
ADDED = ("endings", "success_bounds", "saves", "pulse_tiers", "month_one", "risk_history", "research")


def _json_keys(value):
    """JSON objects have string keys: a None key (no meeting preference given) becomes "none"."""
    if isinstance(value, dict):
        return {("none" if key is None else str(key)): _json_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_keys(item) for item in value]
    return value


def report(scope: Scope, echo: dict) -> dict:
    counts = rollup_queries.measure(scope)
    body = metrics.report(counts, echo["as_of"], echo["window"], echo["filters"])
    endings = rollup_queries.ending_groups(scope)
    body.update({
        "endings": rollup_queries.endings(scope, counts.durations).report(),
        "success_bounds": metrics.success_bounds_of(body),
        "saves": metrics.saves_report(rollup_queries.save_groups(scope)),
        "pulse_tiers": metrics.pulse_tiers(rollup_queries.pulse_tier_groups(scope)),
        "month_one": metrics.month_one_prediction(rollup_queries.month_one_groups(scope)),
        "risk_history": metrics.risk_history(endings),
        "research": metrics.research(endings, rollup_queries.duration_groups_by_category(scope)),
    })
    return _json_keys(body)
