"""Models to the JSON objects of INTERFACES.md (CASE, PARTY, EVENT, AGREEMENT)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from mediation.auth.models import User
from mediation.cases.agreements import api_status, gap_label, gaps, unsigned
from mediation.cases.models import COMMITTEE, MEDIATOR, Agreement, Case, Party, Signature
from mediation.i18n import Msg
from mediation.security import mask_id_number, mask_phone
from mediation.timeutil import iso, utcnow
from mediation.workflow.engine import Engine
from mediation.workflow.models import Event


def party_json(party: Party, engine: Engine) -> dict[str, Any]:
    """A party with its phone and ID number masked."""
    return {
        "id": party.id, "role": party.role, "kind": party.kind, "name": party.name,
        "sex": party.sex or None, "birth_year": party.birth_year,
        "ethnicity": party.ethnicity or None, "occupation": party.occupation or None,
        "address": party.address or None, "employer": party.employer or None,
        "legal_representative": party.legal_representative or None,
        "representative_title": party.representative_title or None,
        "phone": mask_phone(engine.cipher.decrypt(party.phone_enc)),
        "id_number": mask_id_number(engine.cipher.decrypt(party.id_number_enc)),
        "credit_code": party.credit_code or None,
        "agents": [{"kind": a.kind, "name": a.name, "relation": a.relation or None,
                    "authority": a.authority or None,
                    "phone": mask_phone(engine.cipher.decrypt(a.phone_enc))}
                   for a in party.agents],
    }


def case_json(session: Session, engine: Engine, case: Case, user: User, lang: str,
              warnings: list[Msg] | None = None, *, full: bool = True) -> dict[str, Any]:
    """A case as the requesting user sees it, with the triggers they may fire now."""
    definition = engine.definition(session, case)
    state = definition.state(case.state)
    body: dict[str, Any] = {
        "id": case.id, "report_no": case.report_no, "case_no": case.case_no,
        "accepted_at": iso(case.accepted_at), "workflow": case.workflow,
        "workflow_version": case.definition_version, "state": case.state,
        "state_label": state.label.get(lang), "terminal": state.terminal,
        "version": case.version, "grid": case.grid.code, "grid_name": case.grid.name,
        "committee": case.committee.name if full else None,
        "category": case.category, "source": case.source,
        "risk_level": case.risk_level, "title": case.title, "description": case.description,
        "assignee": case.assignee.username if case.assignee else None,
        "assignee_name": case.assignee.display_name if case.assignee else None,
        "due_at": iso(case.due_at),
        "overdue": case.is_overdue(utcnow()),
        "created_at": iso(case.created_at), "updated_at": iso(case.updated_at),
        "closed_at": iso(case.closed_at),
    }
    if full:
        body["parties"] = [party_json(p, engine) for p in case.parties]
        body["available_triggers"] = [
            {"trigger": t.trigger, "label": t.label.get(lang), "requires": list(t.requires)}
            for t in engine.available_triggers(session, case, user)]
        body["available_actions"] = engine.available_actions(session, case, user)
    else:
        body["parties"] = [{"id": p.id, "role": p.role, "kind": p.kind, "name": p.name}
                           for p in case.parties]
    if warnings is not None:
        body["warnings"] = [w.render(lang) for w in warnings]
    return body


def event_json(event: Event) -> dict[str, Any]:
    """An event of the trail, exactly as hashed."""
    return {"seq": event.seq, "at": iso(event.at), "actor": event.actor, "kind": event.kind,
            "name": event.name, "from_state": event.from_state, "to_state": event.to_state,
            "data": event.data, "handler": event.handler, "prev_hash": event.prev_hash,
            "hash": event.hash}


def _signer_out(signer: str) -> int | str:
    return signer if signer in (MEDIATOR, COMMITTEE) else int(signer)


def signature_json(sig: Signature, agreement: Agreement) -> dict[str, Any]:
    """A recorded signature (``signed_at``: when it was really made)."""
    names = {str(p.id): p.name for p in agreement.case.parties}
    fixed = {MEDIATOR: "调解员", COMMITTEE: "调解委员会"}
    return {"signer": _signer_out(sig.signer),
            "name": names.get(sig.signer) or fixed.get(sig.signer, sig.signer),
            "method": sig.method, "signed_at": iso(sig.signed_at),
            "recorded_at": iso(sig.recorded_at)}


def _party_ref(value: str) -> int | None:
    return int(value) if value else None


def agreement_json(agreement: Agreement, lang: str = "zh-CN") -> dict[str, Any]:
    """AGREEMENT: its content, terms and signatures, its status and what it still lacks
    (``missing``: field paths, ``missing_text``: the same in words)."""
    names = {str(p.id): p.name for p in agreement.case.parties}
    missing = gaps(agreement)
    return {
        "round": agreement.round, "version": agreement.version,
        "status": api_status(agreement), "complete": not missing,
        "facts": agreement.facts, "dispute_matters": agreement.dispute_matters,
        "responsibilities": agreement.responsibilities,
        "terms": [{"obligor": _party_ref(t.obligor), "obligor_name": names.get(t.obligor),
                   "obligee": _party_ref(t.obligee), "obligee_name": names.get(t.obligee),
                   "content": t.content, "amount": t.amount,
                   "due_date": t.due_date.isoformat() if t.due_date else None}
                  for t in agreement.terms],
        "performance_method": agreement.performance_method,
        "performance_place": agreement.performance_place,
        "performance_deadline": (agreement.performance_deadline.isoformat()
                                 if agreement.performance_deadline else None),
        "copies": agreement.copies, "recorder": agreement.recorder,
        "revision": agreement.revision,
        "signatures": [signature_json(s, agreement) for s in agreement.signatures],
        "missing": missing,
        "missing_text": gap_label(agreement, missing).get(lang) if missing else None,
        "unsigned": unsigned(agreement) if agreement.status == "draft" else [],
        "effective_at": iso(agreement.effective_at),
        "voided_at": iso(agreement.voided_at),
        "void_reason": agreement.void_reason or None,
    }


def agreements_json(case: Case, lang: str = "zh-CN") -> list[dict[str, Any]]:
    """Every agreement of the case, oldest first (``GET /cases/{id}/agreements``)."""
    return [{"round": a.round, "version": a.version, "status": api_status(a),
             "superseded": a.status == "superseded",
             "effective_at": iso(a.effective_at), "voided_at": iso(a.voided_at),
             "void_reason": a.void_reason or None, "agreement": agreement_json(a, lang)}
            for a in case.agreements]
