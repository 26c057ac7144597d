"""Accounts from the command line: create a user, set a password, issue an API token, unlock a login."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from tracker import services
from tracker.core import clock
from tracker.domain.accounts import PASSWORD_MAX, PASSWORD_MIN, ROLES
from tracker.security import log as security_log
from tracker.security import throttle
from tracker.services.audit import Actor


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise click.BadParameter(f"the password must have {PASSWORD_MIN} to {PASSWORD_MAX} characters",
                                 param_hint="password")
    return password


def _fail(error: services.ServiceError) -> None:
    raise click.ClickException(error.message)


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--name", default="", help="Display name (default: the part of the email before @).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@with_appcontext
def create_user(email: str, role: str, name: str, password_stdin: bool):
    """Create a mentee, mentor or operator account."""
    password = _read_password(password_stdin)
    try:
        user = services.create_user(email, role, name, password, at=clock.now(), actor=Actor.command("create-user"))
    except services.ServiceError as error:
        _fail(error)
    click.echo(f"Created {user.role} {user.email}.")


@click.command("set-password")
@click.option("--email", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@with_appcontext
def set_password(email: str, password_stdin: bool):
    """Set or reset a user's password (their existing sessions end)."""
    password = _read_password(password_stdin)
    try:
        user = services.set_password(email, password)
    except services.ServiceError as error:
        _fail(error)
    click.echo(f"Password set for {user.email}.")


@click.command("create-token")
@click.option("--email", required=True)
@with_appcontext
def create_token(email: str):
    """Print a new API token for an operator (only its hash is stored: keep it safe)."""
    try:
        token = services.create_api_token(email, at=clock.now())
    except services.ServiceError as error:
        _fail(error)
    click.echo(token)


@click.command("unlock-account")
@click.option("--email", required=True)
@with_appcontext
def unlock_account(email: str):
    """Clear an account's failed logins, so it may log in again at once (in the database or Redis,
    wherever they are counted). The count per address is kept."""
    try:
        user = services.user_by_email(email)
    except services.ServiceError as error:
        _fail(error)
    throttle.forget_account(user.email)
    security_log.event("account_unlocked", email=user.email, by="command line")
    click.echo(f"Failed logins cleared for {user.email}: it can log in again.")


COMMANDS = (create_user, set_password, create_token, unlock_account)
