"""Rounds: an assessment started from an earlier one (round_links), and answers carried over
from it that nobody has confirmed yet (answers.carried_over, false for every existing one).

Revision ID: 0009_rounds
Revises: 0008_imported_authors
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009_rounds"
down_revision = "0008_imported_authors"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "round_links",
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("previous_id", sa.Integer(), nullable=False),
        sa.Column("started_by_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["previous_id"], ["assessments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["started_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("assessment_id"),
    )
    op.create_index("ix_round_links_previous_id", "round_links", ["previous_id"], unique=False)
    # A plain ADD COLUMN, not a batch copy: on SQLite, copying `answers` would drop the table,
    # and the drop would cascade to their revisions.
    op.add_column("answers", sa.Column("carried_over", sa.Boolean(),
                                       server_default=sa.false(), nullable=False))


def downgrade():
    # DROP COLUMN in place (SQLite 3.35+), for the same reason as the upgrade.
    op.execute("ALTER TABLE answers DROP COLUMN carried_over")
    op.drop_index("ix_round_links_previous_id", table_name="round_links")
    op.drop_table("round_links")
