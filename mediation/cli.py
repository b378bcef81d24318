"""The ``mediation`` command (INTERFACES.md). Each command opens one session and commits once.

Errors name what is wrong and exit non-zero; nothing half-done is committed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from sqlalchemy.orm import Session

from mediation.config import from_env
from mediation.errors import MediationError

F = TypeVar("F", bound=Callable[..., Any])


def _lang() -> str:
    import os

    from mediation.i18n import negotiate

    system = os.environ.get("LANG", "").split(".")[0].replace("_", "-")
    return negotiate(os.environ.get("MEDIATION_LANG") or system)


def fail(error: MediationError) -> None:
    """Print an operation's error with the fields it names, and exit 1."""
    lang = _lang()
    click.echo(f"error: {error.detail.render(lang)}", err=True)
    for fe in error.errors:
        click.echo(f"  {fe.field}: {fe.message.render(lang)}", err=True)
    sys.exit(1)


def runtime() -> Any:
    """The process's :class:`~mediation.runtime.Runtime`, built once per command."""
    ctx = click.get_current_context()
    root = ctx.find_root()
    if root.obj is None:
        from mediation.runtime import Runtime

        root.obj = Runtime(from_env())
        root.call_on_close(root.obj.close)
    return root.obj


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """One session for the command: commit at the end, or report the error and exit 1."""
    rt = runtime()
    try:
        with rt.db.session() as session:
            yield session
    except MediationError as exc:
        fail(exc)


@click.group()
def main() -> None:
    """Mediation: dispute mediation case workflow engine (大妈吹哨·网格调解)."""


# Commands live beside their features; importing registers them on ``main``.
def _register() -> None:
    from mediation import commands  # noqa: F401


_register()
