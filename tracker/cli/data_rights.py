"""`export-user` and `erase-user`: a person's data rights from the command line (the same as the
buttons on an account's page, and in the audit log as these commands)."""
from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext

from tracker import services
from tracker.core import clock
from tracker.services.audit import Actor


@click.command("export-user")
@click.option("--email", required=True, help="The person's email.")
@with_appcontext
def export_user(email: str):
    """Print everything held about that person as one JSON document."""
    try:
        document = services.export_user(email, Actor.command("export-user"), at=clock.now())
    except services.ServiceError as error:
        raise click.ClickException(error.message) from None
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


@click.command("erase-user")
@click.option("--email", required=True, help="The person's email.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def erase_user(email: str, yes: bool):
    """Erase that person's personal data; every aggregate number stays the same. Cannot be undone."""
    if not yes:
        click.confirm(f"Erase the personal data of {email}? This cannot be undone", abort=True)
    try:
        user, erased = services.erase_user(email, Actor.command("erase-user"), at=clock.now(),
                                           mail_folder=current_app.config["MAIL_FILE_PATH"])
    except services.ServiceError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Erased the personal data of account {user.id}." if erased
               else f"Account {user.id}'s personal data had already been erased: nothing to do.")


COMMANDS = (export_user, erase_user)
