"""The flask CLI: database, users, demo data, instruments."""

from __future__ import annotations

from pathlib import Path

from cbassess.extensions import db
from cbassess.models import Answer, Instrument, User
from tests.conftest import DATA, pdf_text


def test_init_db_is_idempotent(runner):
    assert runner.invoke(args=["init-db"]).exit_code == 0
    assert runner.invoke(args=["init-db"]).exit_code == 0


def test_create_user_with_password_option(runner, app):
    result = runner.invoke(args=["create-user", "--email", "New@Example.org", "--role",
                                 "respondent", "--organisation", "Administration C",
                                 "--country", "cc", "--password", "a-long-password"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.query(User).filter_by(email="new@example.org").one()
        assert user.organisation.country_code == "CC"
        assert user.password_hash.startswith("scrypt:")


def test_create_user_prompts_for_the_password(runner, app):
    result = runner.invoke(args=["create-user", "--email", "p@example.org", "--role", "admin"],
                           input="a-long-password\na-long-password\n")
    assert result.exit_code == 0, result.output


def test_create_user_refuses_a_short_password(runner):
    result = runner.invoke(args=["create-user", "--email", "s@example.org", "--role", "admin",
                                 "--password", "short"])
    assert result.exit_code != 0
    assert "at least 12 characters" in result.output


def test_create_user_refuses_a_duplicate_email(runner):
    result = runner.invoke(args=["create-user", "--email", "admin@example.org", "--role",
                                 "admin", "--password", "a-long-password"])
    assert result.exit_code != 0 and "already exists" in result.output


def test_create_facilitator_assigned_to_an_administration(runner, app):
    result = runner.invoke(args=["create-user", "--email", "f@example.org", "--role",
                                 "facilitator", "--assign", "Administration B",
                                 "--password", "a-long-password"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.query(User).filter_by(email="f@example.org").one()
        assert [o.name for o in user.assigned_organisations] == ["Administration B"]


def test_seed_demo_prints_logins_and_half_completes_an_assessment(runner, app):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "respondent@demo.example" in result.output
    assert "facilitator@demo.example" in result.output
    with app.app_context():
        assert db.session.query(Answer).count() == 11


def test_seed_demo_refuses_production(app):
    app.config["ENV_NAME"] = "production"
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "production" in result.output


def test_instrument_check_accepts_a_valid_file(runner):
    result = runner.invoke(args=["instrument", "check", str(DATA / "other-framework.yaml")])
    assert result.exit_code == 0
    assert "3 principles, 4 indicators, levels 1–4" in result.output


def test_instrument_check_names_the_file_and_path_of_an_error(runner, tmp_path):
    text = (DATA / "other-framework.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace("key: TF.2", "key: TF.1"), encoding="utf-8")
    result = runner.invoke(args=["instrument", "check", str(broken)])
    assert result.exit_code != 0
    assert "broken.yaml" in result.output and "duplicate key 'TF.1'" in result.output


def test_instrument_import_adds_it_once(runner, app):
    path = str(DATA / "other-framework.yaml")
    assert "Imported" in runner.invoke(args=["instrument", "import", path]).output
    assert "Already imported" in runner.invoke(args=["instrument", "import", path]).output
    with app.app_context():
        assert db.session.query(Instrument).filter_by(key="trade-facilitation-mini").count() == 1


def test_instrument_import_refuses_changed_text_under_the_same_version(runner, tmp_path):
    source = DATA / "other-framework.yaml"
    runner.invoke(args=["instrument", "import", str(source)])
    changed = Path(tmp_path / "changed.yaml")
    changed.write_text(source.read_text(encoding="utf-8").replace("Basic", "Elementary", 1),
                       encoding="utf-8")
    result = runner.invoke(args=["instrument", "import", str(changed)])
    assert result.exit_code != 0 and "new version" in result.output


SHIPPED_FILE = Path(__file__).parent.parent / "cbassess" / "instruments" / \
    "wco-cb-core-principles.yaml"


def test_instrument_check_says_every_declared_language_is_complete(runner):
    result = runner.invoke(args=["instrument", "check", str(SHIPPED_FILE)])
    assert result.exit_code == 0, result.output
    assert "wco-cb-core-principles 1.2.0" in result.output
    assert "languages en, fr: every text translated" in result.output


def test_instrument_check_shows_partial_translations_of_an_undeclared_language(runner):
    result = runner.invoke(args=["instrument", "check", str(DATA / "other-framework.yaml")])
    assert result.exit_code == 0
    assert "en: 46 of 46 texts\n" in result.output
    assert "fr: 17 of 46 texts (not declared; the rest shows in English)" in result.output


def test_instrument_check_lists_every_text_missing_a_declared_language(runner, tmp_path):
    text = SHIPPED_FILE.read_text(encoding="utf-8")
    gaps = tmp_path / "gaps.yaml"
    # Two French texts gone: a descriptor of PW.1 and an evidence example of PA.6.
    text = text.replace('\n            fr: "Le ministre ou une autre autorité politique', '\n'
                        '            xx: "', 1)
    text = text.replace('            fr: "Feuilles de présence aux ateliers', '            #', 1)
    gaps.write_text(text.replace("xx:", "#", 1), encoding="utf-8")
    result = runner.invoke(args=["instrument", "check", str(gaps)])
    assert result.exit_code != 0
    assert "gaps.yaml: languages: declares en, fr, but 2 texts are missing a translation" \
        in result.output
    assert "principles[0].indicators[0].descriptors.1 (fr)" in result.output
    assert "principles[4].indicators[5].evidence_examples[1] (fr)" in result.output
    # …and such a file cannot be imported either.
    assert runner.invoke(args=["instrument", "import", str(gaps)]).exit_code != 0


def test_assessments_taken_on_1_0_0_keep_its_text_after_the_french_version_arrives(
        app, runner, make_browser):
    """A database from before the French holds 1.0.0 and rounds on it; init-db (run by every
    upgrade) adds the newest beside it. Old rounds keep the text and fingerprint they were taken
    on and still work end to end; a new round is offered the new version."""
    from datetime import UTC, datetime

    from cbassess.cli import import_instrument
    from cbassess.models import Assessment, Organisation
    from tests.conftest import DATA as data

    with app.app_context():
        old, created = import_instrument(data / "wco-cb-core-principles-1.0.0.yaml")
        assert created and old.version == "1.0.0"
        old.imported_at = datetime(2026, 1, 1, tzinfo=UTC)  # long before the newest
        organisation = db.session.query(Organisation).filter_by(name="Administration A").one()
        assessment = Assessment(organisation=organisation, instrument_row=old,
                                round_name="2025 round")
        db.session.add(assessment)
        db.session.commit()
        old_id, old_hash = assessment.id, old.content_hash
    respondent = make_browser("resp-a@example.org")
    assert respondent.autosave(old_id, "PW.1", level=2, evidence="Decree").status_code == 200

    assert runner.invoke(args=["init-db"]).exit_code == 0
    with app.app_context():
        versions = {row.version for row in db.session.query(Instrument).filter_by(
            key="wco-cb-core-principles")}
        assert versions == {"1.0.0", "1.2.0"}
        assert db.session.get(Assessment, old_id).instrument_row.content_hash == old_hash

    respondent.post("/language", {"language": "fr", "next": "/assessments"})
    page = respondent.get(f"/assessments/{old_id}/principles/PW")
    assert page.status_code == 200
    assert "Volonté politique" in page.text  # 1.0.0 had the principles' titles in French…
    assert "Show who formally endorsed" in page.text  # …and its guidance in English only
    assert respondent.get(f"/assessments/{old_id}/results").status_code == 200
    report = respondent.get(f"/assessments/{old_id}/report.pdf")
    assert report.status_code == 200 and "version 1.0.0" in pdf_text(report.data)
    choices = respondent.get("/assessments").text
    assert "(version 1.2.0)" in choices and "(version 1.0.0)" not in choices


def test_create_user_with_a_language(runner, app):
    result = runner.invoke(args=["create-user", "--email", "fr@example.org", "--role", "admin",
                                 "--password", "a-long-password", "--language", "fr"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.query(User).filter_by(email="fr@example.org").one().language == "fr"
    refused = runner.invoke(args=["create-user", "--email", "de@example.org", "--role",
                                  "admin", "--password", "a-long-password", "--language", "de"])
    assert refused.exit_code != 0 and "not one of the app's languages (en, fr)" in \
        refused.output
