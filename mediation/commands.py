"""Importing this registers every command on ``mediation.cli.main``."""

from mediation import backupcli, dbcli, serve
from mediation.auth import cli as auth_cli
from mediation.cases import cli as cases_cli
from mediation.documents import cli as documents_cli
from mediation.jobs import cli as jobs_cli
from mediation.orgs import cli as orgs_cli
from mediation.workflow import cli as workflow_cli

__all__ = ["auth_cli", "backupcli", "cases_cli", "dbcli", "documents_cli", "jobs_cli", "orgs_cli",
           "serve", "workflow_cli"]
