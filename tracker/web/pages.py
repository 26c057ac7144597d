"""Small helpers shared by the blueprints' views: turning service errors into form errors."""
from __future__ import annotations

from flask import flash, render_template
from flask_wtf import FlaskForm

from tracker.services import ServiceError


def show_service_error(error: ServiceError, form: FlaskForm | None = None) -> None:
    """Put the message next to its field when it names one the form has, else flash it."""
    field = getattr(form, error.field, None) if (form is not None and error.field) else None
    if field is not None:
        field.errors = list(field.errors) + [error.message]
    else:
        flash(error.message, "error")


def form_page(template: str, form: FlaskForm, **context):
    """Render a page holding a form: 400 when it is shown again with errors, else 200."""
    return render_template(template, form=form, **context), (400 if form.errors else 200)
