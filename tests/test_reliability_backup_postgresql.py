"""`backup` and `restore` on PostgreSQL: pg_dump's custom format, checked after writing;
restore asks first, keeps what it replaces, and changes nothing when it fails."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from cbassess.pg_backup import DUMP_MAGIC
from tests.databases import database_name

pytestmark = pytest.mark.postgresql_only


def _evidence(database_url: str) -> dict[str, str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT indicator_key, evidence FROM answers"))
            return {key: evidence for key, evidence in rows}
    finally:
        engine.dispose()


def _listing(path: Path) -> str:
    return subprocess.run(["pg_restore", "--list", str(path)], capture_output=True, text=True,
                          check=True).stdout


def test_backup_writes_a_checked_custom_format_dump(app, runner, respondent, a_id, tmp_path):
    respondent.autosave(a_id, "PW.1", level=2, evidence="in the backup")
    result = runner.invoke(args=["backup", str(tmp_path / "b.dump")])
    assert result.exit_code == 0, result.output
    assert "pg_restore can read it: ok" in result.output
    assert (tmp_path / "b.dump").read_bytes().startswith(DUMP_MAGIC)
    listing = _listing(tmp_path / "b.dump")
    for table in ("answers", "answer_revisions", "assessments", "alembic_version"):
        assert f"TABLE DATA public {table} " in listing
    assert not list(tmp_path.glob(".*partial"))


def test_backup_into_a_folder_writes_a_dated_dump(runner, tmp_path):
    result = runner.invoke(args=["backup", str(tmp_path)])
    assert result.exit_code == 0, result.output
    [written] = tmp_path.glob("cbassess-*.dump")
    assert written.read_bytes().startswith(DUMP_MAGIC)


def test_restore_puts_the_backup_back_and_keeps_the_replaced_database(
        app, runner, respondent, a_id, tmp_path, database_url):
    respondent.autosave(a_id, "PW.1", level=2, evidence="in the backup")
    assert runner.invoke(args=["backup", str(tmp_path / "b.dump")]).exit_code == 0
    respondent.autosave(a_id, "PW.1", level=3, evidence="after the backup", version=1)
    respondent.autosave(a_id, "PW.2", level=1, evidence="also after the backup")
    result = runner.invoke(args=["restore", "--yes", str(tmp_path / "b.dump")])
    assert result.exit_code == 0, result.output
    assert _evidence(database_url) == {"PW.1": "in the backup"}
    [kept] = tmp_path.glob("cbassess-before-restore-*.dump")
    assert f"kept at {kept}" in result.output
    # The kept dump is itself a backup: restoring it brings the later answers back.
    assert runner.invoke(args=["restore", "--yes", str(kept)]).exit_code == 0
    assert _evidence(database_url) == {"PW.1": "after the backup",
                                       "PW.2": "also after the backup"}


def test_a_kept_dump_never_replaces_a_file_of_the_same_name(app, runner, respondent, a_id,
                                                            tmp_path):
    """Two restores in the same second: the second's kept dump must not overwrite the first."""
    respondent.autosave(a_id, "PW.1", level=2, evidence="in the backup")
    assert runner.invoke(args=["backup", str(tmp_path / "b.dump")]).exit_code == 0
    now = datetime.now(UTC)
    taken = [tmp_path / f"cbassess-before-restore-"
                        f"{(now + timedelta(seconds=s)).strftime('%Y%m%d-%H%M%S')}.dump"
             for s in range(-1, 5)]
    for path in taken:
        path.write_bytes(b"an earlier kept dump")
    result = runner.invoke(args=["restore", "--yes", str(tmp_path / "b.dump")])
    assert result.exit_code == 0, result.output
    assert all(path.read_bytes() == b"an earlier kept dump" for path in taken)
    [kept] = set(tmp_path.glob("cbassess-before-restore-*.dump")) - set(taken)
    assert kept.read_bytes().startswith(DUMP_MAGIC)


def test_the_app_serves_and_saves_the_restored_answers(app, runner, respondent, a_id,
                                                       tmp_path):
    respondent.autosave(a_id, "PW.1", level=2, evidence="in the backup")
    runner.invoke(args=["backup", str(tmp_path / "b.dump")])
    respondent.autosave(a_id, "PW.1", level=3, evidence="after the backup", version=1)
    assert runner.invoke(args=["restore", "--yes", str(tmp_path / "b.dump")]).exit_code == 0
    page = respondent.get(f"/assessments/{a_id}/principles/PW")
    assert ">in the backup</textarea>" in page.text
    # Sequences came back with the rows: new rows do not collide with restored ids.
    assert respondent.autosave(a_id, "PW.1", level=4, evidence="saved after the restore",
                               version=1).status_code == 200
    assert respondent.autosave(a_id, "OC.1", level=1, evidence="a new answer").status_code == 200


def test_restore_asks_before_replacing_and_no_changes_nothing(
        app, runner, respondent, a_id, tmp_path, database_url):
    respondent.autosave(a_id, "PW.1", level=2, evidence="in the backup")
    runner.invoke(args=["backup", str(tmp_path / "b.dump")])
    respondent.autosave(a_id, "PW.1", level=3, evidence="current", version=1)
    result = runner.invoke(args=["restore", str(tmp_path / "b.dump")], input="n\n")
    assert result.exit_code != 0 and "Aborted" in result.output
    assert _evidence(database_url) == {"PW.1": "current"}
    assert not list(tmp_path.glob("cbassess-before-restore-*"))


def _refused(runner, path: Path, respondent, a_id, database_url) -> str:
    respondent.autosave(a_id, "PW.1", level=3, evidence="current")
    before = _evidence(database_url)
    result = runner.invoke(args=["restore", "--yes", str(path)])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert _evidence(database_url) == before
    return result.output


def test_restore_refuses_a_file_that_is_not_a_dump(app, runner, respondent, a_id, tmp_path,
                                                   database_url):
    path = tmp_path / "notes.dump"
    path.write_bytes(b"these are not the pages of a dump\n" * 100)
    assert "not a PostgreSQL custom-format dump" in _refused(runner, path, respondent, a_id,
                                                             database_url)


def test_restore_refuses_a_dump_of_another_application(app, runner, respondent, a_id,
                                                       tmp_path, database_url, postgres):
    other = postgres.create_database("invoices_app")
    engine = create_engine(other)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    path = tmp_path / "other.dump"
    subprocess.run(["pg_dump", "--format=custom", f"--file={path}",
                    f"--dbname={postgres.url(database_name(other), driver='postgresql')}"],
                   check=True)
    postgres.drop_database("invoices_app")
    output = _refused(runner, path, respondent, a_id, database_url)
    assert "is not a cbassess database" in output and "answers" in output


def test_a_damaged_dump_is_refused_and_nothing_changes(app, runner, respondent, a_id,
                                                       tmp_path, database_url):
    path = tmp_path / "damaged.dump"
    respondent.autosave(a_id, "OC.1", level=2, evidence="x" * 20000)  # data worth cutting
    assert runner.invoke(args=["backup", str(path)]).exit_code == 0
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])  # cut mid-data: the table of contents survives
    output = _refused(runner, path, respondent, a_id, database_url)
    assert "failed" in output
