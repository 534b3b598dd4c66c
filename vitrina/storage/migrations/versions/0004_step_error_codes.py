"""step runs keep a stable error code beside the public message; the signals step's
version is its input's alone

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 13:30:00

Failures used to store ``code: message`` (or an exception's text) in one column; the
code now has its own. The ``signals`` step's version used to join every analyser's
version (``preview@2,blurhash@2,...``); each analyser's version now lives with its
result, so the step's version is the preview's alone and the runs that made today's
results are not stale.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("step_runs") as batch:
        batch.add_column(sa.Column("error_code", sa.String(64), nullable=True))
    op.execute("UPDATE step_runs SET error_code = 'step_failed' WHERE error IS NOT NULL")
    op.execute("UPDATE step_runs SET version = 'preview@2' "
               "WHERE step = 'signals' AND version LIKE 'preview@2,%'")


def downgrade() -> None:
    with op.batch_alter_table("step_runs") as batch:
        batch.drop_column("error_code")
