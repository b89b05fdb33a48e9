"""Indicator keys up to 40 characters (keys such as G-SM.1.a); an answer's kind of evidence
and the respondents' confidence, optional fields an instrument may ask for.

Revision ID: 0002_answer_fields
Revises: 0001_baseline
Create Date: 2026-11-30 03:30:10.087814
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_answer_fields"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("answer_revisions", schema=None) as batch_op:
        batch_op.alter_column("indicator_key", existing_type=sa.VARCHAR(length=20),
                              type_=sa.String(length=40), existing_nullable=False)
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("evidence_kind", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("confidence", sa.String(length=20), nullable=True))
        batch_op.alter_column("indicator_key", existing_type=sa.VARCHAR(length=20),
                              type_=sa.String(length=40), existing_nullable=False)


def downgrade():
    # Keys longer than 20 characters would not fit back: refuse rather than cut them.
    bind = op.get_bind()
    longest = bind.execute(sa.text(
        "SELECT MAX(LENGTH(indicator_key)) FROM answer_revisions")).scalar() or 0
    if longest > 20:
        raise RuntimeError("answers use indicator keys longer than 20 characters; "
                           "they cannot be downgraded")
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.alter_column("indicator_key", existing_type=sa.String(length=40),
                              type_=sa.VARCHAR(length=20), existing_nullable=False)
        batch_op.drop_column("confidence")
        batch_op.drop_column("evidence_kind")
    with op.batch_alter_table("answer_revisions", schema=None) as batch_op:
        batch_op.alter_column("indicator_key", existing_type=sa.String(length=40),
                              type_=sa.VARCHAR(length=20), existing_nullable=False)
