"""GET /api/v1/metrics: authentication, parameters, and the numbers on hand-built data."""
from datetime import datetime, timedelta, timezone

import pytest

from tracker import services
from tracker.core import clock

from .factories import mentorship
from .helpers import T0

S = timedelta(seconds=1)
D = timedelta(days=1)
URL = "/api/v1/metrics"


@pytest.fixture
def token(app, world):
    with app.app_context():
        return services.create_api_token(world.operator.email, at=T0)


@pytest.fixture
def api(app, token):
    client = app.test_client()

    def get(**params):
        response = client.get(URL, query_string=params, headers={"Authorization": f"Bearer {token}"})
        return response
    return get


# --- authentication --------------------------------------------------------------------------

def test_no_credentials_is_401_json(client):
    response = client.get(URL)
    assert response.status_code == 401 and "error" in response.get_json()


@pytest.mark.parametrize("header", ["Bearer wrong-token", "Basic dXNlcjpwYXNz", "Bearer ", "token"])
def test_bad_credentials_are_401(client, world, header):
    response = client.get(URL, headers={"Authorization": header})
    assert response.status_code == 401 and response.get_json()["error"]


@pytest.mark.parametrize("role", ["mentee", "mentor"])
def test_other_roles_get_403(world, login, role):
    response = login(getattr(world, role)).get(URL)
    assert response.status_code == 403 and response.get_json() == {"error": "only operators may use this API"}


def test_operator_session_and_token_both_work(world, login, api):
    assert login(world.operator).get(URL).status_code == 200
    assert api().status_code == 200


def test_only_the_hash_of_a_token_is_stored(app, token):
    from tracker.data.models import ApiToken
    with app.app_context():
        from tracker.core.extensions import db
        stored = db.session.query(ApiToken).one()
        assert stored.token_hash == services.hash_token(token) and token not in stored.token_hash


def test_create_token_is_for_operators_only(app, world):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-token", "--email", world.mentor.email])
    assert result.exit_code == 1 and "API tokens are for operators" in result.output
    result = runner.invoke(args=["create-token", "--email", world.operator.email])
    assert result.exit_code == 0 and len(result.output.strip()) >= 40


# --- parameters --------------------------------------------------------------------------------

def test_defaults_are_the_90_days_up_to_and_including_todays_date(api):
    body = api().get_json()
    assert body["as_of"] == "2026-03-02T09:00:00+00:00"
    assert body["window"] == {"from": "2025-12-03", "to": "2026-03-03"}
    assert body["filters"] == {"goal_category": None, "mentor": None}


def test_parameters_are_echoed(api, world):
    body = api(**{"from": "2025-01-01", "to": "2025-07-01", "as_of": "2025-06-30T12:30:00Z",
                  "goal_category": "get_promoted", "mentor": "MENTOR@example.com"}).get_json()
    assert body["as_of"] == "2025-06-30T12:30:00+00:00"
    assert body["window"] == {"from": "2025-01-01", "to": "2025-07-01"}
    assert body["filters"] == {"goal_category": "get_promoted", "mentor": "mentor@example.com"}


def test_as_of_with_another_offset_is_converted_to_utc(api):
    assert api(as_of="2026-01-01T02:00:00+02:00").get_json()["as_of"] == "2026-01-01T00:00:00+00:00"


@pytest.mark.parametrize("params, named", [
    ({"from": "2026-13-01"}, "from"),
    ({"from": "01/02/2026"}, "from"),
    ({"from": "2026-1-1"}, "from"),
    ({"to": "２０２６-０１-０１"}, "to"),
    ({"from": "2026-02-01", "to": "2026-02-01"}, "from"),
    ({"as_of": "yesterday"}, "as_of"),
    ({"as_of": "2026-01-01T00:00:00"}, "as_of"),
    ({"as_of": "2026-01-01T00:00:00 00:00"}, "as_of"),
    ({"goal_category": "get_rich"}, "goal_category"),
    ({"mentor": "nobody@example.com"}, "mentor"),
    ({"mentor": "mentee@example.com"}, "mentor"),
    # Python's calendar ends at the years 1 and 9999: a window counted from there would leave it.
    ({"as_of": "0001-01-01"}, "as_of"),
    ({"as_of": "0999-12-31T23:59:59Z"}, "as_of"),
    ({"as_of": "0001-01-01T00:30:00+01:00"}, "as_of"),
    ({"as_of": "9999-12-31"}, "as_of"),
    ({"as_of": "9999-01-01T23:00:00-05:00"}, "as_of"),
    ({"to": "0001-01-05"}, "to"),
    ({"from": "0999-12-31", "to": "2026-01-01"}, "from"),
    ({"to": "9999-01-01"}, "to"),
])
def test_a_bad_parameter_is_a_400_naming_it(api, world, params, named):
    response = api(**params)
    assert response.status_code == 400
    assert response.get_json()["error"].startswith(f"{named}: ")


def test_a_repeated_parameter_is_a_400(app, token):
    response = app.test_client().get(URL + "?from=2026-01-01&from=2026-02-01",
                                     headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400 and response.get_json()["error"] == "from: given more than once"


def test_plus_written_raw_in_a_url_gets_a_hint(app, token):
    response = app.test_client().get(URL + "?as_of=2026-01-01T00:00:00+00:00",
                                     headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400 and "%2B" in response.get_json()["error"]


# --- the numbers on hand-built data ---------------------------------------------------------------

def test_an_empty_window_has_every_key_and_nulls(api):
    body = api(**{"from": "2020-01-01", "to": "2020-02-01"}).get_json()
    assert body["applications"] == {"count": 0, "accepted": 0, "declined": 0, "pending": 0}
    for key in ("acceptance_rate", "trial_conversion", "survey_response_rate", "success_rate", "partly_rate"):
        assert body[key] == {"value": None, "numerator": 0, "denominator": 0, "low": None, "high": None}
    assert body["cancellations"] == {"count": 0, "by_stage": {"trial": 0, "month_1": 0, "months_2_3": 0, "later": 0}}
    assert body["retention"]["n"] == 0 and body["retention"]["s7"] is None
    assert body["cohorts"] == [] and body["mentors"] == []
    assert set(body["churn_reasons_by_stage"]) == {"trial", "month_1", "months_2_3", "later"}


def test_applications_as_of_t(app, world, api):
    a, b, m, n = world.mentee, world.other_mentee, world.mentor, world.other_mentor
    mentorship(app, a, m, applied_at=T0 - 10 * D)                                          # pending
    mentorship(app, b, m, applied_at=T0 - 10 * D, trial_started_at=T0 - 9 * D)             # accepted
    mentorship(app, a, n, applied_at=T0 - 10 * D, ended_at=T0 - 9 * D)                     # declined
    mentorship(app, b, n, applied_at=T0 - 20 * D, ended_at=T0 - 19 * D, end_reason="withdrawn")  # declined
    mentorship(app, b, n, applied_at=T0 - 5 * D, trial_started_at=T0 + S)                  # pending as of T
    mentorship(app, b, n, applied_at=T0 - 200 * D, ended_at=T0 - 199 * D)                  # before the window
    mentorship(app, b, n, applied_at=T0 + S, ended_at=T0 + 2 * S)                          # after T
    body = api().get_json()
    assert body["applications"] == {"count": 5, "accepted": 1, "declined": 2, "pending": 2}
    assert body["acceptance_rate"]["numerator"] == 1 and body["acceptance_rate"]["denominator"] == 3


def test_trial_conversion_at_the_exact_trial_end(app, world, api):
    a, b, m, n = world.mentee, world.other_mentee, world.mentor, world.other_mentor
    mentorship(app, a, m, applied_at=T0 - 8 * D, trial_started_at=T0 - 7 * D)            # decided: converted
    mentorship(app, b, m, applied_at=T0 - 8 * D, trial_started_at=T0 - 7 * D + S)        # undecided
    mentorship(app, a, n, applied_at=T0 - 8 * D, trial_started_at=T0 - 6 * D,
               ended_at=T0 - S)                                                         # decided: churned
    mentorship(app, b, n, applied_at=T0 - 8 * D, trial_started_at=T0 - 6 * D,
               ended_at=T0 + S)                                                          # ends after T: undecided
    rate = api().get_json()["trial_conversion"]
    assert (rate["numerator"], rate["denominator"], rate["value"]) == (1, 2, 0.5)
    clock.freeze(T0 + D)  # a day later all four are decided, one more churned
    rate = api().get_json()["trial_conversion"]
    assert (rate["numerator"], rate["denominator"]) == (2, 4)


def _survey(stars, goal, reason):
    return {"stars": stars, "goal_reached": goal, "churn_reason": reason}


def test_cancellations_stages_surveys_and_stars(app, world, api):
    a, b, m, n = world.mentee, world.other_mentee, world.mentor, world.other_mentor
    start = T0 - 60 * D
    trial_end = start + 7 * D

    def ended(mentee, mentor, at, survey=None):
        return mentorship(app, mentee, mentor, applied_at=start - D, trial_started_at=start, ended_at=at,
                          survey=survey)
    ended(a, m, trial_end - S, _survey(2, "no", "too_expensive"))                   # trial
    ended(b, m, trial_end, _survey(5, "yes", "goal_reached"))                       # month_1
    ended(a, m, trial_end + 30 * D - S, _survey(4, "partly", "no_time"))            # month_1
    ended(b, m, trial_end + 30 * D, _survey(5, "yes", "goal_reached"))              # months_2_3
    ended(a, n, trial_end + 50 * D)                                                 # months_2_3, no survey
    mentorship(app, b, n, applied_at=start - D, trial_started_at=start, ended_at=T0 + S)  # after T: not yet
    body = api().get_json()
    assert body["cancellations"] == {"count": 5, "by_stage": {"trial": 1, "month_1": 2, "months_2_3": 2, "later": 0}}
    response = body["survey_response_rate"]
    assert (response["numerator"], response["denominator"]) == (4, 5)
    assert (body["success_rate"]["numerator"], body["success_rate"]["denominator"]) == (2, 4)
    assert (body["partly_rate"]["numerator"], body["partly_rate"]["value"]) == (1, 0.25)
    assert body["churn_reasons"]["goal_reached"] == {"count": 2, "share": 0.5}
    assert body["churn_reasons"]["mentor_fit"] == {"count": 0, "share": 0.0}
    assert body["churn_reasons_by_stage"]["trial"]["too_expensive"] == 1
    assert body["churn_reasons_by_stage"]["months_2_3"]["goal_reached"] == 1
    assert body["stars"] == {"mean": 4.0, "counts": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 2}}
    # Mentors: m has 4 surveys (16 stars, 2 yes); n has none and is not listed.
    assert body["mentors"] == [{"mentor": "mentor@example.com", "n": 4, "mean_stars": 4.0,
                                "bayesian_mean": (5 * 4.0 + 16) / 9,
                                "success_rate": body["success_rate"]}]


def test_a_survey_submitted_after_t_does_not_exist_yet(app, world, api):
    start = T0 - 40 * D
    mid = mentorship(app, world.mentee, world.mentor, applied_at=start - D, trial_started_at=start,
                     ended_at=T0 - D, survey=_survey(3, "no", "other"))
    with app.app_context():
        from tracker.core.extensions import db
        from tracker.data.models import ExitSurvey
        # Through the session, as the services write, so the rollups follow.
        db.session.scalars(db.select(ExitSurvey).filter_by(mentorship_id=mid)).one().submitted_at = T0 + S
        db.session.commit()
    body = api().get_json()
    assert body["cancellations"]["count"] == 1 and body["survey_response_rate"]["numerator"] == 0


def test_retention_and_cohorts_by_hand(app, world, api):
    a, b, m, n = world.mentee, world.other_mentee, world.mentor, world.other_mentor
    jan = datetime(2026, 1, 1, tzinfo=timezone.utc)
    feb = datetime(2026, 2, 1, tzinfo=timezone.utc)
    mentorship(app, a, m, applied_at=jan - D, trial_started_at=jan, ended_at=jan + 10 * D)     # event 10 d
    mentorship(app, b, m, applied_at=jan - D, trial_started_at=jan + D, ended_at=jan + 31 * D)  # event at 30 d exactly
    mentorship(app, a, n, applied_at=jan - D, trial_started_at=jan + 2 * D)                     # censored
    mentorship(app, b, n, applied_at=feb - D, trial_started_at=feb, ended_at=feb + 5 * D)       # event 5 d
    body = api(**{"from": "2026-01-01", "to": "2026-03-01"}).get_json()
    retention = body["retention"]
    # Events at 5 d (4 at risk), 10 d (3), 30 d (2); the censoring is at 59 d.
    assert (retention["n"], retention["events"]) == (4, 3)
    assert retention["s7"] == pytest.approx(3 / 4)
    assert retention["s30"] == pytest.approx(3 / 4 * 2 / 3 * 1 / 2)
    assert retention["median_days"] == pytest.approx(10.0)
    # January cohort: latest start Jan 3, T = Mar 2 09:00 -> 58.4 days -> m = 0, 1. Still going at
    # start + 30 d: the 30-day one ended exactly then, so it is not. February: 29.4 days -> m = 0.
    assert body["cohorts"] == [{"month": "2026-01", "size": 3, "retained": [1.0, 1 / 3]},
                               {"month": "2026-02", "size": 1, "retained": [1.0]}]


def test_filters_narrow_every_number(app, world, api):
    a, b, m, n = world.mentee, world.other_mentee, world.mentor, world.other_mentor
    start = T0 - 40 * D
    mentorship(app, a, m, applied_at=start, trial_started_at=start, ended_at=T0 - D,
               goal_category="get_promoted", survey=_survey(5, "yes", "goal_reached"))
    mentorship(app, b, n, applied_at=start, trial_started_at=start, ended_at=T0 - D,
               goal_category="land_first_job", survey=_survey(1, "no", "mentor_fit"))
    by_mentor = api(mentor=n.email).get_json()
    by_goal = api(goal_category="get_promoted").get_json()
    assert by_mentor["stars"]["counts"]["1"] == 1 and by_mentor["applications"]["count"] == 1
    assert [row["mentor"] for row in by_mentor["mentors"]] == [n.email]
    assert by_goal["success_rate"]["value"] == 1.0 and by_goal["cancellations"]["count"] == 1


def test_the_first_and_last_days_a_report_can_be_asked_about(api):
    body = api(**{"from": "1000-01-01", "to": "1000-01-02", "as_of": "1000-01-01"}).get_json()
    assert (body["window"], body["as_of"]) == ({"from": "1000-01-01", "to": "1000-01-02"},
                                               "1000-01-01T00:00:00+00:00")
    assert api(as_of="9998-12-31T23:59:59Z").get_json()["window"]["to"] == "9999-01-01"
    assert api(as_of="1000-01-01").get_json()["window"] == {"from": "0999-10-04", "to": "1000-01-02"}  # 90 days
