"""``mediation users create``."""

from __future__ import annotations

import sys

import click

from mediation.auth.models import ROLES
from mediation.auth.operations import create_user
from mediation.cli import main, unit_of_work


@main.group("users")
def users() -> None:
    """Users: one role, one org unit."""


@users.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--org", "org_code", required=True, help="CODE of the user's org unit")
@click.option("--password-stdin", is_flag=True, required=True,
              help="read the password as one line from standard input")
@click.option("--full-name", default="", help="real name, printed on documents")
@click.option("--address", default="", help="home address (conflict-of-interest checks)")
def create(username: str, role: str, org_code: str, password_stdin: bool, full_name: str,
           address: str) -> None:
    """Add a user; the password is one line read from standard input."""
    password = sys.stdin.readline().rstrip("\r\n")
    with unit_of_work() as session:
        user = create_user(session, username, role=role, org_code=org_code, password=password,
                           full_name=full_name, address=address)
        click.echo(f"added {user.role} {user.username} in {user.org_unit.code}")
