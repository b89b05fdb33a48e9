"""The review workflow: each status change on record (assessment_events), the facilitators'
reviews with their revisions, query threads and their messages, sign-off snapshots, and
when an assessment's review started (a plain column: SQLite adds it in place).

An assessment already submitted gets its submission as its first event, from the time and
person 0.1.0 kept.

Revision ID: 0006_review_workflow
Revises: 0005_evidence_files
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006_review_workflow"
down_revision = "0005_evidence_files"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "assessment_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=False),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("assessment_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_assessment_events_assessment", ["assessment_id", "id"], unique=False
        )

    op.create_table(
        "query_threads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("indicator_key", sa.String(length=20), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["closed_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["opened_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("query_threads", schema=None) as batch_op:
        batch_op.create_index(
            "ix_query_threads_assessment", ["assessment_id", "closed_at"], unique=False
        )

    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("indicator_key", sa.String(length=20), nullable=False),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("not_applicable", sa.Boolean(), nullable=False),
        sa.Column("finding", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "assessment_id", "indicator_key", name="uq_reviews_assessment_indicator"
        ),
    )
    op.create_table(
        "signoff_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("validated_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["validated_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    with op.batch_alter_table("signoff_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_signoff_snapshots_assessment_id"), ["assessment_id"], unique=False
        )

    op.create_table(
        "query_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["thread_id"], ["query_threads.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("query_messages", schema=None) as batch_op:
        batch_op.create_index("ix_query_messages_thread", ["thread_id", "id"], unique=False)

    op.create_table(
        "review_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("indicator_key", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["changed_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["review_id"], ["reviews.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("review_revisions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_review_revisions_assessment", ["assessment_id", "indicator_key", "id"], unique=False
        )

    # In place, not a batch copy: copying `assessments` on SQLite would drop the table, and
    # the drop would cascade to its answers.
    op.add_column("assessments", sa.Column("review_started_at", sa.DateTime(timezone=True)))

    op.execute(
        "INSERT INTO assessment_events (assessment_id, action, from_status, to_status, actor_id,"
        " at, message) SELECT id, 'submit', 'draft', 'submitted', submitted_by_id, submitted_at,"
        " '' FROM assessments WHERE submitted_at IS NOT NULL ORDER BY submitted_at, id"
    )


def downgrade():
    # DROP COLUMN in place (SQLite 3.35+), for the same reason as the upgrade.
    op.execute("ALTER TABLE assessments DROP COLUMN review_started_at")

    with op.batch_alter_table("review_revisions", schema=None) as batch_op:
        batch_op.drop_index("ix_review_revisions_assessment")

    op.drop_table("review_revisions")
    with op.batch_alter_table("query_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_query_messages_thread")

    op.drop_table("query_messages")
    with op.batch_alter_table("signoff_snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signoff_snapshots_assessment_id"))

    op.drop_table("signoff_snapshots")
    op.drop_table("reviews")
    with op.batch_alter_table("query_threads", schema=None) as batch_op:
        batch_op.drop_index("ix_query_threads_assessment")

    op.drop_table("query_threads")
    with op.batch_alter_table("assessment_events", schema=None) as batch_op:
        batch_op.drop_index("ix_assessment_events_assessment")

    op.drop_table("assessment_events")
