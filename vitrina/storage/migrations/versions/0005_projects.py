"""projects: every owned record belongs to one; existing data moves to `default`

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 14:00:00

Assets, idempotency keys, API keys, experiments, exposures and events gain a
`project_id` (existing rows: `default`); an asset's bytes are unique per project, not
across them, so two projects can hold the same original, stored once. Experiment keys
and event ids are unique per project. Originals gain `pinned_until`, which an upload
sets before writing the bytes so that a collector never removes bytes an upload is
about to reference. Per-project URL signing keys and usage counters get their tables.
Child rows (derivatives, signals, step runs, tags) belong to their asset's project.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: names SQLite's rebuilt tables give constraints that were created without one
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s", "pk": "pk_%(table_name)s",
          "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
PROJECT = sa.String(64)


def _pg() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _names(pg_name: str, sqlite_name: str) -> str:
    return pg_name if _pg() else sqlite_name


def _add_project(batch) -> None:
    batch.add_column(sa.Column("project_id", PROJECT, nullable=False, server_default="default"))


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", PROJECT, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("quotas", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO projects (id, name, quotas, created_at) "
               "VALUES ('default', 'Default project', '{}', CURRENT_TIMESTAMP)")

    with op.batch_alter_table("originals") as b:
        b.add_column(sa.Column("pinned_until", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("assets", naming_convention=NAMING) as b:
        _add_project(b)
        b.drop_constraint(_names("assets_sha256_key", "uq_assets_sha256"), type_="unique")
        b.create_unique_constraint("uq_assets_project_sha256", ["project_id", "sha256"])
        b.create_foreign_key("fk_assets_project", "projects", ["project_id"], ["id"])
        b.create_index("ix_assets_project_newest", ["project_id", "id"])

    with op.batch_alter_table("idempotency_keys", naming_convention=NAMING) as b:
        _add_project(b)
        b.drop_constraint(_names("idempotency_keys_pkey", "pk_idempotency_keys"), type_="primary")
        b.create_primary_key("pk_idempotency_keys", ["project_id", "key"])

    with op.batch_alter_table("api_keys") as b:
        _add_project(b)
        b.create_foreign_key("fk_api_keys_project", "projects", ["project_id"], ["id"])

    with op.batch_alter_table("exposures", naming_convention=NAMING) as b:
        b.drop_constraint(_names("exposures_experiment_fkey", "fk_exposures_experiment_experiments"),
                          type_="foreignkey")
    with op.batch_alter_table("experiments", naming_convention=NAMING) as b:
        _add_project(b)
        b.drop_constraint(_names("experiments_pkey", "pk_experiments"), type_="primary")
        b.create_primary_key("pk_experiments", ["project_id", "key"])
        b.create_foreign_key("fk_experiments_project", "projects", ["project_id"], ["id"])
    with op.batch_alter_table("exposures", naming_convention=NAMING) as b:
        _add_project(b)
        b.drop_constraint(_names("exposures_pkey", "pk_exposures"), type_="primary")
        b.create_primary_key("pk_exposures", ["project_id", "experiment", "unit_id", "variant"])
        b.create_foreign_key("fk_exposures_experiment", "experiments", ["project_id", "experiment"],
                             ["project_id", "key"], ondelete="CASCADE")

    with op.batch_alter_table("events", naming_convention=NAMING) as b:
        _add_project(b)
        b.drop_constraint("uq_events_event_id", type_="unique")
        b.create_unique_constraint("uq_events_project_event_id", ["project_id", "event_id"])
        b.drop_index("ix_events_unit_event")
        b.drop_index("ix_events_event_time")
        b.create_index("ix_events_unit_event", ["project_id", "unit_id", "event"])
        b.create_index("ix_events_event_time", ["project_id", "event", "timestamp"])
        b.create_foreign_key("fk_events_project", "projects", ["project_id"], ["id"])

    # the default only moved existing rows; new rows always name their project
    for table in ("assets", "idempotency_keys", "api_keys", "experiments", "exposures", "events"):
        with op.batch_alter_table(table) as b:
            b.alter_column("project_id", server_default=None, existing_type=PROJECT, existing_nullable=False)

    op.create_table(
        "signing_keys",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("project_id", PROJECT, nullable=False),
        sa.Column("secret", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
    )
    op.create_table(
        "usage",
        sa.Column("project_id", PROJECT, nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "metric", "period"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
    )


def downgrade() -> None:
    op.drop_table("usage")
    op.drop_table("signing_keys")
    with op.batch_alter_table("events", naming_convention=NAMING) as b:
        b.drop_constraint("fk_events_project", type_="foreignkey")
        b.drop_index("ix_events_unit_event")
        b.drop_index("ix_events_event_time")
        b.drop_constraint("uq_events_project_event_id", type_="unique")
        b.drop_column("project_id")
        b.create_unique_constraint("uq_events_event_id", ["event_id"])
        b.create_index("ix_events_unit_event", ["unit_id", "event"])
        b.create_index("ix_events_event_time", ["event", "timestamp"])
    with op.batch_alter_table("exposures", naming_convention=NAMING) as b:
        b.drop_constraint("fk_exposures_experiment", type_="foreignkey")
        b.drop_constraint("pk_exposures", type_="primary")
        b.drop_column("project_id")
        b.create_primary_key(_names("exposures_pkey", "pk_exposures"), ["experiment", "unit_id", "variant"])
    with op.batch_alter_table("experiments", naming_convention=NAMING) as b:
        b.drop_constraint("fk_experiments_project", type_="foreignkey")
        b.drop_constraint("pk_experiments", type_="primary")
        b.drop_column("project_id")
        b.create_primary_key(_names("experiments_pkey", "pk_experiments"), ["key"])
    with op.batch_alter_table("exposures", naming_convention=NAMING) as b:
        b.create_foreign_key(_names("exposures_experiment_fkey", "fk_exposures_experiment_experiments"),
                             "experiments", ["experiment"], ["key"],
                             ondelete="CASCADE")
    with op.batch_alter_table("api_keys") as b:
        b.drop_constraint("fk_api_keys_project", type_="foreignkey")
        b.drop_column("project_id")
    with op.batch_alter_table("idempotency_keys", naming_convention=NAMING) as b:
        b.drop_constraint("pk_idempotency_keys", type_="primary")
        b.drop_column("project_id")
        b.create_primary_key(_names("idempotency_keys_pkey", "pk_idempotency_keys"), ["key"])
    with op.batch_alter_table("assets", naming_convention=NAMING) as b:
        b.drop_index("ix_assets_project_newest")
        b.drop_constraint("fk_assets_project", type_="foreignkey")
        b.drop_constraint("uq_assets_project_sha256", type_="unique")
        b.drop_column("project_id")
        b.create_unique_constraint(_names("assets_sha256_key", "uq_assets_sha256"), ["sha256"])
    with op.batch_alter_table("originals") as b:
        b.drop_column("pinned_until")
    op.drop_table("projects")
