"""focus runs with the other analysers: drop the separate `focus` step runs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 04:20:00

Faces and the salient point are now found by the `focus` analyser inside the
`signals` step. Runs of the old step are removed (a registry without the step could
not run or promote them); stored `focus` signals stay and are served until a backfill
(`vitrina batch reprocess`) recomputes signals at their new version. An asset that
only waited on `focus` reads as ready again.
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM step_runs WHERE step = 'focus'")
    op.execute(
        "UPDATE assets SET status = 'ready', error = NULL "
        "WHERE status IN ('processing', 'failed') AND NOT EXISTS ("
        "SELECT 1 FROM step_runs r WHERE r.asset_id = assets.id AND r.state <> 'done')"
    )


def downgrade() -> None:
    # the old step's runs cannot be rebuilt; a downgraded catalog simply lacks them
    pass
