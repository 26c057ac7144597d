"""The OpenAPI 3.1 description of the JSON API, served at GET /api/v2/openapi.json. It states what
docs/INTERFACES.md promises: the parameters, the authentication, the errors, and the bodies of v1
and v2 (v2: every key of v1, plus endings, success_bounds and the retention numbers)."""
from __future__ import annotations

from tracker.domain.vocabulary import CHURN_REASONS, GOAL_CATEGORIES

NUMBER_OR_NULL = {"type": ["number", "null"]}
RATE = {
    "type": "object",
    "description": "k of n with its 95% Wilson interval; value, low and high are null when n = 0.",
    "required": ["value", "numerator", "denominator", "low", "high"],
    "properties": {"value": NUMBER_OR_NULL, "numerator": {"type": "integer"}, "denominator": {"type": "integer"},
                   "low": NUMBER_OR_NULL, "high": NUMBER_OR_NULL},
}
AT_DAYS = {"type": "object", "properties": {d: NUMBER_OR_NULL for d in ("7", "30", "90", "180")},
           "required": ["7", "30", "90", "180"]}

PARAMETERS = [
    {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"},
     "description": "First day of the window (UTC). Default: `to` minus 90 days."},
    {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"},
     "description": "The day after the window (exclusive, UTC). Default: the day after `as_of`."},
    {"name": "as_of", "in": "query", "schema": {"type": "string", "format": "date-time"},
     "description": "The moment T the numbers are as of (ISO 8601 with Z or an offset). Default: now."},
    {"name": "goal_category", "in": "query", "schema": {"type": "string", "enum": list(GOAL_CATEGORIES)}},
    {"name": "mentor", "in": "query", "schema": {"type": "string", "format": "email"},
     "description": "Only this mentor's mentorships."},
]
ERRORS = {
    "400": {"description": "A parameter is wrong; the message names it.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    "401": {"description": "No operator session and no valid bearer token.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    "403": {"description": "Authenticated, but not as an operator.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
}
V1 = {
    "type": "object",
    "required": ["as_of", "window", "filters", "applications", "acceptance_rate", "trial_conversion",
                 "cancellations", "survey_response_rate", "success_rate", "partly_rate", "churn_reasons",
                 "churn_reasons_by_stage", "stars", "retention", "cohorts", "mentors"],
    "properties": {
        "as_of": {"type": "string", "format": "date-time"},
        "window": {"type": "object", "properties": {"from": {"type": "string"}, "to": {"type": "string"}}},
        "filters": {"type": "object"},
        "applications": {"type": "object", "properties": {k: {"type": "integer"} for k in
                                                          ("count", "accepted", "declined", "pending")}},
        "acceptance_rate": RATE, "trial_conversion": RATE, "survey_response_rate": RATE,
        "success_rate": RATE, "partly_rate": RATE,
        "cancellations": {"type": "object", "properties": {"count": {"type": "integer"},
                                                           "by_stage": {"type": "object"}}},
        "churn_reasons": {"type": "object", "properties": {reason: {
            "type": "object", "properties": {"count": {"type": "integer"}, "share": NUMBER_OR_NULL}}
            for reason in CHURN_REASONS}},
        "churn_reasons_by_stage": {"type": "object"},
        "stars": {"type": "object", "properties": {"mean": NUMBER_OR_NULL, "counts": {"type": "object"}}},
        "retention": {"type": "object", "description": "Kaplan-Meier survival S(7), S(30), S(90), S(180) and the "
                      "median duration in days, of the trials started in the window by as_of."},
        "cohorts": {"type": "array", "items": {"type": "object"}},
        "mentors": {"type": "array", "items": {"type": "object", "properties": {
            "mentor": {"type": "string"}, "n": {"type": "integer"}, "mean_stars": {"type": "number"},
            "bayesian_mean": {"type": "number"}, "success_rate": RATE}}},
    },
}
V2 = {
    "allOf": [{"$ref": "#/components/schemas/MetricsV1"}, {
        "type": "object",
        "required": ["endings", "success_bounds", "saves", "pulse_tiers", "month_one", "risk_history", "research"],
        "properties": {
            "endings": {"type": "object", "description": (
                "Cumulative incidence (Aalen-Johansen) of ending with the goal reached and of ending otherwise, "
                "at 7, 30, 90 and 180 days after the trial started; null when the population is empty. "
                "goal_reached + other = 1 - S(t)."),
                "properties": {"goal_reached": AT_DAYS, "other": AT_DAYS}},
            "success_bounds": {"type": "object", "description": (
                "The success rate if no non-respondent reached the goal (low) and if every one did (high)."),
                "properties": {"low": NUMBER_OR_NULL, "high": NUMBER_OR_NULL}},
            "saves": {"type": "object", "description": "The save offers' outcomes per churn reason and in all."},
            "pulse_tiers": {"type": "object", "description": "Shares of each progress tier among the pulses."},
            "month_one": {"type": "object", "description": "How the month-1 pulse's answers went with the ending."},
            "risk_history": {"type": "object", "description": "Cancellations by the at-risk rules that held."},
            "research": {"type": "object", "description": (
                "Success by check-in cadence, by meeting preference and by goal category; each category's "
                "median duration.")},
        },
    }],
}


def _endpoint(summary: str, schema: str) -> dict:
    return {"get": {
        "summary": summary, "parameters": PARAMETERS, "security": [{"bearer": []}, {"session": []}],
        "responses": {"200": {"description": "The numbers.",
                              "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}},
                      **ERRORS}}}


DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "Mentorship success tracker", "version": "2",
             "description": "Every number is defined in docs/METRICS.md; v1 never changes."},
    "paths": {
        "/api/v1/metrics": _endpoint("Success, conversion, retention and churn numbers (v1)", "MetricsV1"),
        "/api/v2/metrics": _endpoint("v1's numbers, plus endings over time, success bounds and retention",
                                     "MetricsV2"),
    },
    "components": {
        "schemas": {"MetricsV1": V1, "MetricsV2": V2, "Rate": RATE,
                    "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}},
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "A token from `flask --app wsgi create-token --email <operator>`."},
            "session": {"type": "apiKey", "in": "cookie", "name": "session",
                        "description": "An operator's logged-in session."},
        },
    },
}
