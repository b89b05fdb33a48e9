"""Browser-test fixtures: one live server and one Chromium for the whole session.

The server is the real app (create_app) served by werkzeug on 127.0.0.1 and a free port, in
a thread, on an empty database of the run's backend (tests/databases.py) and a temporary
instance folder, set up by the app's own `seed-demo` command. Chromium is Debian's package
at /usr/bin/chromium, driven by Playwright; no browser is ever downloaded. Without it the
tests are skipped locally, and fail in CI (CI set).
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from cbassess import create_app
from cbassess.extensions import db

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@dataclass
class LiveServer:
    url: str
    app: Flask


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, databases) -> Iterator[LiveServer]:
    """The app on a real socket, with the demo data, for the whole session."""
    instance = tmp_path_factory.mktemp("e2e-instance")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CBASSESS_INSTANCE_PATH", str(instance))
        app = create_app({
            "SECRET_KEY": secrets.token_hex(16),
            "SQLALCHEMY_DATABASE_URI": databases.empty(),
            # Every test signs in afresh; the login limits are tested elsewhere.
            "RATELIMIT_ENABLED": False,
        })
    seeded = app.test_cli_runner().invoke(args=["seed-demo"])
    assert seeded.exit_code == 0, seeded.output
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium under Playwright, launched once."""
    if not CHROMIUM.exists():
        reason = (f"{CHROMIUM} is not installed (scripts/system-deps.sh test installs it; "
                  "`make test` runs that)")
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(f"browser tests cannot run in CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_context(chromium, live_server):
    """A factory for browser contexts (own cookies and storage) on the live server."""
    contexts = []

    def make(**options):
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = chromium.new_context(base_url=live_server.url, locale="en-GB", **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context):
    """A page in a fresh JavaScript-enabled context."""
    return new_context().new_page()
