"""Imported authors: the people an imported assessment names who have no account here
(their e-mail and name, per row and column), so an import creates no account and loses
no name.

Revision ID: 0008_imported_authors
Revises: 0007_answer_fields
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008_imported_authors"
down_revision = "0007_answer_fields"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "imported_authors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("record_table", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_imported_authors_assessment", "imported_authors",
                    ["assessment_id", "record_table"])


def downgrade():
    op.drop_index("ix_imported_authors_assessment", table_name="imported_authors")
    op.drop_table("imported_authors")
