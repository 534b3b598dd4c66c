"""experiments: definitions, first exposures, outcome events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 02:25:54
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("killed", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_experiments_status", "experiments", ["status"])

    op.create_table(
        "exposures",
        sa.Column("experiment", sa.String(length=128), nullable=False),
        sa.Column("unit_id", sa.String(length=256), nullable=False),
        sa.Column("variant", sa.String(length=128), nullable=False),
        sa.Column("timestamp", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["experiment"], ["experiments.key"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("experiment", "unit_id", "variant"),
    )

    op.create_table(
        "events",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=True),
        sa.Column("unit_id", sa.String(length=256), nullable=False),
        sa.Column("event", sa.String(length=128), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("timestamp", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("event_id", name="uq_events_event_id"),
    )
    op.create_index("ix_events_unit_event", "events", ["unit_id", "event"])
    op.create_index("ix_events_event_time", "events", ["event", "timestamp"])


def downgrade() -> None:
    op.drop_index("ix_events_event_time", table_name="events")
    op.drop_index("ix_events_unit_event", table_name="events")
    op.drop_table("events")
    op.drop_table("exposures")
    op.drop_index("ix_experiments_status", table_name="experiments")
    op.drop_table("experiments")
