"""The `flask --app wsgi ...` commands of docs/INTERFACES.md, in groups: accounts, history, demo data,
moving a database, the rollups. Each one is a thin shell over a service; every `--help` points to the contract."""
from __future__ import annotations

from flask import Flask

from tracker.cli import accounts, data_rights, database, demo, history, notify, rollups, themes

CONTRACT = "The command-line contract: docs/INTERFACES.md."


def register_cli(app: Flask) -> None:
    for group in (accounts, history, demo, database, rollups, notify, data_rights, themes):
        for command in group.COMMANDS:
            command.epilog = CONTRACT
            app.cli.add_command(command)
