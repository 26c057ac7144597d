"""Small helpers shared by the blueprints' views: turning service errors into form errors or flashed
messages. A service's NotFound is never caught here: the application's error handler answers 404."""
from __future__ import annotations

from flask import flash, render_template
from flask_wtf import FlaskForm

from tracker.services import Conflict, Invalid, ServiceError

# The service errors a view shows to the person, next to a field or flashed: every one but NotFound,
# which is left to the application's error handler (the same 404 as abort(404)).
REFUSALS = (Conflict, Invalid)


def show_service_error(error: ServiceError, form: FlaskForm | None = None) -> None:
    """Put the message next to its field when it names one the form has, else flash it."""
    field = getattr(form, error.field, None) if (form is not None and error.field) else None
    if field is not None:
        field.errors = list(field.errors) + [error.message]
    else:
        flash(error.message, "error")


def attempt(action, *args, flash_as: str = "error", **kwargs):
    """Call a service action and return its result; when it refuses, flash the refusal (in the category
    `flash_as`) and return None. NotFound goes on to the 404 handler."""
    try:
        return action(*args, **kwargs)
    except REFUSALS as error:
        flash(error.message, flash_as)
        return None


def form_page(template: str, form: FlaskForm, **context):
    """Render a page holding a form: 400 when it is shown again with errors, else 200."""
    return render_template(template, form=form, **context), (400 if form.errors else 200)
