"""``mediation workflows check`` and ``mediation workflows diagram`` (INTERFACES.md).

Neither touches the database or the instance folder: they read definition files only.
"""

from __future__ import annotations

from pathlib import Path

import click

from mediation.cli import main
from mediation.workflow.check import (
    check_paths,
    default_directory,
    definition_files,
    report_lines,
)
from mediation.workflow.definition import Definition, DefinitionError, load_file
from mediation.workflow.diagram import FORMATS, DiagramError, render


@main.group("workflows")
def workflows() -> None:
    """Check and draw workflow definitions."""


@workflows.command("check")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
def check(files: tuple[Path, ...]) -> None:
    """Validate definitions (default: those the app loads); exit 1 if any has a problem."""
    paths = list(files) or [default_directory()]
    lines, clean = report_lines(check_paths(paths))
    for line in lines:
        click.echo(line)
    if not clean:
        click.get_current_context().exit(1)


def find_definition(name: str) -> Definition:
    """The loaded definition called ``name``, or the definition in file ``name`` (a .toml).

    Raises :class:`click.ClickException` naming the known workflows when there is none.
    """
    path = Path(name)
    if name.endswith(".toml") or path.is_file():
        try:
            return load_file(path)
        except OSError as exc:
            raise click.ClickException(f"cannot read {name}: {exc.strerror or exc}") from exc
        except DefinitionError as exc:
            raise click.ClickException(str(exc)) from exc
    directory = default_directory()
    known: list[str] = []
    for file in definition_files(directory):
        try:
            definition = load_file(file)
        except (OSError, DefinitionError):
            continue  # `workflows check` reports it
        if definition.name == name:
            return definition
        known.append(definition.name)
    raise click.ClickException(
        f"no workflow called '{name}' in {directory} "
        f"(known: {', '.join(known) or 'none'}); give a name or a path to a .toml file")


@workflows.command("diagram")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="svg", show_default=True,
              help="svg (drawn by Graphviz) or mermaid (stateDiagram-v2 text).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output.")
def diagram(name: str, fmt: str, out: Path | None) -> None:
    """Draw workflow NAME (a loaded workflow's name, or a path to a .toml file)."""
    definition = find_definition(name)
    try:
        text = render(definition, fmt)
    except DiagramError as exc:
        raise click.ClickException(str(exc)) from exc
    if out is None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from exc
        click.echo(f"wrote {out}", err=True)
