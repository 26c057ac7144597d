"""import-history and export-history: all or nothing, errors that name file, line and column,
and a round trip that keeps every metric to the last digit."""
import csv
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker import services
from tracker.core import clock
from tracker.core.extensions import db
from tracker.data.models import CheckIn, ExitSurvey, Mentorship, User
from tracker.reports.csvfiles import guard, unguard
from tracker.services.seed import seed_demo

from .factories import count, mentorship
from .helpers import empty_tables

HEADER = ("ref,mentee_email,mentor_email,goal_category,goal_text,applied_at,trial_started_at,ended_at,"
          "stars,goal_reached,churn_reason,survey_submitted_at,feedback_platform,feedback_mentor,feedback_other")
GOOD = ("r1,ann@example.com,max@example.com,change_careers,Become a developer,2026-01-01T09:00:00+00:00,"
        "2026-01-02T09:00:00+00:00,2026-03-01T09:00:00+00:00,4,yes,goal_reached,2026-03-01T09:00:00+00:00,"
        "Cheaper,More notes,")
OPEN = ("r1,ann@example.com,max@example.com,change_careers,Become a developer,2026-01-01T09:00:00+00:00,"
        "2026-01-02T09:00:00+00:00,,,,,,,,")
CHECKINS = "ref,occurred_at,mode,minutes\nr1,2026-01-05T10:00:00+00:00,video,45\n"


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_a_clean_file(app, tmp_path):
    history = write(tmp_path, "h.csv", HEADER + "\n" + GOOD + "\n")
    checkins = write(tmp_path, "c.csv", CHECKINS)
    result = run(app, "import-history", history, "--checkins", checkins)
    assert result.exit_code == 0, result.output
    assert "imported 1 mentorships, 1 exit surveys, 1 check-ins; 2 new users (without passwords)" in result.output
    with app.app_context():
        m = db.session.query(Mentorship).one()
        assert (m.ref, m.mentee.email, m.mentor.email, m.end_reason) == ("r1", "ann@example.com", "max@example.com",
                                                                       "cancelled")
        assert m.trial_started_at == datetime(2026, 1, 2, 9, tzinfo=timezone.utc)
        assert (m.exit_survey.stars, m.exit_survey.feedback_mentor) == (4, "More notes")
        assert m.mentor.password_hash is None and not m.mentor.mentor_profile.accepting_applications
        assert db.session.query(CheckIn).one().minutes == 45


def test_dry_run_writes_nothing(app, tmp_path):
    history = write(tmp_path, "h.csv", HEADER + "\n" + GOOD + "\n")
    result = run(app, "import-history", history, "--dry-run")
    assert result.exit_code == 0 and "would import 1 mentorships" in result.output
    assert count(app, Mentorship) == 0 and count(app, User) == 0


def _replace(column: str, value: str) -> str:
    cells = GOOD.split(",")
    cells[HEADER.split(",").index(column)] = value
    return ",".join(cells)


@pytest.mark.parametrize("row, where, message", [
    (_replace("ref", ""), "line 2, column ref", "this value is required"),
    (_replace("mentee_email", "not-an-email"), "line 2, column mentee_email", "is not an email address"),
    (GOOD.replace("max@", "ann@"), "line 2, column mentor_email", "the same person"),
    (_replace("goal_category", "get_rich"), "line 2, column goal_category", "is not one of"),
    (_replace("goal_text", "nul\x00byte"), "line 2, column goal_text", "control character"),
    (_replace("applied_at", "2026-01-01"), "line 2, column applied_at", "ISO 8601 with a UTC offset"),
    (_replace("applied_at", "2026-01-01T09:00:00"), "line 2, column applied_at", "ISO 8601 with a UTC offset"),
    (_replace("applied_at", "2026-02-30T09:00:00+00:00"), "line 2, column applied_at", "day is out of range"),
    (_replace("trial_started_at", "2025-12-01T09:00:00+00:00"), "line 2, column trial_started_at",
     "is before applied_at"),
    (_replace("ended_at", "2026-01-01T10:00:00+00:00"), "line 2, column ended_at", "is before trial_started_at"),
    (_replace("stars", "6"), "line 2, column stars", "not a whole number from 1 to 5"),
    (_replace("stars", "４"), "line 2, column stars", "not a whole number from 1 to 5"),
    (_replace("stars", ""), "line 2, column stars", "an exit survey needs all of"),
    (_replace("goal_reached", "maybe"), "line 2, column goal_reached", "is not one of"),
    (_replace("churn_reason", "bored"), "line 2, column churn_reason", "is not one of"),
    (_replace("ended_at", ""), "line 2, column stars", "an exit survey belongs to a cancellation"),
    (_replace("survey_submitted_at", "2025-01-01T00:00:00+00:00"), "line 2, column survey_submitted_at",
     "is before trial_started_at"),
    (GOOD + ",extra", "line 2", "16 cells where the header has 15"),
    # The clock is frozen at T0, 2026-03-02T09:00:00Z: a history has no future.
    (_replace("applied_at", "2026-03-02T09:00:01+00:00"), "line 2, column applied_at",
     "'2026-03-02T09:00:01+00:00' is in the future (the import runs at 2026-03-02T09:00:00Z)"),
    (_replace("trial_started_at", "2026-03-02T10:00:01+01:00"), "line 2, column trial_started_at",
     "is in the future"),
    (_replace("ended_at", "2026-12-31T00:00:00Z"), "line 2, column ended_at", "is in the future"),
    (_replace("survey_submitted_at", "2027-01-01T00:00:00+00:00"), "line 2, column survey_submitted_at",
     "is in the future"),
])
def test_a_bad_cell_is_named_and_nothing_is_imported(app, tmp_path, row, where, message):
    # A good row first (line 2), so the bad one on line 3 must stop it too.
    first = GOOD.replace("r1,", "r0,", 1).replace("ann@", "bob@")
    history = write(tmp_path, "h.csv", HEADER + "\n" + first + "\n" + row + "\n")
    where = where.replace("line 2", "line 3")
    result = run(app, "import-history", history)
    assert result.exit_code == 1
    assert f"{history}, {where}: " in result.output and message in result.output, result.output
    assert "nothing was imported" in result.output
    assert count(app, Mentorship) == 0 and count(app, User) == 0


@pytest.mark.parametrize("text, message", [
    ("", "the file is empty"),
    ("ref,mentee_email\nr1,a@example.com\n", "column mentor_email: this required column is missing"),
    (HEADER + ",stras\n", "column stras: unknown column"),
    (HEADER.replace("goal_text", "ref") + "\n", "column ref: the column appears twice"),
    (HEADER + "\n" + GOOD + "\n" + GOOD + "\n", "line 3, column ref: 'r1' is already used on line 2"),
    (HEADER + "\n" + OPEN + "\n" + OPEN.replace("r1,", "r2,", 1) + "\n",
     "line 3, column ended_at: ann@example.com already has an open mentorship with max@example.com"),
])
def test_bad_files_are_refused_whole(app, tmp_path, text, message):
    history = write(tmp_path, "h.csv", text)
    result = run(app, "import-history", history)
    assert result.exit_code == 1 and message in result.output, result.output
    assert count(app, Mentorship) == 0


def test_a_future_moment_is_the_rows_only_problem(app, tmp_path):
    """The other checks of the row still see the moment: no false "no trial" or "already open" follows."""
    later = _replace("ended_at", "2026-03-03T09:00:00+00:00")
    again = OPEN.replace("r1,", "r2,", 1)  # the same pair, open: fine, since the first row has ended
    history = write(tmp_path, "h.csv", HEADER + "\n" + later + "\n" + again + "\n")
    result = run(app, "import-history", history)
    assert result.exit_code == 1
    assert result.output.splitlines()[:-1] == [
        f"{history}, line 2, column ended_at: '2026-03-03T09:00:00+00:00' is in the future "
        "(the import runs at 2026-03-02T09:00:00Z)"]


def test_a_new_persons_name_is_cut_to_a_names_length(app, tmp_path):
    """An imported person is named after the address, stored in lower case, which can be longer."""
    local = "\u0130" * 60  # lower case: 120 characters
    history = write(tmp_path, "h.csv", HEADER + "\n" + OPEN.replace("ann@", f"{local}@", 1) + "\n")
    result = run(app, "import-history", history)
    assert result.exit_code == 0, result.output
    with app.app_context():
        mentee = db.session.query(User).filter(User.role == "mentee").one()
        assert mentee.name == local.lower()[:100] and len(mentee.search_name) == 100


def test_the_moment_of_the_import_itself_is_not_the_future(app, tmp_path):
    row = (OPEN.replace("2026-01-01T09:00:00+00:00", "2026-03-02T08:00:00+00:00")
           .replace("2026-01-02T09:00:00+00:00", "2026-03-02T10:00:00+01:00"))  # T0, with another offset
    history = write(tmp_path, "h.csv", HEADER + "\n" + row + "\n")
    checkins = write(tmp_path, "c.csv", "ref,occurred_at,mode,minutes\nr1,2026-03-02T09:00:00Z,video,45\n")
    result = run(app, "import-history", history, "--checkins", checkins)
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.query(Mentorship).one().trial_started_at == datetime(2026, 3, 2, 9, tzinfo=timezone.utc)


def test_not_utf8_and_missing_files(app, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "\n" + GOOD.replace("Cheaper", "Cheaper for \xe9tudiants") + "\n").encode("latin-1"))
    result = run(app, "import-history", str(path))
    assert result.exit_code == 1 and "not UTF-8 text" in result.output
    result = run(app, "import-history", str(tmp_path / "missing.csv"))
    assert result.exit_code == 1 and "cannot be read" in result.output


@pytest.mark.parametrize("checkins, message", [
    ("ref,occurred_at,mode,minutes\nzz,2026-01-05T10:00:00+00:00,video,45\n",
     "line 2, column ref: 'zz' is not a mentorship in the history file"),
    ("ref,occurred_at,mode,minutes\nr1,2026-01-01T10:00:00+00:00,video,45\n",
     "line 2, column occurred_at: is before the trial started"),
    ("ref,occurred_at,mode,minutes\nr1,2026-03-01T10:00:00+00:00,video,45\n",
     "line 2, column occurred_at: is after the mentorship ended"),
    ("ref,occurred_at,mode,minutes\nr1,2026-03-02T09:00:01+00:00,video,45\n",
     "line 2, column occurred_at: '2026-03-02T09:00:01+00:00' is in the future "
     "(the import runs at 2026-03-02T09:00:00Z)"),
    ("ref,occurred_at,mode,minutes\nr1,2026-01-05T10:00:00+00:00,fax,45\n", "line 2, column mode"),
    ("ref,occurred_at,mode,minutes\nr1,2026-01-05T10:00:00+00:00,video,0\n", "line 2, column minutes"),
])
def test_bad_checkins_stop_the_whole_import(app, tmp_path, checkins, message):
    history = write(tmp_path, "h.csv", HEADER + "\n" + GOOD + "\n")
    result = run(app, "import-history", history, "--checkins", write(tmp_path, "c.csv", checkins))
    assert result.exit_code == 1 and message in result.output, result.output
    assert "c.csv, line 2" in result.output
    assert count(app, Mentorship) == 0 and count(app, CheckIn) == 0


def test_an_existing_user_of_another_role_is_refused(app, world, tmp_path):
    history = write(tmp_path, "h.csv", HEADER + "\n" + _replace("mentee_email", world.mentor.email) + "\n")
    result = run(app, "import-history", history)
    assert result.exit_code == 1
    assert "column mentee_email: mentor@example.com is a mentor, not a mentee" in result.output


def test_formula_cells_are_neutralised_on_export_and_restored_on_import(app, tmp_path):
    row = _replace("goal_text", "=1+2").replace("Cheaper", "@SUM(A1)")
    history = write(tmp_path, "h.csv", HEADER + "\n" + row + "\n")
    assert run(app, "import-history", history).exit_code == 0
    exported = tmp_path / "out.csv"
    assert run(app, "export-history", str(exported)).exit_code == 0
    text = exported.read_text()
    assert ",'=1+2," in text and ",'@SUM(A1)," in text
    with app.app_context():
        assert db.session.query(Mentorship).one().goal_text == "=1+2"


@given(st.text())
def test_guard_then_unguard_is_the_identity(text):
    assert unguard(guard(text)) == text
    assert not guard(text).startswith(("=", "+", "-", "@", "\t", "\r"))


JAN_1 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _metrics(app, params_list):
    with app.app_context():
        if not db.session.query(User).filter_by(email="ops@example.com").count():
            services.create_user("ops@example.com", "operator", "Ops", None, at=JAN_1)
        token = services.create_api_token("ops@example.com", at=JAN_1)
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    return [client.get("/api/v1/metrics", query_string=params, headers=auth).get_json() for params in params_list]


def test_export_then_import_gives_the_same_metrics_and_the_same_files(app, tmp_path):
    until = datetime(2026, 6, 30, tzinfo=timezone.utc)
    clock.freeze(until)  # the history is exported and imported after its last moment
    with app.app_context():
        seed_demo(count=1500, seed=4, until=until)
    scopes = [{"as_of": "2026-06-30T00:00:00+00:00"},
              {"from": "2025-01-01", "to": "2026-07-01", "as_of": "2026-06-10T12:00:00+00:00"},
              {"from": "2025-01-01", "to": "2026-07-01", "as_of": "2026-06-30T00:00:00+00:00",
               "goal_category": "get_promoted"},
              {"from": "2025-01-01", "to": "2026-07-01", "as_of": "2026-06-30T00:00:00+00:00",
               "mentor": "mentor@demo.example"}]
    before = _metrics(app, scopes)
    first, first_checkins = tmp_path / "h1.csv", tmp_path / "c1.csv"
    assert run(app, "export-history", str(first), "--checkins", str(first_checkins)).exit_code == 0
    with app.app_context():
        empty_tables()
    result = run(app, "import-history", str(first), "--checkins", str(first_checkins))
    assert result.exit_code == 0, result.output
    after = _metrics(app, scopes)
    assert after == before
    second, second_checkins = tmp_path / "h2.csv", tmp_path / "c2.csv"
    run(app, "export-history", str(second), "--checkins", str(second_checkins))
    assert second.read_bytes() == first.read_bytes()
    assert second_checkins.read_bytes() == first_checkins.read_bytes()
    assert count(app, ExitSurvey) > 0


def _rows(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_formula_like_refs_and_emails_come_back_as_they_were(app, tmp_path):
    # refs and e-mail addresses may start with = + - @; export guards them with a ' and import removes it
    row = GOOD.replace("r1,ann@example.com,max@example.com", "'=r1,'=ann@example.com,'-max@example.com")
    history = write(tmp_path, "h.csv", HEADER + "\n" + row + "\n")
    checkins = write(tmp_path, "c.csv", CHECKINS.replace("\nr1,", "\n'=r1,"))
    assert run(app, "import-history", history, "--checkins", checkins).exit_code == 0
    with app.app_context():
        m = db.session.query(Mentorship).one()
        assert (m.ref, m.mentee.email, m.mentor.email) == ("=r1", "=ann@example.com", "-max@example.com")
        assert db.session.query(CheckIn).count() == 1
    out_history, out_checkins = str(tmp_path / "out.csv"), str(tmp_path / "out-c.csv")
    assert run(app, "export-history", out_history, "--checkins", out_checkins).exit_code == 0
    assert _rows(out_history) == _rows(history) and _rows(out_checkins) == _rows(checkins)


def test_an_export_that_cannot_be_written_says_so_and_changes_no_file(app, tmp_path):
    missing = str(tmp_path / "no-such-folder" / "h.csv")
    result = run(app, "export-history", missing)
    assert result.exit_code == 1 and "nothing was exported" in result.output and "no-such-folder" in result.output
    assert "Traceback" not in result.output
    kept = write(tmp_path, "h.csv", "an earlier export\n")
    result = run(app, "export-history", kept, "--checkins", missing)
    assert result.exit_code == 1 and "nothing was exported" in result.output
    assert open(kept, encoding="utf-8").read() == "an earlier export\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".export-")] == []


@pytest.mark.parametrize("trial", [False, True])
@pytest.mark.parametrize("action, expected", [
    ("mentor home", None),
    ("mentorship page", None),
    ("withdraw", "This application has not been made yet."),
    ("accept", "This application has not been made yet."),
    ("decline", "This application has not been made yet."),
    ("cancel", "This application has not been made yet."),
])
def test_an_application_dated_after_now_is_shown_and_refused_without_an_error(app, world, login, trial, action,
                                                                               expected):
    """A database can hold one from an import made before imports refused the future (or copied from
    such a database): its pages answer and every action on it is refused, changing nothing."""
    later = world.at + timedelta(days=2)
    mid = mentorship(app, world.mentee, world.mentor, applied_at=later, trial_started_at=later if trial else None)
    mentee, mentor = login(world.mentee), login(world.mentor)
    client, response = {
        "mentor home": lambda: (mentor, mentor.get("/mentor/")),
        "mentorship page": lambda: (mentee, mentee.get(f"/mentorships/{mid}")),
        "withdraw": lambda: (mentee, mentee.post(f"/mentorships/{mid}/withdraw")),
        "accept": lambda: (mentor, mentor.post(f"/mentor/applications/{mid}/accept")),
        "decline": lambda: (mentor, mentor.post(f"/mentor/applications/{mid}/decline")),
        "cancel": lambda: (mentee, mentee.post(f"/mentorships/{mid}/cancel", data={
            "stars": 3, "goal_reached": "no", "churn_reason": "no_time"})),
    }[action]()
    if expected is None:
        assert response.status_code == 200
        assert "not yet applied" in response.get_data(as_text=True)
    else:
        assert response.status_code == 302
        with client.session_transaction() as session:
            assert [message for _, message in session["_flashes"]] == [expected]
    with app.app_context():
        m = db.session.get(Mentorship, mid)
        assert (m.applied_at, m.trial_started_at, m.ended_at) == (later, later if trial else None, None)
        assert count(app, ExitSurvey) == 0
