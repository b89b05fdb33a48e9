"""Shared fixtures: an app on a database of its own (SQLite, or PostgreSQL in the second
run: tests/databases.py), seeded with two administrations.

Everything is real: the database, the HTTP requests through Flask's test client, CSRF
(enabled, with the token read from the page like a browser would).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from cbassess import create_app
from cbassess.cli import import_instrument, init_db
from cbassess.extensions import db
from cbassess.models import Assessment, Instrument, Organisation, Role, User
from cbassess.passwords import hash_password
from tests.databases import BACKEND, Databases
from tests.services import PostgresServer

PASSWORD = "correct-horse-battery"
DATA = Path(__file__).parent / "data"
SHIPPED_KEY = "wco-cb-core-principles"

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


E2E = Path(__file__).parent / "e2e"


def pytest_collection_modifyitems(config, items) -> None:
    """Tests about one database only say so (`sqlite_only`, `postgresql_only`) and are
    skipped, with the reason, in the other run.

    What the database under it cannot change is checked once: browser tests in the SQLite
    run (except the PostgreSQL run's smoke set, marked `both_databases`: the walk and the
    review loop through a real browser), tests marked `database_independent` (PDF pages,
    text through gettext) in the PostgreSQL run, so the two runs, side by side, take about
    as long as each other.
    """
    other = {"sqlite": "postgresql_only", "postgresql": "sqlite_only"}[BACKEND]
    skip = pytest.mark.skip(reason=f"{other.replace('_', ' ')}: this run is on {BACKEND}")
    for item in items:
        once_in = _run_once_in(item)
        if item.get_closest_marker(other):
            item.add_marker(skip)
        elif once_in not in (None, BACKEND):
            item.add_marker(pytest.mark.skip(
                reason=f"the database does not change what it checks: run once, in the "
                       f"{once_in} run"))


def _run_once_in(item) -> str | None:
    """The one run a database-independent test runs in; None for a test of both runs."""
    if item.get_closest_marker("database_independent"):
        return "postgresql"
    in_browser = E2E in Path(str(item.fspath)).parents
    return "sqlite" if in_browser and not item.get_closest_marker("both_databases") else None


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL cluster of the run's own, on loopback, stopped at the end."""
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def databases(request, tmp_path_factory):
    """Fresh databases on this run's backend (tests/databases.py)."""
    server = request.getfixturevalue("postgres") if BACKEND == "postgresql" else None
    return Databases(tmp_path_factory.mktemp("databases"), seed_template, server)


def seed_template(url: str) -> None:
    """The schema through the migrations, the shipped instruments and the shared seed."""
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret",
                      "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        init_db()
        _seed()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def database_url(databases):
    """A database of its own for one test, seeded, dropped afterwards."""
    url = databases.seeded()
    yield url
    databases.discard(url)


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "RATELIMIT_ENABLED": False,
        "EVIDENCE_STORE_PATH": str(tmp_path / "evidence"),
        "IMPORT_UPLOAD_PATH": str(tmp_path / "imports"),
    })
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _seed() -> None:
    org_a = Organisation(name="Administration A", country_code="AA", region="Europe")
    org_b = Organisation(name="Administration B", country_code="BB", region="Americas")
    db.session.add_all([org_a, org_b])
    hashed = hash_password(PASSWORD)
    db.session.add_all([
        User(email="resp-a@example.org", name="Resp A", role=Role.RESPONDENT,
             organisation=org_a, password_hash=hashed),
        User(email="resp-a2@example.org", name="Resp A Two", role=Role.RESPONDENT,
             organisation=org_a, password_hash=hashed),
        User(email="resp-b@example.org", name="Resp B", role=Role.RESPONDENT,
             organisation=org_b, password_hash=hashed),
        User(email="fac-a@example.org", name="Fac A", role=Role.FACILITATOR,
             password_hash=hashed, assigned_organisations=[org_a]),
        User(email="fac-none@example.org", name="Fac None", role=Role.FACILITATOR,
             password_hash=hashed),
        User(email="admin@example.org", name="Admin", role=Role.ADMIN, password_hash=hashed),
    ])
    db.session.commit()
    instrument = db.session.query(Instrument).filter_by(key=SHIPPED_KEY).one()
    db.session.add_all([
        Assessment(organisation=org_a, instrument_row=instrument, round_name="2026 round"),
        Assessment(organisation=org_b, instrument_row=instrument, round_name="2026 round"),
    ])
    db.session.commit()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def pdf_text(data: bytes) -> str:
    """The text of every page of a PDF, one page after another."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


class Browser:
    """A signed-in user driving the app through real HTTP, CSRF token included."""

    def __init__(self, client) -> None:
        self.client = client
        self.token: str | None = None

    def login(self, email: str, password: str = PASSWORD):
        page = self.client.get("/login")
        response = self.client.post("/login", data={
            "email": email, "password": password, "csrf_token": csrf_from(page.text)})
        self.refresh_token()
        return response

    def refresh_token(self, path: str = "/assessments") -> None:
        page = self.client.get(path)
        if page.status_code == 200:
            self.token = csrf_from(page.text)

    def get(self, path: str, htmx: bool = False, **kwargs):
        headers = {"HX-Request": "true"} if htmx else {}
        return self.client.get(path, headers=headers, **kwargs)

    def post(self, path: str, data: dict | None = None, htmx: bool = False,
             csrf: bool = True, **kwargs):
        data = dict(data or {})
        headers = {}
        if htmx:
            headers["HX-Request"] = "true"
            if csrf:
                headers["X-CSRFToken"] = self.token
        elif csrf:
            data.setdefault("csrf_token", self.token)
        return self.client.post(path, data=data, headers=headers, **kwargs)

    def autosave(self, assessment_id: int, key: str, level=None, evidence: str = "",
                 note: str = "", version: int | None = None, htmx: bool = True):
        data = {f"{key}-evidence": evidence, f"{key}-note": note}
        if level is not None:
            data[f"{key}-level"] = str(level)
        if version is not None:
            data[f"{key}-version"] = str(version)
        return self.post(f"/assessments/{assessment_id}/answers/{key}", data, htmx=htmx)


@pytest.fixture
def browser(client):
    return Browser(client)


@pytest.fixture
def make_browser(app):
    """A factory for more signed-in users, each with their own cookies."""
    def make(email: str) -> Browser:
        browser = Browser(app.test_client())
        browser.login(email)
        return browser
    return make


@pytest.fixture
def respondent(make_browser) -> Browser:
    return make_browser("resp-a@example.org")


def assessment_id(app, organisation_name: str = "Administration A") -> int:
    with app.app_context():
        return db.session.query(Assessment).join(Organisation).filter(
            Organisation.name == organisation_name).one().id


@pytest.fixture
def a_id(app) -> int:
    return assessment_id(app, "Administration A")


@pytest.fixture
def b_id(app) -> int:
    return assessment_id(app, "Administration B")


@pytest.fixture
def other_instrument(app):
    with app.app_context():
        row, _ = import_instrument(DATA / "other-framework.yaml")
        return row.id
