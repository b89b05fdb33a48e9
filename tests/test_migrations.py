"""The schema lives in migrations/: it never drifts from the models, every migration applies
to a database that holds data, a 0.1.0 database (made before migrations existed) upgrades
without losing a row, and anything else is refused untouched.

`tests/data/cbassess-0.1.0-demo.sqlite` was made by 0.1.0 itself: `init-db`, `seed-demo`, then
through the app a second edit of PW.1, a new answer, a "not applicable" with its
justification and a conflicting save (kept in the history), and copied with 0.1.0's `backup`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, create_engine, inspect, select, text

from cbassess import MIGRATIONS, create_app
from cbassess.extensions import db, migrate
from cbassess.schema import BASELINE, LEGACY_TABLES
from tests.conftest import DATA, Browser
from tests.databases import BACKEND

LEGACY_FILE = DATA / "cbassess-0.1.0-demo.sqlite"
LEGACY_COUNTS = {"organisations": 2, "users": 3, "instruments": 1, "assessments": 1,
                 "answers": 13, "answer_revisions": 15, "facilitator_assignments": 1}
DEMO_PASSWORD = "demo-password-2026"


def revisions_oldest_first() -> list[str]:
    script = ScriptDirectory(str(MIGRATIONS))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def app_on(url: str):
    return create_app({"TESTING": True, "SECRET_KEY": "test-secret",
                       "SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})


def flask_db(app, *args: str):
    """`flask --app cbassess db ARGS`, as an operator runs it."""
    return app.test_cli_runner().invoke(args=["db", *args])


def legacy_rows(url: str) -> dict[str, list[tuple]]:
    """Every row of 0.1.0's tables, in a stable order, as plain values."""
    engine = create_engine(url)
    try:
        metadata = MetaData()
        metadata.reflect(engine, only=list(LEGACY_TABLES))
        with engine.connect() as connection:
            return {name: sorted(tuple(_plain(v) for v in row) for row in
                                 connection.execute(select(*_columns(metadata.tables[name]))))
                    for name in LEGACY_TABLES}
    finally:
        engine.dispose()


def _columns(table):
    return [table.c[name] for name in sorted(LEGACY_TABLES[table.name])]


def _plain(value):
    """Values read back from either database compare equal: times without their zone (SQLite
    keeps none), JSON as text, booleans as booleans."""
    if hasattr(value, "tzinfo") and value.tzinfo is not None:
        return value.replace(tzinfo=None).isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.dumps(json.loads(value), sort_keys=True)
        except ValueError:
            return value
    return value


def current_revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.fixture
def legacy_url(databases, postgres_or_none):
    """A 0.1.0 database holding the fixture's rows: the file itself on SQLite; on PostgreSQL
    the baseline schema (which 0.1.0's init-db made) with the same rows copied in and no
    migration history."""
    url = databases.empty()
    if BACKEND == "sqlite":
        shutil.copyfile(LEGACY_FILE, Path(url.removeprefix("sqlite:///")))
    else:
        app = app_on(url)
        with app.app_context():
            assert flask_db(app, "upgrade", BASELINE).exit_code == 0
            db.engine.dispose()
        copy_rows(f"sqlite:///{LEGACY_FILE}", url)
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE alembic_version"))
        engine.dispose()
    yield url
    databases.discard(url)


@pytest.fixture
def postgres_or_none(request):
    return request.getfixturevalue("postgres") if BACKEND == "postgresql" else None


def copy_rows(source_url: str, target_url: str) -> None:
    """Every row of 0.1.0's tables from one database into another of the same schema."""
    source, target = create_engine(source_url), create_engine(target_url)
    metadata = MetaData()
    metadata.reflect(source, only=list(LEGACY_TABLES))
    with source.connect() as reading, target.begin() as writing:
        target_metadata = MetaData()
        target_metadata.reflect(writing, only=list(LEGACY_TABLES))
        for table in metadata.sorted_tables:
            rows = [dict(row._mapping) for row in reading.execute(select(table))]
            if rows:
                writing.execute(target_metadata.tables[table.name].insert(), rows)
        for table in target_metadata.sorted_tables:
            if "id" in table.c:
                writing.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT max(id) FROM {table.name}))"))
    source.dispose()
    target.dispose()


# --- the models and the migrations agree -----------------------------------------------


def test_the_migrated_schema_is_exactly_the_models(app):
    """Alembic's autogenerate comparison finds nothing: a model changed without a migration
    (or a migration that differs from the models) fails here."""
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_the_migrations_have_one_head_and_the_baseline_first():
    script = ScriptDirectory(str(MIGRATIONS))
    assert len(script.get_heads()) == 1
    assert revisions_oldest_first()[0] == BASELINE


def test_a_new_database_is_at_the_newest_revision(app, database_url):
    assert current_revision(database_url) == ScriptDirectory(str(MIGRATIONS)).get_current_head()


# --- a 0.1.0 database upgrades without loss ---------------------------------------------


def test_db_upgrade_brings_a_0_1_0_database_under_migrations_without_losing_a_row(legacy_url):
    before = legacy_rows(legacy_url)
    assert {name: len(rows) for name, rows in before.items()} == LEGACY_COUNTS
    app = app_on(legacy_url)
    with app.app_context():
        result = flask_db(app, "upgrade")
        db.engine.dispose()
    assert result.exit_code == 0, result.output
    assert current_revision(legacy_url) == revisions_oldest_first()[-1]
    assert legacy_rows(legacy_url) == before


def test_init_db_on_a_0_1_0_database_just_works(legacy_url):
    """Every row kept; the one row added is the shipped instrument's newer version (1.2.0,
    with the French and the evidence thresholds), beside the 1.0.0 the assessment was taken on."""
    before = legacy_rows(legacy_url)
    app = app_on(legacy_url)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["init-db"])
        db.engine.dispose()
    assert result.exit_code == 0, result.output
    assert current_revision(legacy_url) == revisions_oldest_first()[-1]
    after = legacy_rows(legacy_url)
    added = [row for row in after["instruments"] if row not in before["instruments"]]
    assert len(added) == 1 and "1.2.0" in added[0]
    after["instruments"] = [row for row in after["instruments"] if row not in added]
    assert after == before


def test_the_app_works_on_an_upgraded_0_1_0_database(legacy_url):
    """The demo respondent signs in, sees their answers and history, saves over a revised
    answer at its version, and the results and the PDF come out."""
    app = app_on(legacy_url)
    with app.app_context():
        assert flask_db(app, "upgrade").exit_code == 0
    browser = Browser(app.test_client())
    assert browser.login("respondent@demo.example", DEMO_PASSWORD).status_code == 302
    page = browser.get("/assessments/1/principles/PW")
    assert "Décret 2025-114 — révisé; «accents» and 中文" in page.text
    history = browser.get("/assessments/1/answers/PW.1/history")
    assert history.status_code == 200 and "stale tab" in history.text  # the conflict kept
    saved = browser.autosave(1, "PW.1", level=3, evidence="after the upgrade", version=2)
    assert saved.status_code == 200, saved.text
    stale = browser.autosave(1, "PW.1", level=1, evidence="an old tab", version=2)
    assert stale.status_code == 409
    assert browser.get("/assessments/1/results").status_code == 200
    report = browser.get("/assessments/1/report.pdf")
    assert report.status_code == 200 and report.data.startswith(b"%PDF")
    with app.app_context():
        db.engine.dispose()


def test_the_upgrade_computes_the_headline_averages_the_app_would(legacy_url):
    """0010 fills each assessment's claimed average with scoring's own figure, and leaves
    the validated one empty where nothing was reviewed; later saves keep it."""
    from cbassess.models import Answer, Assessment
    from cbassess.permissions import instrument_of
    from cbassess.scoring import AnswerValue, score

    def scored(assessment_id: int) -> tuple[float | None, float | None, float | None]:
        db.session.expire_all()
        assessment = db.session.get(Assessment, assessment_id)
        answers = {a.indicator_key: AnswerValue(a.level, a.not_applicable)
                   for a in db.session.scalars(select(Answer).where(
                       Answer.assessment_id == assessment_id))}
        return (assessment.claimed_average, score(instrument_of(assessment), answers).average,
                assessment.validated_average)

    app = app_on(legacy_url)
    with app.app_context():
        assert flask_db(app, "upgrade").exit_code == 0
        stored, expected, validated = scored(1)
        assert expected is not None and stored == pytest.approx(expected)
        assert validated is None
    browser = Browser(app.test_client())
    browser.login("respondent@demo.example", DEMO_PASSWORD)
    assert browser.autosave(1, "PW.1", level=0, evidence="lowest now").status_code == 200
    with app.app_context():
        stored, after, _ = scored(1)
        assert after != expected and stored == pytest.approx(after)
        db.engine.dispose()


def test_every_migration_applies_to_a_database_holding_data(legacy_url):
    """Step by step from the baseline, with 0.1.0's rows in: none is lost at any step."""
    before = legacy_rows(legacy_url)
    app = app_on(legacy_url)
    with app.app_context():
        for revision in revisions_oldest_first():
            result = flask_db(app, "upgrade", revision)
            assert result.exit_code == 0, f"{revision}: {result.output}"
            assert current_revision(legacy_url) == revision
            assert legacy_rows(legacy_url) == before, f"rows changed by {revision}"
        db.engine.dispose()


@pytest.mark.sqlite_only
def test_a_sqlite_database_holding_data_is_backed_up_beside_itself_before_it_changes(
        legacy_url):
    path = Path(legacy_url.removeprefix("sqlite:///"))
    before = legacy_rows(legacy_url)
    app = app_on(legacy_url)
    with app.app_context():
        assert flask_db(app, "upgrade").exit_code == 0
        [kept] = path.parent.glob("cbassess.sqlite.before-upgrade-0.1.0-*")
        assert legacy_rows(f"sqlite:///{kept}") == before
        assert current_revision(f"sqlite:///{kept}") is None  # exactly as it was
        # At the newest revision already: nothing to change, no second copy.
        assert flask_db(app, "upgrade").exit_code == 0
        db.engine.dispose()
    assert len(list(path.parent.glob("*.before-upgrade-*"))) == 1


@pytest.mark.sqlite_only
def test_a_new_empty_database_is_not_backed_up(databases):
    url = databases.empty()
    app = app_on(url)
    with app.app_context():
        assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
        db.engine.dispose()
    assert not list(Path(url.removeprefix("sqlite:///")).parent.glob("*.before-upgrade-*"))


def test_read_only_commands_leave_a_0_1_0_database_as_it_is(legacy_url):
    """`db current` and `db history` never stamp: only a command that moves the database
    does (this relies on how Alembic tells env.py the destination, so it is checked)."""
    app = app_on(legacy_url)
    with app.app_context():
        assert flask_db(app, "current").exit_code == 0
        assert flask_db(app, "history").exit_code == 0
        db.engine.dispose()
    assert "alembic_version" not in table_names(legacy_url)


# --- anything else is refused, untouched -------------------------------------------------


def _refusal(url: str, command: list[str], caplog) -> str:
    """What the operator reads: the command's output, or Flask-Migrate's logged error."""
    app = app_on(url)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=command)
        db.engine.dispose()
    assert result.exit_code != 0
    return result.output + caplog.text


@pytest.mark.parametrize("command", [["db", "upgrade"], ["init-db"]])
def test_a_0_1_0_database_with_a_table_missing_is_refused_and_left_unchanged(legacy_url,
                                                                             command, caplog):
    engine = create_engine(legacy_url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE answer_revisions"))
    engine.dispose()
    tables = table_names(legacy_url)
    output = _refusal(legacy_url, command, caplog)
    assert "answer_revisions" in output and "missing" in output
    assert "Traceback" not in output
    assert table_names(legacy_url) == tables


@pytest.mark.parametrize("command", [["db", "upgrade"], ["init-db"]])
def test_a_foreign_database_is_refused_and_left_unchanged(databases, command, caplog):
    url = databases.empty()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER)"))
        connection.execute(text("INSERT INTO invoices VALUES (1, 100)"))
    engine.dispose()
    output = _refusal(url, command, caplog)
    assert "not a cbassess database" in output and "invoices" in output
    assert "Traceback" not in output
    assert table_names(url) == {"invoices"}
    databases.discard(url)


def test_a_0_1_0_table_with_other_columns_is_refused(legacy_url, caplog):
    engine = create_engine(legacy_url)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE users ADD COLUMN nickname VARCHAR(20)"))
    engine.dispose()
    output = _refusal(legacy_url, ["db", "upgrade"], caplog)
    assert "users" in output and "nickname" in output
    assert "alembic_version" not in table_names(legacy_url)


def test_instrument_import_on_a_fresh_database_creates_what_it_needs(databases):
    url = databases.empty()
    app = app_on(url)
    with app.app_context():
        result = app.test_cli_runner().invoke(
            args=["instrument", "import", str(DATA / "other-framework.yaml")])
        db.engine.dispose()
    assert result.exit_code == 0, result.output
    assert "Imported" in result.output
    databases.discard(url)


def test_the_migrations_folder_is_the_one_the_app_uses(app):
    assert Path(migrate.directory) == MIGRATIONS
    assert app.extensions["migrate"].configure_args["render_as_batch"] is True
