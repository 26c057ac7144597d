"""A reproducible demo marketplace for an empty database."""
from __future__ import annotations

from datetime import date, datetime, timezone

import click
from flask.cli import with_appcontext

from tracker.core import clock
from tracker.services.seed import DEMO_PASSWORD, SeedError, SeedFailed
from tracker.services.seed import seed_demo as run_seed


@click.command("seed-demo")
@click.option("--mentorships", "count", default=2000, show_default=True,
              type=click.IntRange(1, 5_000_000), help="How many mentorships to create.")
@click.option("--seed", default=1, show_default=True, type=int, help="Same seed, same data.")
@click.option("--until", "until", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day the demo history ends (default: today, UTC).")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when data already exists.")
@with_appcontext
def seed_demo(count: int, seed: int, until: datetime | None, if_empty: bool):
    """Fill an empty database with a reproducible demo marketplace (18 months of history)."""
    end_day: date = until.date() if until else clock.now().date()
    try:
        logins = run_seed(count=count, seed=seed,
                          until=datetime(end_day.year, end_day.month, end_day.day, tzinfo=timezone.utc),
                          progress=lambda done, total: click.echo(f"  {done:,} of {total:,} mentorships", err=True))
    except SeedError as error:  # refused: the database has data (what --if-empty accepts)
        if if_empty:
            click.echo(f"Demo data not added: {error}")
            return
        raise click.ClickException(str(error)) from None
    except SeedFailed as error:  # even with --if-empty: bin/serve must not start on an empty database
        raise click.ClickException(f"the demo data could not be added: {error}") from None
    click.echo(f"Created {count} demo mentorships (seed {seed}). Demo logins, password '{DEMO_PASSWORD}':")
    for role, email in logins:
        click.echo(f"  {role:<9} {email}")


COMMANDS = (seed_demo,)
