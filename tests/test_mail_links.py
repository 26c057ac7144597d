"""The pages mails link to: the pulse answered from a signed link without logging in (once, that pulse
only, until its window closes), the one-click unsubscribe of RFC 8058, the way back into an unfinished
cancellation, the mail settings and the operators' outbox. Plus the schedule's pulse query, held to
lifecycle.pulse_due at every boundary."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from tracker import services
from tracker.core import clock
from tracker.core.extensions import db
from tracker.data.models import MailPreference, Mentorship, OutboxMail, Pause, Pulse, UsedLink
from tracker.domain import lifecycle
from tracker.mail import compose, schedule
from tracker.security import links

from .factories import count, mentorship, user
from .helpers import T0, table_state


def _pulse_url(app, mentorship_id: int, period: int, closes, link_period: int | None = None,
               link_mentorship: int | None = None) -> str:
    with app.test_request_context():
        token = links.sign(app.config["SECRET_KEY"], links.PULSE,
                           {"m": link_mentorship or mentorship_id, "p": period if link_period is None else link_period},
                           expires_at=closes, single_use=True)
    return f"/pulse/{mentorship_id}/{period}?token={token}"


@pytest.fixture
def open_pulse(app, world):
    """(mentorship id, the link to its trial pulse): a trial 6 days in, its pulse open since day 5."""
    started = T0 - timedelta(days=6)
    mid = mentorship(app, world.mentee, world.mentor, applied_at=started, trial_started_at=started)
    _, closes = lifecycle.pulse_window(started, 0)
    return mid, _pulse_url(app, mid, 0, closes)


# --- the pulse by link ---------------------------------------------------------------------------------

def test_a_pulse_link_opens_the_form_and_answers_without_logging_in(app, open_pulse, login):
    mid, url = open_pulse
    anonymous = login(None)
    page = anonymous.get(url)
    assert page.status_code == 200 and "How is it going?" in page.get_data(as_text=True)
    done = anonymous.post(url, data={"period": "0", "progress": "40", "usefulness": "4"})
    assert done.status_code == 200 and "Thank you" in done.get_data(as_text=True)
    with app.app_context():
        pulse = db.session.scalars(db.select(Pulse)).one()
        assert (pulse.mentorship_id, pulse.period, pulse.progress, pulse.usefulness) == (mid, 0, 40, 4)
        assert pulse.submitted_at == T0
        assert db.session.scalar(db.select(db.func.count()).select_from(UsedLink)) == 1


def test_a_used_pulse_link_is_refused(app, open_pulse, login):
    _, url = open_pulse
    client = login(None)
    client.post(url, data={"period": "0", "progress": "40"})
    before = table_state(app)
    again = client.get(url)
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)
    assert client.post(url, data={"period": "0", "progress": "90"}).status_code == 410
    assert table_state(app) == before


def test_a_tampered_pulse_link_is_refused(app, open_pulse, login):
    _, url = open_pulse
    tampered = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    before = table_state(app)
    for bad in (tampered, url.split("?")[0], url.split("?")[0] + "?token="):
        response = login(None).post(bad, data={"period": "0", "progress": "40"})
        assert response.status_code == 400, bad
        assert "not valid" in response.get_data(as_text=True) or "incomplete" in response.get_data(as_text=True)
    assert table_state(app) == before


def test_a_pulse_link_pointed_at_another_pulse_is_refused(app, world, open_pulse, login):
    mid, _ = open_pulse
    closes = T0 + timedelta(days=30)
    other = mentorship(app, world.other_mentee, world.mentor, applied_at=T0 - timedelta(days=6),
                       trial_started_at=T0 - timedelta(days=6))
    before = table_state(app)
    for url in (_pulse_url(app, mid, 0, closes, link_period=1),      # the token is for period 1
                _pulse_url(app, mid, 0, closes, link_mentorship=other)):  # ... or for another mentorship
        response = login(None).post(url, data={"period": "0", "progress": "40"})
        assert response.status_code == 400 and "belongs to another page" in response.get_data(as_text=True)
    assert table_state(app) == before


def test_a_pulse_link_expires_when_its_window_closes(app, open_pulse, login):
    mid, url = open_pulse
    with app.app_context():
        started = db.session.get(Mentorship, mid).trial_started_at
    _, closes = lifecycle.pulse_window(started, 0)
    clock.freeze(closes - timedelta(seconds=1))
    assert login(None).get(url).status_code == 200
    clock.freeze(closes)
    response = login(None).get(url)
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)


def test_a_pulse_already_answered_in_the_app_refuses_the_link(app, open_pulse, login, world):
    mid, url = open_pulse
    login(world.mentee).post(f"/mentorships/{mid}/pulse", data={"period": "0", "progress": "10"})
    response = login(None).get(url)
    assert response.status_code == 410 and "not open any more" in response.get_data(as_text=True)


# --- one-click unsubscribe -------------------------------------------------------------------------------

def _unsubscribe_path(app, user_id: int, kind: str) -> str:
    with app.test_request_context(base_url=app.config["PUBLIC_BASE_URL"]):
        return urlsplit(compose._link("mail.unsubscribe", token=compose.unsubscribe_token(user_id, kind))).path


def test_one_click_unsubscribe_is_a_cookieless_post_answered_200(app, world):
    path = _unsubscribe_path(app, world.mentor.id, "application_received")
    client = app.test_client(use_cookies=False)
    assert count(app, MailPreference) == 0
    page = client.get(path)  # a GET (a link scanner, a preview) changes nothing
    assert page.status_code == 200 and "Unsubscribe?" in page.get_data(as_text=True)
    assert count(app, MailPreference) == 0
    response = client.post(path, data="List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and "Location" not in response.headers
    assert "You are unsubscribed" in response.get_data(as_text=True)
    with app.app_context():
        pref = db.session.get(MailPreference, (world.mentor.id, "application_received"))
        assert (pref.enabled, pref.updated_at) == (False, T0)
    assert client.post(path, data="List-Unsubscribe=One-Click").status_code == 200  # idempotent


def test_an_unsubscribe_token_cannot_be_forged_or_used_for_a_critical_kind(app, world):
    client = app.test_client(use_cookies=False)
    with app.test_request_context():
        critical = links.sign(app.config["SECRET_KEY"], links.UNSUBSCRIBE, {"u": world.mentee.id, "k": "trial_ending"})
        wrong_purpose = links.sign(app.config["SECRET_KEY"], links.PULSE, {"u": world.mentee.id, "k": "pulse_open"})
        forged = links.sign("another-secret-key-of-32-characters!!", links.UNSUBSCRIBE,
                            {"u": world.mentee.id, "k": "pulse_open"})
    for token in (critical, wrong_purpose, forged, "garbage"):
        assert client.post(f"/unsubscribe/{token}").status_code == 400
    assert count(app, MailPreference) == 0


# --- back into an unfinished cancellation -------------------------------------------------------------

def test_the_cancel_link_shows_where_things_stand_and_leads_to_the_flow(app, world, login):
    mid, flow_id = world.flow()
    at = T0 + timedelta(days=1)
    clock.freeze(at)
    with app.test_request_context():
        token = compose.flow_token(flow_id, world.mentee.id, at + timedelta(days=14))
    page = login(None).get(f"/cancel-link/{flow_id}?token={token}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "You started cancelling" in body
    assert f"/mentorships/{mid}/cancel/{flow_id}" in body
    assert login(None).get(f"/cancel-link/{flow_id + 1}?token={token}").status_code == 400
    clock.freeze(at + timedelta(days=14))
    assert login(None).get(f"/cancel-link/{flow_id}?token={token}").status_code == 400


# --- settings and the outbox ---------------------------------------------------------------------------------

def test_the_settings_page_turns_optional_kinds_off_and_on(app, world, login):
    client = login(world.mentee)
    page = client.get("/settings/mail").get_data(as_text=True)
    assert "This month&#39;s two questions are open" in page and "Your trial ends in 2 days" in page
    assert 'name="application_received"' not in page  # a mentor's kind
    assert client.post("/settings/mail", data={"pulse_open": "y"}).status_code == 302
    with app.app_context():
        prefs = {p.kind: p.enabled for p in db.session.scalars(db.select(MailPreference))}
    assert prefs == {"pulse_open": True, "cancel_unfinished": False}


def test_the_outbox_page_lists_mails_by_state(app, world, login):
    with app.app_context():
        services.apply(world.mentee.id, world.mentor.id, "change_careers", "Goal", "video", at=T0)
    page = login(world.operator).get("/ops/outbox?status=queued").get_data(as_text=True)
    assert "A mentee applied to you" in page and "mentor@example.com" in page
    assert "No mails in this state" in login(world.operator).get("/ops/outbox?status=failed").get_data(as_text=True)
    assert login(world.operator).get("/ops/outbox?status=nonsense&page=-3").status_code == 200


# --- the schedule's pulse query against the rule -----------------------------------------------------------

BOUNDARIES = sorted({offset + delta for offset in (
    lifecycle.TRIAL_LENGTH - lifecycle.PULSE_OPENS_BEFORE_END[0],
    lifecycle.TRIAL_LENGTH + lifecycle.PULSE_CLOSES_AFTER_END,
    *(lifecycle.paid_month_bounds(T0, k)[1] - T0 - lifecycle.PULSE_OPENS_BEFORE_MONTH_END for k in (1, 2, 3)),
    *(lifecycle.paid_month_bounds(T0, k)[1] - T0 + lifecycle.PULSE_CLOSES_AFTER_END for k in (1, 2, 3)),
) for delta in (timedelta(seconds=-1), timedelta(0), timedelta(seconds=1))}
                    | {timedelta(days=d) for d in range(0, 100, 3)})


def test_the_pulse_schedule_queues_exactly_what_pulse_due_allows(app, world):
    """Mentorships started at many offsets before one moment (one paused, one with its pulse answered):
    the query's candidates, after the Python check, are exactly those lifecycle.pulse_due names."""
    at = T0
    made = {}
    for i, offset in enumerate(BOUNDARIES):
        mentee = user(app, "mentee", f"pulse{i}@example.com", f"Pulse {i}")
        started = at - offset
        made[mentorship(app, mentee, world.mentor, applied_at=started - timedelta(hours=1),
                        trial_started_at=started)] = started
    with app.app_context():
        paused_id, answered_id = list(made)[-1], list(made)[-2]
        db.session.add(Pause(mentorship_id=paused_id, starts_at=at - timedelta(days=1), ends_at=at + timedelta(days=1)))
        due_answered = lifecycle.pulse_due(made[answered_id], lifecycle.state_as_of(
            made[answered_id] - timedelta(hours=1), made[answered_id], None, at), set(), at)
        if due_answered is not None:
            db.session.add(Pulse(mentorship_id=answered_id, period=due_answered, submitted_at=at))
        db.session.commit()
        found = {(about["mentorship_id"], about["period"]) for _, _, _, about in schedule._pulses(at)}
        expected = set()
        for mid, started in made.items():
            m = db.session.get(Mentorship, mid)
            answered = {p.period for p in m.pulses}
            period = lifecycle.pulse_due(started, m.state(at), answered, at)
            if period is not None:
                expected.add((mid, period))
    assert found == expected
    assert len(expected) >= 10  # the grid reaches into several windows
    with app.app_context():
        schedule.plan(at)
        assert {(r.mentorship_id, r.period) for r in db.session.scalars(
            db.select(OutboxMail).where(OutboxMail.kind == "pulse_open"))} == expected
        assert schedule._pulses(at) == []  # queued once: the next run finds nothing new
