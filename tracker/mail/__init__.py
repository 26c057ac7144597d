"""Mail: the outbox's schedule (`schedule`), the mails themselves (`compose`, templates/mail/), and
the sender that delivers them (`sender`, through `transport`: SMTP, or .eml files with no MAIL_SERVER).

Services queue event mails in their own transaction (tracker/data/outbox.py); this package works out
the scheduled ones and sends everything. `flask --app wsgi notify run|once` drives it
(tracker/cli/notify.py); docs/NOTIFICATIONS.md explains the design and its failure modes.

Imports core, domain, data, reports and security; never tracker.web, tracker.services or tracker.cli.
"""
from __future__ import annotations

from flask import Flask

from tracker.mail.transport import mail


def init_app(app: Flask) -> None:
    mail.init_app(app)
