"""backfill jobs: one row per batch backfill of analyser results, with its progress

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 19:00:00

The driver of `vitrina batch backfill` commits each batch's results and the job's
counters in one transaction; the API reads the row (decision 026).
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backfill_jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.String(64), nullable=True),
        sa.Column("analysers", sa.JSON(), nullable=True),
        sa.Column("force", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("engine", sa.String(32), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("done", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("failed", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("written", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("done_at_resume", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("owner", sa.String(128), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_backfill_jobs_project_id", "backfill_jobs", ["project_id"])
    op.create_index("ix_backfill_jobs_state", "backfill_jobs", ["state"])


def downgrade() -> None:
    op.drop_index("ix_backfill_jobs_state", "backfill_jobs")
    op.drop_index("ix_backfill_jobs_project_id", "backfill_jobs")
    op.drop_table("backfill_jobs")
