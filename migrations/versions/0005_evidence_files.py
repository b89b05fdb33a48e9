"""Evidence files: files attached to answers (their content is in the evidence store, named
by SHA-256; a removed file keeps its row for the history).

Revision ID: 0005_evidence_files
Revises: 0004_teams
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0005_evidence_files"
down_revision = "0004_teams"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "evidence_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("indicator_key", sa.String(length=20), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("attached_by_id", sa.Integer(), nullable=True),
        sa.Column("attached_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_by_id", sa.Integer(), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessments.id"], ondelete="CASCADE",
                                name="fk_evidence_files_assessment"),
        sa.ForeignKeyConstraint(["attached_by_id"], ["users.id"], ondelete="SET NULL",
                                name="fk_evidence_files_attached_by"),
        sa.ForeignKeyConstraint(["removed_by_id"], ["users.id"], ondelete="SET NULL",
                                name="fk_evidence_files_removed_by"),
        sa.PrimaryKeyConstraint("id", name="pk_evidence_files"),
    )
    with op.batch_alter_table("evidence_files", schema=None) as batch_op:
        batch_op.create_index("ix_evidence_files_answer",
                              ["assessment_id", "indicator_key", "id"], unique=False)
        batch_op.create_index("ix_evidence_files_sha256", ["sha256"], unique=False)


def downgrade():
    with op.batch_alter_table("evidence_files", schema=None) as batch_op:
        batch_op.drop_index("ix_evidence_files_sha256")
        batch_op.drop_index("ix_evidence_files_answer")
    op.drop_table("evidence_files")
