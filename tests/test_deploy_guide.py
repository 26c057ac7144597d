"""docs/DEPLOY.md, followed word for word in a scratch directory on 127.0.0.1.

The guide's shell blocks are run as written: every ```sh block of the guide carries a marker on the
line above it, `<!-- guide-test: NAME -->` (run here, by name) or `<!-- guide-test: skip: why -->`
(needs root, systemd or nginx). test_every_shell_block_is_marked fails when a block has no marker or
the blocks run here are not exactly RUN, in that order, so the guide and this test cannot drift apart.

What the test changes, and only that (REPLACE, below, asserts each replaced text is still in its block):
- `/srv/tracker` is a scratch directory; the clone's source is this repository (its committed HEAD:
  a fresh `git clone`, so uncommitted changes are not in it); ports 8001/8002 are free ports.
- Between the `clone` and `install` blocks the clone gets a `.venv` of links to the virtual environment
  running this test when that one holds exactly these requirements (its bin/setup stamp matches), so
  `bin/setup` has nothing to install and the test takes about a minute; otherwise bin/setup installs.
- The environment file is filled in as the guide tells the operator to: DATABASE_URL names a fresh
  database deploy_<random> on 127.0.0.1:5432 (user postgres, dropped at the end, never `test`);
  REDIS_URL a Redis on 127.0.0.1:6379 when one answers, with a REDIS_KEY_PREFIX of its own;
  WEB_CONCURRENCY=2 to keep it light.
- A small demo marketplace is seeded after `migrate`, so backup and restore carry real rows.
- The app servers are not run under systemd: the unit's own ExecStart line, with its
  WorkingDirectory, Environment= and EnvironmentFile= (which wins, as in systemd), one process per port;
  its ExecReload is sent to one instance while it is polled; SIGTERM stops them as systemd does.
- Requests go straight to the instances with the headers nginx sets (Host, X-Forwarded-For,
  X-Forwarded-Proto: https), as deploy/nginx.conf would send them.

Skipped, with the reason, when no PostgreSQL answers on 127.0.0.1:5432 or this is not a git checkout.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import secrets
import shlex
import signal
import stat
import subprocess
import sys
import time
import urllib.parse
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from .helpers import redis_client
from .servers import ROOT, _free_port

GUIDE = Path(ROOT) / "docs" / "DEPLOY.md"
UNIT = Path(ROOT) / "deploy" / "tracker@.service"
BACKUP_UNIT = Path(ROOT) / "deploy" / "tracker-backup.service"
ENV_EXAMPLE = Path(ROOT) / "deploy" / "tracker.env.example"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SRV = "/srv/tracker"
REPOSITORY = "https://git.example.org/yours/tracker.git"
RESTORE_URL = "postgresql://tracker:THE-PASSWORD@127.0.0.1:5432/tracker_restored"
PASSWORD = "deploy-guide-password"
# The blocks this test runs, in the guide's order.
RUN = ["clone", "install", "environment", "migrate", "operator", "ready", "checks", "rollups", "backup", "restore"]
MARKER = re.compile(r"<!-- guide-test: (?:(skip): (\S.*)|([a-z-]+)) -->")


def guide_blocks() -> list[tuple[str, str]]:
    """(name or "skip", the block's text) for every ```sh block of the guide, in order."""
    lines = GUIDE.read_text().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if lines[i].strip() == "```sh":
            marker = MARKER.fullmatch(lines[i - 1].strip()) if i else None
            assert marker, f"docs/DEPLOY.md line {i + 1}: a ```sh block without a guide-test marker above it"
            end = lines.index("```", i + 1)
            blocks.append(("skip" if marker.group(1) else marker.group(3), "\n".join(lines[i + 1:end]) + "\n"))
            i = end
        elif lines[i].lstrip().startswith("```") and lines[i].strip() != "```":
            info = lines[i].strip()[3:]
            assert info not in ("bash", "shell", "console"), (
                f"docs/DEPLOY.md line {i + 1}: commands go in ```sh blocks, with a guide-test marker")
            i = lines.index("```", i + 1)
        i += 1
    return blocks


def test_every_shell_block_is_marked_and_the_run_list_matches_the_guide():
    blocks = guide_blocks()
    assert [name for name, _ in blocks if name != "skip"] == RUN
    assert sum(name == "skip" for name, _ in blocks) >= 5  # root steps: packages, units, nginx, timer


def _variables_read(path: Path) -> set[str]:
    text = path.read_text()
    return set(re.findall(r"""(?:environ|env)\.get\(\s*["']([A-Z][A-Z0-9_]*)["']""", text)) | set(
        re.findall(r"""environ\[\s*["']([A-Z][A-Z0-9_]*)["']\s*\]""", text))


def test_the_environment_example_names_every_setting():
    """Every variable the app or gunicorn.conf.py reads is in deploy/tracker.env.example, set or shown
    commented out with a comment above it; PORT and BIND come from the unit, one per instance."""
    example = ENV_EXAMPLE.read_text()
    named = set(re.findall(r"^#?\s?([A-Z][A-Z0-9_]*)=", example, re.M))
    read = _variables_read(Path(ROOT) / "tracker" / "core" / "config.py") | _variables_read(
        Path(ROOT) / "gunicorn.conf.py")
    missing = read - named - {"PORT", "BIND"}
    assert not missing, f"deploy/tracker.env.example does not describe {sorted(missing)}"
    assert not re.search(r"^(PORT|BIND)=", example, re.M)
    for line in example.splitlines():  # systemd reads a trailing "# ..." as part of the value
        assert line.startswith("#") or not line.strip() or re.fullmatch(r"[A-Z][A-Z0-9_]*=\S*", line), line


# --- following the guide -------------------------------------------------------------------------------

def _admin():
    try:
        import psycopg
        return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as error:  # noqa: BLE001 - any failure to connect means: no server to use
        pytest.skip(f"no PostgreSQL answers as {ADMIN_URL}: {error}")


def _drop_databases(admin, *names: str) -> None:
    """Drop the test's databases, on a new connection if the server dropped ours meanwhile."""
    import psycopg
    for attempt in range(3):
        try:
            if admin.closed or attempt:
                admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()
            return
        except psycopg.OperationalError:
            time.sleep(2)


def _redis_answers() -> bool:
    return redis_client("redis://127.0.0.1:6379/0") is not None


def _clean_environment() -> dict[str, str]:
    """This process's environment without any setting the guide's file is meant to provide."""
    drop = set(re.findall(r"^#?\s?([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.M)) | {
        "PORT", "BIND", "FLASK_APP", "VIRTUAL_ENV", "PYTHONPATH", "TEST_DATABASE_URL", "XDG_RUNTIME_DIR",
        "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSERVICE", "NOTIFY_SOCKET"}
    return {k: v for k, v in os.environ.items() if k not in drop}


def _environment_file(path: Path) -> dict[str, str]:
    """As systemd reads EnvironmentFile=: NAME=value lines; # and ; start comments."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";")):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def _unit(path: Path) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def _venv_stamp_matches(clone: Path) -> str | None:
    """The digest bin/setup would write, when the venv running this test was installed from it."""
    if sys.prefix == sys.base_prefix:
        return None
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(clone.glob("requirements*.txt")))).hexdigest()
    stamps = [Path(sys.prefix) / f".installed-{name}" for name in ("requirements.txt", "requirements-dev.txt")]
    if any(s.is_file() and s.read_text().strip() == digest for s in stamps):
        return digest
    return None


class Guide:
    """Runs the guide's blocks by name, with the scratch directory's replacements."""

    def __init__(self, tmp_path: Path, replace: dict[str, str]):
        self.blocks = {name: text for name, text in guide_blocks() if name != "skip"}
        self.tmp_path = tmp_path
        self.replace = replace
        self.env = _clean_environment()

    def text(self, name: str, extra: dict[str, str] | None = None) -> str:
        text = self.blocks[name]
        for old, new in (extra or {}).items():
            assert old in text, f"the guide's {name!r} block no longer contains {old!r}"
            text = text.replace(old, new)
        for old, new in self.replace.items():
            text = text.replace(old, new)
        return text

    def run(self, name: str, extra: dict[str, str] | None = None, stdin: str = "", timeout: float = 300):
        script = self.text(name, extra)
        result = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script], cwd=self.tmp_path, env=self.env, input=stdin,
            capture_output=True, text=True, timeout=timeout,
            start_new_session=True)  # no controlling terminal: a password prompt reads stdin
        assert result.returncode == 0, (
            f"the guide's {name!r} block failed ({result.returncode}):\n{script}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}")
        return result.stdout


class Instance:
    """One app server as the systemd unit starts it: its ExecStart, in its WorkingDirectory, with its
    Environment= and then its EnvironmentFile= (which wins, as in systemd)."""

    def __init__(self, srv: Path, port: int, base_env: dict[str, str], **override: str):
        unit = _unit(UNIT)

        def local(value: str) -> str:
            return value.replace("%i", str(port)).replace(SRV, str(srv)).replace("/run/", f"{srv}/run/")

        env = dict(base_env)
        for assignment in unit.get("Environment", []):
            name, _, value = local(assignment).partition("=")
            env[name] = value
        for directory in unit.get("RuntimeDirectory", []):
            (srv / "run" / local(directory)).mkdir(parents=True, exist_ok=True, mode=0o755)
        (env_file,) = unit["EnvironmentFile"]
        env.update(_environment_file(Path(local(env_file))), **override)
        (exec_start,) = unit["ExecStart"]
        (self.exec_reload,) = unit["ExecReload"]
        self.port = port
        self.base = f"127.0.0.1:{port}"
        self.log_path = srv / f"instance-{port}.log"
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(shlex.split(local(exec_start)), cwd=local(unit["WorkingDirectory"][0]),
                                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_answering(self, seconds: float = 60) -> None:
        """Liveness: the process answers HTTP at all (a redirect counts)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"gunicorn exited:\n{self.log_path.read_text()}"
            try:
                if request(self.base, "GET", "/healthz", proxied=False)[0]:
                    return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"{self.base} does not answer after {seconds} s:\n{self.log_path.read_text()}")

    def reload(self) -> None:
        """The unit's ExecReload, $MAINPID being this instance's gunicorn."""
        command = shlex.split(self.exec_reload.replace("$MAINPID", str(self.process.pid)))
        subprocess.run(command, check=True, timeout=10)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
            return -9


def request(base: str, method: str, path: str, body: dict | None = None, cookies: dict | None = None,
            headers: dict | None = None, proxied: bool = True):
    """One request, not following redirects; proxied: with the headers deploy/nginx.conf sets."""
    host, port = base.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    sent = dict(headers or {})
    if proxied:
        sent.update({"Host": "tracker.example.org", "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
    if cookies:
        sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    data = None
    if body is not None:
        data = urllib.parse.urlencode(body)
        sent["Content-Type"] = "application/x-www-form-urlencoded"
        if proxied:  # as a browser does; Flask-WTF checks the referrer of a form posted over HTTPS
            sent.setdefault("Referer", "https://tracker.example.org" + path)
    try:
        connection.request(method, path, data, sent)
        response = connection.getresponse()
        text = response.read().decode(errors="replace")
        for header in response.msg.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            if cookies is not None:
                cookies[name.strip()] = rest.split(";")[0]
        return response.status, text, response
    finally:
        connection.close()


def login(base: str, email: str, password: str) -> dict:
    cookies: dict[str, str] = {}
    status, page, _ = request(base, "GET", "/login", cookies=cookies)
    assert status == 200, (status, page[:300])
    token = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page).group(1)
    status, page, response = request(base, "POST", "/login", {"email": email, "password": password,
                                                              "csrf_token": token}, cookies=cookies)
    assert status in (302, 303), (status, page[:500])
    return cookies


def test_the_deploy_guide_word_for_word(tmp_path):
    if subprocess.run(["git", "-C", ROOT, "rev-parse", "--git-dir"], capture_output=True).returncode:
        pytest.skip("not a git checkout: the guide starts with git clone")
    admin = _admin()
    name = f"deploy_{secrets.token_hex(4)}"
    restored = f"{name}_restored"
    assert name != "test"
    srv = tmp_path / "srv"
    srv.mkdir()
    ports = [_free_port(), _free_port()]
    while ports[1] == ports[0]:
        ports[1] = _free_port()
    guide = Guide(srv, {SRV: str(srv), "8001": str(ports[0]), "8002": str(ports[1])})
    clone = srv / "app"
    redis_url = "redis://127.0.0.1:6379/13" if _redis_answers() else ""
    instances: list[Instance] = []
    admin.execute(f'CREATE DATABASE "{name}"')
    admin.execute(f'CREATE DATABASE "{restored}"')
    try:
        # 2. Install: a fresh clone, and bin/setup.
        guide.run("clone", {REPOSITORY: ROOT})
        digest = _venv_stamp_matches(clone)
        if digest:
            venv = clone / ".venv"
            venv.mkdir()
            for part in ("bin", "lib", "lib64", "include", "pyvenv.cfg"):
                if (Path(sys.prefix) / part).exists():
                    (venv / part).symlink_to(Path(sys.prefix) / part)
            (venv / ".installed-requirements.txt").write_text(digest + "\n")
        guide.run("install", timeout=600)
        assert (clone / ".venv" / "bin" / "gunicorn").exists()

        # 3. The environment file: private, a fresh random key, then filled in as the guide says.
        guide.run("environment")
        env_file = srv / "tracker.env"
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        text = env_file.read_text()
        assert re.search(r"^SECRET_KEY=[0-9a-f]{64}$", text, re.M), "the environment block sets a random key"
        filled = {"DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{name}", "REDIS_URL": redis_url,
                  "REDIS_KEY_PREFIX": f"{name}:", "WEB_CONCURRENCY": "2"}
        for variable, value in filled.items():
            text, count = re.subn(rf"^{variable}=.*$", f"{variable}={value}", text, flags=re.M)
            assert count == 1, f"deploy/tracker.env.example has no {variable}= line to fill in"
        env_file.write_text(text)
        settings = _environment_file(env_file)
        assert settings["TRACKER_ENV"] == "production" and settings["TRUSTED_PROXIES"] == "1"

        # 4. Schema, then (the test's own step) a small demo marketplace, then the operator and a token.
        guide.run("migrate")
        seeded = subprocess.run(
            ["bash", "-e", "-c", f"cd {clone}; set -a; . {env_file}; set +a; "
                                 ".venv/bin/flask --app wsgi seed-demo --mentorships 40"],
            env=guide.env, capture_output=True, text=True, timeout=300)
        assert seeded.returncode == 0, seeded.stderr
        output = guide.run("operator", stdin=f"{PASSWORD}\n{PASSWORD}\n")
        assert "Created operator ops@example.org" in output
        token = output.strip().splitlines()[-1]

        # 5. Two app servers, as the unit starts them; both ready.
        instances += [Instance(srv, port, guide.env) for port in ports]
        for instance in instances:
            instance.wait_answering()
        ready_output = guide.run("ready")
        one, two = (i.base for i in instances)
        readiness = {}
        for base in (one, two):
            status, body, _ = request(base, "GET", "/readyz", proxied=False)
            readiness[base] = (status, body)

        # A login made on one instance is a session on the other (same SECRET_KEY, through "nginx").
        cookies = login(one, "ops@example.org", PASSWORD)
        status, page, _ = request(two, "GET", "/ops/", cookies=cookies)
        assert status == 200, (status, page[:300])
        assert request(two, "GET", "/ops/")[0] in (302, 303, 401)  # and without the cookie, no way in
        # The token printed by create-token works on the API.
        today = datetime.now(timezone.utc).date()
        query = f"/api/v1/metrics?from={today - timedelta(days=365)}&to={today}&as_of={today}"
        auth = {"Authorization": f"Bearer {token}"}
        status, live_metrics, _ = request(two, "GET", query, headers=auth)
        assert status == 200, live_metrics[:300]

        # 8. Reload with the unit's ExecReload (SIGHUP) while the instance is polled: every request answered.
        log_before = instances[0].log_path.read_text()
        instances[0].reload()
        answers, deadline = [], time.monotonic() + 4
        while time.monotonic() < deadline:
            answers.append(request(one, "GET", "/login")[0])
            time.sleep(0.02)
        assert answers and all(s == 200 for s in answers), sorted(set(answers))
        log_after = instances[0].log_path.read_text()[len(log_before):]
        assert "Booting worker" in log_after, log_after[-2000:]

        # 7. The checks after a deploy.
        checks_output = guide.run("checks")
        rollups_output = guide.run("rollups")
        assert "The rollups match the raw rows." in rollups_output
        assert rollups_output.strip().endswith("Warmed: counts by status."), rollups_output

        # 10. A backup: a non-empty, private custom-format dump, listed under its final name only.
        backup_output = guide.run("backup")
        dump = Path(backup_output.strip().splitlines()[-1])
        backups = srv / "backups"
        assert dump.parent == backups and dump.name.startswith("tracker-") and dump.suffix == ".dump"
        assert dump.stat().st_size > 0 and dump.read_bytes()[:5] == b"PGDMP"
        assert stat.S_IMODE(dump.stat().st_mode) == 0o600
        assert stat.S_IMODE(backups.stat().st_mode) == 0o700
        assert sorted(p.name for p in backups.iterdir()) == [dump.name]

        # A failing backup exits non-zero, says why, and leaves no file at all; so does one without a URL.
        failed_dir = srv / "failed-backups"
        for url, message in ((f"postgresql://postgres@127.0.0.1:5432/{name}_missing", "pg_dump failed"),
                             (None, "DATABASE_URL is not set")):
            env = dict(guide.env, **({"DATABASE_URL": url} if url else {}))
            failed = subprocess.run([str(clone / "bin" / "backup"), str(failed_dir)], env=env,
                                    capture_output=True, text=True, timeout=120)
            assert failed.returncode != 0 and message in failed.stderr, (failed.returncode, failed.stderr)
            assert not failed_dir.exists() or not list(failed_dir.iterdir()), list(failed_dir.iterdir())

        # Restore into another fresh database: the same rows per table, and the same API answers.
        restored_url = f"postgresql://postgres@127.0.0.1:5432/{restored}"
        restore_output = guide.run("restore", {RESTORE_URL: restored_url})
        live_counts = subprocess.run(
            ["bash", "-e", "-c", f"cd {clone}; set -a; . {env_file}; set +a; "
                                 ".venv/bin/python bin/database-target --row-counts"],
            env=guide.env, capture_output=True, text=True, timeout=120, check=True).stdout.split("\n")
        counts = [line for line in live_counts if line]
        assert counts and all(line in restore_output.splitlines() for line in counts), (counts, restore_output)
        assert any(re.fullmatch(r"mentorships [1-9]\d*", line) for line in counts)
        third = Instance(srv, _free_port(), guide.env, DATABASE_URL=restored_url, WEB_CONCURRENCY="1")
        instances.append(third)
        third.wait_answering()
        status, restored_metrics, _ = request(third.base, "GET", query, headers=auth)
        assert status == 200 and json.loads(restored_metrics) == json.loads(live_metrics)

        # Readiness, as the contract says (checked last, so one run reports everything else too).
        for base, (status, body) in readiness.items():
            assert status == 200, f"GET http://{base}/readyz answered {status}: {body[:200]}"
            answer = json.loads(body)
            assert answer["status"] == "ready" and answer["checks"]["database"] == "ok", answer
            assert answer["checks"]["redis"] == ("ok" if redis_url else "not configured"), answer
        assert ready_output.count('"ready"') == 2, ready_output
        assert checks_output.count('"ready"') == 2 and checks_output.strip().endswith("200"), checks_output
    finally:
        codes = [instance.stop() for instance in instances]
        logs = "\n".join(i.log_path.read_text() for i in instances if i.log_path.exists())
        _drop_databases(admin, name, restored)
        if redis_url:
            import redis
            client = redis.Redis.from_url(redis_url)
            for key in client.scan_iter(f"{name}:*"):
                client.delete(key)
    assert codes == [0] * len(codes), (codes, logs[-3000:])
    assert "Traceback" not in logs, logs[-3000:]


def test_sqlite_backup_is_private_fails_leaving_nothing_and_restores(tmp_path):
    """bin/backup and bin/restore on SQLite, with no server needed (the PostgreSQL path is followed above)."""
    import sqlite3

    source = tmp_path / "live.sqlite"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT)")
        conn.executemany("INSERT INTO things (name) VALUES (?)", [(f"thing {n}",) for n in range(50)])
    conn.close()
    env = dict(_clean_environment(), DATABASE_URL=f"sqlite:///{source}")
    backups = tmp_path / "backups"
    made = subprocess.run([os.path.join(ROOT, "bin", "backup"), str(backups)], env=env, capture_output=True,
                          text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    copy = Path(made.stdout.strip())
    assert copy.parent == backups and copy.suffix == ".sqlite" and copy.read_bytes()[:15] == b"SQLite format 3"
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600 and stat.S_IMODE(backups.stat().st_mode) == 0o700

    failed_dir = tmp_path / "failed"
    failed = subprocess.run([os.path.join(ROOT, "bin", "backup"), str(failed_dir)],
                            env=dict(env, DATABASE_URL=f"sqlite:///{tmp_path}/missing.sqlite"),
                            capture_output=True, text=True, timeout=60)
    assert failed.returncode != 0 and "no SQLite database" in failed.stderr
    assert not failed_dir.exists() or not list(failed_dir.iterdir())

    target = tmp_path / "restored.sqlite"
    restore_env = dict(env, DATABASE_URL=f"sqlite:///{target}")
    restored = subprocess.run([os.path.join(ROOT, "bin", "restore"), str(copy)], env=restore_env,
                              capture_output=True, text=True, timeout=60)
    assert restored.returncode == 0, restored.stderr
    assert "things 50" in restored.stdout.splitlines()
    again = subprocess.run([os.path.join(ROOT, "bin", "restore"), str(copy)], env=restore_env,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode != 0 and "exists" in again.stderr  # never over existing data
