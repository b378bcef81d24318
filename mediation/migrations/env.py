"""Alembic environment: the models' metadata, the URL from the configuration.

Run through :mod:`mediation.migrations` (``mediation db upgrade``, ``make migration``); no
alembic.ini is needed. SQLite migrations run in batch mode (tables are recreated for ALTERs).
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

import mediation.models  # noqa: F401  (registers every table on Base.metadata)
from mediation.migrations import include_name, load_models, migration_engine, normalise_url

config = context.config
target_metadata = load_models()  # Base.metadata, with every feature's models imported

# Serialises concurrent upgrades of one PostgreSQL database (any fixed 64-bit number will do).
PG_LOCK_KEY = 0x6D6564696174


def database_url() -> str:
    """The URL handed over by the caller, else DATABASE_URL (or the instance's SQLite file)."""
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        from mediation.config import from_env

        url = from_env().database_url
    return normalise_url(url)


def _options(dialect: str) -> dict[str, Any]:
    return {
        "target_metadata": target_metadata,
        "render_as_batch": dialect == "sqlite",
        "compare_type": True,
        "include_name": include_name,
    }


def run_migrations_offline() -> None:
    """Print the SQL instead of running it (``alembic upgrade --sql``)."""
    url = database_url()
    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    context.configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"},
                      **_options(dialect))
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    context.configure(connection=connection, **_options(connection.dialect.name))
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate through a connection given by the caller or a fresh pool-less engine."""
    given = config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    engine = migration_engine(database_url())
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
