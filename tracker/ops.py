"""The operator's pages: the marketplace at a glance, and accounts."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for

from . import clock, queries, services
from .access import role_required
from .forms import CreateUserForm
from .views import form_page, show_service_error

bp = Blueprint("ops", __name__, url_prefix="/ops")


@bp.get("/")
@role_required("operator")
def home():
    at = clock.now()
    return render_template("ops/home.html", counts=queries.counts_by_status(at),
                           mentorships=queries.recent_mentorships(), at=at)


@bp.route("/users", methods=["GET", "POST"])
@role_required("operator")
def users():
    form = CreateUserForm()
    if form.validate_on_submit():
        try:
            user = services.create_user(form.email.data, form.role.data, form.name.data, form.password.data,
                                        at=clock.now())
        except services.ServiceError as error:
            show_service_error(error, form)
        else:
            flash(f"Created the {user.role} account for {user.email}.", "success")
            return redirect(url_for("ops.users"))
    return form_page("ops/users.html", form, users=queries.users())
