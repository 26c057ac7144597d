"""Handing a composed mail over: to the SMTP server through Flask-Mailman when MAIL_SERVER is set,
else as an .eml file under instance/mail/ (the embedded default: bin/serve shows its mails with no mail
server).

What the server answers decides what happens next: delivered; a temporary failure (no connection,
a timeout, a 4xx answer, or refused credentials, which an operator fixes) is tried again later; a
permanent one (any other 5xx answer) is given up, with the server's words kept as the reason.
"""
from __future__ import annotations

import os
import smtplib
import socket

from flask import current_app
from flask_mailman import EmailMultiAlternatives, Mail

from tracker.mail.compose import Composed

mail = Mail()


class Temporary(Exception):
    """Try again later."""


class Permanent(Exception):
    """Give up: the server refused this mail for good."""


def message_of(composed: Composed, kind: str) -> EmailMultiAlternatives:
    headers = {"Message-ID": composed.message_id, "Auto-Submitted": "auto-generated", "X-Tracker-Kind": kind}
    if composed.unsubscribe_url:
        headers["List-Unsubscribe"] = f"<{composed.unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message = EmailMultiAlternatives(subject=composed.subject, body=composed.body_text,
                                     from_email=current_app.config["MAIL_DEFAULT_SENDER"],
                                     to=[composed.to_address], headers=headers)
    message.attach_alternative(composed.body_html, "text/html")
    return message


def _code_reason(error: smtplib.SMTPResponseException) -> tuple[int, str]:
    words = error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) else str(
        error.smtp_error)
    return error.smtp_code, f"{error.smtp_code} {words}".strip()


def deliver(message: EmailMultiAlternatives, file_name: str) -> None:
    """Send it, or raise Temporary or Permanent with the reason."""
    if not current_app.config["MAIL_SERVER"]:
        _write_file(message, file_name)
        return
    try:
        connection = mail.get_connection(backend="smtp")
        connection.send_messages([message])
    except smtplib.SMTPAuthenticationError as error:
        raise Temporary(f"the mail server refused our credentials: {_code_reason(error)[1]}") from None
    except smtplib.SMTPRecipientsRefused as error:
        code, words = next(iter(error.recipients.values()))
        reason = f"{code} {words.decode('utf-8', 'replace') if isinstance(words, bytes) else words}"
        raise (Permanent if code >= 500 else Temporary)(f"recipient refused: {reason}") from None
    except smtplib.SMTPResponseException as error:
        code, reason = _code_reason(error)
        raise (Permanent if code >= 500 else Temporary)(reason) from None
    except (smtplib.SMTPException, OSError, socket.timeout) as error:
        raise Temporary(f"could not reach the mail server: {error.__class__.__name__}: {error}") from None


def _write_file(message: EmailMultiAlternatives, file_name: str) -> None:
    folder = current_app.config["MAIL_FILE_PATH"]
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, file_name)
    temporary = path + ".part"
    with open(temporary, "wb") as handle:
        handle.write(message.message().as_bytes())
    os.replace(temporary, path)
