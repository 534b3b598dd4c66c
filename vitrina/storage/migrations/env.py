"""Alembic environment: runs on the engine the caller passes (see catalog/db.py)."""

from alembic import context
from sqlalchemy import create_engine

from vitrina.storage.catalog.models import Base

config = context.config
engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # a batch migration rebuilds a table (copy, drop, rename): with foreign keys on,
        # dropping the old table would cascade-delete its children's rows
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
    if sqlite:
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
