"""Real servers for the tests that need one, on 127.0.0.1: gunicorn on the test database (bounded), and
an SMTP server (aiosmtpd) that keeps what it receives."""
from __future__ import annotations

import email
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from contextlib import contextmanager
from email import policy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """What the SMTP server received; `answer` set to e.g. "451 ..." refuses every recipient so."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.answer: str | None = None
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.answer:
            return self.answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def kinds(self) -> Counter:
        """(recipient, kind of mail) of every message, counted."""
        return Counter((m["To"].addresses[0].addr_spec, m["X-Tracker-Kind"]) for m in self.messages)


class SMTPServer:
    """An SMTP server on a free port of 127.0.0.1 that can be stopped and started again (the same port)."""

    def __init__(self):
        self.port = _free_port()
        self.inbox = Inbox()
        self.controller = None

    def start(self):
        # Imported here: bin/bench runs this module's gunicorn helpers with only requirements.txt installed.
        from aiosmtpd.controller import Controller

        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@contextmanager
def gunicorn(database_url: str, tmp_path, workers: int = 4, wsgi_app: str = "wsgi:app", **env_extra):
    """`wsgi_app` is what gunicorn serves: the real `wsgi:app`, or a test module that wraps it."""
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY="s" * 40, **env_extra)
    log_path = tmp_path / f"gunicorn-{port}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
             "--timeout", "30", "--graceful-timeout", "5", wsgi_app],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, 30, process)
        yield base, process, log_path
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def wait_healthy(base: str, seconds: float, process=None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError("gunicorn exited")
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{base} not healthy after {seconds} s")




def skip_unless_postgresql(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        import pytest
        pytest.skip("runs with TEST_DATABASE_URL on PostgreSQL (CI's second pass)")
