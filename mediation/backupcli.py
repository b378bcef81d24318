"""``mediation backup FILE`` and ``mediation restore FILE`` (INTERFACES.md)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from mediation.backup import BackupError, backup, restore
from mediation.cli import main
from mediation.config import from_env


def _fail(reason: str) -> None:
    click.echo(f"error: {reason}", err=True)
    sys.exit(1)


@main.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(file: Path) -> None:
    """Write a consistent copy of the whole instance (database, documents, uploads, keys) to
    FILE, while the app keeps serving. The copy holds secrets: keep it safe."""
    try:
        summary = backup(from_env(), file)
    except (BackupError, SQLAlchemyError, OSError) as exc:
        _fail(str(exc))
        return
    click.echo(f"wrote {file}: {summary.database} database at revision {summary.revision}, "
               f"{summary.cases} cases, {summary.events} events, {summary.files} other files")


@main.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def restore_command(file: Path) -> None:
    """Restore FILE (made by ``mediation backup``) into an empty instance: MEDIATION_INSTANCE
    and DATABASE_URL must hold nothing yet."""
    config = from_env(create_secret=False)
    try:
        summary = restore(config, file)
    except (BackupError, SQLAlchemyError, OSError) as exc:
        _fail(str(exc))
        return
    click.echo(f"restored {file} into {config.instance}: {summary.cases} cases, "
               f"{summary.events} events, {summary.files} other files, schema at revision "
               f"{summary.revision}")
    if os.environ.get("SECRET_KEY"):
        click.echo("note: SECRET_KEY is set in the environment and wins over the restored "
                   "instance/secret_key; it must be the key the backed-up instance used, or "
                   "the parties' phone and ID numbers cannot be read", err=True)
    click.echo("check it with: mediation audit verify")
