"""Which language a page is in, how a person changes it, and what changes with it.

The order: the signed-in user's preference, then the switcher's choice (kept in the
session), then the browser's Accept-Language, then English. Numbers and dates follow the
language through Babel; answers stay as their authors wrote them; the report and the exports
can be had in either language whatever the interface's.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime

import pytest

from cbassess import i18n
from cbassess.extensions import db
from cbassess.models import AnswerRevision, Assessment, User
from tests.conftest import PASSWORD, Browser, csrf_from, pdf_text

NARROW_NBSP, NBSP = "\u202f", "\u00a0"


def html_lang(response) -> str:
    return re.search(r'<html lang="([^"]+)" dir="(ltr|rtl)">', response.text).group(1)


def preference(app, email: str) -> str | None:
    with app.app_context():
        return db.session.query(User).filter_by(email=email).one().language


def choose(browser: Browser, language: str, back: str = "/assessments", path: str = "/login"):
    """Press the switcher's button for `language` on the page at `path`."""
    token = csrf_from(browser.client.get(path).text)
    return browser.client.post("/language", data={"language": language, "next": back,
                                                  "csrf_token": token})


# --------------------------------------------------------------------------- choosing

def test_english_when_nothing_says_otherwise(client):
    page = client.get("/login")
    assert html_lang(page) == "en" and "<h1>Sign in</h1>" in page.text
    assert 'dir="ltr"' in page.text


@pytest.mark.parametrize("header, language", [
    ("fr", "fr"), ("fr-CA,fr;q=0.9,en;q=0.8", "fr"), ("de-DE,fr;q=0.5", "fr"),
    ("de-DE,de;q=0.9", "en"), ("en-GB,fr;q=0.5", "en"),
])
def test_the_browsers_accept_language_decides_for_a_visitor(client, header, language):
    page = client.get("/login", headers={"Accept-Language": header})
    assert html_lang(page) == language


def test_a_visitor_switches_without_javascript_and_the_choice_lasts_the_session(client):
    browser = Browser(client)
    page = client.get("/login")
    assert 'name="language" value="fr" lang="fr">Français</button>' in page.text
    assert 'name="next" value="/login"' in page.text
    response = choose(browser, "fr", back="/login")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    french = client.get("/login", headers={"Accept-Language": "en"})
    assert html_lang(french) == "fr" and "<h1>Se connecter</h1>" in french.text
    assert 'name="language" value="en" lang="en">English</button>' in french.text


def test_the_switcher_needs_the_forms_token(client):
    client.get("/login")
    refused = client.post("/language", data={"language": "fr", "next": "/login"})
    assert refused.status_code != 303
    assert html_lang(client.get("/login")) == "en"


@pytest.mark.parametrize("back", ["https://evil.example/", "//evil.example/x", "/\\evil",
                                  "javascript:alert(1)", ""])
def test_the_switcher_sends_back_only_to_a_page_of_this_site(client, back):
    response = choose(Browser(client), "fr", back=back)
    assert response.status_code == 303 and response.headers["Location"] == "/assessments"


def test_the_switcher_refuses_a_language_the_app_does_not_have(client):
    response = choose(Browser(client), "de")
    assert response.status_code == 400
    assert "The language “de” is not available. Available: English, French." in response.text


def test_a_signed_in_users_choice_is_saved_as_their_preference(app, respondent, make_browser):
    assert preference(app, "resp-a@example.org") is None
    choose(respondent, "fr", path="/assessments")
    assert preference(app, "resp-a@example.org") == "fr"
    # Another device, whose browser asks for English: the preference comes first.
    elsewhere = make_browser("resp-a@example.org")
    page = elsewhere.client.get("/assessments", headers={"Accept-Language": "en-GB"})
    assert html_lang(page) == "fr" and "<h1>Évaluations</h1>" in page.text


def test_a_language_chosen_before_signing_in_becomes_a_first_preference(app, client):
    browser = Browser(client)
    choose(browser, "fr")
    browser.login("resp-a@example.org")
    assert html_lang(client.get("/assessments")) == "fr"
    assert preference(app, "resp-a@example.org") == "fr"


def test_an_existing_preference_wins_over_a_choice_made_on_the_sign_in_page(app, client):
    with app.app_context():
        db.session.query(User).filter_by(email="resp-a@example.org").one().language = "en"
        db.session.commit()
    browser = Browser(client)
    choose(browser, "fr")
    browser.login("resp-a@example.org")
    assert html_lang(client.get("/assessments")) == "en"
    assert preference(app, "resp-a@example.org") == "en"


def test_signing_out_leaves_the_sign_in_page_in_the_same_language(respondent):
    choose(respondent, "fr", path="/assessments")
    respondent.refresh_token()
    page = respondent.post("/logout", follow_redirects=True)
    assert html_lang(page) == "fr" and "Déconnexion effectuée." in page.text


def test_the_switcher_brings_the_person_back_to_the_page_they_were_on(respondent, a_id):
    page = respondent.get(f"/assessments/{a_id}/principles/PW?x=1")
    assert f'name="next" value="/assessments/{a_id}/principles/PW?x=1"' in page.text
    response = choose(respondent, "fr", back=f"/assessments/{a_id}/principles/PW?x=1",
                      path=f"/assessments/{a_id}")
    assert response.headers["Location"] == f"/assessments/{a_id}/principles/PW?x=1"


def test_after_a_refused_post_the_switcher_returns_to_a_page_that_can_be_read(respondent, a_id):
    page = respondent.post(f"/assessments/{a_id}/submit")  # 422: the overview again
    assert page.status_code == 422
    # The submit address also answers GET (what is about to be submitted): back there.
    assert f'name="next" value="/assessments/{a_id}/submit"' in page.text
    assert respondent.get(f"/assessments/{a_id}/submit").status_code == 200


def test_after_a_post_to_an_address_without_a_page_the_switcher_returns_to_the_list(app):
    with app.test_request_context("/language", method="POST"):
        assert i18n.return_path() == "/assessments"


# --------------------------------------------------------------------------- what changes

@pytest.fixture
def french(respondent):
    choose(respondent, "fr", path="/assessments")
    respondent.refresh_token()
    return respondent


def test_pages_instrument_and_messages_are_in_french(french, a_id):
    page = french.get(f"/assessments/{a_id}/principles/PW")
    assert html_lang(page) == "fr"
    assert "<h1>Volonté politique</h1>" in page.text
    assert "Éléments probants à fournir" in page.text
    assert "Le ministre ou une autre autorité politique a publiquement exprimé" in page.text
    assert "Enregistrer et continuer" in page.text
    assert "Répondant · <bdi>Administration A</bdi>" in page.text
    messages = json.loads(re.search(r'data-messages="([^"]+)"', page.text).group(1)
                          .replace("&#34;", '"').replace("&quot;", '"'))
    assert messages["saving"] == "Enregistrement…" and messages["retry"] == "Réessayer"


def test_validation_messages_are_in_french_with_french_numbers(french, a_id):
    response = french.autosave(a_id, "PW.1", level=2, evidence="x" * 20_001)
    assert response.status_code == 422
    assert (f"Les éléments probants comptent 20{NARROW_NBSP}001 caractères{NBSP}; la limite "
            f"est de 20{NARROW_NBSP}000.") in response.text
    response = french.autosave(a_id, "PW.1", level="na", evidence="")
    assert "doit être justifiée par écrit" in response.text


def test_flashes_and_error_pages_are_in_french(french, a_id):
    page = french.post(f"/assessments/{a_id}/principles/PW", {"action": "save"},
                       follow_redirects=True)
    assert "Vos réponses sont enregistrées." in page.text
    missing = french.post(f"/assessments/{a_id}/submit")
    assert "28 indicateurs ne sont pas renseignés" in missing.text
    not_found = french.get("/assessments/999999")
    assert not_found.status_code == 404 and "<h1>Page introuvable</h1>" in not_found.text


def test_scores_and_percentages_are_written_the_french_way(french, a_id):
    for key, level in (("PW.1", 3), ("PW.2", 4)):
        french.autosave(a_id, key, level=level, evidence="ev")
    results = french.get(f"/assessments/{a_id}/results").text
    assert ">3,50<" in results  # the principle's average
    assert f"7{NBSP}%" in results or f"7{NARROW_NBSP}%" in results  # 2 of 28 answered
    overview = french.get(f"/assessments/{a_id}").text
    assert ">3,50<" in overview


def test_english_keeps_english_numbers(respondent, a_id):
    respondent.autosave(a_id, "PW.1", level=3, evidence="ev")
    respondent.autosave(a_id, "PW.2", level=4, evidence="ev")
    results = respondent.get(f"/assessments/{a_id}/results").text
    assert ">3.50<" in results and ">7%<" in results


def test_dates_are_written_the_french_way(app, french, a_id):
    french.autosave(a_id, "PW.1", level=3, evidence="ev")
    when = datetime(2026, 11, 29, 14, 5, 9, tzinfo=UTC)
    with app.app_context():
        db.session.query(AnswerRevision).update({"changed_at": when})
        assessment = db.session.get(Assessment, a_id)
        assessment.submitted_at = when
        assessment.submitted_by_id = db.session.query(User).filter_by(
            email="resp-a@example.org").one().id
        db.session.commit()
    history = french.get(f"/assessments/{a_id}/answers/PW.1/history").text
    assert "29 nov. 2026, 14:05:09 UTC" in history
    report = pdf_text(french.get(f"/assessments/{a_id}/report.pdf").data)
    assert "29 novembre 2026, par Resp A" in report


def test_answers_stay_as_their_authors_wrote_them(french, respondent, make_browser, a_id):
    french.autosave(a_id, "PW.1", level=2, evidence="Décret n° 2025-114 du 12 mars 2025",
                    note="à compléter")
    english = make_browser("resp-a2@example.org")
    page = english.get(f"/assessments/{a_id}/principles/PW")
    assert html_lang(page) == "en"
    assert "Décret n° 2025-114 du 12 mars 2025</textarea>" in page.text
    assert "à compléter</textarea>" in page.text


# --------------------------------------------------------------------------- downloads

def test_the_report_comes_in_either_language_whatever_the_interfaces(respondent, a_id):
    respondent.autosave(a_id, "PW.1", level=3, evidence="Decree 2025-114")
    in_french = respondent.get(f"/assessments/{a_id}/report.pdf?lang=fr")
    assert in_french.status_code == 200
    assert 'filename="cbassess-AA-2026-round-fr.pdf"' in in_french.headers["Content-Disposition"]
    text = pdf_text(in_french.data)
    for words in ("Résumé analytique", "Volonté politique", "Constats par principe", "méthodologie",
                  "ÉLÉMENTS PROBANTS", "Auto-évaluation — non validée", "Decree 2025-114",
                  "Page 2 sur"):
        assert words in text, words
    assert "Political will" not in text
    # …and the interface is still in English.
    assert html_lang(respondent.get("/assessments")) == "en"
    text = pdf_text(respondent.get(f"/assessments/{a_id}/report.pdf").data)
    assert "Executive summary" in text and "Political will" in text
    assert "Résumé analytique" not in text


def test_a_french_interface_can_download_the_english_report(french, a_id):
    text = pdf_text(french.get(f"/assessments/{a_id}/report.pdf?language=en").data)
    assert "Executive summary" in text and "Résumé analytique" not in text
    assert pdf_text(french.get(f"/assessments/{a_id}/report.pdf?lang=en").data) == text


def test_the_overview_and_results_link_to_the_other_language(french, a_id):
    for path in (f"/assessments/{a_id}", f"/assessments/{a_id}/results"):
        page = french.get(path).text
        assert (f'href="/assessments/{a_id}/report.pdf?language=en" hreflang="en">Rapport PDF '
                "en anglais</a>") in page
        assert f'href="/assessments/{a_id}/export.csv?language=en" hreflang="en">' in page


def test_an_unknown_language_is_refused_with_the_ones_there_are(respondent, a_id):
    response = respondent.get(f"/assessments/{a_id}/report.pdf?lang=de")
    assert response.status_code == 400
    assert "Available: English, French." in response.text


def test_the_csv_in_french_has_french_headers_and_semicolons(respondent, a_id):
    respondent.autosave(a_id, "PW.2", level="na", evidence="Pas de loi, 2024")
    response = respondent.get(f"/assessments/{a_id}/export.csv?lang=fr")
    assert 'filename="cbassess-AA-2026-round-fr.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert list(rows[0]) == ["Principe", "Indicateur", "Question", "Niveau",
                             "Intitulé du niveau", "Note du niveau", "Sans objet",
                             "Déclaration non étayée", "Éléments probants",
                             "Type d’éléments probants", "Degré de confiance", "Remarque",
                             "Enregistré par", "Enregistré le (UTC)", "Niveau validé",
                             "Validé «\u00a0sans objet\u00a0»", "Examen", "Constat"]
    row = rows[1]
    assert row["Principe"] == "PW" and row["Indicateur"] == "PW.2"
    assert row["Question"].startswith("Le cadre juridique confère-t-il")
    assert row["Sans objet"] == "oui" and row["Éléments probants"] == "Pas de loi, 2024"


def test_the_json_export_says_its_language_and_keeps_its_keys(respondent, a_id):
    respondent.autosave(a_id, "PW.1", level=1, evidence="Evidence as typed")
    body = json.loads(respondent.get(f"/assessments/{a_id}/export.json?lang=fr").data)
    assert body["language"] == "fr"
    answer = body["answers"][0]
    assert answer["principle"] == "Volonté politique" and answer["level_label"] == "Initial"
    assert answer["evidence"] == "Evidence as typed"
    assert json.loads(respondent.get(f"/assessments/{a_id}/export.json").data)[
        "language"] == "en"


def test_the_sign_in_form_speaks_french_when_a_field_is_missing(client):
    browser = Browser(client)
    choose(browser, "fr")
    token = csrf_from(client.get("/login").text)
    page = client.post("/login", data={"email": "", "password": "", "csrf_token": token})
    assert "Saisissez votre adresse électronique." in page.text
    assert "Saisissez votre mot de passe." in page.text
    wrong = client.post("/login", data={"email": "resp-a@example.org", "password": "nope-nope",
                                        "csrf_token": token})
    assert "ne correspondent à aucun compte actif" in wrong.text
    signed_in = client.post("/login", data={"email": "resp-a@example.org",
                                            "password": PASSWORD, "csrf_token": token})
    assert signed_in.status_code == 302


def test_the_french_report_leaves_no_page_mostly_blank(app, a_id):
    """French runs longer than English: the report's layout rules (no page mostly blank
    before its chapter goes on, no heading or caption ending a page) hold in French too."""
    from cbassess.report import ReportOptions
    from tests.report_data import fill
    from tests.test_report import _report_html, measure_pages

    fill(app, a_id)
    html = _report_html(app, a_id, **ReportOptions(language="fr").__dict__)
    assert '<html lang="fr"' in html and "Résumé analytique" in html
    pages = measure_pages(html, app.static_folder)
    problems = []
    for number, page in enumerate(pages, start=1):
        if any(tag in ("h1", "h2", "h3", "h4", "caption") for tag, _ in page["last"]):
            problems.append(f"page {number} ends with {page['last'][-1]}")
        follows = pages[number] if number < len(pages) else None
        if follows is not None and not follows["chapter_title"] and page["fill"] < 0.5:
            problems.append(f"page {number} is {page['fill']:.0%} full")
    assert problems == []


def test_every_word_app_js_shows_comes_from_the_page_in_its_language(french, a_id):
    """app.js has no words of its own: each message it shows is read from the page's
    data-messages, which the server renders through gettext."""
    from pathlib import Path

    script = (Path(__file__).resolve().parent.parent / "static" / "app.js").read_text()
    used = set(re.findall(r'message\("(\w+)"\)', script))
    assert used >= {"saving", "retry", "offline", "timeout", "restored"}
    assert not re.search(r'textContent = "[A-Za-z]', script)  # no literal words either
    page = french.get(f"/assessments/{a_id}/principles/PW").text
    messages = json.loads(re.search(r'data-messages="([^"]+)"', page).group(1)
                          .replace("&#34;", '"').replace("&quot;", '"'))
    assert used <= set(messages)
    assert messages["offline"].startswith("Non enregistré")
    assert messages["restored"].startswith("Texte non enregistré récupéré")
