"""user metadata on assets (title, alt text, fields, a metadata version) and collections

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 17:00:00

User tags are rows of the existing ``tags`` table (source ``user``); an index on
(tag, source) serves the ``tag`` filter of the asset listing. A collection belongs to a
project; its members go with the collection or with the asset (decision 022).
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assets") as batch:
        batch.add_column(sa.Column("title", sa.String(300), nullable=True))
        batch.add_column(sa.Column("alt_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("fields", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("metadata_version", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("metadata_updated_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_tags_tag_source", "tags", ["tag", "source"])
    op.create_table(
        "collections",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.String(64), sa.ForeignKey("projects.id", name="fk_collections_project"),
                  nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("project_id", "name", name="uq_collections_project_name"),
    )
    op.create_table(
        "collection_assets",
        sa.Column("collection_id", sa.String(32),
                  sa.ForeignKey("collections.id", ondelete="CASCADE", name="fk_collection_assets_collection"),
                  primary_key=True),
        sa.Column("asset_id", sa.String(32),
                  sa.ForeignKey("assets.id", ondelete="CASCADE", name="fk_collection_assets_asset"),
                  primary_key=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_collection_assets_asset_id", "collection_assets", ["asset_id"])


def downgrade() -> None:
    op.drop_index("ix_collection_assets_asset_id", "collection_assets")
    op.drop_table("collection_assets")
    op.drop_table("collections")
    op.drop_index("ix_tags_tag_source", "tags")
    with op.batch_alter_table("assets") as batch:
        batch.drop_column("metadata_updated_at")
        batch.drop_column("metadata_version")
        batch.drop_column("fields")
        batch.drop_column("alt_text")
        batch.drop_column("title")
