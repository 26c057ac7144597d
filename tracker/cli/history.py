"""Mentorship history in and out as CSV (the format of docs/INTERFACES.md)."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from tracker.core import clock
from tracker.reports.history_export import ExportError
from tracker.reports.history_export import export_history as run_export
from tracker.services.history_import import HistoryError
from tracker.services.history_import import import_history as run_import


@click.command("import-history")
@click.argument("history_file", type=click.Path(dir_okay=False))
@click.option("--checkins", "checkins_file", type=click.Path(dir_okay=False), default=None,
              help="A check-ins CSV for the same mentorships.")
@click.option("--dry-run", is_flag=True, help="Check the files and report; write nothing.")
@with_appcontext
def import_history(history_file: str, checkins_file: str | None, dry_run: bool):
    """Import mentorship history from CSV, all or nothing (format: docs/INTERFACES.md)."""
    progress = lambda message: click.echo(message, err=True)  # noqa: E731
    try:
        summary = run_import(history_file, at=clock.now(), checkins_path=checkins_file, dry_run=dry_run,
                             progress=progress)
    except HistoryError as error:
        for problem in error.problems:
            click.echo(problem, err=True)
        raise click.ClickException(f"nothing was imported: {len(error.problems)} problem(s) found") from None
    verb = "would import" if dry_run else "imported"
    click.echo(f"{verb} {summary.mentorships} mentorships, {summary.surveys} exit surveys, "
               f"{summary.checkins} check-ins; {summary.new_users} new users (without passwords)")


@click.command("export-history")
@click.argument("history_file", type=click.Path(dir_okay=False, writable=True))
@click.option("--checkins", "checkins_file", type=click.Path(dir_okay=False, writable=True), default=None)
@with_appcontext
def export_history(history_file: str, checkins_file: str | None):
    """Export every mentorship (and its check-ins) in the history CSV format."""
    try:
        summary = run_export(history_file, checkins_file)
    except ExportError as error:
        raise click.ClickException(f"nothing was exported: {error}") from None
    click.echo(f"exported {summary.mentorships} mentorships, {summary.surveys} exit surveys, "
               f"{summary.checkins} check-ins")


COMMANDS = (import_history, export_history)
