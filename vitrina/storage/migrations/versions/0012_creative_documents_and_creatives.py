"""creative documents (brand kits, templates) and rendered creatives (decision 034)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 22:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "creative_documents",
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("document_id", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name="fk_creative_documents_project"),
        sa.PrimaryKeyConstraint("project_id", "kind", "document_id", "version"),
    )
    op.create_table(
        "creatives",
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("creative_id", sa.String(64), nullable=False),
        sa.Column("campaign", sa.String(128), nullable=False),
        sa.Column("item_id", sa.String(256), nullable=False),
        sa.Column("placement", sa.String(64), nullable=False),
        sa.Column("brand_kit", sa.String(128), nullable=False),
        sa.Column("brand_kit_version", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(128), nullable=False),
        sa.Column("template_version", sa.Integer(), nullable=False),
        sa.Column("variant", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("gates", sa.JSON(), nullable=False),
        sa.Column("asset_id", sa.String(32), nullable=True),
        sa.Column("audit", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name="fk_creatives_project"),
        sa.PrimaryKeyConstraint("project_id", "creative_id"),
    )
    op.create_index("ix_creatives_campaign", "creatives",
                    ["project_id", "campaign", "placement", "status"])


def downgrade() -> None:
    op.drop_index("ix_creatives_campaign", "creatives")
    op.drop_table("creatives")
    op.drop_table("creative_documents")
