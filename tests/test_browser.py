"""In a real browser: Debian's chromium driven by Playwright against gunicorn on 127.0.0.1.

Every page visited is checked for console errors, failed requests, Content-Security-Policy
violations, charts that did not draw, and axe-core's serious or critical accessibility findings.
On a failure, screenshots of every open page at desktop and phone widths go to test-artifacts/.
Skipped, with the reason, where chromium is not installed (bin/setup-browser installs it; CI runs it).
"""
from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect, sync_playwright

from .factories import PASSWORD, mentorship, users
from .servers import ROOT, SMTPServer, gunicorn

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = os.path.join(ROOT, ".cache", "axe", "node_modules", "axe-core", "axe.min.js")
ARTIFACTS = os.path.join(ROOT, "test-artifacts")
DESKTOP, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason="Debian's chromium is not installed (run bin/setup-browser)")

CSP_LISTENER = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""
CHARTS_DRAWN = """
() => Array.from(document.querySelectorAll('.chart-area')).map(el =>
  el.querySelectorAll('svg.main-svg .trace, .heatmaplayer image, .imagelayer image').length)
"""
SERIOUS_AXE = """
async () => (await axe.run(document, {resultTypes: ['violations']})).violations
  .filter(v => ['serious', 'critical'].includes(v.impact))
  .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))
"""


@pytest.fixture
def chromium():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()


class Person:
    """One person's browser tab, watched: every problem a page shows is collected."""

    def __init__(self, browser, base: str, name: str, viewport=DESKTOP):
        self.base, self.name = base, name
        self.context = browser.new_context(viewport=viewport, accept_downloads=True)
        self.context.add_init_script(CSP_LISTENER)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.expected_statuses: set[int] = set()
        self.page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}")
                     if m.type == "error" and not self._expected_console(m.text) else None)
        self.page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url} {r.failure}"))
        self.page.on("response", lambda r: self.problems.append(f"HTTP {r.status}: {r.url}")
                     if r.status >= 400 and r.status not in self.expected_statuses else None)

    def _expected_console(self, text: str) -> bool:
        # The browser logs every non-2xx document load; those we asked for are not problems.
        return any(f"status of {code}" in text for code in self.expected_statuses)

    def goto(self, path: str, expect_status: int = 200):
        self.expected_statuses = {expect_status} if expect_status >= 400 else set()
        response = self.page.goto(self.base + path)
        assert response.status == expect_status, (path, response.status)
        self.check()
        self.expected_statuses = set()
        return self.page

    def check(self) -> None:
        """CSP, charts, accessibility and everything collected so far, for the page now shown."""
        page = self.page
        page.wait_for_load_state("load")
        if page.locator(".chart-area").count():
            page.wait_for_function("() => Array.from(document.querySelectorAll('.chart-area'))"
                                   ".every(el => el.querySelector('svg.main-svg'))", timeout=15000)
            drawn = page.evaluate(CHARTS_DRAWN)
            if not all(drawn):
                self.problems.append(f"{page.url}: charts without data {drawn}")
        self.problems += [f"{page.url}: CSP violation {v}" for v in page.evaluate("window.__csp || []")]
        if os.path.exists(AXE):
            page.evaluate(open(AXE, encoding="utf-8").read() + ";0")
            self.problems += [f"{page.url}: axe {v}" for v in page.evaluate(SERIOUS_AXE)]
        assert page.title().endswith("· Mentorship Tracker") and len(page.title()) > 25, page.title()
        problems, self.problems = self.problems, []
        assert not problems, f"{self.name}: " + "\n".join(problems)

    def log_in(self, email: str) -> None:
        self.goto("/login")
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Log in").click()
        self.check()


@pytest.fixture
def people(chromium, request):
    """Opened people, photographed at desktop and phone widths when the test fails."""
    opened: list[Person] = []
    yield opened
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        os.makedirs(ARTIFACTS, exist_ok=True)
        for person in opened:
            for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
                person.page.set_viewport_size(viewport)
                safe = re.sub(r"[^a-z0-9]+", "-", f"{request.node.name}-{person.name}-{label}".lower())
                person.page.screenshot(path=os.path.join(ARTIFACTS, f"{safe}.png"), full_page=True)
    for person in opened:
        person.context.close()


def test_the_whole_journey_in_a_browser(app, world, database_url, tmp_path, chromium, people):
    with gunicorn(database_url, tmp_path, workers=2) as (base, _, _log):
        # A mentee signs up, finds a mentor and applies with a goal.
        mentee = Person(chromium, base, "mentee")
        people.append(mentee)
        page = mentee.goto("/signup")
        page.get_by_label("Name").fill("Bea Browser")
        page.get_by_label("Email").fill("bea@example.com")
        page.get_by_label("Password", exact=True).fill("a-good-password")
        page.get_by_label("Repeat the password").fill("a-good-password")
        page.get_by_role("button", name="Create my account").click()
        mentee.check()
        page.get_by_role("link", name="Max Mentor").click()
        mentee.check()
        page.get_by_label("Change careers").check()
        page.get_by_label("Your goal, in your own words").fill("Move from teaching into a developer job this year.")
        page.get_by_label("Video calls").check()
        page.get_by_role("button", name="Send application").click()
        mentee.check()
        expect(page.get_by_text("application pending")).to_be_visible()
        mentorship_url = page.url

        # The mentor accepts; both log a check-in.
        mentor = Person(chromium, base, "mentor")
        people.append(mentor)
        mentor.log_in(world.mentor.email)
        mentor.page.get_by_role("button", name="Accept and start the trial").click()
        mentor.check()
        expect(mentor.page.get_by_text("the 7-day trial starts now")).to_be_visible()
        for person in (mentor, mentee):
            person.page.goto(mentorship_url)
            person.check()
            person.page.get_by_label("How").select_option("video")
            person.page.get_by_label("Minutes").fill("45")
            person.page.get_by_role("button", name="Log check-in").click()
            person.check()
            expect(person.page.get_by_text("Check-in logged.")).to_be_visible()

        # The mentee cancels: the reason first (reaching the goal gets no offer, only congratulations),
        # then the survey, answered with the keyboard only.
        page.get_by_role("link", name="Cancel the mentorship…").click()
        mentee.check()
        page.get_by_label("I reached my goal").check()
        page.get_by_role("button", name="Continue").click()
        mentee.check()
        expect(page.get_by_role("heading", name="Congratulations on reaching your goal!")).to_be_visible()
        for _ in range(40):
            if page.evaluate("document.activeElement && document.activeElement.id") == "stars-0":
                break
            page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "stars-0"
        focus = "document.activeElement.id || document.activeElement.textContent.trim()"
        page.keyboard.press("Space")
        for _ in range(3):
            page.keyboard.press("ArrowRight")                          # 4 stars
        assert page.evaluate(focus) == "stars-3"
        page.keyboard.press("Tab")
        page.keyboard.press("Space")                                   # goal reached: yes
        assert page.evaluate(focus) == "goal_reached-0"
        page.keyboard.press("Tab")
        page.keyboard.press("Space")                                   # reason: I reached my goal
        assert page.evaluate(focus) == "churn_reason-0"
        page.keyboard.press("Tab")
        assert page.evaluate(focus) == "feedback_mentor"
        page.keyboard.type("Clear plans every week")                   # mentor could do better
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent").strip() == "Cancel the mentorship and send"
        with page.expect_navigation():
            page.keyboard.press("Enter")
        mentee.check()
        expect(page.get_by_text("Your mentorship is cancelled")).to_be_visible()

        # The mentor sees the rating.
        mentor.goto("/mentor/ratings")
        expect(mentor.page.get_by_text("4.00 ★", exact=True)).to_be_visible()

        # The operator sees the cancellation, changes a filter and downloads the CSV.
        operator = Person(chromium, base, "operator")
        people.append(operator)
        operator.log_in(world.operator.email)
        operator.goto("/ops/churn")
        expect(operator.page.locator(".tile", has_text="Cancellations").get_by_text("1", exact=True)).to_be_visible()
        operator.page.get_by_label("Goal").select_option("change_careers")
        operator.page.get_by_role("button", name="Apply").click()
        operator.check()
        assert "goal_category=change_careers" in operator.page.url
        with operator.page.expect_download() as download:
            operator.page.get_by_role("link", name="Download exit surveys (CSV)").click()
        rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
        assert [(r["mentee_email"], r["stars"], r["feedback_mentor"]) for r in rows] == \
            [("bea@example.com", "4", "Clear plans every week")]


# --- a pulse mail, received over SMTP and answered in the browser without logging in ----------------

@pytest.fixture
def smtp_inbox():
    server = SMTPServer()
    server.start()
    server.inbox.port = server.port
    yield server.inbox
    server.stop()


def test_a_pulse_mail_is_answered_in_the_browser_without_logging_in(app, world, database_url, tmp_path,
                                                                      chromium, people, smtp_inbox):
    # The gunicorn workers read the wall clock (only this process's clock is frozen), so the trial is
    # placed relative to the real now: started 6 days ago, its pulse (period 0) opened a day ago.
    moment = datetime.now(timezone.utc).replace(microsecond=0)
    mid = mentorship(app, world.mentee, world.mentor, applied_at=moment - timedelta(days=7),
                     trial_started_at=moment - timedelta(days=6))
    mail_env = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp_inbox.port)}
    with gunicorn(database_url, tmp_path, workers=2, **mail_env) as (base, _, _log):
        env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY="s" * 40, PUBLIC_BASE_URL=base,
                   FLASK_APP="wsgi", **mail_env)
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "notify", "once", "--at",
                               moment.isoformat()], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        pulses = [m for m in smtp_inbox.messages if m["X-Tracker-Kind"] == "pulse_open"]
        assert len(pulses) == 1, [(m["To"], m["X-Tracker-Kind"]) for m in smtp_inbox.messages]
        (message,) = pulses
        assert message["To"].addresses[0].addr_spec == world.mentee.email
        text = message.get_body(("plain",)).get_content()
        links = re.findall(re.escape(base) + r"(/pulse/[0-9]+/[0-9]+\?token=[A-Za-z0-9_.\-]+)", text)
        assert len(links) == 1, text
        (link,) = links
        assert link.startswith(f"/pulse/{mid}/0?token=")

        # A fresh browser: no session, no cookie; the link alone is enough.
        mentee = Person(chromium, base, "mentee from the mail")
        people.append(mentee)
        page = mentee.goto(link)
        expect(page.get_by_role("heading", name="How is it going?")).to_be_visible()
        expect(page.get_by_role("link", name="Log in")).to_be_visible()  # not logged in
        page.get_by_label("How far along your goal are you, in percent? (optional)").fill("35")
        page.get_by_label("4", exact=True).check()
        page.get_by_role("button", name="Send").click()
        mentee.check()
        expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
        expect(page.get_by_text(f"Your answers about your mentorship with {world.mentor.name} are saved.")) \
            .to_be_visible()

        # The link works once.
        page = mentee.goto(link, expect_status=410)
        expect(page.get_by_role("heading", name="This link cannot be used")).to_be_visible()
        expect(page.get_by_text("already been used")).to_be_visible()

    with app.app_context():
        from tracker.core.extensions import db
        from tracker.data.models import Pulse, UsedLink
        stored = [(p.mentorship_id, p.period, p.progress, p.usefulness) for p in db.session.scalars(db.select(Pulse))]
        assert stored == [(mid, 0, 35, 4)]
        assert db.session.scalar(db.select(db.func.count()).select_from(UsedLink)) == 1



# --- the directory and public reviews ------------------------------------------------------------------

def test_a_mentee_searches_the_directory_and_reads_a_mentors_reviews(app, world, database_url, tmp_path,
                                                                      chromium, people):
    """12 reviews of Max Mentor (so the rating summary and, at 10 a page, the review pager show), two
    other mentors; the mentee searches, sorts, opens Max's profile and pages to the older reviews."""
    from tracker import services
    from tracker.core.extensions import db
    from tracker.data.models import MentorProfile
    moment = datetime.now(timezone.utc).replace(microsecond=0)  # gunicorn reads the wall clock
    with app.app_context():
        for mentor_id, headline, expertise in ((world.mentor.id, "Backend engineer", "Python, System design"),
                                               (world.other_mentor.id, "Product designer", "Figma, UX research")):
            profile = db.session.get(MentorProfile, mentor_id)
            profile.headline, profile.expertise = headline, expertise
        db.session.commit()
    reviewers = users(app, [("mentee", f"reviewer{i}@example.com", f"Rev{i} Iewer", True) for i in range(12)])
    for i, reviewer in enumerate(reviewers):
        started = moment - timedelta(days=70)
        mid = mentorship(app, reviewer, world.mentor, applied_at=started - timedelta(days=1), trial_started_at=started,
                         ended_at=moment - timedelta(days=10),
                         survey=dict(stars=4, goal_reached="yes", churn_reason="goal_reached"))
        with app.app_context():
            services.write_review(reviewer.id, mid, 5 if i % 3 else 4, f"Review number {i:02d}: clear plans.",
                                  "initial", True, at=moment - timedelta(days=9, minutes=60 - i))
    with gunicorn(database_url, tmp_path, workers=2) as (base, _, _log):
        mentee = Person(chromium, base, "mentee")
        people.append(mentee)
        mentee.log_in(world.mentee.email)
        page = mentee.goto("/mentors")
        page.get_by_label("Search names, headlines and expertise").fill("python")
        page.get_by_label("Sort by").select_option(label="Name")
        page.get_by_role("button", name="Search").click()
        mentee.check()
        assert "q=python" in page.url and "sort=name" in page.url
        expect(page.get_by_text("1 mentor found")).to_be_visible()
        expect(page.get_by_label("Search names, headlines and expertise")).to_have_value("python")
        expect(page.get_by_role("link", name="Nora Mentor")).to_have_count(0)
        page.get_by_role("link", name="Max Mentor").click()
        mentee.check()
        expect(page.get_by_role("heading", name="Max Mentor", level=1)).to_be_visible()
        expect(page.locator(".rating").first).to_contain_text("from 12 public reviews")
        expect(page.get_by_role("table", name="Reviews by stars")).to_be_visible()
        reviews = page.locator("#reviews article.review")
        expect(reviews).to_have_count(10)
        expect(reviews.first).to_contain_text("Review number 11")
        expect(reviews.first).to_contain_text("Rev11 I.")
        expect(page.get_by_text("Page 1 of 2")).to_be_visible()
        page.get_by_role("navigation", name="Review pages").get_by_role("link", name="Older →").click()
        mentee.check()
        assert page.url.endswith("page=2#reviews"), page.url
        expect(reviews).to_have_count(2)
        expect(reviews.nth(0)).to_contain_text("Review number 01")
        expect(reviews.nth(1)).to_contain_text("Review number 00")
        expect(page.get_by_text("Page 2 of 2")).to_be_visible()
        expect(page.get_by_text("Private words")).to_have_count(0)  # the private exit survey never shows


PAGES = {
    None: ["/", "/login", "/signup"],
    "mentee@demo.example": ["/me", "/mentors", "/mentors/2", "/mentorships/1", "/mentorships/1/cancel",
                            "/settings/mail"],
    "mentor@demo.example": ["/mentor/", "/mentor/profile", "/mentor/ratings", "/mentorships/1", "/settings/mail"],
    "operator@demo.example": ["/ops/", "/ops/churn", "/ops/retention", "/ops/ratings", "/ops/feedback",
                              "/ops/mentorships", "/ops/users", "/ops/saves", "/ops/health", "/ops/research",
                              "/ops/at-risk", "/ops/offers", "/ops/outbox", "/settings/mail"],
}


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_page_is_clean_and_accessible(app, database_url, tmp_path, chromium, people, viewport):
    from tracker.services.seed import seed_demo
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    with app.app_context():
        seed_demo(count=400, seed=2, until=today)
        from tracker import services
        from tracker.core.extensions import db
        from tracker.data.models import User
        for user in db.session.query(User).filter(User.email.in_([e for e in PAGES if e])):
            services.set_password(user.email, PASSWORD)
        demo_mentee = db.session.query(User).filter_by(email="mentee@demo.example").one()
        flow = services.start_cancel_flow(demo_mentee.id, 1, "no_time", at=datetime.now(timezone.utc))
        offer_page = f"/mentorships/1/cancel/{flow.id}"  # the offer for "no time": a pause
        # The directory searched, the profile of the mentor with the most public reviews (its rating and,
        # past 10, its review pager), the moderation list, and the form to write a review of a mentorship
        # that went past its first paid month and ended with an exit survey.
        from tracker.data.models import ExitSurvey, MentorReviewStats, Mentorship
        most_reviewed = db.session.scalars(db.select(MentorReviewStats).order_by(MentorReviewStats.n.desc())).first()
        assert most_reviewed is not None and most_reviewed.n > 10, "the demo has too few reviews"
        demo_mentor = db.session.query(User).filter_by(email="mentor@demo.example").one()
        now = datetime.now(timezone.utc)
        ended = Mentorship(mentee_id=demo_mentee.id, mentor_id=demo_mentor.id, goal_category="change_careers",
                           goal_text="Become a backend developer in a year.", meeting_preference="video",
                           applied_at=now - timedelta(days=61), trial_started_at=now - timedelta(days=60),
                           ended_at=now - timedelta(days=5), end_reason="cancelled")
        db.session.add(ended)
        db.session.flush()
        db.session.add(ExitSurvey(mentorship_id=ended.id, submitted_at=ended.ended_at, stars=4, goal_reached="yes",
                                  churn_reason="goal_reached"))
        db.session.commit()
        from tracker.services.audit import Actor
        plan = services.ExperimentPlan("Reminder or nothing", "too_expensive", "plan_reminder", "none", 50, 20, 10)
        experiment = services.start_experiment(Actor.command("browser test"), plan, at=now)
        extra = {"mentee@demo.example": [offer_page, "/mentors?q=a&sort=name", f"/mentors/{most_reviewed.mentor_id}",
                                         f"/mentors/{most_reviewed.mentor_id}?page=2",
                                         f"/mentorships/{ended.id}/review"],
                 "operator@demo.example": ["/ops/reviews", "/ops/reviews?state=visible", "/ops/experiments",
                                           f"/ops/experiments/{experiment.id}"]}
    with gunicorn(database_url, tmp_path, workers=2) as (base, _, _log):
        for email, paths in PAGES.items():
            person = Person(chromium, base, email or "visitor", viewport)
            people.append(person)
            if email:
                person.log_in(email)
            for path in paths + extra.get(email, []):
                person.goto(path)
        visitor = people[0]
        page = visitor.goto("/no-such-page", expect_status=404)
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
