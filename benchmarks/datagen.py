"""Bulk data for the scale measurements, written straight into SQLite (no ORM, no app).

Each administration gets three rounds on the shipped instrument: two complete and validated
(every indicator reviewed and accepted, one level in seven changed by the facilitator), the
newest a draft with most indicators answered; every answer has the one "edit" revision that
saving it through the app would have written, and every assessment the headline averages the
app keeps (cbassess.scoring.headline_average, as cbassess/headline.py stores them). Rows go
in with `executemany` inside one transaction per chunk, so 2,000 administrations take
seconds, not hours.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cbassess.instrument import load_text  # noqa: E402
from cbassess.scoring import AnswerValue, headline_average  # noqa: E402

ROUNDS = ("2024 round", "2025 round", "2026 round")
TIMESTAMP = "2026-01-15 09:30:00.000000"
CHUNK = 500  # administrations per transaction


def _evidence(org: int, key: str) -> str:
    return (f"Administration {org}: {key} evidence, decree 2025-{org % 997:03d}, "
            "minutes of the steering committee attached.")


def add_administrations(db_path: str, start: int, count: int, instrument_id: int,
                        indicator_keys: Sequence[str], user_id: int,
                        facilitator_id: int | None, assign_limit: int,
                        levels: Sequence[int] = (0, 1, 2, 3, 4)) -> list[int]:
    """Add administrations `start`…`start+count-1` with three rounds each.

    The facilitator is assigned to the administrations numbered below `assign_limit` (a
    region's worth), however many the database holds. Returns the ids of the complete
    (validated) assessments added.
    """
    connection = sqlite3.connect(db_path, isolation_level=None)
    scale = load_text(connection.execute("SELECT source FROM instruments WHERE id = ?",
                                         (instrument_id,)).fetchone()[0], source="datagen").scale
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")  # generated data: speed over durability
    connection.execute("PRAGMA cache_size=-200000")
    next_assessment = _next_id(connection, "assessments")
    next_answer = _next_id(connection, "answers")
    next_revision = _next_id(connection, "answer_revisions")
    next_review = _next_id(connection, "reviews")
    next_org = _next_id(connection, "organisations")
    complete: list[int] = []
    draft_answered = max(1, len(indicator_keys) * 6 // 7)
    empty = json.dumps({"level": None, "not_applicable": False, "evidence": "", "note": ""})
    for chunk_start in range(start, start + count, CHUNK):
        chunk_end = min(chunk_start + CHUNK, start + count)
        orgs, assignments, assessments, answers, revisions, reviews = [], [], [], [], [], []
        for number in range(chunk_start, chunk_end):
            org_id = next_org
            next_org += 1
            orgs.append((org_id, f"Customs Administration {number:06d}",
                         f"{chr(65 + number % 26)}{chr(65 + number // 26 % 26)}",
                         f"Region {number % 6}", TIMESTAMP))
            if facilitator_id is not None and number < assign_limit:
                assignments.append((facilitator_id, org_id))
            for round_index, round_name in enumerate(ROUNDS):
                assessment_id = next_assessment
                next_assessment += 1
                draft = round_index == len(ROUNDS) - 1
                answered_keys = indicator_keys[:draft_answered] if draft else indicator_keys
                created = f"202{4 + round_index}-01-15 09:30:{number % 60:02d}.000000"
                claimed = {key: AnswerValue(levels[(number + position + round_index)
                                                   % len(levels)])
                           for position, key in enumerate(answered_keys)}
                # The facilitator lowers one claim in seven by a level.
                validated = None if draft else {
                    key: AnswerValue(max(levels[0], value.level - 1) if position % 7 == 0
                                     else value.level)
                    for position, (key, value) in enumerate(claimed.items())}
                assessments.append((
                    assessment_id, org_id, instrument_id, round_name,
                    "draft" if draft else "validated", user_id, created, created,
                    None if draft else created, None if draft else user_id,
                    None if draft else created, len(answered_keys),
                    headline_average(claimed, scale),
                    headline_average(validated, scale) if validated else None))
                if not draft:
                    complete.append(assessment_id)
                    for key, value in validated.items():
                        reviews.append((next_review, assessment_id, key, value.level, 0, "",
                                        "accepted", 1, created, facilitator_id or user_id))
                        next_review += 1
                for key, value in claimed.items():
                    level = value.level
                    evidence = _evidence(number, key)
                    answers.append((next_answer, assessment_id, key, level, 0, evidence, "",
                                    1, TIMESTAMP, user_id))
                    after = json.dumps({"level": level, "not_applicable": False,
                                        "evidence": evidence, "note": ""})
                    revisions.append((next_revision, next_answer, assessment_id, key, 1,
                                      user_id, TIMESTAMP, "edit", empty, after))
                    next_answer += 1
                    next_revision += 1
        connection.execute("BEGIN")
        connection.executemany(
            "INSERT INTO organisations (id, name, country_code, region, created_at) "
            "VALUES (?, ?, ?, ?, ?)", orgs)
        connection.executemany(
            "INSERT INTO facilitator_assignments (user_id, organisation_id) VALUES (?, ?)",
            assignments)
        connection.executemany(
            "INSERT INTO assessments (id, organisation_id, instrument_id, round_name, status, "
            "created_by_id, created_at, updated_at, submitted_at, submitted_by_id, "
            "validated_at, answered_count, claimed_average, validated_average) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", assessments)
        connection.executemany(
            "INSERT INTO answers (id, assessment_id, indicator_key, level, not_applicable, "
            "evidence, note, version, updated_at, updated_by_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", answers)
        connection.executemany(
            "INSERT INTO answer_revisions (id, answer_id, assessment_id, indicator_key, "
            "version, changed_by_id, changed_at, kind, before, after) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", revisions)
        connection.executemany(
            "INSERT INTO reviews (id, assessment_id, indicator_key, level, not_applicable, "
            "finding, state, version, updated_at, updated_by_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", reviews)
        connection.execute("COMMIT")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return complete


def _next_id(connection: sqlite3.Connection, table: str) -> int:
    return (connection.execute(f"SELECT max(id) FROM {table}").fetchone()[0] or 0) + 1
