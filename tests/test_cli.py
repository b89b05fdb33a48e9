"""The flask CLI: database, users, demo data, instruments."""

from __future__ import annotations

from pathlib import Path

from cbassess.extensions import db
from cbassess.models import Answer, Instrument, User
from tests.conftest import DATA


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
