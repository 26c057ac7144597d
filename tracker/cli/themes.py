"""`themes recompute`: find the themes in the written feedback again (run daily, and after imports)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from tracker import services
from tracker.core import clock
from tracker.reports import text_themes
from tracker.services import themes as theme_service

group = AppGroup("themes", help="Themes in what mentees wrote in their exit surveys (docs/THEMES.md).")


@group.command("recompute")
@click.option("--themes", "k", default=text_themes.DEFAULT_THEMES, show_default=True, type=int,
              help="How many themes to look for.")
@click.option("--seed", default=1, show_default=True, type=int, help="The same seed gives the same themes.")
def recompute(k: int, seed: int):
    """Read every written answer, find the themes, store them for the operators' themes page."""
    try:
        run = theme_service.recompute(clock.now(), k=k, seed=seed)
    except services.ServiceError as error:
        raise click.BadParameter(error.message, param_hint="--themes") from None
    click.echo(f"Found the themes in {run.texts:,} texts (run {run.id}).")


COMMANDS = (group,)
