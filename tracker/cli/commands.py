"""The `flask --app wsgi ...` commands of docs/INTERFACES.md, in groups: accounts, history, demo data.
Each one is a thin shell over a service."""
from __future__ import annotations

from flask import Flask

from tracker.cli import accounts, demo, history


def register_cli(app: Flask) -> None:
    for group in (accounts, history, demo):
        for command in group.COMMANDS:
            app.cli.add_command(command)
