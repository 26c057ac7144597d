"""`rollups rebuild`, `rollups verify` and `rollups warm`: the derived tables behind the fast dashboards
(their work is in tracker/services/rollups.py)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from tracker.core import clock
from tracker.reports import rollup_queries
from tracker.services import rollups as rollup_service

group = AppGroup("rollups", help="The derived tables the dashboards and the API read (docs/PERFORMANCE.md).")


@group.command("rebuild")
def rebuild():
    """Rebuild every rollup from the raw rows (idempotent, safe while the app serves)."""
    rows = rollup_service.rebuild()
    click.echo(f"Rebuilt the rollups: {rows:,} rows.")


@group.command("verify")
def verify():
    """Compare the rollups with a fresh computation; exit status 1 naming the first difference."""
    problem = rollup_service.first_difference()
    if problem is not None:
        raise click.ClickException(f"the rollups differ from the raw rows: {problem}. "
                                   "Run `flask --app wsgi rollups rebuild` to repair them.")
    click.echo("The rollups match the raw rows.")


@group.command("warm")
def warm():
    """Compute today's usual reports ahead of the first request (run it daily at 00:01:30 UTC and
    after a deploy): every process then reads them from the report cache."""
    now = clock.now()
    if not rollup_queries.day_settled(now):
        raise click.ClickException("the day's first minute: a write of yesterday may still be committing, so "
                                   "nothing of today is kept yet. Run it again after 00:01 UTC.")
    for part in rollup_service.warm(now):
        click.echo(f"Warmed: {part}.")


COMMANDS = (group,)
