"""The side effects a definition may name (``effects = [{ name = ... }]``); ``render`` lives
with the documents (mediation.documents.jobs), ``notify`` with the notifications
(mediation.notifications.delivery).

Queued effects run from the outbox after the transaction commits (in-process in the embedded
setup, in Celery workers at scale); inline ones run inside the transition's transaction.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from mediation.auth.models import User
from mediation.cases.models import Case
from mediation.workflow.models import Event, EventKind, EventName
from mediation.workflow.registry import effect

log = logging.getLogger(__name__)


@effect("void_agreement", inline=True)
def void_agreement(session: Session, engine: Any, case: Case, event: Event,
                   params: dict[str, Any], actor: User | None, now: datetime) -> None:
    """Void the agreement of the round that just ended (a breach sends the case back to
    mediation): it stays on file with when and why, and the next round needs its own."""
    from mediation.cases.agreements import void_agreement as void

    void(session, engine, case, str(event.data.get("reason") or ""), actor, now)


@effect("open_case", inline=True, params=("workflow",))
def open_case(session: Session, engine: Any, case: Case, event: Event, params: dict[str, Any],
              actor: User | None, now: datetime) -> None:
    """Open a case of another workflow from this one (a consultation converted into a
    mediation case): same grid, category, title, description and parties."""
    parties = [
        {"role": p.role, "kind": p.kind, "name": p.name, "sex": p.sex,
         "birth_year": p.birth_year, "ethnicity": p.ethnicity, "occupation": p.occupation,
         "address": p.address, "employer": p.employer,
         "legal_representative": p.legal_representative,
         "representative_title": p.representative_title,
         "phone": engine.cipher.decrypt(p.phone_enc),
         "id_number": engine.cipher.decrypt(p.id_number_enc)}
        for p in case.parties
    ]
    opened = engine.start_case(
        session, workflow=params["workflow"], grid_code=case.grid.code, category=case.category,
        risk_level=case.risk_level, title=case.title, description=case.description,
        parties=parties, source="consultation", actor=actor, now=now, origin=case)
    engine.record(session, case, EventKind.SYSTEM, EventName.OPENED_CASE, actor,
                  {"case_no": opened.case.number, "report_no": opened.case.report_no,
                   "case_id": opened.case.id}, now)
