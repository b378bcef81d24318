"""What an admin does about side effects that failed: see the incidents, retry one.

The web team's admin page and ``mediation jobs incidents`` / ``mediation jobs retry`` call
these. They flush but never commit; a retried row is sent to the workers after the caller's
commit (at scale) or picked up by the in-process thread (embedded).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from mediation.errors import Conflict, Forbidden, NotFound
from mediation.i18n import msg
from mediation.jobs.models import Incident
from mediation.jobs.outbox import queued
from mediation.timeutil import utcnow
from mediation.workflow.models import OutboxRow

if TYPE_CHECKING:
    from mediation.auth.models import User

ADMIN_ROLE = "admin"
COMMAND_LINE = "command line"


def _check_admin(actor: User | None) -> None:
    if actor is not None and actor.role != ADMIN_ROLE:
        raise Forbidden(msg("只有系统管理员可以查看和重试失败的后台任务"))


def list_incidents(session: Session, *, actor: User | None, open_only: bool = True,
                   limit: int = 200) -> list[Incident]:
    """Incidents, newest first (only those still open by default). ``actor`` None: the
    command line."""
    _check_admin(actor)
    stmt = (select(Incident).options(joinedload(Incident.case))
            .order_by(Incident.opened_at.desc(), Incident.id.desc()).limit(limit))
    if open_only:
        stmt = stmt.where(Incident.retried_at.is_(None))
    return list(session.scalars(stmt))


def retry_incident(session: Session, incident_id: int, *, actor: User | None,
                   now: datetime | None = None) -> Incident:
    """Give the failed side effect of incident ``incident_id`` a fresh set of tries, now.
    ``actor`` None: the command line. 404 for an unknown incident, 409 for one already
    retried."""
    _check_admin(actor)
    now = now or utcnow()
    incident = session.get(Incident, incident_id, with_for_update=True)
    if incident is None:
        raise NotFound(msg("没有编号为 %(id)s 的后台任务故障", id=incident_id))
    if incident.retried_at is not None:
        raise Conflict(msg("该故障已于 %(at)s 重试过", at=incident.retried_at.isoformat(timespec="seconds")))
    row = session.get(OutboxRow, incident.outbox_id, with_for_update=True)
    assert row is not None
    row.failed_at = None
    row.processed_at = None
    row.attempts = 0
    row.available_at = now
    row.dispatched_at = None
    incident.retried_at = now
    incident.retried_by = actor.username if actor is not None else COMMAND_LINE
    session.flush()
    queued(session).append(row.id)
    return incident
