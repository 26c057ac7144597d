"""Sign up, log in, log out, next= handling, and the per-role landing pages."""
import pytest

from tracker.core.extensions import db
from tracker.data.models import User

from .factories import PASSWORD, count


def signup(client, **overrides):
    data = {"name": "Sara Signup", "email": "sara@example.com", "password": "long-enough-pw",
            "confirm": "long-enough-pw"}
    data.update(overrides)
    return client.post("/signup", data=data)


def test_a_mentee_signs_up_and_lands_on_the_mentor_directory(client, app):
    response = signup(client)
    assert response.status_code == 302 and response.headers["Location"] == "/mentors"
    assert client.get("/mentors").status_code == 200
    assert count(app, User, email="sara@example.com", role="mentee") == 1


@pytest.mark.parametrize("overrides, message", [
    ({"name": ""}, "Enter a name."),
    ({"name": "x" * 101}, "Keep the name under 100 characters."),
    ({"name": "Bad\x00Name"}, "control character"),
    ({"email": ""}, "Enter an email address."),
    ({"email": "not-an-email"}, "Enter a valid email address"),
    ({"password": "short", "confirm": "short"}, "Use 8 to 128 characters."),
    ({"password": "p" * 129, "confirm": "p" * 129}, "Use 8 to 128 characters."),
    ({"confirm": "something-else"}, "The two passwords differ."),
])
def test_signup_refuses_bad_input_and_creates_nothing(client, app, overrides, message):
    response = signup(client, **overrides)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(app, User) == 0


def test_signup_with_a_taken_email_says_so(client, app, world):
    response = signup(client, email="MENTOR@example.com")
    assert response.status_code == 400
    assert "An account with this email already exists." in response.get_data(as_text=True)
    assert count(app, User) == 5


@pytest.mark.parametrize("who, home", [("mentee", "/me"), ("mentor", "/mentor/"), ("operator", "/ops/")])
def test_each_role_lands_on_its_home(client, world, who, home):
    user = getattr(world, who)
    response = client.post("/login", data={"email": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == home
    assert client.get(home).status_code == 200
    assert client.get("/").headers["Location"] == home


def test_wrong_password_and_unknown_email_get_the_same_answer(client, world):
    wrong = client.post("/login", data={"email": world.mentee.email, "password": "nope-nope-nope"})
    unknown = client.post("/login", data={"email": "ghost@example.com", "password": "nope-nope-nope"})
    for response in (wrong, unknown):
        assert response.status_code == 400
        assert "That email and password do not match an account." in response.get_data(as_text=True)
    assert client.get("/me").status_code == 302


@pytest.mark.parametrize("target, expected", [
    ("/mentors", "/mentors"),
    ("https://evil.example/", "/me"),
    ("//evil.example/", "/me"),
    ("/\\evil.example", "/me"),
    ("javascript:alert(1)", "/me"),
])
def test_login_follows_only_local_next_targets(client, world, target, expected):
    response = client.post("/login?next=" + target, data={"email": world.mentee.email, "password": PASSWORD})
    assert response.headers["Location"] == expected


def test_logout_is_a_post_and_ends_every_copy_of_the_session(app, world, login):
    client = login(world.mentee)
    copied_cookie = client.get_cookie("session").value
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/me").status_code == 302  # sent to log in
    replay = app.test_client()
    replay.set_cookie("session", copied_cookie)
    assert replay.get("/me").status_code == 302


def test_a_user_without_a_password_cannot_log_in(app, client):
    from tracker import services
    from tracker.core import clock
    with app.app_context():
        services.create_user("imported@example.com", "mentee", "Imported", None, at=clock.now())
    response = client.post("/login", data={"email": "imported@example.com", "password": "anything-at-all"})
    assert response.status_code == 400


def test_anonymous_visitors_are_sent_to_log_in_with_next(client):
    response = client.get("/me")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_signup_ignores_a_posted_role(client, app):
    signup(client, role="operator", session_version="99")
    with app.app_context():
        from tracker.core.extensions import db
        user = db.session.query(User).one()
        assert (user.role, user.session_version) == ("mentee", 1)


def test_form_errors_are_announced_and_linked_to_their_fields(client):
    page = signup(client, name="", email="nope").get_data(as_text=True)
    assert '<div class="error-summary" role="alert">' in page
    assert 'href="#name">Name</a>' in page and 'href="#email">Email</a>' in page
    assert 'aria-describedby="email-error"' in page and 'id="email-error"' in page


DOTTED_I = "\u0130"  # a capital I with a dot: two characters in lower case


def test_a_name_that_lower_case_makes_longer_is_kept_and_found(client, app, login):
    """On PostgreSQL the lower-case copy the operators' search reads used to overflow its column (a 500)."""
    assert signup(client, name=DOTTED_I * 100, email="dotted@example.com").status_code == 302
    with app.app_context():
        person = db.session.query(User).filter_by(email="dotted@example.com").one()
        assert (person.name, person.search_name) == (DOTTED_I * 100, (DOTTED_I * 100).lower()[:100])
    from .factories import user
    operator = user(app, "operator", "op@example.com")
    page = login(operator).get("/ops/users?q=" + DOTTED_I * 3).get_data(as_text=True)
    assert "dotted@example.com" in page
