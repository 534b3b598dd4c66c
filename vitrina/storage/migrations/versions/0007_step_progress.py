"""step runs: the fraction a running step reported done, and when it said so

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 16:00:00

A long step (a video's renditions) reports how far it is; the worker writes the latest
fraction to its run so the API can show it with an estimate of the time left
(decision 019). Runs already done read as wholly done.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("step_runs") as batch:
        batch.add_column(sa.Column("progress", sa.Float(), nullable=True))
        batch.add_column(sa.Column("progress_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE step_runs SET progress = 1.0 WHERE state = 'done'")


def downgrade() -> None:
    with op.batch_alter_table("step_runs") as batch:
        batch.drop_column("progress_at")
        batch.drop_column("progress")
