"""No visible text escapes translation: every page rendered in a pseudo-language.

The test writes a catalogue of its own for a language the app does not ship (Esperanto,
"eo"): every message of the code and templates, translated as itself between ⟦ and ⟧. It
gives the shipped instrument an "eo" text for every piece, the English between ⟪ and ⟫, and
writes every piece of user data (names, rounds, evidence) between ‹ and ›. Then it renders
every GET route of app.url_map for every role, with real data in every state (answered,
"not applicable", unanswered, a refused conflicting save, submitted), plus the fragments,
flashes and error pages that other requests produce, the PDF, the CSV and the JSON. Once the
marked pieces are taken out, no letter may be left: a letter left is visible text that went
round gettext (or round the instrument's texts).

Letters that do not come from the app are allowed: the product's name, the instrument's
keys and the administrations' country codes (identifiers, the same in every language),
names of months and days from Babel's locale data, and text in an element whose lang
attribute names another language (the switcher's "English", "Français").
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from babel import Locale
from babel.dates import get_day_names, get_month_names, get_period_names
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import write_po
from babel.numbers import get_decimal_symbol
from openpyxl import load_workbook
from sqlalchemy import select

from cbassess import accounts, create_app
from cbassess import answers as answer_store
from cbassess.cli import import_instrument
from cbassess.extensions import db
from cbassess.models import (
    Assessment,
    EvidenceFile,
    Instrument,
    Organisation,
    QueryThread,
    SignOffSnapshot,
    User,
)
from cbassess.permissions import instrument_of
from tests import evidence_samples
from tests.conftest import PASSWORD, Browser, pdf_text
from tests.test_i18n_catalogues import SOURCES

PSEUDO = "eo"
SHIPPED = Path(__file__).resolve().parent.parent / "cbassess" / "instruments" / \
    "wco-cb-core-principles.yaml"
MARKS = {"gettext": ("⟦", "⟧"), "instrument": ("⟪", "⟫"), "user": ("‹", "›")}
BRAND = {"cbassess", "CB"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Rendering through gettext does not depend on the database: checked in the PostgreSQL run.
pytestmark = pytest.mark.database_independent

ROLES = {"resp_a": "resp-a@example.org", "fac_a": "fac-a@example.org",
         "admin": "admin@example.org"}


def mark(text: str, kind: str = "gettext") -> str:
    opening, closing = MARKS[kind]
    return f"{opening}{text}{closing}"


# --------------------------------------------------------------------------- the pseudo-language

def write_catalogue(folder: Path, language: str) -> None:
    """Every message of the sources, translated as itself between markers."""
    catalogue = Catalog(locale=language)
    for singular, (plural, _) in SOURCES.items():
        if plural is None:
            catalogue.add(singular, mark(singular))
        else:
            forms = [mark(singular)] + [mark(plural)] * (catalogue.num_plurals - 1)
            catalogue.add((singular, plural), tuple(forms))
    target = folder / language / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "messages.po").open("wb") as handle:
        write_po(handle, catalogue)
    with (target / "messages.mo").open("wb") as handle:
        write_mo(handle, catalogue)


def pseudo_instrument(path: Path) -> None:
    """The shipped instrument with an "eo" text, marked, beside every English one."""
    doc = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))

    def text(value):
        value = dict(value) if isinstance(value, dict) else {"en": value}
        value[PSEUDO] = mark(value["en"], "instrument")
        return value

    doc["version"] = "9.9.9"
    doc["languages"] = [*doc["languages"], PSEUDO]
    doc["title"], doc["description"] = text(doc["title"]), text(doc["description"])
    for level in doc["scale"]["levels"]:
        level["label"], level["summary"] = text(level["label"]), text(level["summary"])
    doc["scale"]["not_applicable"]["label"] = text(doc["scale"]["not_applicable"]["label"])
    for principle in doc["principles"]:
        principle["title"], principle["summary"] = text(principle["title"]), text(
            principle["summary"])
        for item in principle["indicators"]:
            for name in ("question", "guidance"):
                item[name] = text(item[name])
            item["evidence_examples"] = [text(e) for e in item["evidence_examples"]]
            item["descriptors"] = {k: text(v) for k, v in item["descriptors"].items()}
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.fixture
def pseudo_app(tmp_path, database_url):
    """The app speaking the pseudo-language too, with data in every state, all marked."""
    catalogues = tmp_path / "catalogues"
    write_catalogue(catalogues, PSEUDO)
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "RATELIMIT_ENABLED": False,
        "EVIDENCE_STORE_PATH": str(tmp_path / "evidence"),
        "BABEL_TRANSLATION_DIRECTORIES": f"translations;{catalogues}",
        "PAGE_SIZE": 1,  # so the lists show their pager
        "HISTORY_PAGE_SIZE": 1,  # and the history its own
    })
    instrument_file = tmp_path / "pseudo-instrument.yaml"
    pseudo_instrument(instrument_file)
    with app.app_context():
        row, _ = import_instrument(instrument_file)
        ids = _mark_data(row)
        # Only the pseudo instrument: the shipped one has no pseudo-language text.
        db.session.query(Instrument).filter(Instrument.id != row.id).delete()
        db.session.commit()
    ids.update(_review_loop(app, ids))
    app.config["PSEUDO_IDS"] = ids
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _mark_data(instrument_row) -> dict:
    """Mark every piece of user data, move the rounds onto the pseudo instrument, and give
    Administration A a draft in every answer state and three complete rounds for the
    review loop."""
    for organisation in db.session.query(Organisation):
        organisation.name, organisation.region = (mark(organisation.name, "user"),
                                                  mark(organisation.region, "user"))
    users = {}
    for user in db.session.query(User):
        user.name, user.language = mark(user.name, "user"), PSEUDO
        users[user.email] = user
    for assessment in db.session.query(Assessment):
        assessment.instrument_row = instrument_row
        assessment.round_name = mark(assessment.round_name, "user")
    a = users["resp-a@example.org"]
    draft = db.session.query(Assessment).filter_by(organisation_id=a.organisation_id).one()
    complete = {name: Assessment(organisation_id=a.organisation_id,
                                 instrument_row=instrument_row,
                                 round_name=mark(f"{name} round", "user"))
                for name in ("reviewing", "returned", "validated")}
    db.session.add_all(complete.values())
    db.session.commit()
    spec = instrument_of(draft)

    def answer(key, level, evidence):
        return answer_store.parse_answer(spec, key, {
            f"{key}-level": str(level), f"{key}-evidence": mark(evidence, "user"),
            f"{key}-note": mark("a note", "user")})

    answer_store.save_answers(db.session, draft.id, [answer("PW.1", 3, "Decree 2025-114"),
                                                      answer("PW.2", "na", "No such law"),
                                                      answer("PW.3", 1, "Budget")], a.id)
    answer_store.save_answers(db.session, draft.id, [answer("PW.1", 2, "Decree, revised")],
                              a.id)
    stale = answer_store.parse_answer(spec, "PW.1", {
        "PW.1-level": "4", "PW.1-evidence": mark("Older text", "user"), "PW.1-version": "1"})
    with pytest.raises(answer_store.EditConflict):
        answer_store.save_answers(db.session, draft.id, [stale],
                                  users["resp-a2@example.org"].id)
    everything = [answer(i.key, n % 5, f"Evidence {i.key}")
                  for n, i in enumerate(spec.indicators)]
    for assessment in complete.values():
        answer_store.save_answers(db.session, assessment.id, everything, a.id)
    a2 = users["resp-a2@example.org"]
    token = accounts.issue_link(db.session, users["admin@example.org"], a2,
                                accounts.Purpose.INVITATION)
    return {"draft": draft.id, **{name: row.id for name, row in complete.items()},
            "instrument": instrument_row.id, "token": token,
            "organisation": a.organisation_id, "users": [u.id for u in users.values()]}


def _review_loop(app, ids: dict) -> dict:
    """Through the app, as people do it: a coordinator shares out a principle, a file is
    attached, an action planned and commented; the three complete rounds are submitted,
    then one is under review (decisions, an open query answered, a closed one), one is
    returned and one validated (its sign-off digest is kept for the verify page)."""
    admin, respondent, facilitator = _client(app), _client(app), _client(app)
    admin.login(ROLES["admin"])
    respondent.login(ROLES["resp_a"])
    facilitator.login(ROLES["fac_a"])
    with app.app_context():
        colleague = db.session.scalar(select(User.id).where(User.email == "resp-a2@example.org"))
        me = db.session.scalar(select(User.id).where(User.email == ROLES["resp_a"]))
    draft, reviewing = ids["draft"], ids["reviewing"]

    def ok(response, *statuses):
        assert response.status_code in (statuses or (200, 303)), response.text[:500]
        return response

    ok(admin.post(f"/admin/users/{me}", {"name": mark("Resp A", "user"), "role": "respondent",
                                         "organisation_id": ids["organisation"],
                                         "is_coordinator": "yes"}))
    respondent.refresh_token()
    ok(respondent.post(f"/assessments/{draft}/principles/PW/assignee", {"user_id": colleague}))
    ok(respondent.post(f"/assessments/{draft}/answers/PW.1/files", {
        "files": [(io.BytesIO(evidence_samples.pdf()), "minutes.pdf")]}, htmx=True,
        content_type="multipart/form-data"))
    ok(respondent.post(f"/assessments/{draft}/actions/PW.3", {
        "description": mark("Draft the decree", "user"), "owner": mark("Legal unit", "user"),
        "due_date": "2027-03-31", "status": "in_progress", "version": "0"}, htmx=True))
    ok(facilitator.post(f"/assessments/{draft}/actions/PW.3/comments",
                        {"comment": mark("Who signs?", "user")}, htmx=True))
    for name in ("reviewing", "returned", "validated"):
        ok(respondent.post(f"/assessments/{ids[name]}/submit",
                           {"message": mark("Ready", "user")}))
    for key, state in (("PW.1", "accepted"), ("PW.2", "queried")):
        ok(facilitator.post(f"/assessments/{reviewing}/reviews/{key}", {
            f"{key}-review-level": "2", f"{key}-state": state,
            f"{key}-finding": mark("Seen the decree", "user")}, htmx=True))
    for key in ("PW.3", "PW.4"):
        ok(facilitator.post(f"/assessments/{reviewing}/queries", {
            "indicator_key": key, "message": mark("Which year?", "user")}, htmx=True))
    with app.app_context():
        threads = {t.indicator_key: t.id for t in db.session.scalars(
            select(QueryThread).where(QueryThread.assessment_id == reviewing))}
    ok(respondent.post(f"/assessments/{reviewing}/queries/{threads['PW.3']}/replies",
                       {"message": mark("2025", "user")}, htmx=True))
    ok(facilitator.post(f"/assessments/{reviewing}/queries/{threads['PW.4']}/close",
                        htmx=True))
    ok(facilitator.post(f"/assessments/{ids['returned']}/return",
                        {"message": mark("Evidence missing", "user")}))
    with app.app_context():
        keys = [i.key for i in instrument_of(
            db.session.get(Assessment, ids["validated"])).indicators]
    for key in keys:
        ok(facilitator.post(f"/assessments/{ids['validated']}/reviews/{key}", {
            f"{key}-review-level": "1", f"{key}-state": "accepted",
            f"{key}-finding": ""}, htmx=True))
    ok(facilitator.post(f"/assessments/{ids['validated']}/validate"))
    with app.app_context():
        digest = db.session.scalar(select(SignOffSnapshot.digest))
        files = list(db.session.scalars(select(EvidenceFile.id)))
    assert digest and files
    return {"digest": digest, "files": files}


# --------------------------------------------------------------------------- reading a page

SKIPPED = {"script", "style"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
READ_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt", "data-label")


class VisibleText(HTMLParser):
    """The text a person can see or hear: text nodes in document order, and the attributes
    a browser shows or reads out. Text in another language (lang) than the page's is
    left out; so are scripts and styles."""

    def __init__(self, page_language: str) -> None:
        super().__init__(convert_charrefs=True)
        self.language = page_language
        self.stack: list[tuple[str, bool]] = []
        self.text: list[str] = []
        self.attributes: list[str] = []

    def _skipping(self) -> bool:
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        language = attrs.get("lang")
        if tag == "html" and language:
            self.language = language
        skip = tag in SKIPPED or attrs.get("translate") == "no" or (
            language is not None and tag != "html" and language != self.language)
        if not skip and not self._skipping():
            self.attributes.extend(attrs[name] for name in READ_ATTRIBUTES
                                   if attrs.get(name))
            if attrs.get("data-messages"):
                self.attributes.extend(json.loads(attrs["data-messages"]).values())
        if tag not in VOID:
            self.stack.append((tag, skip))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break

    def handle_data(self, data):
        if not self._skipping():
            self.text.append(data)


def unmarked(text: str, allowed: set[str]) -> str:
    """What is left of `text` once every marked piece and every allowed word is taken out."""
    innermost = re.compile("|".join(
        f"{re.escape(o)}[^{re.escape(o + c)}]*{re.escape(c)}" for o, c in MARKS.values()))
    while True:
        shorter = innermost.sub(" ", text)
        if shorter == text:
            break
        text = shorter
    # E-mail addresses and hexadecimal fingerprints (a digest, an instrument's hash) are
    # data and identifiers; a language code in brackets follows a language's name.
    text = re.sub(r"[\w.+-]+@[\w.-]+|\b[0-9a-f]{12,}\b|\((?:[a-z]{2,3})\)", " ", text)
    words = sorted(allowed, key=len, reverse=True)
    text = re.sub(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b", " ", text)
    return text


def letters_left(text: str, allowed: set[str]) -> list[str]:
    """Each stretch of text left unmarked that has a letter in it."""
    pieces = re.split(r"\s{2,}|\n", unmarked(text, allowed))
    # ℹ (an icon) is a letter to Unicode.
    return [piece.strip()[:80] for piece in pieces if re.search(r"[^\W\d_ℹ]", piece)]


def allowed_words(app) -> set[str]:
    """Identifiers and locale data, the same in every language or not the app's words."""
    with app.app_context():
        ids = app.config["PSEUDO_IDS"]
        spec = instrument_of(db.session.get(Assessment, ids["draft"]))
        codes = {o.country_code for o in db.session.query(Organisation)}
        # An evidence file keeps the name it was uploaded with.
        files = {f.filename for f in db.session.query(EvidenceFile)}
    locale = Locale.parse(PSEUDO)
    cldr = set()
    for width in ("wide", "abbreviated", "narrow"):
        for context in ("format", "stand-alone"):
            cldr.update(get_month_names(width, context, locale).values())
            cldr.update(get_day_names(width, context, locale).values())
        cldr.update(get_period_names(width, locale=locale).values())
    names = {Locale.parse(code).get_display_name(Locale.parse(code))
             for code in app.config["LANGUAGES"]}  # the report's language choice
    # Countries and languages named in the page's language (the administrations' forms).
    cldr.update(locale.territories.values())
    cldr.update(locale.languages.values())
    # ISO 639's English name, where the locale data has none for a language.
    cldr.update(name for code, name in accounts.language_choices(PSEUDO))
    keys = {p.key for p in spec.principles} | {i.key for i in spec.indicators}
    # The instrument's key, version and fingerprint are identifiers, printed as they are.
    instrument = {spec.key, spec.content_hash}
    return BRAND | codes | keys | instrument | {
        w for name in cldr | names | files for w in re.findall(r"\w+", name)}


class Pages:
    """Every response checked, and what escaped translation collected by where it was."""

    def __init__(self, app) -> None:
        self.allowed = allowed_words(app)
        self.escaped: dict[str, list[str]] = {}
        self.checked: list[str] = []

    def check(self, label: str, response) -> None:
        kind = response.mimetype
        if 300 <= response.status_code < 400:
            return  # a browser follows it without showing it
        self.checked.append(f"{label} ({response.status_code} {kind})")
        if kind == "text/html":
            parser = VisibleText(PSEUDO)
            parser.feed(response.get_data(as_text=True))
            found = letters_left("\n".join(parser.text), self.allowed)
            for value in parser.attributes:
                found += letters_left(value, self.allowed)
            if "<html" in response.text and f'<html lang="{PSEUDO}"' not in response.text:
                found.append("the page's lang is not the pseudo-language")
        elif kind == "application/pdf":
            found = letters_left(pdf_text(response.data), self.allowed)
        elif kind == "text/csv":
            separator = ";" if get_decimal_symbol(PSEUDO) == "," else ","
            rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip(
                "\ufeff")), delimiter=separator))
            found = [f"header {cell}" for cell in rows[0]
                     if letters_left(cell, self.allowed)]
            # Questions, level names, "not applicable", statuses: the app's words. The rest
            # (keys, levels, evidence, notes, names, e-mail addresses, ISO times) are data.
            words = [i for i, cell in enumerate(rows[0]) if cell in (
                mark("Question"), mark("Level name"), mark("Not applicable"), mark("Status"))]
            for row in rows[1:]:
                found += letters_left(" ".join(row[i] for i in words), self.allowed)
        elif kind == XLSX:
            found = self._xlsx(response.data)
        elif kind == "application/json":
            found = self._json(response.data)
        elif kind == "application/zip":  # export.json and the evidence files it lists
            with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
                found = [f for name in archive.namelist() if name.endswith(".json")
                         for f in self._json(archive.read(name))]
        else:
            found = [f"unexpected {kind}"]
        if found:
            self.escaped[label] = found

    def _json(self, data: bytes) -> list[str]:
        """The keys and codes are the same in every language; the questions are the
        instrument's text in the download's language, which it names."""
        body = json.loads(data)
        found = [] if body["language"] == PSEUDO else [f"language {body['language']}"]
        return found + [a["question"] for a in body["answers"]
                        if not a["question"].startswith("⟪")]

    def _xlsx(self, data: bytes) -> list[str]:
        """Sheet names, the summary's labels and every sheet's headings are the app's words;
        so are the questions, level names, yes/no cells and statuses below them."""
        workbook = load_workbook(io.BytesIO(data), read_only=True)
        found = []
        for index, sheet in enumerate(workbook.worksheets):
            rows = [[("" if c is None else str(c)) for c in row]
                    for row in sheet.iter_rows(values_only=True)]
            found += letters_left(sheet.title, self.allowed)
            if index == 0:  # the summary: label, value
                found += [f"label {r[0]}" for r in rows if letters_left(r[0], self.allowed)]
                continue
            found += [f"heading {c}" for c in rows[0] if letters_left(c, self.allowed)]
            words = [i for i, cell in enumerate(rows[0]) if cell in (
                mark("Question"), mark("Level name"), mark("Not applicable"), mark("Status"),
                mark("Overdue"))]
            for row in rows[1:]:
                found += letters_left(" ".join(row[i] for i in words), self.allowed)
        return found

    def assert_nothing_escaped(self) -> None:
        where: dict[str, list[str]] = {}
        for label, found in self.escaped.items():
            for text in found:
                where.setdefault(text, []).append(label)
        report = "\n".join(f"{text!r}: {len(labels)} responses, e.g. {labels[0]}"
                           for text, labels in where.items())
        assert not where, f"visible text outside gettext:\n{report}"


# --------------------------------------------------------------------------- the walk

def _client(app) -> Browser:
    browser = Browser(app.test_client())
    browser.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = PSEUDO  # for the sign-in pages
    return browser


ASSESSMENTS = ("draft", "reviewing", "returned", "validated")
DOWNLOADS = {"results.report_pdf", "results.export_json", "results.export_csv",
             "results.export_xlsx", "results.export_zip", "results.portfolio_csv",
             "results.portfolio_xlsx", "attachments.download"}


def _paths(app, rule, ids: dict):
    """Every URL worth rendering for a rule: each assessment state, principle, kind of
    answer, administration, user, instrument version, file and link."""
    with app.app_context():
        spec = instrument_of(db.session.get(Assessment, ids["draft"]))
        organisations = list(db.session.scalars(select(Organisation.id)))
        instruments = list(db.session.scalars(select(Instrument.id)))
    principle_page = rule.endpoint in ("answering.principle_page", "review.principle_page")
    values = {"assessment_id": [ids[name] for name in ASSESSMENTS],
              "key": ([p.key for p in spec.principles] if principle_page
                      else ["PW.1", "PW.2", "PW.3", "PW.4"]),
              "organisation_id": organisations, "instrument_id": instruments,
              "user_id": ids["users"], "file_id": ids["files"],
              "token": [ids["token"], "not-a-live-token"]}
    combos = [{}]
    for argument in sorted(rule.arguments):
        combos = [{**combo, argument: value} for combo in combos
                  for value in values[argument]]
    return [rule.build(combo)[1] for combo in combos]


def _extras(ids: dict) -> list[str]:
    """Query strings the routes read: pagers, filters, searches, the report's language."""
    draft, validated = ids["draft"], ids["validated"]
    return ["/assessments?page=2", f"/assessments/{draft}/answers/PW.1/history?page=2",
            f"/assessments/{draft}/report.pdf?lang=eo", f"/assessments/{draft}/report.pdf?lang=xx",
            f"/assessments/{validated}/report.pdf?language=eo",
            f"/assessments/{validated}/report/preview?sections=summary",
            "/assessments/999999", f"/assessments/{draft}/submit",
            "/dashboard?status=submitted&sort=name&dir=desc", "/dashboard?waiting=1",
            "/dashboard?q=nothing-matches", "/dashboard?page=2", "/regional?region=x",
            "/admin/users?role=facilitator&state=inactive", "/admin/users?q=nobody",
            "/admin/administrations?q=nobody", "/admin/audit?action=x&since=2020-01-01",
            "/admin/audit?since=not-a-date", f"/verify?digest={ids['digest']}",
            "/verify?digest=" + "0" * 64, "/verify?digest=nonsense",
            "/language"]  # a form's address only: 405


def walk_every_get_route(app, browser: Browser, role: str, pages: Pages) -> int:
    """GET every route (HEAD answers the same), as a page and, where a route answers
    fragments, as htmx; return how many answered 200. A downloaded evidence file is the
    respondent's own document: only its refusals are checked."""
    ids, rendered = app.config["PSEUDO_IDS"], 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in ("static", "healthz"):
            continue
        download = rule.endpoint in DOWNLOADS
        for path in _paths(app, rule, ids):
            for htmx in (False,) if download else (False, True):
                response = browser.get(path, htmx=htmx)
                if response.status_code >= 400 or (
                        response.status_code == 200 and rule.endpoint != "attachments.download"):
                    pages.check(f"{role} GET {path}{' (htmx)' if htmx else ''}", response)
                rendered += response.status_code == 200
    for extra in _extras(ids):
        pages.check(f"{role} GET {extra}", browser.get(extra))
    return rendered


def test_every_page_fragment_and_file_is_translated(pseudo_app):
    app, pages = pseudo_app, Pages(pseudo_app)
    ids = app.config["PSEUDO_IDS"]
    draft, reviewing, validated = ids["draft"], ids["reviewing"], ids["validated"]
    instrument = ids["instrument"]

    visitor = _client(app)
    pages.check("visitor GET /login", visitor.get("/login"))
    visitor.refresh_token("/login")
    pages.check("visitor sign-in, empty form", visitor.post("/login", {}))
    pages.check("visitor sign-in, wrong password", visitor.post(
        "/login", {"email": ROLES["resp_a"], "password": "wrong-password-1"}))
    pages.check("visitor htmx save (session expired)", visitor.post(
        f"/assessments/{draft}/answers/PW.1", {"PW.1-level": "1"}, htmx=True))
    pages.check("visitor plain save (sign in to resume)", visitor.client.post(
        f"/assessments/{draft}/principles/PW", headers={"Origin": "http://localhost"},
        data={"PW.1-level": "1", "action": "save", "csrf_token": visitor.token}))
    pages.check("visitor unknown language", visitor.post("/language", {"language": "xx"}))
    pages.check("visitor asks for a new password", visitor.post(
        "/password/forgot", {"email": "someone@example.org"}))
    pages.check("visitor sets a password, too short", visitor.post(
        f"/password/set/{ids['token']}", {"password": "short", "confirm_password": "short"}))
    pages.check("visitor sets a password, not the same twice", visitor.post(
        f"/password/set/{ids['token']}", {"password": "a long enough passphrase 1",
                                          "confirm_password": "another passphrase 22"}))
    walk_every_get_route(app, visitor, "visitor", pages)

    for role, email in ROLES.items():
        browser = _client(app)
        browser.login(email)
        assert walk_every_get_route(app, browser, role, pages) > 10, role

    resp = _client(app)
    resume = resp.client.post("/login", data={
        "email": ROLES["resp_a"], "password": PASSWORD, "resume_to": f"/assessments/{draft}",
        "resume:PW.1-level": "2", "csrf_token": _token(resp, "/login")})
    pages.check("respondent signed in again, resume", resume)
    resp.refresh_token()
    principle = f"/assessments/{draft}/principles/PW"
    save = f"/assessments/{draft}/answers/PW.3"
    files = f"/assessments/{draft}/answers/PW.1/files"
    for label, response in [
        ("htmx save", resp.post(save, {"PW.3-level": "2", "PW.3-evidence": "‹x›",
                                       "PW.3-version": "1"}, htmx=True)),
        ("htmx save, level outside the scale", resp.post(save, {"PW.3-level": "9"}, htmx=True)),
        ("htmx save, evidence too long", resp.post(
            save, {"PW.3-level": "2", "PW.3-evidence": "x" * 20_001}, htmx=True)),
        ("htmx save, not applicable without a reason", resp.post(
            save, {"PW.3-level": "na", "PW.3-evidence": ""}, htmx=True)),
        ("htmx save, conflict", resp.post(save, {"PW.3-level": "3", "PW.3-version": "0"},
                                          htmx=True)),
        ("htmx save, no CSRF token", resp.post(save, {"PW.3-level": "2"}, htmx=True,
                                               csrf=False)),
        ("htmx save, unknown indicator", resp.post(
            f"/assessments/{draft}/answers/ZZ.1", {"ZZ.1-level": "1"}, htmx=True)),
        ("htmx save, submitted round", resp.post(
            f"/assessments/{reviewing}/answers/PW.1", {"PW.1-level": "1"}, htmx=True)),
        ("plain save, invalid (JavaScript off)", resp.post(
            principle, {"PW.1-level": "7", "action": "save"})),
        ("plain save, conflict (JavaScript off)", resp.post(
            principle, {"PW.1-level": "1", "PW.1-version": "0", "action": "save"})),
        ("plain save", resp.post(principle, {"PW.4-level": "1", "action": "save"},
                                 follow_redirects=True)),
        ("plain autosave, invalid", resp.post(save, {"PW.3-level": "8"},
                                              follow_redirects=True)),
        ("file of a refused kind", resp.post(files, {"files": [
            (io.BytesIO(b"MZ not a document"), "tool.exe")]}, htmx=True,
            content_type="multipart/form-data")),
        ("file of a refused kind (JavaScript off)", resp.post(files, {"files": [
            (io.BytesIO(b"MZ not a document"), "tool.exe")]},
            content_type="multipart/form-data")),
        ("no file chosen", resp.post(files, {}, htmx=True)),
        ("action, no description", resp.post(f"/assessments/{draft}/actions/PW.3", {
            "description": "", "due_date": "someday", "status": "done", "version": "1"},
            htmx=True)),
        ("action, no description (JavaScript off)", resp.post(
            f"/assessments/{draft}/actions/PW.3", {"description": "", "version": "1"})),
        ("assign, not a colleague", resp.post(f"/assessments/{draft}/principles/OC/assignee",
                                              {"user_id": "999999"})),
        ("answer a query, empty", resp.post(f"/assessments/{reviewing}/queries/1/replies",
                                            {"message": ""}, htmx=True)),
        ("new round, no name", resp.post("/assessments", {"round_name": ""})),
        ("new round, name taken", resp.post("/assessments", {
            "round_name": "‹2026 round›", "instrument_id": instrument})),
        ("new round", resp.post("/assessments", {"round_name": "‹Spare›",
                                                 "instrument_id": instrument},
                                follow_redirects=True)),
        ("submit, incomplete", resp.post(f"/assessments/{draft}/submit")),
        ("submit, already submitted", resp.post(f"/assessments/{reviewing}/submit")),
        ("withdraw", resp.post(f"/assessments/{ids['returned']}/withdraw")),
        ("withdraw, under review", resp.post(f"/assessments/{reviewing}/withdraw")),
        ("profile, name too long", resp.post("/account", {"name": "n" * 500,
                                                          "language": "xx"})),
        ("password, wrong current one", resp.post("/account/password", {
            "current_password": "wrong", "new_password": "a long enough passphrase 1",
            "confirm_password": "a long enough passphrase 1"})),
        ("choose a language", resp.post("/language", {"language": PSEUDO,
                                                      "next": principle},
                                        follow_redirects=True)),
        ("sign out", resp.post("/logout", follow_redirects=True)),
    ]:
        pages.check(f"respondent {label}", response)

    facilitator = _client(app)
    facilitator.login(ROLES["fac_a"])
    review = f"/assessments/{reviewing}/reviews/PW.1"
    for label, response in [
        ("saving an answer (not allowed)", facilitator.post(
            principle, {"PW.1-level": "1", "action": "save"})),
        ("review, state unknown", facilitator.post(review, {
            "PW.1-review-level": "2", "PW.1-state": "maybe"}, htmx=True)),
        ("review, level outside the scale (JavaScript off)", facilitator.post(review, {
            "PW.1-review-level": "9", "PW.1-state": "accepted"})),
        ("review, conflict (JavaScript off)", facilitator.post(review, {
            "PW.1-review-level": "3", "PW.1-state": "accepted", "PW.1-review-version": "0"})),
        ("review, conflict", facilitator.post(review, {
            "PW.1-review-level": "3", "PW.1-state": "accepted", "PW.1-review-version": "0"},
            htmx=True)),
        ("query, empty", facilitator.post(f"/assessments/{reviewing}/queries", {
            "indicator_key": "PW.1", "message": ""}, htmx=True)),
        ("query on a draft", facilitator.post(f"/assessments/{draft}/queries", {
            "indicator_key": "PW.1", "message": "‹Why?›"}, htmx=True)),
        ("validate with open queries", facilitator.post(
            f"/assessments/{reviewing}/validate")),
        ("return without a reason", facilitator.post(f"/assessments/{reviewing}/return",
                                                     {"message": ""})),
        ("reopen (not allowed)", facilitator.post(f"/assessments/{validated}/reopen",
                                                  {"message": "‹Why›"})),
        ("a comment on the plan, empty", facilitator.post(
            f"/assessments/{draft}/actions/PW.3/comments", {"comment": ""}, htmx=True)),
    ]:
        pages.check(f"facilitator {label}", response)

    admin = _client(app)
    admin.login(ROLES["admin"])
    for label, response in [
        ("new administration, empty", admin.post("/admin/administrations/new", {})),
        ("new user, empty", admin.post("/admin/users/new", {})),
        ("new user", admin.post("/admin/users/new", {
            "email": "new@example.org", "name": "‹New›", "role": "respondent",
            "organisation_id": ids["organisation"]}, follow_redirects=True)),
        ("user, no role", admin.post(f"/admin/users/{ids['users'][0]}", {"name": "‹x›"})),
        ("assign a respondent", admin.post(
            f"/admin/users/{ids['users'][0]}/assignments", {"organisation_id": "1"},
            follow_redirects=True)),
        ("deactivate", admin.post(f"/admin/users/{ids['users'][1]}/deactivate",
                                  follow_redirects=True)),
        ("instrument upload, no file", admin.post("/admin/instruments", {})),
        ("instrument upload, not an instrument", admin.post("/admin/instruments", {
            "file": (io.BytesIO(b"key: [unclosed"), "broken.yaml")},
            content_type="multipart/form-data")),
        ("start a round, no name", admin.post(
            f"/admin/administrations/{ids['organisation']}/assessments", {"round_name": ""},
            follow_redirects=True)),
        ("reopen a validated round, no reason", admin.post(
            f"/assessments/{validated}/reopen", {"message": ""}, follow_redirects=True)),
        ("reopen a validated round", admin.post(
            f"/assessments/{validated}/reopen", {"message": "‹Typo›"},
            follow_redirects=True)),
    ]:
        pages.check(f"admin {label}", response)

    pages.assert_nothing_escaped()
    checked = " ".join(pages.checked)
    for kind in ("text/html", "application/pdf", "text/csv", "application/json", XLSX,
                 "application/zip"):
        assert f"200 {kind}" in checked, kind
    for status in (400, 401, 403, 404, 405, 409, 410, 422):
        assert f"({status} text/html)" in checked, status
    assert len(pages.checked) > 1000


def _token(browser: Browser, path: str) -> str:
    from tests.conftest import csrf_from

    return csrf_from(browser.client.get(path).text)


def test_the_checker_finds_text_that_went_round_gettext(pseudo_app):
    """The check itself: an unmarked word is found wherever it hides."""
    pages = Pages(pseudo_app)
    allowed = pages.allowed
    assert letters_left("⟦Sign in⟧ ‹Amina› ⟪Political will⟫ 3/5 · PW.1 cbassess", allowed) == []
    assert letters_left("⟦Saved at ⟦14:05 UTC⟧ by ‹Amina›⟧", allowed) == []
    assert letters_left("⟦Level 3⟧ Established", allowed) == ["Established"]
    assert letters_left("‹Amina› ⟦by⟧ Draft", allowed)
    parser = VisibleText(PSEUDO)
    parser.feed('<p title="Hidden hint">⟦ok⟧</p><button lang="fr">Français</button>'
                '<script>var x = "not text";</script>')
    assert "".join(parser.text) == "⟦ok⟧" and parser.attributes == ["Hidden hint"]


def test_a_right_to_left_language_turns_the_page_right_to_left(tmp_path):
    """Adding a catalogue for a right-to-left language (Arabic here, a pseudo one) is all it
    takes for pages to say dir="rtl"; the browser test checks they then lay out cleanly."""
    catalogues = tmp_path / "catalogues"
    write_catalogue(catalogues, "ar")
    app = create_app({"TESTING": True, "SECRET_KEY": "x",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'rtl.sqlite'}",
                      "BABEL_TRANSLATION_DIRECTORIES": f"translations;{catalogues}"})
    assert "ar" in app.config["LANGUAGES"]
    page = app.test_client().get("/login", headers={"Accept-Language": "ar"})
    assert '<html lang="ar" dir="rtl">' in page.text
    assert '<button type="submit" class="button button--quiet" name="language" value="en" ' \
           'lang="en">English</button>' in page.text
    english = app.test_client().get("/login", headers={"Accept-Language": "en"})
    assert '<html lang="en" dir="ltr">' in english.text
