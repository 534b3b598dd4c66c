"""items, and interaction fields on events (decision 029)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 20:00:00

A project's recommendable items get a table; the experiments' events table gains
nullable columns for the item, the session and the served recommendation (request,
model, variant, position, propensity). Existing events keep nulls there, so every
experiment result reads exactly as before.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_EVENT_COLUMNS = (
    ("item_id", sa.String(256)),
    ("session_id", sa.String(256)),
    ("request_id", sa.String(64)),
    ("model", sa.String(128)),
    ("variant", sa.String(128)),
    ("position", sa.Integer()),
    ("propensity", sa.Float()),
)


def upgrade() -> None:
    op.create_table(
        "items",
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("item_id", sa.String(256), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("asset_ids", sa.JSON(), nullable=False),
        sa.Column("active_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name="fk_items_project"),
        sa.PrimaryKeyConstraint("project_id", "item_id"),
    )
    op.create_index("ix_items_project_type", "items", ["project_id", "type", "item_id"])
    # nullable columns with no default: a metadata-only change on PostgreSQL, no rewrite
    with op.batch_alter_table("events") as batch:
        for name, type_ in _EVENT_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    op.create_index("ix_events_item", "events", ["project_id", "item_id"])


def downgrade() -> None:
    op.drop_index("ix_events_item", "events")
    with op.batch_alter_table("events") as batch:
        for name, _ in reversed(_EVENT_COLUMNS):
            batch.drop_column(name)
    op.drop_index("ix_items_project_type", "items")
    op.drop_table("items")
