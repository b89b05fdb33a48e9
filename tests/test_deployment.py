"""Several app servers behave as one: two gunicorn masters started with the command of
deploy/cbassess.service and the settings of deploy/cbassess.env, on one PostgreSQL and one
Redis that the test starts on loopback, behind nginx with deploy/nginx.conf.

Everything here is a real process talking TCP on 127.0.0.1; every server is stopped at the
end. docs/DEPLOYMENT.md describes the same files.
"""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from cbassess import PROJECT_ROOT
from tests.reliability_helpers import (
    VENV_BIN,
    HttpUser,
    Server,
    edit_revisions,
    history_is_complete,
    in_history,
    prepare_database,
    version_in,
)
from tests.services import RedisServer, free_port

pytestmark = [pytest.mark.postgresql_only, pytest.mark.slow]

DEPLOY = PROJECT_ROOT / "deploy"
LOGIN_LIMIT = 10  # the default LOGIN_LIMITS: 10 per minute (and 50 per hour)


def unit_command(unit: Path) -> list[str]:
    """The ExecStart of a systemd unit, with the install path replaced by this checkout's
    virtualenv and any --bind left to the caller."""
    for line in unit.read_text().splitlines():
        if line.startswith("ExecStart="):
            argv = shlex.split(line.removeprefix("ExecStart="))
            break
    else:
        raise AssertionError(f"{unit} has no ExecStart")
    argv[0] = str(VENV_BIN / Path(argv[0]).name)
    if "--bind" in argv:
        at = argv.index("--bind")
        del argv[at:at + 2]
    return argv


def env_file_settings(path: Path) -> dict[str, str]:
    """The CBASSESS_* names of deploy/cbassess.env (without the prefix) and their values."""
    settings = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            settings[name.removeprefix("CBASSESS_")] = value
    return settings


@pytest.fixture(scope="module")
def redis():
    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, databases, redis):
    """Two app servers as deployed: same secret key, same database, same Redis."""
    database = databases.seeded()
    assessment_id, keys = prepare_database(database)
    settings = env_file_settings(DEPLOY / "cbassess.env")
    settings.update(SECRET_KEY=secrets.token_hex(32), SQLALCHEMY_DATABASE_URI=database,
                    RATELIMIT_STORAGE_URI=redis.url, RATELIMIT_ENABLED="true")
    command = unit_command(DEPLOY / "cbassess.service")
    servers = []
    try:
        for name in ("a", "b"):
            servers.append(Server(database, tmp_path_factory.mktemp(f"server-{name}"),
                                  argv=command, **settings))
        yield {"servers": servers, "database": database, "assessment": assessment_id,
               "keys": keys, "redis": redis}
    finally:
        for server in servers:
            server.stop()


def _forget_sign_in_counts(server: RedisServer) -> None:
    """Each test starts with no sign-in attempts counted (they are all from 127.0.0.1)."""
    import redis

    client = redis.Redis.from_url(server.url)
    client.flushall()
    client.close()


class OneUserTwoServers(HttpUser):
    """One browser whose requests a load balancer sends to either server."""

    def on(self, server: Server) -> OneUserTwoServers:
        self.port = server.port
        return self


def test_the_servers_run_the_shipped_unit_command(deployment):
    command = unit_command(DEPLOY / "cbassess.service")
    assert command[1:3] == ["-c", "cbassess/gunicorn.conf.py"]
    assert command[-1] == "cbassess:create_app()"
    for server in deployment["servers"]:
        assert server.process.poll() is None, server.log_text()


def test_a_session_made_on_one_server_is_valid_on_the_other(deployment):
    a, b = deployment["servers"]
    _forget_sign_in_counts(deployment["redis"])
    user = OneUserTwoServers(a.port)
    user.login("resp-a@example.org")
    status, page = user.on(b).request("GET", f"/assessments/{deployment['assessment']}")
    assert status == 200 and "Resp A" in page
    # The CSRF token handed out by one server is accepted by the other.
    status, reply = user.autosave(deployment["assessment"], "PW.1", 2, "saved through b")
    assert status == 200, reply


def test_saves_alternating_between_servers_keep_every_write_and_detect_conflicts(deployment):
    a, b = deployment["servers"]
    _forget_sign_in_counts(deployment["redis"])
    assessment = deployment["assessment"]
    first, second = OneUserTwoServers(a.port), OneUserTwoServers(b.port)
    first.login("resp-a@example.org")
    second.login("resp-a2@example.org")
    acknowledged, versions = [], {}
    for n in range(40):
        key = deployment["keys"][5 + n % 6]
        server = (a, b)[n % 2]
        evidence = f"alternating save {n}"
        status, reply = first.on(server).autosave(assessment, key, n % 5, evidence,
                                                  versions.get(key))
        assert status == 200, reply
        versions[key] = version_in(reply, key)
        acknowledged.append(_Save(key, n % 5, evidence, versions[key]))
    # A colleague on the other server, from a page older than the last save: a conflict.
    key = deployment["keys"][5]
    stale = versions[key] - 1
    status, reply = second.on(b if acknowledged[-1].key == key else a).autosave(
        assessment, key, 1, "from an older page", stale)
    assert status == 409, reply
    revisions = edit_revisions(deployment["database"])
    assert [s for s in acknowledged if not in_history(s, revisions)] == []
    assert history_is_complete(deployment["database"]) == []


class _Save:
    def __init__(self, key: str, level: int, evidence: str, version: int | None) -> None:
        self.key, self.level, self.evidence, self.version = key, level, evidence, version


def test_the_sign_in_limit_is_counted_once_across_both_servers(deployment):
    a, b = deployment["servers"]
    _forget_sign_in_counts(deployment["redis"])
    try:
        statuses = []
        for n in range(LOGIN_LIMIT):
            user = HttpUser((a, b)[n % 2].port)
            statuses.append(_wrong_sign_in(user, "resp-b@example.org"))
        assert statuses == [401] * LOGIN_LIMIT
        for server in (a, b):  # the next attempt is refused on either, right password or not
            user = HttpUser(server.port)
            assert _wrong_sign_in(user, "resp-b@example.org", "correct-horse-battery") == 429
    finally:
        _forget_sign_in_counts(deployment["redis"])


def _wrong_sign_in(user: HttpUser, email: str, password: str = "wrong-password-123") -> int:
    from tests.conftest import csrf_from

    _, page = user.request("GET", "/login")
    status, _ = user.request("POST", "/login", {"email": email, "password": password,
                                                 "csrf_token": csrf_from(page)})
    return status


def test_killing_one_server_mid_burst_loses_nothing_acknowledged(deployment, tmp_path):
    a, b = deployment["servers"]
    _forget_sign_in_counts(deployment["redis"])
    assessment = deployment["assessment"]
    acknowledged: list[_Save] = []
    lock = threading.Lock()
    stop = threading.Event()
    failures: list[str] = []

    def burst(email: str, keys: list[str], label: str) -> None:
        """Send to a, then to b once a stops answering (a load balancer's failover)."""
        user = OneUserTwoServers(a.port)
        user.login(email)
        versions: dict[str, int] = {}
        n = 0
        while not stop.is_set():
            key = keys[n % len(keys)]
            evidence = f"kill burst {label} {n}"
            try:
                status, reply = user.autosave(assessment, key, n % 5, evidence,
                                              versions.get(key))
            except OSError:
                user.on(b)  # connection refused or cut: the balancer moves to b
                continue
            if status == 409:  # an unacknowledged save may have landed: re-read and go on
                versions[key] = version_in(reply, key)
                continue
            if status != 200:
                failures.append(f"{status}: {reply[:200]}")
                return
            versions[key] = version_in(reply, key)
            with lock:
                acknowledged.append(_Save(key, n % 5, evidence, versions[key]))
            n += 1

    keys = deployment["keys"][12:]
    threads = [threading.Thread(target=burst, args=(
        "resp-a@example.org" if n % 2 else "resp-a2@example.org", keys[n::4], str(n)))
        for n in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    a.kill()
    after_kill = len(acknowledged)
    while len(acknowledged) < after_kill + 40 and time.monotonic() < deadline + 60:
        time.sleep(0.01)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert after_kill >= 40 and len(acknowledged) >= after_kill + 40  # b carried on
    revisions = edit_revisions(deployment["database"])
    assert [s.evidence for s in acknowledged if not in_history(s, revisions)] == []
    assert history_is_complete(deployment["database"]) == []


# --- nginx in front -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def nginx(tmp_path_factory, deployment):
    """nginx with deploy/nginx.conf (its upstream pointed at server b), on a free port."""
    executable = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(executable).exists():
        pytest.fail("nginx is not installed (scripts/system-deps.sh test installs it)")
    prefix = tmp_path_factory.mktemp("nginx")
    port = free_port()
    site = (DEPLOY / "nginx.conf").read_text()
    site = site.replace("server 127.0.0.1:8000;",
                        f"server 127.0.0.1:{deployment['servers'][1].port};")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};")
    (prefix / "site.conf").write_text(site)
    user = "user root;" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(f"""
{user}
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/site.conf;
}}
""")
    check = subprocess.run([executable, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen([executable, "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
                                "-g", "daemon off;"], stderr=subprocess.DEVNULL)
    try:
        from tests.services import _wait_for_port

        _wait_for_port(port, process, "nginx")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_app_works_through_nginx(nginx, deployment):
    _forget_sign_in_counts(deployment["redis"])
    user = HttpUser(nginx)
    status, _ = user.request("GET", "/healthz")
    assert status == 200
    user.login("resp-a@example.org")
    status, reply = user.autosave(deployment["assessment"], "HD.1", 3, "through nginx")
    assert status == 200, reply


def test_behind_nginx_a_client_cannot_choose_its_address_for_the_sign_in_limit(nginx,
                                                                              deployment):
    """nginx replaces X-Forwarded-For with the connection's address, and the app believes
    that one proxy (TRUSTED_PROXIES=1): a client sending its own header is counted as
    itself."""
    _forget_sign_in_counts(deployment["redis"])
    try:
        emails = [f"nobody-{n}@example.org" for n in range(LOGIN_LIMIT)]
        for n, email in enumerate(emails):
            user = HttpUser(nginx)
            status = _spoofed_sign_in(user, email, f"203.0.113.{n}")
            assert status == 401
        assert _spoofed_sign_in(HttpUser(nginx), "fac-a@example.org", "198.51.100.1",
                                "correct-horse-battery") == 429
    finally:
        _forget_sign_in_counts(deployment["redis"])


def _spoofed_sign_in(user: HttpUser, email: str, claimed: str,
                     password: str = "wrong-password-123") -> int:
    from tests.conftest import csrf_from

    headers = {"X-Forwarded-For": claimed}
    _, page = user.request("GET", "/login", headers=headers)
    status, _ = user.request("POST", "/login", {"email": email, "password": password,
                                                 "csrf_token": csrf_from(page)}, headers)
    return status


# --- docs/DEPLOYMENT.md, command by command ----------------------------------------------

GUIDE = PROJECT_ROOT / "docs" / "DEPLOYMENT.md"
# Steps of the operating system that a test machine without systemd cannot run.
HOST_ONLY = ("apt-get ", "adduser ", "cp deploy/", "systemctl ", "nginx -t && systemctl")


def guide_commands() -> list[str]:
    """Every command line in the guide's ```sh blocks."""
    commands, inside = [], False
    for line in GUIDE.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            inside = stripped == "```sh"
            continue
        if inside and stripped and not stripped.startswith("#"):
            commands.append(stripped)
    return commands


def guide_command(prefix: str) -> str:
    [command] = [c for c in guide_commands() if c.startswith(prefix)]
    return command


EXERCISED = {
    # by test_the_guides_database_setup_upgrade_backup_and_restore below
    "sudo -u postgres psql", "set -a && . /etc/cbassess/cbassess.env && set +a",
    ".venv/bin/flask --app cbassess init-db", ".venv/bin/flask --app cbassess create-user",
    ".venv/bin/flask --app cbassess restore", ".venv/bin/flask --app cbassess db upgrade",
    # by make test itself (the Makefile installs with it)
    "cd /srv/cbassess && scripts/install.sh",
}


def test_every_command_of_the_guide_is_run_by_a_test_or_is_host_only():
    for command in guide_commands():
        assert command.startswith(HOST_ONLY) or command.startswith(tuple(EXERCISED)), command
    for prefix in EXERCISED:
        assert any(c.startswith(prefix) for c in guide_commands()), f"{prefix} left the guide"


def test_the_guides_database_setup_upgrade_backup_and_restore(postgres, tmp_path):
    """Step 4 to 7 and the upgrade, on the test's PostgreSQL, as the guide writes them: the
    role and database (no superuser), init-db and the first administrator with the settings
    file loaded, the nightly backup unit's command, restore, db upgrade."""
    create = shlex.split(guide_command("sudo -u postgres psql"))[3:]  # psql -c … -c …
    subprocess.run([*create, postgres.url(driver="postgresql")], check=True,
                   capture_output=True)
    url = f"postgresql+psycopg://cbassess:change-me@127.0.0.1:{postgres.port}/cbassess"
    settings = env_file_settings(DEPLOY / "cbassess.env")
    settings.update(SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=secrets.token_hex(32),
                    RATELIMIT_STORAGE_URI="memory://")
    env = dict(os.environ, CBASSESS_INSTANCE_PATH=str(tmp_path / "instance"),
               **{f"CBASSESS_{name}": value for name, value in settings.items()})

    def run(command: str, stdin: str = "") -> str:
        argv = shlex.split(command)
        argv[0] = str(VENV_BIN / Path(argv[0]).name)
        done = subprocess.run(argv, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                              input=stdin)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "change-me" not in done.stdout + done.stderr  # the password is never shown
        return done.stdout + done.stderr

    try:
        run(guide_command(".venv/bin/flask --app cbassess init-db"))
        passphrase = "a long and unusual passphrase\n"
        run(guide_command(".venv/bin/flask --app cbassess create-user"), passphrase * 2)
        backups = tmp_path / "backups"
        backups.mkdir()
        backup_argv = unit_command(DEPLOY / "cbassess-backup.service")
        assert backup_argv[-1] == "/var/backups/cbassess/"
        run(shlex.join([*backup_argv[:-1], f"{backups}/"]))
        [dump] = backups.glob("cbassess-*.dump")
        run(".venv/bin/flask --app cbassess create-user --email later@customs.example "
            "--role admin --password 'another long passphrase'")
        restore = guide_command(".venv/bin/flask --app cbassess restore")
        output = run(restore.replace(restore.split()[-1], str(dump)), "y\n")
        assert "Restored" in output and "cbassess-before-restore-" in output
        run(guide_command(".venv/bin/flask --app cbassess db upgrade"))
        emails = subprocess.run(
            ["psql", "--no-psqlrc", "-At", "-c", "SELECT email FROM users",
             postgres.url("cbassess", driver="postgresql")],
            capture_output=True, text=True, check=True).stdout.split()
        assert emails == ["dg@customs.example"]
    finally:
        postgres.drop_database("cbassess")
        postgres.execute("DROP ROLE IF EXISTS cbassess")
