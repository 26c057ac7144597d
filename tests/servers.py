"""Real gunicorn servers for the tests that need one: on 127.0.0.1, on the test database, bounded."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
