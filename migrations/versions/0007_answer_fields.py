"""Indicator keys up to 40 characters (keys such as G-SM.1.a) in every table that holds one;
an answer's kind of evidence and the respondents' confidence, optional fields an instrument
may ask for.

On SQLite, batch mode copies each table; migrations/env.py runs them with foreign keys off
(and checks them after), so copying a referenced table (answers, reviews, query threads)
never cascades to the rows that point at it.

Revision ID: 0007_answer_fields
Revises: 0006_review_workflow
Create Date: 2026-11-30 03:30:10.087814
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_answer_fields"
down_revision = "0006_review_workflow"
branch_labels = None
depends_on = None

# Every table with an indicator key, answers last (it also gains the two fields).
KEYED_TABLES = ("answer_revisions", "actions", "action_revisions", "action_comments",
                "evidence_files", "reviews", "review_revisions", "query_threads")


def _widen(batch_op, to: int, from_: int) -> None:
    batch_op.alter_column("indicator_key", existing_type=sa.String(length=from_),
                          type_=sa.String(length=to), existing_nullable=False)


def upgrade():
    for table in KEYED_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            _widen(batch_op, 40, 20)
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("evidence_kind", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("confidence", sa.String(length=20), nullable=True))
        _widen(batch_op, 40, 20)


def downgrade():
    # Keys longer than 20 characters would not fit back: refuse rather than cut them.
    bind = op.get_bind()
    for table in ("answers", *KEYED_TABLES):
        longest = bind.execute(sa.text(
            f"SELECT MAX(LENGTH(indicator_key)) FROM {table}")).scalar() or 0  # noqa: S608
        if longest > 20:
            raise RuntimeError(f"{table} holds indicator keys longer than 20 characters; "
                               "they cannot be downgraded")
    with op.batch_alter_table("answers", schema=None) as batch_op:
        _widen(batch_op, 20, 40)
        batch_op.drop_column("confidence")
        batch_op.drop_column("evidence_kind")
    for table in reversed(KEYED_TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            _widen(batch_op, 20, 40)
