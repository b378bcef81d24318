"""Alembic migrations shipped inside the package, driven from code (no alembic.ini).

``upgrade(url)`` creates or migrates a database to the newest revision; ``schema_diff(url)``
compares a database with the models; ``regenerate_initial()`` and ``new_revision(message)``
write revision files into ``versions/`` (``make migration``).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import pkgutil
import tempfile
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, create_engine, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

HERE = Path(__file__).resolve().parent
VERSIONS = HERE / "versions"
INITIAL_REVISION = "0001"

log = logging.getLogger(__name__)


def normalise_url(database_url: str) -> str:
    """``postgresql://`` and ``postgres://`` URLs go through psycopg 3, like the app's."""
    for prefix in ("postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix):]
    return database_url


def alembic_config(database_url: str | None = None) -> AlembicConfig:
    """An Alembic configuration built in code for ``database_url``.

    The URL travels in ``attributes`` rather than the ini options, where a ``%`` in a password
    would be taken for interpolation. Without a URL, ``env.py`` asks :func:`mediation.config.
    from_env`.
    """
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(HERE))
    if database_url:
        cfg.attributes["database_url"] = normalise_url(database_url)
    return cfg


def migration_engine(database_url: str) -> Engine:
    """A pool-less engine for migrating ``database_url``.

    Deliberately not :func:`mediation.db.make_engine`: SQLite batch migrations recreate tables,
    which must happen with foreign keys off (pysqlite's default), or dropping a referenced table
    would cascade or fail.
    """
    url = normalise_url(database_url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return create_engine(url, poolclass=NullPool)


def head_revision() -> str | None:
    """The newest revision in ``versions/``."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(database_url: str) -> str | None:
    """The revision ``database_url`` is at, or None when it was never migrated."""
    engine = migration_engine(database_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def model_modules() -> list[str]:
    """The ``mediation.<feature>.models`` modules that exist, by name."""
    import mediation

    names = []
    for info in pkgutil.iter_modules(mediation.__path__):
        if info.ispkg and info.name != "migrations":
            name = f"mediation.{info.name}.models"
            if importlib.util.find_spec(name) is not None:
                names.append(name)
    return sorted(names)


def load_models() -> MetaData:
    """Import :mod:`mediation.models` and every feature's models; return their metadata.

    ``mediation.models`` is meant to import them all; the walk makes sure a model that was
    forgotten there still gets its table migrated (tests/test_migrations.py names the gap).
    """
    import mediation.models  # noqa: F401  (registers every table)
    from mediation.db import Base

    for name in model_modules():
        importlib.import_module(name)
    return Base.metadata


def _metadata() -> MetaData:
    return load_models()


def upgrade(database_url: str, revision: str = "head") -> None:
    """Create or migrate the schema of ``database_url`` up to ``revision``. Idempotent.

    A database whose tables were made by ``create_all`` (every model table there, no
    ``alembic_version``) is stamped as the newest revision instead of being created again.
    """
    cfg = alembic_config(database_url)
    engine = migration_engine(database_url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    if "alembic_version" not in tables and tables and tables >= set(_metadata().tables):
        log.info("schema made without migrations: stamping it as %s", revision)
        command.stamp(cfg, revision)
    else:
        command.upgrade(cfg, revision)
    _derived(database_url)


def _derived(database_url: str) -> None:
    """Make what the schema derives outside the models (the text search index), if the cases
    table is there."""
    from mediation.cases.search import ensure_index

    engine = migration_engine(database_url)
    try:
        with engine.begin() as conn:
            if "cases" in inspect(conn).get_table_names():
                ensure_index(conn)
    finally:
        engine.dispose()


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Autogenerate's filter: objects of the search index are not models (mediation.cases.
    search makes them)."""
    from mediation.cases.search import is_index_object

    return not (type_ == "table" and is_index_object(name))


def downgrade(database_url: str, revision: str = "base") -> None:
    """Migrate ``database_url`` down to ``revision`` (``base``: drop everything)."""
    from mediation.cases.search import drop_index

    engine = migration_engine(database_url)
    try:
        with engine.begin() as conn:
            drop_index(conn)
    finally:
        engine.dispose()
    command.downgrade(alembic_config(database_url), revision)
    _derived(database_url)


def schema_diff(database_url: str) -> list[Any]:
    """What autogenerate would change to make ``database_url`` match the models ([] if equal)."""
    engine = migration_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "render_as_batch": True,
                            "include_name": include_name})
            return list(compare_metadata(context, _metadata()))
    finally:
        engine.dispose()


def _autogenerate(message: str, rev_id: str | None, database_url: str) -> Path:
    cfg = alembic_config(database_url)
    script = command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)
    if isinstance(script, list):  # several heads; not expected here
        script = script[0]
    assert script is not None
    return Path(script.path)


def new_revision(message: str) -> Path:
    """Autogenerate a revision on top of the newest one from the models' changes.

    The comparison runs against a scratch SQLite database migrated to the current head, so
    it neither needs nor touches a real database. Review the file before committing it.
    """
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'scratch.sqlite3'}"
        upgrade(url)
        existing = sorted(VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))
        number = int(existing[-1].name[:4]) + 1 if existing else 1
        return _autogenerate(message, f"{number:04d}", url)


def regenerate_initial() -> Path:
    """Rewrite ``versions/0001_initial.py`` from the models (while nothing is released).

    Refuses when later revisions exist: those would then build on a different first step.
    """
    others = [p for p in VERSIONS.glob("*.py")
              if p.name != "__init__.py" and not p.name.startswith(f"{INITIAL_REVISION}_")]
    if others:
        raise RuntimeError(
            "later revisions exist (" + ", ".join(sorted(p.name for p in others)) + "): "
            "add a new revision instead of rewriting the initial one")
    for old in VERSIONS.glob(f"{INITIAL_REVISION}_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'scratch.sqlite3'}"
        return _autogenerate("initial", INITIAL_REVISION, url)
