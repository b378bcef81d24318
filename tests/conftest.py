"""Fixtures for the whole suite: real databases, a runtime, factories, an app and clients.

Every database test runs once per backend in MEDIATION_TEST_DATABASES (``sqlite`` by default;
``make test`` adds ``postgresql`` when the server answers). The schema is made once per backend
per session and emptied between tests, so tests commit for real (races and sweeps need it).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from pathlib import Path

import argon2
import pytest
from sqlalchemy import text

from mediation import security
from mediation.config import Config
from mediation.db import Base
from mediation.runtime import Runtime
from tests import pg
from tests.factories import World

BACKENDS = [b.strip() for b in os.environ.get("MEDIATION_TEST_DATABASES", "sqlite").split(",")
            if b.strip()]


def pytest_report_header(config: pytest.Config) -> str:
    return f"mediation databases: {', '.join(BACKENDS)}"


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database URL with the schema made: one per backend for the session."""
    if request.param == "postgresql":
        if not pg.postgres_available():
            pytest.skip("PostgreSQL does not answer on 127.0.0.1:5432")
        url = pg.fresh_database("suite")
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    from mediation import models  # noqa: F401
    from mediation.cases.search import ensure_index
    from mediation.db import make_engine

    engine = make_engine(url)
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        ensure_index(conn)  # the text search index (not a model)
    engine.dispose()
    return url


def make_config(url: str, instance: Path, **extra: object) -> Config:
    """A test configuration: no background jobs, a fixed secret."""
    return Config(instance=instance, database_url=url, secret_key="test-secret-key",
                  run_jobs_inline=False, testing=True, **extra)  # type: ignore[arg-type]


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing() -> Iterator[None]:
    """Cheap argon2id parameters for the suite: the production ones cost ~0.2 s a hash and
    the suite builds hundreds of users. (Tests of the hashing itself see the same scheme.)"""
    cheap = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(security, "_hasher", cheap)
        security._dummy_hash.cache_clear()
        yield
    security._dummy_hash.cache_clear()


def empty(runtime: Runtime, keep: Collection[str] = ()) -> Runtime:
    """Delete every row but those of the ``keep`` tables (on tables this small, DELETE is far
    faster than TRUNCATE on PostgreSQL)."""
    with runtime.db.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in keep:
                conn.execute(text(f"DELETE FROM {table.name}"))
    return runtime


@pytest.fixture
def rt(backend: str, tmp_path: Path) -> Iterator[Runtime]:
    """A runtime on an empty database of the current backend."""
    runtime = empty(Runtime(make_config(backend, tmp_path / "instance")))
    yield runtime
    runtime.close()


@pytest.fixture
def world(rt: Runtime) -> World:
    """The contract's org tree and users (tests/factories.py), on an empty database."""
    return World(rt).build()


@pytest.fixture
def app(rt: Runtime):
    """The Flask app on the test runtime."""
    from mediation import create_app

    application = create_app(runtime=rt)
    application.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    return application


@pytest.fixture
def client(app):
    """A Flask test client."""
    return app.test_client()
