"""A crash of the server in the middle of a burst of saves loses nothing that was acknowledged.

A real gunicorn (two worker processes) serves a temporary SQLite database in WAL mode; eight
threads, each signed in on its own, save their own answers as fast as the server answers.
Once enough saves are acknowledged, the whole process group is killed with SIGKILL (no
shutdown, no cleanup). Afterwards the database passes `PRAGMA integrity_check` and every save
acknowledged with 200 is there: its value in the history at the version the reply announced,
and no answer older than what was acknowledged. Run with `-s` to see the figures.
"""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass

import pytest

from tests.databases import sqlite_file
from tests.reliability_helpers import (
    HttpUser,
    Server,
    answer_versions,
    edit_revisions,
    history_is_complete,
    in_history,
    integrity,
    prepare_database,
    version_in,
)

pytestmark = pytest.mark.slow

THREADS = 8
KILL_AFTER_ACKNOWLEDGED = 120


@dataclass(frozen=True)
class Save:
    key: str
    level: int
    evidence: str
    version: int | None


class Burst:
    """Counts what was sent and what the server acknowledged, across threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent = 0
        self.acknowledged: list[Save] = []
        self.failures: list[str] = []
        self.stop = threading.Event()

    def run(self, port: int, email: str, assessment_id: int, keys: list[str],
            thread: int) -> None:
        user = HttpUser(port)
        user.login(email)
        versions: dict[str, int] = {}
        seq = 0
        while not self.stop.is_set():
            key = keys[seq % len(keys)]
            level, evidence = seq % 5, f"crash burst: thread {thread} save {seq}"
            with self.lock:
                self.sent += 1
            try:
                status, reply = user.autosave(assessment_id, key, level, evidence,
                                              versions.get(key, 0))
            except (OSError, http.client.HTTPException):  # the server is gone, perhaps
                return  # mid-reply: this save was never acknowledged
            if status != 200:
                with self.lock:
                    self.failures.append(f"{status}: {reply[:200]}")
                return
            version = version_in(reply, key)
            versions[key] = version
            with self.lock:
                self.acknowledged.append(Save(key, level, evidence, version))
            seq += 1


@pytest.fixture(scope="module")
def crash_run(tmp_path_factory, databases):
    tmp_path = tmp_path_factory.mktemp("crash")
    database = databases.seeded()
    assessment_id, keys = prepare_database(database)
    server = Server(database, tmp_path / "instance")
    burst = Burst()
    threads = [
        threading.Thread(target=burst.run, args=(
            server.port, "resp-a@example.org" if n % 2 else "resp-a2@example.org",
            assessment_id, keys[n::THREADS], n))
        for n in range(THREADS)
    ]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120
        while len(burst.acknowledged) < KILL_AFTER_ACKNOWLEDGED and time.monotonic() < deadline \
                and any(t.is_alive() for t in threads):
            time.sleep(0.01)
        sending_when_killed = sum(t.is_alive() for t in threads)
        server.kill()  # mid-burst: the threads are still sending
    finally:
        burst.stop.set()
        for thread in threads:
            thread.join(timeout=60)
        server.stop()
    revisions = edit_revisions(database)
    found = [s for s in burst.acknowledged if in_history(s, revisions)]
    acknowledged = {s.evidence for s in burst.acknowledged}
    figures = {
        "sent": burst.sent,
        "acknowledged": len(burst.acknowledged),
        "found": len(found),
        "saved_but_not_acknowledged": sum(
            1 for after in revisions.values()
            if after["evidence"].startswith("crash burst")
            and after["evidence"] not in acknowledged),
        "threads_sending_when_killed": sending_when_killed,
    }
    print(f"\ncrash test: {figures}")
    return {"burst": burst, "database": database, "figures": figures}


def test_burst_was_cut_by_the_kill_with_saves_still_in_flight(crash_run):
    assert crash_run["burst"].failures == []
    assert crash_run["figures"]["threads_sending_when_killed"] == THREADS
    assert crash_run["figures"]["acknowledged"] >= KILL_AFTER_ACKNOWLEDGED
    assert crash_run["figures"]["sent"] > crash_run["figures"]["acknowledged"]


@pytest.mark.sqlite_only
def test_database_passes_integrity_check_after_kill_9(crash_run):
    assert integrity(sqlite_file(crash_run["database"])) == "ok"


def test_every_save_acknowledged_before_the_kill_is_in_the_database(crash_run):
    assert crash_run["figures"]["found"] == crash_run["figures"]["acknowledged"]


def test_no_answer_is_older_than_its_last_acknowledged_save(crash_run):
    stored = answer_versions(crash_run["database"])
    last: dict[str, int] = {}
    for save in crash_run["burst"].acknowledged:
        last[save.key] = max(last.get(save.key, 0), save.version)
    assert {k: v for k, v in last.items() if stored.get(k, 0) < v} == {}


def test_history_is_complete_after_kill_9(crash_run):
    assert history_is_complete(crash_run["database"]) == []
