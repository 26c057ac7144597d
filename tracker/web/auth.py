"""Sign up, log in, log out, and the front door that sends each role to its home."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from tracker import services
from tracker.core import clock
from tracker.reports import mail_queries, queries
from tracker.security import links, throttle
from tracker.security import log as security_log
from tracker.web.access import home_endpoint, safe_next_url
from tracker.web.forms import LoginForm, ResetPasswordForm, SignupForm
from tracker.web.pages import REFUSALS, form_page, show_service_error

bp = Blueprint("auth", __name__)


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user)))
    return render_template("auth/index.html")


def _start_session(user, remember: bool):
    session.clear()  # a fresh session at login: nothing carried over from before
    login_user(user, remember=remember)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user)))
    form = LoginForm()
    if form.validate_on_submit():
        at, address = clock.now(), request.remote_addr
        refused = throttle.blocked(form.email.data, address, at)
        if refused:
            security_log.event("login_throttled", email=form.email.data, scope=refused.scope)
            minutes = -(-refused.retry_after // 60)
            form.password.errors.append(f"Too many failed logins for this {refused.scope}. "
                                        f"Try again in {minutes} minute{'s' if minutes != 1 else ''}.")
            return form_page("auth/login.html", form)[0], 429
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            throttle.record_failure(form.email.data, address, at)
            security_log.event("login_failed", email=form.email.data)
            form.password.errors.append("That email and password do not match an account.")
        else:
            throttle.forget_account(form.email.data)
            _start_session(user, form.remember.data)
            flash(f"Welcome back, {user.name}.", "success")
            return redirect(safe_next_url(request.args.get("next")) or url_for(home_endpoint(user)))
    return form_page("auth/login.html", form)


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user)))
    form = SignupForm()
    if form.validate_on_submit():
        try:
            user = services.create_user(form.email.data, "mentee", form.name.data, form.password.data,
                                        at=clock.now())
        except REFUSALS as error:
            show_service_error(error, form)
        else:
            _start_session(user, remember=False)
            flash("Your account is ready. Find a mentor to get started.", "success")
            return redirect(url_for("mentee.mentors"))
    return form_page("auth/signup.html", form)


@bp.post("/logout")
@login_required
def logout():
    # CSRFProtect has checked the token before we get here.
    services.end_all_sessions(current_user.id)
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.index"))


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Where a password-reset mail leads: a new password, once, while the link is valid."""
    try:
        body = links.verify(current_app.config["SECRET_KEY"], links.PASSWORD_RESET, token, clock.now())
    except links.LinkRefused as refusal:
        return render_template("mail/link_refused.html", message=refusal.message), 400
    user_id, link_id = body.get("u"), body.get("jti")
    user = queries.user_by_id(user_id) if type(user_id) is int and 0 < user_id < 2**31 else None
    if user is None or not isinstance(link_id, str) or user.deactivated_at is not None or user.erased_at:
        return render_template("mail/link_refused.html", message="This link is not valid."), 400
    if mail_queries.link_used(link_id):
        return render_template("mail/link_refused.html", message="This link has already been used."), 410
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(user.id, link_id, form.password.data, at=clock.now())
        except REFUSALS as error:
            show_service_error(error, form)
        else:
            if current_user.is_authenticated:
                logout_user()
            flash("Your password is set. Log in with it.", "success")
            return redirect(url_for("auth.login"))
    return form_page("auth/reset_password.html", form, user=user)
