"""gunicorn.conf.py under real gunicorn on 127.0.0.1: each instance has its own control socket, the
database pool is sized from the instance's connection budget, and access log lines are JSON."""
from __future__ import annotations

import gc
import json
import os
import runpy
import socket
import urllib.request

from .servers import ROOT, gunicorn

CONF = runpy.run_path(os.path.join(ROOT, "gunicorn.conf.py"))


def test_a_worker_freezes_the_app_it_loaded_out_of_the_garbage_collector():
    gc.unfreeze()
    try:
        CONF["post_worker_init"](None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def _answers(path) -> bool:
    with socket.socket(socket.AF_UNIX) as s:
        try:
            s.connect(str(path))
            return True
        except OSError:
            return False


def test_two_instances_keep_their_own_control_sockets(database_url, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    env = {"XDG_RUNTIME_DIR": str(run)}  # where gunicorn's shared default, gunicorn.ctl, would be
    with gunicorn(database_url, tmp_path, workers=1, **env) as (one, _, _log):
        with gunicorn(database_url, tmp_path, workers=1, **env) as (two, _, _log2):
            sockets = sorted(p.name for p in run.iterdir())
            ports = [base.rsplit(":", 1)[1] for base in (one, two)]
            assert sockets == sorted(f"tracker-127.0.0.1-{port}.ctl" for port in ports)
        # The second instance stopped: its socket is gone, the first one's is still there and answers.
        assert [p.name for p in run.iterdir()] == [f"tracker-127.0.0.1-{ports[0]}.ctl"]
        assert _answers(run / f"tracker-127.0.0.1-{ports[0]}.ctl")
    assert not (run / "gunicorn.ctl").exists()


def test_the_control_socket_can_be_named_or_turned_off(database_url, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    named = tmp_path / "mine.ctl"
    with gunicorn(database_url, tmp_path, workers=1, XDG_RUNTIME_DIR=str(run), GUNICORN_CONTROL_SOCKET=str(named)):
        assert _answers(named) and list(run.iterdir()) == []
    with gunicorn(database_url, tmp_path, workers=1, XDG_RUNTIME_DIR=str(run), GUNICORN_CONTROL_SOCKET="off"):
        assert list(run.iterdir()) == []


def test_access_log_lines_are_json_whatever_the_request_holds(database_url, tmp_path):
    access_log = tmp_path / "access.log"
    with gunicorn(database_url, tmp_path, workers=1, GUNICORN_ACCESS_LOG=str(access_log),
                  XDG_RUNTIME_DIR=str(tmp_path)) as (base, _, log_path):
        nasty = 'agent "quoted" \\ back\tslash \\'
        request = urllib.request.Request(base + '/healthz?q="x\\', headers={"User-Agent": nasty})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
        urllib.request.urlopen(base + "/healthz", timeout=5).close()
        server_log = log_path.read_text()
    lines = [json.loads(line) for line in access_log.read_text().splitlines()]
    asked = [line for line in lines if line["user_agent"] == nasty]
    assert len(asked) == 1 and asked[0]["status"] == 200 and asked[0]["path"] == "/healthz"
    assert asked[0]["query"] == 'q="x\\' and asked[0]["method"] == "GET"
    assert all(isinstance(line["duration_ms"], int) for line in lines)
    assert "1 workers x (pool 20 + overflow 0) = 20, budget 20" in server_log


def test_the_pool_is_the_budget_shared_by_the_workers():
    assert CONF["pool_per_worker"](20, 5) == 4
    assert CONF["pool_per_worker"](20, 3) == 6
    assert CONF["pool_per_worker"](2, 5) == 1  # never 0, which SQLAlchemy reads as "no limit"
    assert CONF["control_socket_path"]("0.0.0.0:8001", "/run/x") == "/run/x/tracker-0.0.0.0-8001.ctl"
    assert CONF["control_socket_path"]("unix:/run/app.sock", "/r") == "/r/tracker-run-app.sock.ctl"
