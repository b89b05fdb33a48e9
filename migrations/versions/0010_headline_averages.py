"""The headline averages on each assessment, claimed and validated, so that the dashboard
sorts on them in SQL; computed here for the assessments already held.

The rule is the one of cbassess/scoring.py's `headline_average`, written out here so that
this revision keeps computing what it computed when it was written: each principle's
average is the mean of its rated levels' scores (a level's own value unless the
instrument's scale gives it a `score`; not "n/a", not unanswered), the principle being the
part of an indicator's key before the first dot; the headline average is the mean of the
principles that have one. An answer carried over from the previous round and not yet
confirmed counts as unanswered. The validated average takes the reviewed level where an
indicator has a review, and stays null while none has.

Revision ID: 0010_headline_averages
Revises: 0009_rounds
Create Date: 2026-11-30
"""

from statistics import fmean

import sqlalchemy as sa
import yaml
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010_headline_averages"
down_revision = "0009_rounds"
branch_labels = None
depends_on = None

BATCH = 500  # assessments computed per round trip


def _level_scores(source: str) -> dict[int, float]:
    """Each level's score in an instrument's text: its `score`, else its value."""
    levels = (yaml.safe_load(source) or {}).get("scale", {}).get("levels", [])
    return {int(level["value"]): float(level.get("score", level["value"])) for level in levels}


def _headline(levels: dict[str, tuple[int | None, bool]],
              scores: dict[int, float]) -> float | None:
    by_principle: dict[str, list[float]] = {}
    for key, (level, not_applicable) in levels.items():
        if level is not None and not not_applicable:
            by_principle.setdefault(key.split(".", 1)[0], []).append(scores.get(level, level))
    averages = [fmean(values) for values in by_principle.values()]
    return fmean(averages) if averages else None


def upgrade():
    # In place, not a batch copy: copying `assessments` on SQLite would drop the table, and
    # the drop would cascade to its answers.
    op.add_column("assessments", sa.Column("claimed_average", sa.Float(), nullable=True))
    op.add_column("assessments", sa.Column("validated_average", sa.Float(), nullable=True))

    connection = op.get_bind()
    scores = {row[0]: _level_scores(row[1]) for row in connection.execute(sa.text(
        "SELECT id, source FROM instruments"))}
    instrument_of = dict(connection.execute(sa.text(
        "SELECT id, instrument_id FROM assessments")).all())
    ids = [row[0] for row in connection.execute(sa.text(
        "SELECT DISTINCT assessment_id FROM answers ORDER BY assessment_id"))]
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        claimed: dict[int, dict] = {i: {} for i in chunk}
        reviewed: dict[int, dict] = {}
        for table, where, into in (("answers", " AND NOT carried_over", claimed),
                                   ("reviews", "", reviewed)):
            rows = connection.execute(
                sa.text(f"SELECT assessment_id, indicator_key, level, not_applicable FROM "
                        f"{table} WHERE assessment_id IN :ids{where}")
                .bindparams(sa.bindparam("ids", expanding=True)), {"ids": chunk})
            for assessment_id, key, level, not_applicable in rows:
                into.setdefault(assessment_id, {})[key] = (level, bool(not_applicable))
        connection.execute(
            sa.text("UPDATE assessments SET claimed_average = :claimed, "
                    "validated_average = :validated WHERE id = :id"),
            [{"id": i, "claimed": _headline(claimed[i], scores[instrument_of[i]]),
              "validated": (_headline({**claimed[i], **reviewed[i]}, scores[instrument_of[i]])
                            if i in reviewed else None)}
             for i in chunk])


def downgrade():
    # DROP COLUMN in place (SQLite 3.35+), for the same reason as the upgrade.
    op.execute("ALTER TABLE assessments DROP COLUMN validated_average")
    op.execute("ALTER TABLE assessments DROP COLUMN claimed_average")
