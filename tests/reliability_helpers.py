"""Helpers for the reliability and security tests: seeded apps with chosen settings, a real
gunicorn server on a test database (SQLite or PostgreSQL, tests/databases.py), and a small
HTTP client that signs in and saves answers the way the browser does (cookies, CSRF token,
htmx headers).

Servers listen on 127.0.0.1 only; every test that starts one stops it.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import create_engine, text

from cbassess import PROJECT_ROOT, create_app
from cbassess.extensions import db
from cbassess.models import Assessment
from tests.conftest import PASSWORD, assessment_id, csrf_from
from tests.services import free_port

VENV_BIN = Path(sys.executable).parent
_VERSION = re.compile(r'name="(?P<key>[^"]+)-version" value="(?P<version>\d+)"')
_KEEP_MINE_VERSION = re.compile(r'js-keep-mine"[^>]*data-version="(\d+)"')


def build_app(database_url: str, **config):
    """An app on a seeded database (the conftest users and administrations), with `config`
    on top."""
    settings = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "RATELIMIT_ENABLED": False,
    }
    settings.update(config)
    return create_app(settings)


def prepare_database(database_url: str) -> tuple[int, list[str]]:
    """What a server test needs of a seeded database: (assessment of A, indicator keys)."""
    from cbassess.permissions import instrument_of

    app = build_app(database_url)
    a_id = assessment_id(app)
    with app.app_context():
        keys = [i.key for i in instrument_of(db.session.get(Assessment, a_id)).indicators]
        db.engine.dispose()
    return a_id, keys


class Server:
    """gunicorn serving create_app() on 127.0.0.1, in its own process group."""

    def __init__(self, database_url: str, instance: Path, workers: int = 2, threads: int = 4,
                 argv: list[str] | None = None, **settings: str):
        """`argv` replaces the gunicorn command (its --bind is added here); `settings` become
        CBASSESS_* variables."""
        self.port = free_port()
        instance.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update({
            "CBASSESS_INSTANCE_PATH": str(instance),
            "CBASSESS_SQLALCHEMY_DATABASE_URI": database_url,
            "CBASSESS_RATELIMIT_ENABLED": "false",
        })
        env.update({f"CBASSESS_{name}": value for name, value in settings.items()})
        self.log = open(instance / "server.log", "wb")  # noqa: SIM115 - closed in stop()
        if argv is None:
            argv = [str(VENV_BIN / "gunicorn"), "--workers", str(workers), "--threads",
                    str(threads), "--worker-class", "gthread", "--graceful-timeout", "2",
                    "--timeout", "60", "--preload", "cbassess:create_app()"]
        self.process = subprocess.Popen(
            [*argv[:-1], "--bind", f"127.0.0.1:{self.port}", argv[-1]],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
            cwd=PROJECT_ROOT,
        )
        self._wait_until_ready()

    def _wait_until_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early: {self.log_text()}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                pass
            finally:
                connection.close()
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start")

    def log_text(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """kill -9 the master and every worker at once: a crash, not a shutdown."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=20)
        self.log.close()


class HttpUser:
    """One person's browser against a real server: cookies, CSRF token, htmx headers."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.token: str | None = None

    def request(self, method: str, path: str, form: dict | None = None,
                headers: dict | None = None) -> tuple[int, str]:
        all_headers = {"Origin": f"http://127.0.0.1:{self.port}"}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        all_headers.update(headers or {})
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            for cookie in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = cookie.partition("=")
                value = rest.split(";", 1)[0]
                if value and "expires=thu, 01 jan 1970" not in cookie.lower():
                    self.cookies[name] = value
                else:
                    self.cookies.pop(name, None)
            return response.status, text
        finally:
            connection.close()

    def login(self, email: str, password: str = PASSWORD) -> None:
        _, page = self.request("GET", "/login")
        status, _ = self.request("POST", "/login", {
            "email": email, "password": password, "csrf_token": csrf_from(page)})
        assert status == 302, status
        _, page = self.request("GET", "/assessments")
        self.token = csrf_from(page)

    def autosave(self, assessment_id: int, key: str, level, evidence: str,
                 version: int | None = None) -> tuple[int, str]:
        form = {f"{key}-level": str(level), f"{key}-evidence": evidence, f"{key}-note": ""}
        if version is not None:
            form[f"{key}-version"] = str(version)
        return self.request("POST", f"/assessments/{assessment_id}/answers/{key}", form,
                            {"HX-Request": "true", "X-CSRFToken": self.token})


def version_in(reply: str, key: str) -> int | None:
    """The answer version an autosave reply hands back to the page."""
    for match in _VERSION.finditer(reply):
        if match["key"] == key:
            return int(match["version"])
    conflict = _KEEP_MINE_VERSION.search(reply)  # a conflict offers "keep mine" at this one
    return int(conflict[1]) if conflict else None


def in_history(save, revisions: dict[tuple[str, int], dict]) -> bool:
    """Whether an acknowledged save is in `revisions` (from edit_revisions) with its level and
    evidence, at the version its reply announced."""
    after = revisions.get((save.key, save.version))
    return after is not None and (after["level"], after["evidence"]) == (save.level,
                                                                        save.evidence)


def _rows(database_url: str, query: str) -> list[tuple]:
    """Rows of a query on a database the test is checking. A SQLite file is opened read-only
    with sqlite3 itself: the app's engine would switch a backup file to WAL on connecting."""
    if database_url.startswith("sqlite:///"):
        location = f"file:{database_url.removeprefix('sqlite:///')}?mode=ro"
        with closing(sqlite3.connect(location, uri=True)) as connection:
            return [tuple(row) for row in connection.execute(query)]
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query))]
    finally:
        engine.dispose()


def edit_revisions(database_url: str) -> dict[tuple[str, int], dict]:
    """Every "edit" revision in a database: (indicator, version) -> value after."""
    rows = _rows(database_url,
                 "SELECT indicator_key, version, after FROM answer_revisions WHERE kind = 'edit'")
    return {(key, version): after if isinstance(after, dict) else json.loads(after)
            for key, version, after in rows}


def integrity(path: Path) -> str:
    """SQLite's own check of a database file ("ok" when intact)."""
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]


def answer_versions(database_url: str) -> dict[str, int]:
    return dict(_rows(database_url, "SELECT indicator_key, version FROM answers"))


def history_is_complete(database_url: str) -> list[str]:
    """Answers whose edit revisions are not exactly versions 1..version (should be none)."""
    revisions = edit_revisions(database_url)
    broken = []
    for key, version in answer_versions(database_url).items():
        found = sorted(v for (k, v) in revisions if k == key)
        if found != list(range(1, version + 1)):
            broken.append(f"{key}: version {version}, revisions {found}")
    return broken


class _Forms(HTMLParser):
    """Reads each <form> of a page the way a browser would submit it (no button pressed)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._textarea: list | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action") or "",
                               "method": (attrs.get("method") or "get").lower(),
                               "fields": []})
        elif not self.forms:
            return
        elif tag == "input" and attrs.get("name"):
            kind = (attrs.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset"):
                return
            if kind in ("radio", "checkbox") and "checked" not in attrs:
                return
            self.forms[-1]["fields"].append((attrs["name"], attrs.get("value") or ""))
        elif tag == "textarea" and attrs.get("name"):
            self._textarea = [attrs["name"], ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None:
            name, value = self._textarea
            # The HTML parser drops one newline right after <textarea>; so does a browser.
            self.forms[-1]["fields"].append((name, value[1:] if value.startswith("\n")
                                             else value))
            self._textarea = None


def forms_in(html: str) -> list[dict]:
    """Each form of a page: {"action", "method", "fields": [(name, value), ...]}."""
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def database_rows(app) -> dict[str, list[tuple]]:
    """Every row of every table (SQLite or PostgreSQL), to show nothing changed."""
    from sqlalchemy import select

    with app.app_context():
        rows = {table.name: sorted(tuple(map(repr, row)) for row in
                                    db.session.execute(select(table)).all())
                for table in db.metadata.sorted_tables}
        db.session.remove()
    return rows
