"""`flask --app cbassess backup PATH` and `restore PATH`: online, consistent, checked."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cbassess.backup import BackupError, sqlite_path
from cbassess.extensions import db
from tests.conftest import Browser, assessment_id
from tests.reliability_helpers import build_app, history_is_complete, integrity

# SQLite's backup API; PostgreSQL's pg_dump and pg_restore: test_reliability_backup_postgresql.
pytestmark = pytest.mark.sqlite_only


def _database(app) -> Path:
    with app.app_context():
        return Path(db.engine.url.database)


def _evidence(path: Path) -> dict[str, str]:
    with closing(sqlite3.connect(path)) as connection:
        return dict(connection.execute("SELECT indicator_key, evidence FROM answers"))


class Writer(threading.Thread):
    """A respondent saving answers over and over until told to stop."""

    def __init__(self, app, assessment_id: int, keys: list[str]) -> None:
        super().__init__()
        self.browser = Browser(app.test_client())
        self.browser.login("resp-a@example.org")
        self.assessment_id, self.keys = assessment_id, keys
        self.acknowledged: list[tuple[str, str]] = []
        self.errors: list[int] = []
        self.stop = threading.Event()
        self.enough = threading.Event()

    def run(self) -> None:
        seq = 0
        while not self.stop.is_set():
            key = self.keys[seq % len(self.keys)]
            evidence = f"written during the backup: {seq}"
            status = self.browser.autosave(self.assessment_id, key, level=seq % 5,
                                           evidence=evidence).status_code
            if status == 200:
                self.acknowledged.append((key, evidence))
            else:
                self.errors.append(status)
            if len(self.acknowledged) >= 20:
                self.enough.set()
            seq += 1


@pytest.fixture(scope="module")
def backup_while_writing(tmp_path_factory, databases):
    """Back up while another thread keeps saving; returns what was acknowledged before."""
    tmp_path = tmp_path_factory.mktemp("backup")
    app = build_app(databases.seeded())
    runner = app.test_cli_runner()
    writer = Writer(app, assessment_id(app), ["PW.1", "PW.2", "OC.1", "HD.1", "PA.1"])
    writer.start()
    try:
        assert writer.enough.wait(60)
        before = list(writer.acknowledged)
        result = runner.invoke(args=["backup", str(tmp_path / "backup.sqlite")])
        after_backup = len(writer.acknowledged)
        while len(writer.acknowledged) < after_backup + 5 and writer.is_alive():
            writer.enough.wait(0.05)
    finally:
        writer.stop.set()
        writer.join()
    yield {"result": result, "path": tmp_path / "backup.sqlite", "before": before,
           "writer": writer}
    with app.app_context():
        db.engine.dispose()


def test_backup_while_the_app_writes_succeeds_and_passes_integrity_check(backup_while_writing):
    assert backup_while_writing["result"].exit_code == 0, backup_while_writing["result"].output
    assert "integrity check: ok" in backup_while_writing["result"].output
    assert backup_while_writing["writer"].errors == []
    assert integrity(backup_while_writing["path"]) == "ok"


def test_backup_taken_during_writes_is_one_consistent_snapshot(backup_while_writing):
    """Answers, revisions and the answered count were written together: a torn copy would
    show an answer whose history does not reach its version, or a wrong count."""
    path = backup_while_writing["path"]
    assert history_is_complete(f"sqlite:///{path}") == []
    with closing(sqlite3.connect(path)) as connection:
        counted = connection.execute("SELECT answered_count FROM assessments WHERE id = 1")
        answered = connection.execute(
            "SELECT count(*) FROM answers WHERE assessment_id = 1 "
            "AND (level IS NOT NULL OR not_applicable)")
        assert counted.fetchone() == answered.fetchone()


def test_backup_holds_every_save_acknowledged_before_it_started(backup_while_writing):
    path = backup_while_writing["path"]
    with closing(sqlite3.connect(path)) as connection:
        kept = {tuple(row) for row in connection.execute(
            "SELECT indicator_key, json_extract(after, '$.evidence') FROM answer_revisions")}
    assert set(backup_while_writing["before"]) <= kept


def test_backup_is_a_single_self_contained_file(backup_while_writing):
    path = backup_while_writing["path"]
    assert not Path(f"{path}-wal").exists()
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_backup_into_a_folder_writes_a_dated_file(runner, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    result = runner.invoke(args=["backup", str(folder)])
    assert result.exit_code == 0, result.output
    [written] = folder.glob("cbassess-*.sqlite")
    assert integrity(written) == "ok"


def test_restore_puts_the_backup_back_and_keeps_the_replaced_database(
        app, runner, respondent, a_id, tmp_path):
    respondent.autosave(a_id, "PW.1", level=2, evidence="in the backup")
    assert runner.invoke(args=["backup", str(tmp_path / "b.sqlite")]).exit_code == 0
    respondent.autosave(a_id, "PW.1", level=3, evidence="after the backup", version=1)
    respondent.autosave(a_id, "PW.2", level=1, evidence="also after the backup")
    result = runner.invoke(args=["restore", "--yes", str(tmp_path / "b.sqlite")])
    assert result.exit_code == 0, result.output
    assert _evidence(_database(app)) == {"PW.1": "in the backup"}
    [kept] = _database(app).parent.glob("*.before-restore-*")
    assert _evidence(kept) == {"PW.1": "after the backup", "PW.2": "also after the backup"}


def _names_of_the_next_seconds(pattern: str) -> list[str]:
    """The names a kept copy would take over the next few seconds (timestamp() format)."""
    now = datetime.now(UTC)
    return [pattern.format((now + timedelta(seconds=s)).strftime("%Y%m%d-%H%M%S"))
            for s in range(-1, 5)]


def test_restoring_the_kept_copy_at_once_keeps_it_intact(app, runner, respondent, a_id,
                                                         tmp_path):
    """Two restores in the same second: the second's kept copy must not overwrite the first."""
    respondent.autosave(a_id, "PW.1", level=2, evidence="in the backup")
    assert runner.invoke(args=["backup", str(tmp_path / "b.sqlite")]).exit_code == 0
    respondent.autosave(a_id, "PW.1", level=3, evidence="after the backup", version=1)
    database = _database(app)
    taken = [database.parent / name
             for name in _names_of_the_next_seconds(database.name + ".before-restore-{}")]
    for path in taken:
        path.write_bytes(b"an earlier kept copy")
    assert runner.invoke(args=["restore", "--yes", str(tmp_path / "b.sqlite")]).exit_code == 0
    assert all(path.read_bytes() == b"an earlier kept copy" for path in taken)
    [kept] = set(database.parent.glob("*.before-restore-*")) - set(taken)
    assert runner.invoke(args=["restore", "--yes", str(kept)]).exit_code == 0
    assert _evidence(database) == {"PW.1": "after the backup"}


def test_running_app_serves_the_restored_answers(app, runner, respondent, a_id, tmp_path):
    respondent.autosave(a_id, "PW.1", level=2, evidence="in the backup")
    runner.invoke(args=["backup", str(tmp_path / "b.sqlite")])
    respondent.autosave(a_id, "PW.1", level=3, evidence="after the backup", version=1)
    runner.invoke(args=["restore", "--yes", str(tmp_path / "b.sqlite")])
    page = respondent.get(f"/assessments/{a_id}/principles/PW")
    assert ">in the backup</textarea>" in page.text
    assert "after the backup" not in page.text
    assert respondent.autosave(a_id, "PW.1", level=4, evidence="saved after the restore",
                               version=1).status_code == 200


def test_restore_asks_before_replacing_and_no_changes_nothing(
        app, runner, respondent, a_id, tmp_path):
    respondent.autosave(a_id, "PW.1", level=2, evidence="in the backup")
    runner.invoke(args=["backup", str(tmp_path / "b.sqlite")])
    respondent.autosave(a_id, "PW.1", level=3, evidence="current", version=1)
    result = runner.invoke(args=["restore", str(tmp_path / "b.sqlite")], input="n\n")
    assert result.exit_code != 0
    assert "Replace every answer in" in result.output and "Aborted" in result.output
    assert _evidence(_database(app)) == {"PW.1": "current"}


def test_restore_answering_yes_to_the_question_restores(app, runner, respondent, a_id,
                                                        tmp_path):
    respondent.autosave(a_id, "PW.1", level=2, evidence="in the backup")
    runner.invoke(args=["backup", str(tmp_path / "b.sqlite")])
    respondent.autosave(a_id, "PW.1", level=3, evidence="current", version=1)
    result = runner.invoke(args=["restore", str(tmp_path / "b.sqlite")], input="y\n")
    assert result.exit_code == 0, result.output
    assert _evidence(_database(app)) == {"PW.1": "in the backup"}


def _refused(app, runner, path: Path, respondent, a_id) -> str:
    respondent.autosave(a_id, "PW.1", level=3, evidence="current")
    result = runner.invoke(args=["restore", "--yes", str(path)])
    assert result.exit_code != 0
    assert _evidence(_database(app)) == {"PW.1": "current"}
    assert not list(_database(app).parent.glob("*.before-restore-*"))
    return result.output


def test_restore_refuses_a_file_that_is_not_a_database(app, runner, respondent, a_id,
                                                       tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_bytes(b"these are not the pages of a database\n" * 100)
    assert "is not a SQLite database" in _refused(app, runner, path, respondent, a_id)


def test_restore_refuses_a_sqlite_database_of_another_application(
        app, runner, respondent, a_id, tmp_path):
    path = tmp_path / "other.sqlite"
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
        connection.commit()
    output = _refused(app, runner, path, respondent, a_id)
    assert "is not a cbassess database" in output and "answers" in output


def test_restore_refuses_a_backup_that_fails_the_integrity_check(
        app, runner, respondent, a_id, tmp_path):
    path = tmp_path / "damaged.sqlite"
    assert runner.invoke(args=["backup", str(path)]).exit_code == 0
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(2 * page, len(data), page):  # scribble over every page but the first
        data[offset:offset + 64] = b"\xa5" * 64
    path.write_bytes(bytes(data))
    assert "fails the integrity check" in _refused(app, runner, path, respondent, a_id)


def test_restore_refuses_a_missing_file(app, runner, respondent, a_id, tmp_path):
    assert "is not a file" in _refused(app, runner, tmp_path / "absent.sqlite", respondent, a_id)


def test_an_in_memory_database_cannot_be_backed_up():
    with pytest.raises(BackupError, match="in memory"):
        sqlite_path("sqlite://")

