"""Either side logs check-ins; the page sums them per trial and paid month."""
from datetime import timedelta

import pytest

from tracker.core import clock
from tracker.data.models import CheckIn

from .factories import count, mentorship
from .helpers import T0

GOOD = {"occurred_at": "2026-03-01T18:30", "mode": "video", "minutes": "45", "note": "Talked about CVs"}


def post_checkin(client, mid, **overrides):
    return client.post(f"/mentorships/{mid}/checkins", data=dict(GOOD, **overrides))


@pytest.mark.parametrize("who", ["mentee", "mentor"])
def test_either_side_logs_a_checkin(app, world, login, who):
    mid = world.in_trial(days_in=2)  # started 28 Feb 09:00
    client = login(getattr(world, who))
    assert post_checkin(client, mid).status_code == 302
    with app.app_context():
        from tracker.core.extensions import db
        c = db.session.query(CheckIn).one()
        assert (c.occurred_at.isoformat(), c.mode, c.minutes, c.note, c.logged_by_id) == \
            ("2026-03-01T18:30:00+00:00", "video", 45, "Talked about CVs", getattr(world, who).id)
    page = client.get(f"/mentorships/{mid}").get_data(as_text=True)
    assert "Talked about CVs" in page


@pytest.mark.parametrize("overrides, message", [
    ({"minutes": "0"}, "Enter a number from 1 to 600."),
    ({"minutes": "601"}, "Enter a number from 1 to 600."),
    ({"minutes": "-5"}, "Enter a whole number using the digits 0-9."),
    ({"minutes": "4.5"}, "Enter a whole number using the digits 0-9."),
    ({"minutes": "abc"}, "Enter a whole number using the digits 0-9."),
    ({"minutes": "\uff14\uff15"}, "Enter a whole number using the digits 0-9."),  # fullwidth 45
    ({"minutes": "\u0664\u0665"}, "Enter a whole number using the digits 0-9."),  # Arabic-Indic 45
    ({"minutes": ""}, "Enter how many minutes it lasted."),
    ({"mode": "carrier-pigeon"}, "Not a valid choice"),
    ({"occurred_at": ""}, "Enter when you met."),
    ({"occurred_at": "yesterday"}, "Enter a date and time"),
    ({"occurred_at": "2026-02-28T08:59"}, "The check-in cannot be before the mentorship started"),
    ({"occurred_at": "2026-03-02T09:01"}, "The check-in cannot be in the future."),
    ({"note": "n" * 2001}, "Keep the note under 2000 characters."),
    ({"note": "bell \x07 char"}, "control character"),
])
def test_bad_checkins_are_refused_and_change_nothing(app, world, login, overrides, message):
    mid = world.in_trial(days_in=2)
    response = post_checkin(login(world.mentee), mid, **overrides)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(app, CheckIn) == 0


def test_checkin_boundaries_at_the_start_and_now_are_accepted(app, world, login):
    mid = world.in_trial(days_in=2)
    client = login(world.mentor)
    assert post_checkin(client, mid, occurred_at="2026-02-28T09:00").status_code == 302
    assert post_checkin(client, mid, occurred_at="2026-03-02T09:00").status_code == 302
    assert count(app, CheckIn) == 2


def test_outsiders_cannot_log_checkins(app, world, login):
    mid = world.in_trial()
    assert post_checkin(login(world.other_mentee), mid).status_code == 404
    assert post_checkin(login(world.other_mentor), mid).status_code == 404
    assert post_checkin(login(world.operator), mid).status_code == 403
    assert count(app, CheckIn) == 0


@pytest.mark.parametrize("make", ["pending", "cancelled"])
def test_no_checkins_unless_the_mentorship_is_running(app, world, login, make):
    mid = getattr(world, make)()
    response = post_checkin(login(world.mentee), mid, occurred_at="2026-03-02T08:00")
    assert response.status_code == 400
    assert count(app, CheckIn) == 0


def test_page_shows_checkins_and_minutes_per_period_with_idle_months(app, world, login):
    start = T0 - timedelta(days=70)  # trial, month 1, month 2 (idle), month 3 begun
    mid = mentorship(app, world.mentee, world.mentor, applied_at=start - timedelta(days=1),
                     trial_started_at=start,
                     checkins=[(start + timedelta(days=1), 30), (start + timedelta(days=3), 60),
                               (start + timedelta(days=10), 45), (start + timedelta(days=69), 20)])
    page = login(world.mentee).get(f"/mentorships/{mid}").get_data(as_text=True)
    rows = page.split("<tbody>")[1].split("</tbody>")[0]
    cells = [r for r in rows.split("<tr") if "<th" in r]
    assert len(cells) == 4
    assert ">Trial<" in cells[0] and '<td class="num">2' in cells[0] and '<td class="num">90<' in cells[0]
    assert ">Month 1<" in cells[1] and '<td class="num">1' in cells[1] and '<td class="num">45<' in cells[1]
    assert ">Month 2<" in cells[2] and "idle" in cells[2] and '<td class="num">0<' in cells[2]
    assert ">Month 3<" in cells[3] and '<td class="num">20<' in cells[3] and "so far" in cells[3]


def test_checkin_form_defaults_to_now(world, login):
    mid = world.in_trial()
    clock.freeze(T0 + timedelta(seconds=42))
    page = login(world.mentee).get(f"/mentorships/{mid}").get_data(as_text=True)
    assert 'value="2026-03-02T09:00"' in page


def test_a_checkin_in_the_minute_the_trial_started_counts_from_its_start(app, world, login):
    from tracker.core import clock
    clock.freeze(T0 + timedelta(seconds=37))
    mid = mentorship(app, world.mentee, world.mentor, applied_at=T0 - timedelta(days=1),
                     trial_started_at=T0 + timedelta(seconds=20))
    assert post_checkin(login(world.mentor), mid, occurred_at="2026-03-02T09:00").status_code == 302
    with app.app_context():
        from tracker.core.extensions import db
        assert db.session.query(CheckIn).one().occurred_at == T0 + timedelta(seconds=20)


def test_times_carry_their_utc_instant_for_the_viewers_zone(app, world, login):
    mid = world.in_trial(days_in=2)
    page = login(world.mentee).get(f"/mentorships/{mid}").get_data(as_text=True)
    assert '<time datetime="2026-02-28T09:00:00+00:00" data-local>28 Feb 2026, 09:00 UTC</time>' in page
    assert "/static/js/local-time.js" in page
