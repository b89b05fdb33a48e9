"""The installation run from the browser: an admin creates an administration, invites its
coordinator (the link read from a real SMTP server's inbox), who sets a password; the admin
starts a round and gives the coordinator a colleague, the coordinator assigns them a
principle and both answer; the admin assigns a facilitator, imports and retires an
instrument, deactivates a user, and reads it all in the audit log.

The app is served on a real socket with MAIL_* pointing at an aiosmtpd server on loopback.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections.abc import Iterator

import pytest
from e2e_support import instrument, login, slug, unique
from playwright.sync_api import Page, expect
from werkzeug.serving import make_server

from cbassess import create_app
from cbassess.extensions import db
from tests.conftest import DATA
from tests.mail_server import SmtpServer, link_in

pytestmark = pytest.mark.e2e

ADMIN = "admin@demo.example"
FACILITATOR = "facilitator@demo.example"
NEW_PASSWORD = "Kilimanjaro-sunrise-2026"
FIRST = instrument().principles[0]


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mail_server_url(tmp_path_factory, databases, smtp) -> Iterator[str]:
    """The app with the demo data and mail configured, on a real socket."""
    instance = tmp_path_factory.mktemp("e2e-admin-instance")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CBASSESS_INSTANCE_PATH", str(instance))
        app = create_app({"SECRET_KEY": secrets.token_hex(16),
                          "SQLALCHEMY_DATABASE_URI": databases.empty(),
                          "RATELIMIT_ENABLED": False, **smtp.config()})
    seeded = app.test_cli_runner().invoke(args=["seed-demo"])
    assert seeded.exit_code == 0, seeded.output
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-admin", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def site(chromium, mail_server_url):
    """A factory for fresh browser contexts on the mail-configured app."""
    contexts = []

    def make():
        context = chromium.new_context(base_url=mail_server_url, locale="en-GB",
                                       viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def _sign_in(page: Page, email: str, password: str) -> None:
    login(page, email, password)


def test_an_admin_sets_up_an_administration_and_its_respondent_answers(site, smtp):
    admin = site()
    _sign_in(admin, ADMIN, _demo_password())
    admin.get_by_role("link", name="Administration", exact=True).click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Administration")
    expect(admin.get_by_text("E-mail is configured")).to_be_visible()

    # A new administration, with a country from the ISO list and two working languages.
    name = unique("Revenue Authority")
    admin.get_by_role("link", name="Add an administration").first.click()
    admin.get_by_label("Name").fill(name)
    admin.get_by_label("Country").select_option(label="Kenya")
    admin.get_by_label("Region").fill("East and Southern Africa")
    admin.get_by_label("Working languages").select_option(["en", "sw"])
    admin.get_by_role("button", name="Save").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(name)
    expect(admin.locator(".meta")).to_contain_text("Kenya (KE)")
    expect(admin.locator(".meta")).to_contain_text("Swahili")

    # Its respondent is invited; the link arrives by e-mail, not on the page.
    email = f"coordinator-{secrets.token_hex(3)}@example.org"
    admin.get_by_role("link", name="Invite a respondent").click()
    admin.get_by_label("E-mail").fill(email)
    admin.get_by_label("Name").fill("Wanjiru Kamau")
    expect(admin.get_by_label("Administration (respondents only)")).not_to_have_value("")
    admin.get_by_label(re.compile("^Coordinator of the administration")).check()
    before = len(smtp.inbox.messages)
    admin.get_by_role("button", name="Create and invite").click()
    expect(admin.get_by_role("status")).to_contain_text(f"was e-mailed to {email}")
    message = smtp.inbox.wait_for(before + 1)[-1]
    assert message["To"] == email

    # The respondent follows the link, sets a password, signs in: no assessment yet.
    respondent = site()
    respondent.goto(link_in(message))
    expect(respondent.get_by_role("heading", level=1)).to_have_text("Set your password")
    respondent.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    respondent.get_by_label("New password again").fill(NEW_PASSWORD)
    respondent.get_by_role("button", name="Set password").click()
    expect(respondent.get_by_role("status")).to_contain_text("Your password is set")
    _sign_in(respondent, email, NEW_PASSWORD)
    expect(respondent.get_by_text("There are no assessments yet.")).to_be_visible()

    # The admin starts the round for them on the shipped instrument.
    admin.get_by_role("link", name=f"Back to {name}").click()
    admin.get_by_label("Round name").fill("2027 self-assessment")
    admin.get_by_role("button", name="Start").click()
    expect(admin.get_by_role("status")).to_contain_text("2027 self-assessment")
    expect(admin.get_by_role("link", name="2027 self-assessment")).to_be_visible()

    # The admin gives the coordinator a colleague, who sets a password from the e-mail.
    colleague_email = f"colleague-{secrets.token_hex(3)}@example.org"
    admin.get_by_role("link", name="Invite a respondent").click()
    admin.get_by_label("E-mail").fill(colleague_email)
    admin.get_by_label("Name").fill("Otieno Odhiambo")
    before = len(smtp.inbox.messages)
    admin.get_by_role("button", name="Create and invite").click()
    expect(admin.get_by_role("status")).to_contain_text(f"was e-mailed to {colleague_email}")
    colleague = site()
    colleague.goto(link_in(smtp.inbox.wait_for(before + 1)[-1]))
    colleague.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    colleague.get_by_label("New password again").fill(NEW_PASSWORD)
    colleague.get_by_role("button", name="Set password").click()
    _sign_in(colleague, colleague_email, NEW_PASSWORD)

    # The coordinator gives the first principle to the colleague; both answer.
    respondent.reload()
    respondent.get_by_role("link", name="2027 self-assessment").click()
    principle = FIRST.title.get("en")
    respondent.get_by_label(f"Who answers {principle}").select_option(label="Otieno Odhiambo")
    respondent.get_by_role("button", name=f"Assign {principle}").click()
    expect(respondent.get_by_role("status")).to_contain_text(
        f"Otieno Odhiambo answers “{principle}”")
    respondent.get_by_role("link", name=principle).first.click()
    key = FIRST.indicators[0].key
    respondent.locator(f"label[for='{slug(key)}-level-2']").click()
    expect(respondent.locator(f"#status-{slug(key)}")).to_contain_text("Saved at")
    colleague.get_by_role("link", name="2027 self-assessment").click()
    expect(colleague.locator("#team")).to_contain_text("Otieno Odhiambo")
    colleague.get_by_role("link", name=principle).first.click()
    second = FIRST.indicators[1].key
    colleague.locator(f"label[for='{slug(second)}-level-1']").click()
    expect(colleague.locator(f"#status-{slug(second)}")).to_contain_text("Saved at")
    respondent.goto(respondent.url.split("/principles/")[0])
    total = len(FIRST.indicators)
    expect(respondent.locator("#team")).to_contain_text(f"2 of {total} answered")

    # A facilitator is assigned to the new administration from their user page.
    admin.get_by_role("link", name="Users").click()
    admin.get_by_label("Search by name or e-mail").fill(FACILITATOR)
    admin.get_by_role("button", name="Filter").click()
    admin.get_by_role("link", name=FACILITATOR).click()
    admin.locator("#assign-organisation").select_option(label=name)
    admin.get_by_role("button", name="Assign", exact=True).click()
    expect(admin.get_by_role("status")).to_contain_text(f"is assigned to {name}")
    facilitator = site()
    _sign_in(facilitator, FACILITATOR, _demo_password())
    expect(facilitator.get_by_role("cell", name=re.compile(re.escape(name)))).to_be_visible()

    # Deactivated: the respondent's open session ends on their next click.
    admin.get_by_role("link", name="Users").click()
    admin.get_by_label("Search by name or e-mail").fill(email)
    admin.get_by_role("button", name="Filter").click()
    admin.get_by_role("link", name=email).click()
    admin.get_by_role("button", name="Deactivate").click()
    expect(admin.get_by_role("status")).to_contain_text("is deactivated")
    respondent.get_by_role("link", name="cbassess").first.click()
    expect(respondent).to_have_url(re.compile(r"/login"))

    # Everything is on record, and the log filters by action.
    admin.get_by_role("link", name="Audit log").click()
    for action in ("Administration created", "Account created", "Password link issued",
                   "Password set", "Assessment started", "Principle assigned",
                   "Assigned to an administration", "Account deactivated"):
        expect(admin.get_by_role("rowheader", name=action, exact=True).first).to_be_visible()
    admin.get_by_label("Action").select_option("user.deactivate")
    admin.get_by_role("button", name="Filter").click()
    expect(admin.locator("tbody tr")).to_have_count(1)
    expect(admin.locator("tbody tr")).to_contain_text(email)


def test_an_admin_imports_previews_and_retires_an_instrument(site, tmp_path):
    admin = site()
    _sign_in(admin, ADMIN, _demo_password())
    admin.goto("/admin/instruments")

    # A broken file: refused, with the path inside the file.
    broken = tmp_path / "broken.yaml"
    broken.write_text((DATA / "other-framework.yaml").read_text(encoding="utf-8")
                      .replace("key: TF.2", "key: TF.1"), encoding="utf-8")
    admin.get_by_label("Instrument file").set_input_files(broken)
    admin.get_by_role("button", name="Import").click()
    alert = admin.get_by_role("alert")
    expect(alert).to_contain_text("The file was not imported")
    expect(alert).to_contain_text("broken.yaml")
    expect(alert).to_contain_text("duplicate key 'TF.1'")

    # The good file: imported, previewed as a respondent sees it.
    admin.get_by_label("Instrument file").set_input_files(DATA / "other-framework.yaml")
    admin.get_by_role("button", name="Import").click()
    expect(admin.get_by_role("status")).to_contain_text("Imported trade-facilitation-mini")
    expect(admin.get_by_text("Preview: this is what a respondent sees")).to_be_visible()
    expect(admin.get_by_role("radio").first).to_be_disabled()

    # Retired: the respondent's "start a new assessment" no longer offers it.
    admin.goto("/admin/instruments")
    row = admin.get_by_role("row").filter(has_text="trade-facilitation-mini")
    row.get_by_role("button", name="Retire").click()
    expect(admin.get_by_role("status")).to_contain_text("is retired")
    respondent = site()
    _sign_in(respondent, "respondent@demo.example", _demo_password())
    options = respondent.locator("#instrument_id option").all_inner_texts()
    assert options and not any("Trade facilitation" in o for o in options), options


def _demo_password() -> str:
    from cbassess.cli import DEMO_PASSWORD

    return DEMO_PASSWORD
