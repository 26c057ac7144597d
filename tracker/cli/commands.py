"""The `flask --app wsgi ...` commands of INTERFACES.md. Each one is a thin shell over a service."""
from __future__ import annotations

import sys
from datetime import date, datetime, timezone

import click
from flask import Flask

from tracker import services
from tracker.core import clock
from tracker.data.models import ROLES
from tracker.web.forms import PASSWORD_MAX, PASSWORD_MIN


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


def register_cli(app: Flask) -> None:
    @app.cli.command("create-user")
    @click.option("--email", required=True)
    @click.option("--role", required=True, type=click.Choice(ROLES))
    @click.option("--name", default="", help="Display name (default: the part of the email before @).")
    @click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
    def create_user(email: str, role: str, name: str, password_stdin: bool):
        """Create a mentee, mentor or operator account."""
        password = _read_password(password_stdin)
        try:
            user = services.create_user(email, role, name, password, at=clock.now())
        except services.ServiceError as error:
            _fail(error)
        click.echo(f"Created {user.role} {user.email}.")

    @app.cli.command("set-password")
    @click.option("--email", required=True)
    @click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
    def set_password(email: str, password_stdin: bool):
        """Set or reset a user's password (their existing sessions end)."""
        password = _read_password(password_stdin)
        try:
            user = services.set_password(email, password)
        except services.ServiceError as error:
            _fail(error)
        click.echo(f"Password set for {user.email}.")

    @app.cli.command("create-token")
    @click.option("--email", required=True)
    def create_token(email: str):
        """Print a new API token for an operator (only its hash is stored: keep it safe)."""
        try:
            token = services.create_api_token(email, at=clock.now())
        except services.ServiceError as error:
            _fail(error)
        click.echo(token)

    @app.cli.command("import-history")
    @click.argument("history_file", type=click.Path(dir_okay=False))
    @click.option("--checkins", "checkins_file", type=click.Path(dir_okay=False), default=None,
                  help="A check-ins CSV for the same mentorships.")
    @click.option("--dry-run", is_flag=True, help="Check the files and report; write nothing.")
    def import_history(history_file: str, checkins_file: str | None, dry_run: bool):
        """Import mentorship history from CSV, all or nothing (format: shared/INTERFACES.md)."""
        from tracker.services.history_import import HistoryError
        from tracker.services.history_import import import_history as run

        progress = lambda message: click.echo(message, err=True)  # noqa: E731
        try:
            summary = run(history_file, at=clock.now(), checkins_path=checkins_file, dry_run=dry_run,
                          progress=progress)
        except HistoryError as error:
            for problem in error.problems:
                click.echo(problem, err=True)
            raise click.ClickException(f"nothing was imported: {len(error.problems)} problem(s) found") from None
        verb = "would import" if dry_run else "imported"
        click.echo(f"{verb} {summary.mentorships} mentorships, {summary.surveys} exit surveys, "
                   f"{summary.checkins} check-ins; {summary.new_users} new users (without passwords)")

    @app.cli.command("export-history")
    @click.argument("history_file", type=click.Path(dir_okay=False, writable=True))
    @click.option("--checkins", "checkins_file", type=click.Path(dir_okay=False, writable=True), default=None)
    def export_history(history_file: str, checkins_file: str | None):
        """Export every mentorship (and its check-ins) in the history CSV format."""
        from tracker.reports.history_export import export_history as run

        summary = run(history_file, checkins_file)
        click.echo(f"exported {summary.mentorships} mentorships, {summary.surveys} exit surveys, "
                   f"{summary.checkins} check-ins")

    @app.cli.command("seed-demo")
    @click.option("--mentorships", "count", default=2000, show_default=True,
                  type=click.IntRange(1, 5_000_000), help="How many mentorships to create.")
    @click.option("--seed", default=1, show_default=True, type=int, help="Same seed, same data.")
    @click.option("--until", "until", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                  help="The day the demo history ends (default: today, UTC).")
    @click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when data already exists.")
    def seed_demo(count: int, seed: int, until: datetime | None, if_empty: bool):
        """Fill an empty database with a reproducible demo marketplace (18 months of history)."""
        from tracker.services.seed import DEMO_PASSWORD, SeedError
        from tracker.services.seed import seed_demo as run

        end_day: date = until.date() if until else clock.now().date()
        try:
            logins = run(count=count, seed=seed,
                         until=datetime(end_day.year, end_day.month, end_day.day, tzinfo=timezone.utc),
                         progress=lambda done, total: click.echo(f"  {done:,} of {total:,} mentorships", err=True))
        except SeedError as error:
            if if_empty:
                click.echo(f"Demo data not added: {error}")
                return
            raise click.ClickException(str(error)) from None
        click.echo(f"Created {count} demo mentorships (seed {seed}). Demo logins, password '{DEMO_PASSWORD}':")
        for role, email in logins:
            click.echo(f"  {role:<9} {email}")
