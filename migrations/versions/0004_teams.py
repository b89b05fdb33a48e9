"""A team per administration: a coordinator flag on users, and who answers which principle
of an assessment.

Revision ID: 0004_teams
Revises: 0003_administration
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0004_teams"
down_revision = "0003_administration"
branch_labels = None
depends_on = None


def upgrade():
    # Nobody is a coordinator until an admin says so. A plain ADD COLUMN, not a batch copy
    # of the table: on SQLite, copying `users` would set every reference to them to NULL.
    op.add_column("users", sa.Column("is_coordinator", sa.Boolean(),
                                     server_default=sa.false(), nullable=False))
    op.create_table(
        "principle_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("principle_key", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessments.id"], ondelete="CASCADE",
                                name="fk_principle_assignments_assessment_id_assessments"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_principle_assignments_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_principle_assignments"),
        sa.UniqueConstraint("assessment_id", "principle_key",
                            name="uq_principle_assignments_assessment_principle"),
    )
    with op.batch_alter_table("principle_assignments", schema=None) as batch_op:
        batch_op.create_index("ix_principle_assignments_user_id", ["user_id"], unique=False)


def downgrade():
    op.drop_table("principle_assignments")
    op.drop_column("users", "is_coordinator")
