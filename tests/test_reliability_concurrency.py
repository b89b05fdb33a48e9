"""Many people saving at once, against a real gunicorn server on SQLite in WAL mode.

Eight threads, each its own signed-in session: four save the same answer (two of them send the
version they last saw, as the page does, so some saves are edit conflicts; two send none, so
the last save wins), and four save answers of their own. Afterwards: no 5xx, every save
acknowledged with 200 is in the history with the version the reply announced, and each
answer's history is exactly versions 1..its version. Run with `-s` to see the figures.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest

from tests.reliability_helpers import (
    HttpUser,
    Server,
    edit_revisions,
    history_is_complete,
    in_history,
    prepare_database,
    version_in,
)

pytestmark = pytest.mark.slow

SAVES_PER_THREAD = 20
SHARED_KEY = "PW.1"


@dataclass(frozen=True)
class Save:
    thread: int
    key: str
    level: int
    evidence: str
    status: int
    version: int | None  # the version the reply handed back to the page


def _worker(port: int, email: str, assessment_id: int, keys: list[str], thread: int,
            send_version: bool, saves: list[Save], errors: list[BaseException]) -> None:
    try:
        user = HttpUser(port)
        user.login(email)
        versions: dict[str, int] = {}
        for seq in range(SAVES_PER_THREAD):
            key = keys[seq % len(keys)]
            level, evidence = seq % 5, f"thread {thread} save {seq} of {key}"
            status, reply = user.autosave(assessment_id, key, level, evidence,
                                          versions.get(key, 0) if send_version else None)
            version = version_in(reply, key)
            if version is not None:
                versions[key] = version
            saves.append(Save(thread, key, level, evidence, status, version))
    except BaseException as error:  # reported by the test, not lost in the thread
        errors.append(error)


@pytest.fixture(scope="module")
def load_run(tmp_path_factory, databases):
    """Run the concurrent saves once; the tests below check what they left behind."""
    tmp_path = tmp_path_factory.mktemp("load")
    database = databases.seeded()
    assessment_id, keys = prepare_database(database)
    own_keys = [k for k in keys if k != SHARED_KEY]
    server = Server(database, tmp_path / "instance")
    saves: list[Save] = []
    errors: list[BaseException] = []
    threads = []
    try:
        for n in range(8):
            email = "resp-a@example.org" if n % 2 else "resp-a2@example.org"
            if n < 4:
                targets, send_version = [SHARED_KEY], n < 2
            else:
                targets, send_version = own_keys[(n - 4)::4], True
            threads.append(threading.Thread(target=_worker, args=(
                server.port, email, assessment_id, targets, n, send_version, saves, errors)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.stop()
    statuses = [s.status for s in saves]
    figures = {
        "sent": len(saves),
        "acknowledged": statuses.count(200),
        "conflicts_409": statuses.count(409),
        "server_errors_5xx": sum(1 for s in statuses if s >= 500),
    }
    revisions = edit_revisions(database)
    figures["found"] = sum(1 for s in saves if s.status == 200 and in_history(s, revisions))
    print(f"\nconcurrent saves: {figures}")
    return {"saves": saves, "errors": errors, "database": database, "figures": figures}


def test_concurrent_saves_never_answer_5xx(load_run):
    assert load_run["errors"] == []
    assert load_run["figures"]["sent"] == 8 * SAVES_PER_THREAD
    assert {s.status for s in load_run["saves"]} <= {200, 409}


def test_every_acknowledged_concurrent_save_is_in_the_history_with_its_version(load_run):
    revisions = edit_revisions(load_run["database"])
    lost = [s for s in load_run["saves"] if s.status == 200 and not in_history(s, revisions)]
    assert lost == []
    assert load_run["figures"]["acknowledged"] == load_run["figures"]["found"]


def test_history_of_every_concurrently_saved_answer_is_complete(load_run):
    assert history_is_complete(load_run["database"]) == []


def test_stale_versions_under_load_are_conflicts_not_overwrites(load_run):
    """A save with an old version is refused (409) and its reply carries the newer version."""
    conflicts = [s for s in load_run["saves"] if s.status == 409]
    assert all(s.thread < 2 and s.key == SHARED_KEY for s in conflicts)
    assert all(s.version is not None for s in conflicts)
