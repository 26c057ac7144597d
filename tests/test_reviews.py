"""Public reviews and the mentor directory: who may write, the exact boundaries, one per mentorship and
14 days of edits, one reply, moderation and its log, the derived counts kept exact, the directory's
search, filters, sort and pages, the profile's thresholds, and the review bias against scipy."""
from __future__ import annotations

import random
from datetime import timedelta
from types import SimpleNamespace

import pytest
from scipy import stats as scipy_stats

from tracker import services
from tracker.core import clock
from tracker.core.extensions import db
from tracker.data import review_stats
from tracker.data.models import MentorProfile, MentorReviewStats, Pulse, Review, ReviewModeration, User
from tracker.domain import lifecycle
from tracker.domain import reviews as rules
from tracker.reports import directory, metrics

from .factories import count, mentorship, user
from .helpers import T0

SURVEY = dict(stars=2, goal_reached="no", churn_reason="other")


def _write(app, mentee, mid, stars=5, text="Great sessions.", naming="initial", consent=True, at=T0):
    """The review written, as (id, stars, mentorship id)."""
    with app.app_context():
        review = services.write_review(mentee.id, mid, stars, text, naming, consent, at=at)
        return SimpleNamespace(id=review.id, stars=review.stars, mentorship_id=review.mentorship_id)


def _ended(app, world, mentee=None, mentor=None, days_before_end=40, ended_before=timedelta(days=1), survey=SURVEY):
    started = T0 - timedelta(days=days_before_end)
    return mentorship(app, mentee or world.mentee, mentor or world.mentor, applied_at=started - timedelta(hours=1),
                      trial_started_at=started, ended_at=T0 - ended_before, survey=survey)


# --- who may write, at the exact boundaries --------------------------------------------------------------

def test_an_ended_mentorship_is_reviewed_only_if_it_reached_a_paid_month():
    start = T0
    end = lifecycle.trial_end(start)
    assert not rules.may_review(start, end - timedelta(seconds=1), True, False, end + timedelta(days=1))
    assert rules.may_review(start, end, True, False, end + timedelta(days=1))
    assert not rules.may_review(start, end + timedelta(days=3), False, False, end + timedelta(days=4))  # no survey


def test_a_running_mentorship_is_reviewed_once_the_month_one_pulse_is_answered():
    start = T0
    end = lifecycle.trial_end(start)
    assert not rules.may_review(start, None, False, True, end - timedelta(seconds=1))
    assert rules.may_review(start, None, False, True, end)
    assert not rules.may_review(start, None, False, False, end + timedelta(days=20))


def test_the_service_refuses_a_trial_and_accepts_after_the_month_one_pulse(app, world):
    started = T0 - timedelta(days=33)
    mid = mentorship(app, world.mentee, world.mentor, applied_at=started, trial_started_at=started)
    with pytest.raises(services.Conflict, match="month-1 questions"):
        _write(app, world.mentee, mid)
    with app.app_context():
        db.session.add(Pulse(mentorship_id=mid, period=1, progress=50, submitted_at=T0 - timedelta(hours=1)))
        db.session.commit()
    assert _write(app, world.mentee, mid).stars == 5
    trial = mentorship(app, world.other_mentee, world.mentor, applied_at=T0 - timedelta(days=2),
                       trial_started_at=T0 - timedelta(days=2))
    with pytest.raises(services.Conflict, match="first paid month"):
        _write(app, world.other_mentee, trial)


def test_only_the_mentee_may_write(app, world):
    mid = _ended(app, world)
    with pytest.raises(services.NotFound):
        _write(app, world.other_mentee, mid)


# --- the text, the name, the consent ----------------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ("x" * 1001, "Keep it to 1,000 characters"), ("   ", "Write a few words"),
    ("bell\x07", "control character"), ("nul\x00", "control character"),
])
def test_bad_text_is_refused_and_nothing_is_written(app, world, text, message):
    mid = _ended(app, world)
    with pytest.raises(services.Invalid, match=message):
        _write(app, world.mentee, mid, text=text)
    assert count(app, Review) == 0 and count(app, MentorReviewStats) == 0


def test_consent_and_a_known_naming_are_required(app, world):
    mid = _ended(app, world)
    with pytest.raises(services.Invalid, match="agree"):
        _write(app, world.mentee, mid, consent=False)
    with pytest.raises(services.Invalid, match="named"):
        _write(app, world.mentee, mid, naming="full")
    assert count(app, Review) == 0


def test_the_author_is_named_as_chosen():
    assert rules.display_name("Mia Mentee", "initial") == "Mia M."
    assert rules.display_name("Anna Maria van Dijk", "initial") == "Anna D."
    assert rules.display_name("Cher", "initial") == "Cher"
    assert rules.display_name("Mia Mentee", "anonymous") == "a mentee"


def test_html_and_links_in_a_review_are_shown_as_text(app, world, login):
    mid = _ended(app, world)
    _write(app, world.mentee, mid, text='<a href="https://evil.example">click</a> https://spam.example <b>x</b>')
    page = login(world.other_mentee).get(f"/mentors/{world.mentor.id}").get_data(as_text=True)
    assert "&lt;a href=&#34;https://evil.example&#34;&gt;click&lt;/a&gt; https://spam.example" in page
    assert 'href="https://spam.example"' not in page and 'href="https://evil.example"' not in page


# --- one per mentorship, 14 days of edits, one reply -------------------------------------------------------

def test_one_review_per_mentorship_editable_for_exactly_14_days(app, world):
    mid = _ended(app, world)
    first = _write(app, world.mentee, mid, stars=5, at=T0)
    _write(app, world.mentee, mid, stars=3, text="Changed my mind.", at=T0 + rules.EDITABLE_FOR - timedelta(seconds=1))
    with pytest.raises(services.Conflict, match="14 days"):
        _write(app, world.mentee, mid, stars=1, at=T0 + rules.EDITABLE_FOR)
    with app.app_context():
        (review,) = db.session.scalars(db.select(Review)).all()
        assert (review.id, review.stars, review.text, review.created_at) == (first.id, 3, "Changed my mind.", T0)
        stats = db.session.get(MentorReviewStats, world.mentor.id)
        assert (stats.n, stats.star_sum, stats.stars_3, stats.stars_5) == (1, 3, 1, 0)


def test_the_mentor_replies_once(app, world):
    review_id = world.review()
    with app.app_context():
        services.reply_to_review(world.mentor.id, review_id, "Thank you, it was a pleasure.", at=T0)
        with pytest.raises(services.Conflict, match="already replied"):
            services.reply_to_review(world.mentor.id, review_id, "Again.", at=T0)
        with pytest.raises(services.NotFound):
            services.reply_to_review(world.other_mentor.id, review_id, "Not mine.", at=T0)
        assert db.session.get(Review, review_id).reply_text == "Thank you, it was a pleasure."


# --- moderation ----------------------------------------------------------------------------------------

def test_a_hidden_review_leaves_the_profile_and_the_rating_and_every_step_is_logged(app, world, login):
    review_id = world.review()
    with app.app_context():
        services.reply_to_review(world.mentor.id, review_id, "Thanks!", at=T0)
        services.moderate(world.operator.id, review_id, "review", "hide", "personal_data", at=T0)
        assert directory.public_rating(world.mentor.id).n == 0
        with pytest.raises(services.Conflict):
            services.moderate(world.operator.id, review_id, "review", "hide", "spam", at=T0)
        with pytest.raises(services.Invalid):
            services.moderate(world.operator.id, review_id, "review", "hide", "one_star", at=T0)
    page = login(world.other_mentee).get(f"/mentors/{world.mentor.id}").get_data(as_text=True)
    assert "Clear plans and honest feedback." not in page
    with app.app_context():
        services.moderate(world.operator.id, review_id, "review", "show", "personal_data", at=T0 + timedelta(hours=1))
        services.moderate(world.operator.id, review_id, "reply", "hide", "abuse", at=T0 + timedelta(hours=2))
        assert directory.public_rating(world.mentor.id).n == 1
        log = [(m.target, m.action, m.reason, m.operator_id) for m in
               db.session.scalars(db.select(ReviewModeration).order_by(ReviewModeration.id))]
    assert log == [("review", "hide", "personal_data", world.operator.id),
                   ("review", "show", "personal_data", world.operator.id),
                   ("reply", "hide", "abuse", world.operator.id)]
    page = login(world.other_mentee).get(f"/mentors/{world.mentor.id}").get_data(as_text=True)
    assert "Clear plans and honest feedback." in page and "Thanks!" not in page


def test_the_derived_counts_stay_exact_through_any_sequence_of_writes(app, world):
    """Random writes, edits, hides and shows over several mentors: mentor_review_stats always equals a
    fresh count of the visible reviews (what `rollups verify` checks)."""
    rng = random.Random(7)
    mentors = [world.mentor, world.other_mentor]
    mentees = [user(app, "mentee", f"r{i}@example.com", f"Reviewer {i}") for i in range(12)]
    written = []
    for step in range(60):
        at = T0 + timedelta(hours=step)
        clock.freeze(at)
        action = rng.choice(["write", "write", "edit", "hide", "show"])
        with app.app_context():
            try:
                if action == "write" and mentees:
                    mentee = mentees.pop()
                    mid = _ended(app, world, mentee=mentee, mentor=rng.choice(mentors))
                    review = services.write_review(mentee.id, mid, rng.randint(1, 5), "Fine.", "anonymous", True, at=at)
                    written.append((SimpleNamespace(id=review.id, mentorship_id=mid), mentee))
                elif action == "edit" and written:
                    review, mentee = rng.choice(written)
                    services.write_review(mentee.id, review.mentorship_id, rng.randint(1, 5), "Edited.", "initial",
                                          True, at=at)
                elif action in ("hide", "show") and written:
                    review, _ = rng.choice(written)
                    services.moderate(world.operator.id, review.id, "review", action, "spam", at=at)
            except services.Conflict:
                pass
            assert review_stats.first_difference(db.session.connection()) is None, step
            db.session.rollback()
    assert app.test_cli_runner().invoke(args=["rollups", "verify"]).exit_code == 0


def test_the_metrics_never_read_public_reviews(app, world, login):
    mid = _ended(app, world)
    token = None
    with app.app_context():
        token = services.create_api_token(world.operator.email, at=T0)
    headers = {"Authorization": f"Bearer {token}"}
    before = login(None).get("/api/v1/metrics?from=2025-01-01", headers=headers).get_json()
    _write(app, world.mentee, mid, stars=5)
    assert login(None).get("/api/v1/metrics?from=2025-01-01", headers=headers).get_json() == before


# --- the directory -----------------------------------------------------------------------------------------

def _mentor(app, email, name, headline="", expertise="", accepting=True, created_at=T0):
    made = user(app, "mentor", email, name, accepting=accepting)
    with app.app_context():
        profile = db.session.get(MentorProfile, made.id)
        profile.headline, profile.expertise = headline, expertise
        db.session.get(User, made.id).created_at = created_at
        db.session.commit()
    return made


def _reviews(app, world, mentor, stars_list):
    for i, stars in enumerate(stars_list):
        mentee = user(app, "mentee", f"{mentor.email}-{i}@example.com", f"Mentee {i}")
        _write(app, mentee, _ended(app, world, mentee=mentee, mentor=mentor), stars=stars)


def _names(app, **asked):
    with app.app_context():
        page = directory.directory_page(asked.get("q"), asked.get("expertise"), asked.get("goal_category"),
                                        asked.get("sort", "rating"), asked.get("page", 1))
        return [e.mentor.name for e in page.entries], page


def test_the_directory_sorts_by_the_shrunk_public_rating(app, world):
    """Worked by hand. Reviews: Fay 5, 5; Mo nine 5s and a 4; Lou six 1s. Prior (the mean of every
    visible review) 65/18 = 3.611; with C = 5: Fay (5 x 3.611 + 10) / 7 = 4.008, Mo (18.06 + 49) / 15
    = 4.470, Lou (18.06 + 6) / 11 = 2.187, and a mentor with no review the prior itself. Fay's plain
    mean (5) beats Mo's (4.9); shrunk, Mo comes first."""
    few = _mentor(app, "few@example.com", "Fay Few")
    many = _mentor(app, "many@example.com", "Mo Many")
    low = _mentor(app, "low@example.com", "Lou Low")
    _reviews(app, world, few, [5, 5])
    _reviews(app, world, many, [5] * 9 + [4])
    _reviews(app, world, low, [1] * 6)
    names, _ = _names(app)
    assert names == ["Mo Many", "Fay Few", "Max Mentor", "Nora Mentor", "Lou Low"]
    with app.app_context():
        rating = directory.public_rating(many.id)
    assert rating.bayesian_mean == pytest.approx((5 * 65 / 18 + 49) / 15, abs=1e-12)
    assert rating.counts == {1: 0, 2: 0, 3: 0, 4: 1, 5: 9} and rating.shown and rating.n == 10


def test_the_directory_searches_filters_and_sorts(app, world):
    _mentor(app, "ada@example.com", "Ada Backend", "Backend engineer", "Python, System design", created_at=T0)
    _mentor(app, "bo@example.com", "Bo Designer", "Product design lead", "Figma, UX research",
            created_at=T0 + timedelta(days=1))
    _mentor(app, "cy@example.com", "Cy Paused", "Backend too", "Python", accepting=False)
    assert _names(app, q="backend", sort="name")[0] == ["Ada Backend"]
    assert _names(app, q="FIGMA")[0] == ["Bo Designer"]
    assert _names(app, expertise="system design")[0] == ["Ada Backend"]
    assert _names(app, expertise="design")[0] == []  # a tag, not a substring
    assert _names(app, q="100%_")[0] == []            # LIKE wildcards are taken literally
    assert _names(app, sort="newest")[0][0] == "Bo Designer"
    assert _names(app, sort="name")[0] == sorted(_names(app, sort="name")[0], key=str.lower)
    # Helped with: a mentorship of that category that had a trial.
    mentorship(app, world.mentee, world.other_mentor, applied_at=T0, trial_started_at=T0, goal_category="get_promoted")
    assert _names(app, goal_category="get_promoted")[0] == [world.other_mentor.name]


def test_the_directory_pages_by_24(app, world):
    for i in range(30):
        _mentor(app, f"m{i:02d}@example.com", f"Mentor {i:02d}")
    names, page = _names(app, sort="name", page=2)
    assert (page.total, page.pages, page.page) == (32, 2, 2) and len(names) == 8
    assert _names(app, sort="name", page=99)[1].page == 2


@pytest.mark.parametrize("query", ["page=0", "page=-1", "page=abc", "page=%C2%B2", "page=" + "9" * 500,
                                   "sort=evil", "goal_category=nope", "q=%00%01", "q=" + "x" * 5000,
                                   "expertise[]=a", "q=%25%25"])
def test_any_directory_parameters_give_a_page(world, login, query):
    assert login(world.mentee).get("/mentors?" + query).status_code == 200


# --- the profile's thresholds -------------------------------------------------------------------------------

def test_the_profile_shows_ratings_and_goal_share_only_from_three(app, world, login):
    _reviews(app, world, world.mentor, [4, 5])
    page = login(world.mentee).get(f"/mentors/{world.mentor.id}").get_data(as_text=True)
    assert "A rating is shown once 3 mentees have reviewed" in page
    assert "shown once 3 have ended a mentorship" in page
    _reviews(app, world, world.other_mentor, [])
    mentee = user(app, "mentee", "third@example.com", "Third Mentee")
    _write(app, mentee, _ended(app, world, mentee=mentee, survey=dict(stars=5, goal_reached="yes",
                                                                       churn_reason="goal_reached")), stars=3)
    page = login(world.mentee).get(f"/mentors/{world.mentor.id}").get_data(as_text=True)
    share = metrics.wilson(1, 3)
    assert "from 3 public reviews" in page
    assert f"{share.value * 100:.1f}%</strong> of 3 mentees" in page
    assert f"{share.low * 100:.1f}%–{share.high * 100:.1f}%" in page


def test_the_profile_pages_reviews_newest_first(app, world, login):
    for i in range(12):
        mentee = user(app, "mentee", f"p{i}@example.com", f"Pat {i}")
        _write(app, mentee, _ended(app, world, mentee=mentee), text=f"Review number {i}.",
               at=T0 + timedelta(minutes=i))
    first = login(world.mentee).get(f"/mentors/{world.mentor.id}").get_data(as_text=True)
    assert first.index("Review number 11.") < first.index("Review number 2.") and "Review number 1." not in first
    second = login(world.mentee).get(f"/mentors/{world.mentor.id}?page=2").get_data(as_text=True)
    assert "Review number 1." in second and "Review number 0." in second and "Review number 2." not in second


# --- review bias -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("df", [1, 2, 5, 10, 20, 25, 30, 40, 60, 120])
def test_t_quantiles_match_scipy_where_tabled(df):
    assert metrics.t975(df) == pytest.approx(scipy_stats.t.ppf(0.975, df), abs=1e-6)


@pytest.mark.parametrize("df", [21, 33, 77, 119, 121, 500])
def test_t_quantiles_between_table_rows_are_never_narrower(df):
    assert metrics.t975(df) >= scipy_stats.t.ppf(0.975, df) - 1e-12


def test_review_bias_against_scipy():
    pairs = [(5, 3), (4, 4), (5, 2), (3, 3), (5, 4), (4, 2)]
    bias = metrics.review_bias(pairs)
    diffs = [p - q for p, q in pairs]
    mean, sem = sum(diffs) / 6, scipy_stats.sem(diffs)
    low, high = scipy_stats.t.interval(0.95, 5, loc=mean, scale=sem)
    assert (bias["difference"].mean, bias["difference"].low, bias["difference"].high) == pytest.approx(
        (mean, low, high), abs=1e-5)
    assert bias["public"].mean == pytest.approx(26 / 6) and bias["private"].n == 6
    assert metrics.mean_interval([4]).low is None and metrics.mean_interval([]).mean is None


def test_the_ratings_page_shows_the_bias_of_the_same_mentorships(app, world, login):
    for i, (public, private) in enumerate([(5, 2), (4, 3), (5, 3)]):
        mentee = user(app, "mentee", f"b{i}@example.com", f"Bia {i}")
        _write(app, mentee, _ended(app, world, mentee=mentee, survey=dict(stars=private, goal_reached="no",
                                                                           churn_reason="other")), stars=public)
    page = login(world.operator).get("/ops/ratings").get_data(as_text=True)
    assert "Public reviews against the private survey" in page
    assert "<td class=\"num\">4.67</td>" in page and "<td class=\"num\">2.67</td>" in page
    assert "<td class=\"num\">2.00</td>" in page


def test_the_exit_survey_leads_to_the_review_form_once_a_paid_month_began(app, world, login):
    def cancel(days_in):
        started = T0 - timedelta(days=days_in)
        mid = mentorship(app, world.mentee, world.mentor if days_in > 10 else world.other_mentor,
                         applied_at=started - timedelta(hours=1), trial_started_at=started)
        return mid, login(world.mentee).post(f"/mentorships/{mid}/cancel", data={
            "stars": "4", "goal_reached": "yes", "churn_reason": "goal_reached"})
    paid, response = cancel(days_in=20)
    assert response.status_code == 302 and response.headers["Location"] == f"/mentorships/{paid}/review"
    trial, response = cancel(days_in=3)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/mentorships/{trial}")
    page = login(world.mentee).get(f"/mentorships/{paid}").get_data(as_text=True)
    assert "Write a public review" in page
    assert "Write a public review" not in login(world.mentee).get(f"/mentorships/{trial}").get_data(as_text=True)
