"""Imports every model so that ``Base.metadata`` knows all tables (Alembic, create_all)."""

from mediation.auth.models import ApiToken, LoginAttempt, User
from mediation.cases.models import (
    Agreement,
    AgreementTerm,
    Case,
    CaseCounter,
    IdempotencyKey,
    Party,
    PiiAccess,
    Signature,
)
from mediation.documents.models import RenderedDocument
from mediation.files.models import Attachment
from mediation.jobs.models import Incident
from mediation.notifications.models import Notification
from mediation.orgs.models import OrgUnit
from mediation.workflow.models import Deadline, DefinitionVersion, Event, OutboxRow

__all__ = [
    "Agreement",
    "AgreementTerm",
    "ApiToken",
    "Attachment",
    "Case",
    "CaseCounter",
    "Deadline",
    "DefinitionVersion",
    "Event",
    "IdempotencyKey",
    "Incident",
    "LoginAttempt",
    "Notification",
    "OrgUnit",
    "OutboxRow",
    "Party",
    "PiiAccess",
    "RenderedDocument",
    "Signature",
    "User",
]
