"""``mediation users …``: create, list, deactivate, reset a password."""

from __future__ import annotations

import sys

import click

from mediation.auth.models import ROLES
from mediation.auth.operations import create_user, deactivate_user, list_users, reset_password
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


@users.command("list")
@click.option("--org", "org_code", default=None, help="only this unit and the units below it")
@click.option("--role", default=None, type=click.Choice(ROLES))
def list_(org_code: str | None, role: str | None) -> None:
    """One user a line: username, role, unit, name, and whether they may sign in."""
    with unit_of_work() as session:
        for user in list_users(session, org_code=org_code, role=role):
            state = "active" if user.active else "deactivated"
            click.echo("\t".join([user.username, user.role, user.org_unit.code,
                                  user.full_name or "-", state]))


@users.command("deactivate")
@click.argument("username")
def deactivate(username: str) -> None:
    """Stop USERNAME signing in or using a token (nothing is deleted)."""
    with unit_of_work() as session:
        user = deactivate_user(session, username)
        click.echo(f"deactivated {user.username}")


@users.command("reset-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, required=True,
              help="read the new password as one line from standard input")
def reset_password_(username: str, password_stdin: bool) -> None:
    """Give USERNAME a new password; their sessions and tokens stop working."""
    password = sys.stdin.readline().rstrip("\r\n")
    with unit_of_work() as session:
        user = reset_password(session, username, password)
        click.echo(f"new password set for {user.username}; their sessions and tokens ended")
