"""``mediation db …``: create, migrate and inspect the schema of ``DATABASE_URL``.

The Alembic work lives in :mod:`mediation.migrations`; this module gives it a command line.
"""

from __future__ import annotations

import sys

import click
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from mediation import migrations
from mediation.cli import main
from mediation.config import from_env


def upgrade(database_url: str) -> None:
    """Create or migrate the schema of ``database_url`` to the newest revision. Idempotent."""
    migrations.upgrade(database_url)


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _database_error(url: str, exc: SQLAlchemyError) -> None:
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    click.echo(f"error: database {_shown(url)}: {reason}", err=True)
    sys.exit(1)


@main.group("db")
def db() -> None:
    """Create, migrate and inspect the database schema (DATABASE_URL)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def upgrade_command(revision: str) -> None:
    """Create or migrate the schema of DATABASE_URL (default: SQLite under instance/)."""
    url = from_env().database_url
    try:
        before = migrations.current_revision(url)
        migrations.upgrade(url, revision)
        after = migrations.current_revision(url)
    except SQLAlchemyError as exc:
        _database_error(url, exc)
        return
    if before == after:
        click.echo(f"{_shown(url)}: already at revision {after}")
    else:
        click.echo(f"{_shown(url)}: migrated from {before or 'empty'} to {after}")


@db.command("current")
def current_command() -> None:
    """Print the revision of DATABASE_URL and the newest one shipped."""
    url = from_env().database_url
    try:
        current = migrations.current_revision(url)
    except SQLAlchemyError as exc:
        _database_error(url, exc)
        return
    click.echo(f"current: {current or 'none'}")
    click.echo(f"head: {migrations.head_revision()}")


@db.command("check")
def check_command() -> None:
    """Exit 0 when the schema of DATABASE_URL matches the models, 1 listing the differences."""
    url = from_env().database_url
    try:
        diff = migrations.schema_diff(url)
    except SQLAlchemyError as exc:
        _database_error(url, exc)
        return
    for change in diff:
        click.echo(f"  {change}")
    if diff:
        click.echo(f"error: {_shown(url)} differs from the models ({len(diff)} changes)", err=True)
        sys.exit(1)
    click.echo(f"{_shown(url)}: schema matches the models")


@db.command("has-cases", hidden=True)
def has_cases_command() -> None:
    """Exit 0 when DATABASE_URL holds at least one case, 1 otherwise (``make run``)."""
    from mediation.cases.models import Case

    url = from_env().database_url
    engine = migrations.migration_engine(url)
    try:
        with engine.connect() as conn:
            if Case.__tablename__ not in inspect(conn).get_table_names():
                sys.exit(1)
            count = conn.execute(select(func.count()).select_from(Case.__table__)).scalar_one()
    except SQLAlchemyError as exc:
        _database_error(url, exc)
        return
    finally:
        engine.dispose()
    sys.exit(0 if count else 1)
