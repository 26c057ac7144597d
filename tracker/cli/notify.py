"""`notify run` (the long-running mail sender and scheduler) and `notify once [--at]` (cron, tests)."""
from __future__ import annotations

import signal
import threading

import click
from flask.cli import AppGroup

from tracker.core import clock
from tracker.mail import schedule, sender
from tracker.reports.scope import ScopeError, parse_moment

group = AppGroup("notify", help="Work out which mails are due and send them (docs/NOTIFICATIONS.md).")


def _step(at) -> str:
    queued = schedule.plan(at)
    done = sender.send_all_due(at)
    parts = [f"queued {sum(queued.values())}"] + [f"{status} {n}" for status, n in sorted(done.items())]
    return f"{at:%Y-%m-%dT%H:%M:%SZ}: " + ", ".join(parts)


@group.command("once")
@click.option("--at", "at_text", metavar="ISO8601",
              help="The moment to act as of (default: now), e.g. 2026-12-07T09:00:00Z.")
def once(at_text: str | None):
    """Queue what is due at that moment, send everything due, and exit."""
    try:
        at = parse_moment("at", at_text) if at_text else clock.now()
    except ScopeError as error:
        raise click.BadParameter(error.message, param_hint="--at") from None
    click.echo(_step(at))


@group.command("run")
@click.option("--every", default=30, show_default=True, type=click.IntRange(1, 3600),
              help="Seconds between two rounds.")
def run(every: int):
    """Every few seconds: queue what is due, send what is due. Stops cleanly on SIGTERM or Ctrl-C,
    after the mail in hand (an interrupted batch is taken over when its claim runs out)."""
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    click.echo(f"notify: sending every {every} s (SIGTERM to stop)")
    while not stop.is_set():
        try:
            click.echo(_step(clock.now()))
        except Exception as error:  # the database or the mail server away: try again next round
            click.echo(f"notify: this round failed ({error.__class__.__name__}: {error}); trying again", err=True)
        stop.wait(every)


COMMANDS = (group,)
