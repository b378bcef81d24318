"""``mediation org add`` and ``org list``."""

from __future__ import annotations

import click

from mediation.cli import main, unit_of_work
from mediation.orgs.models import KINDS
from mediation.orgs.operations import add_org_unit, org_tree


@main.group("org")
def org() -> None:
    """Org units: district → street → community → grid."""


@org.command("add")
@click.argument("code")
@click.option("--name", required=True, help="全称, e.g. 红石板社区")
@click.option("--kind", required=True, type=click.Choice(KINDS))
@click.option("--parent", "parent", default=None, help="CODE of the unit above")
@click.option("--short-name", default=None,
              help="committee short name in case numbers (default: name without 社区/街道)")
def add(code: str, name: str, kind: str, parent: str | None, short_name: str | None) -> None:
    """Add an org unit."""
    with unit_of_work() as session:
        unit = add_org_unit(session, code, name=name, kind=kind, parent_code=parent,
                            short_name=short_name)
        click.echo(f"added {unit.kind} {unit.code} {unit.name} (short name {unit.short_name})")


@org.command("list")
def list_() -> None:
    """The org tree, one unit a line, indented under its parent: code, kind, name, short name."""
    with unit_of_work() as session:
        for unit in org_tree(session):
            depth = unit.path.count("/") - 2
            click.echo(f"{'  ' * depth}{unit.code}\t{unit.kind}\t{unit.name}\t{unit.short_name}")
