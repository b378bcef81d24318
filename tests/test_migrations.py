"""The shipped migrations build exactly the models' schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from mediation import migrations

try:
    from tests.pg import fresh_database, postgres_available
except ImportError:  # tests/ itself on sys.path (no tests/__init__.py)
    from pg import fresh_database, postgres_available  # type: ignore[no-redef]


def _postgres_url() -> str:
    wanted = "postgresql" in os.environ.get("MEDIATION_TEST_DATABASES", "")
    if not postgres_available():
        if wanted:
            pytest.fail("MEDIATION_TEST_DATABASES names postgresql but 127.0.0.1:5432 is silent")
        pytest.skip("PostgreSQL is not answering on 127.0.0.1:5432")
    return fresh_database("migrations")


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database with no tables yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'mediation.sqlite3'}"
    else:
        yield _postgres_url()


def _tables(url: str) -> set[str]:
    engine = migrations.migration_engine(url)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_one_head_starting_at_the_initial_revision() -> None:
    script = ScriptDirectory.from_config(migrations.alembic_config())
    assert len(script.get_heads()) == 1
    assert list(script.get_bases()) == [migrations.INITIAL_REVISION]


def test_mediation_models_imports_every_feature_model() -> None:
    # In a fresh interpreter: other tests may have imported the stragglers already.
    code = (
        "import sys, mediation.models\n"
        "from mediation.migrations import model_modules\n"
        "print(' '.join(m for m in model_modules() if m not in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    missing = result.stdout.split()
    assert missing == [], f"mediation/models.py should import {missing}"


def test_upgrade_builds_the_models_schema(empty_url: str) -> None:
    from mediation.dbcli import upgrade

    upgrade(empty_url)

    assert migrations.current_revision(empty_url) == migrations.head_revision()
    assert migrations.schema_diff(empty_url) == []
    assert _tables(empty_url) >= {"cases", "events", "users", "org_units", "alembic_version"}


def test_upgrade_is_idempotent(empty_url: str) -> None:
    migrations.upgrade(empty_url)
    migrations.upgrade(empty_url)

    assert migrations.current_revision(empty_url) == migrations.head_revision()
    assert migrations.schema_diff(empty_url) == []


def test_downgrade_to_base_and_back(empty_url: str) -> None:
    migrations.upgrade(empty_url)
    migrations.downgrade(empty_url, "base")

    assert _tables(empty_url) <= {"alembic_version"}
    assert migrations.current_revision(empty_url) is None

    migrations.upgrade(empty_url)
    assert migrations.schema_diff(empty_url) == []


def test_schema_made_by_create_all_is_stamped_not_rebuilt(empty_url: str) -> None:
    from mediation.db import Database

    database = Database(empty_url)
    try:
        database.create_all()
    finally:
        database.dispose()

    migrations.upgrade(empty_url)

    assert migrations.current_revision(empty_url) == migrations.head_revision()
    assert migrations.schema_diff(empty_url) == []


def test_db_upgrade_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from mediation.cli import main

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("MEDIATION_INSTANCE", str(tmp_path / "instance"))
    runner = CliRunner()

    first = runner.invoke(main, ["db", "upgrade"])
    second = runner.invoke(main, ["db", "upgrade"])
    check = runner.invoke(main, ["db", "check"])

    assert first.exit_code == 0, first.output
    assert "migrated from empty to" in first.output
    assert second.exit_code == 0, second.output
    assert "already at revision" in second.output
    assert check.exit_code == 0, check.output
    assert (tmp_path / "instance" / "mediation.sqlite3").is_file()


def test_db_upgrade_names_an_unreachable_database(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from mediation.cli import main

    monkeypatch.setenv("MEDIATION_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://postgres:secret@127.0.0.1:1/nowhere")

    result = CliRunner().invoke(main, ["db", "upgrade"])

    assert result.exit_code == 1
    assert "127.0.0.1:1/nowhere" in result.output
    assert "secret" not in result.output
