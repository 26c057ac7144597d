"""Moving the data between databases: `copy-database` (its work is in tracker/services/database_copy.py)."""
from __future__ import annotations

import click

from tracker.services.database_copy import compare, copy_database
from tracker.services.errors import ServiceError


def _progress(table: str, rows: int, done: bool) -> None:
    if done or rows % 100_000 == 0:
        click.echo(f"  {table}: {rows:,} rows{' copied' if done else ''}", err=True)


@click.command("copy-database")
@click.option("--from", "source", required=True, metavar="URL", help="The database to copy (it is only read).")
@click.option("--to", "target", required=True, metavar="URL",
              help="An empty database whose schema `db upgrade` made (same Alembic version as the source).")
def copy_database_command(source: str, target: str):
    """Copy every row of every table to an empty database, ids kept, in one transaction on the target;
    then compare row counts and checksums table by table (exit status 1 on any difference)."""
    try:
        copied = copy_database(source, target, progress=_progress)
        click.echo(f"Copied {sum(copied.values()):,} rows in {len(copied)} tables. Checking:", err=True)
        checks = compare(source, target)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    width = max(len(check.table) for check in checks)
    click.echo(f"{'table':<{width}}  {'source rows':>12}  {'target rows':>12}  {'checksum (sha256)':<17}  result")
    for check in checks:
        click.echo(f"{check.table:<{width}}  {check.source_rows:>12,}  {check.target_rows:>12,}  "
                   f"{check.source_digest[:16]:<17}  {'same' if check.same else 'DIFFERENT'}")
    different = [check.table for check in checks if not check.same]
    if different:
        raise click.ClickException(f"the copy differs from the source in {', '.join(different)}")
    click.echo("Every table has the same rows on both sides.")


COMMANDS = (copy_database_command,)
