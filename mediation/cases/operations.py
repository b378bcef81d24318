"""Changes to cases outside the trigger/action path: the written agreement and its
signatures, idempotent creation, and revealing a party's full personal numbers.

Like the engine, these flush and record but never commit.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.auth.models import User
from mediation.cases import permissions
from mediation.cases.models import (
    Agreement,
    AgreementTerm,
    Case,
    IdempotencyKey,
    Party,
    PiiAccess,
    Signature,
)
from mediation.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from mediation.i18n import Label, msg
from mediation.timeutil import iso, utcnow
from mediation.workflow.builtins import AGREEMENT_PARTS, agreement_gaps, missing_signers
from mediation.workflow.engine import Engine


def request_fingerprint(body: Any) -> str:
    """A stable hash of a request body, to tell a retried request from a different one."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False,
                                     default=str).encode()).hexdigest()


def create_case(session: Session, engine: Engine, body: dict[str, Any], *, actor: User,
                idempotency_key: str | None = None, now: datetime | None = None
                ) -> tuple[Case, bool]:
    """Open a case from validated input; returns (case, created).

    With an ``idempotency_key`` the same key and body again return the first case; the same
    key with another body is refused (422).
    """
    fingerprint = request_fingerprint(body)
    if idempotency_key:
        prior = session.scalar(select(IdempotencyKey).where(
            IdempotencyKey.user_id == actor.id, IdempotencyKey.key == idempotency_key))
        if prior is not None:
            if prior.request_hash != fingerprint:
                raise ValidationFailed(msg("同一 Idempotency-Key 已用于不同的请求内容"), errors=[
                    FieldError("Idempotency-Key", msg("同一 Idempotency-Key 已用于不同的请求内容"))])
            case = session.get(Case, prior.case_id)
            assert case is not None
            return case, False
    outcome = engine.start_case(
        session, workflow=body["workflow"], grid_code=body["grid"], category=body["category"],
        risk_level=body["risk_level"], title=body["title"],
        description=body.get("description") or "", parties=body.get("parties") or [],
        source=body.get("source") or "whistle", actor=actor, now=now)
    if idempotency_key:
        session.add(IdempotencyKey(user_id=actor.id, key=idempotency_key,
                                   request_hash=fingerprint, case_id=outcome.case.id))
        session.flush()
    return outcome.case, True


def _agreement_scope(session: Session, engine: Engine, case_id: int, actor: User) -> Case:
    """Lock the case and check the actor may work on its agreement now."""
    case = engine.lock_case(session, case_id)
    if not permissions.can_see(actor, case):
        raise NotFound(msg("案件不存在或无权查看"))
    definition = engine.definition(session, case)
    rule = definition.agreement
    if rule is None or case.state not in rule.states:
        raise Conflict(msg("案件当前状态为“%(state)s”，不能制作或签署协议",
                           state=definition.state(case.state).label))
    refusal = permissions.refusal(definition, rule.roles, case, actor, "agreement")
    if refusal is not None:
        raise Forbidden(refusal)
    return case


def save_agreement(session: Session, engine: Engine, case_id: int, data: dict[str, Any], *,
                   actor: User, now: datetime | None = None) -> Agreement:
    """Replace the agreement draft. Signatures on an earlier draft are void (the text they
    signed is gone); an agreement in force cannot change."""
    now = now or utcnow()
    case = _agreement_scope(session, engine, case_id, actor)
    agreement = case.agreement
    parties = {str(p.id): p for p in case.parties}
    names = {p.name: p for p in case.parties}
    errors = []
    for i, term in enumerate(data.get("terms") or []):
        obligor = str(term.get("obligor", ""))
        if obligor not in parties and obligor not in names:
            errors.append(FieldError(f"terms.{i}.obligor", msg("当事人“%(party)s”不属于本案", party=obligor)))
    if errors:
        raise ValidationFailed(errors=errors)
    if agreement is not None and agreement.effective_at is not None:
        raise Conflict(msg("协议已生效，不能再修改"))
    voided = 0
    if agreement is None:
        agreement = Agreement(case=case, copies=len(case.parties) + 1, revision=0)
        session.add(agreement)
        session.flush()
        session.expire(case, ["agreement"])
    else:
        voided = len(agreement.signatures)
        agreement.signatures.clear()
        agreement.terms.clear()
        session.flush()
    agreement.facts = data.get("facts") or ""
    agreement.dispute_matters = data.get("dispute_matters") or ""
    agreement.responsibilities = data.get("responsibilities") or ""
    agreement.performance_method = data.get("performance_method") or ""
    agreement.performance_place = data.get("performance_place") or ""
    agreement.performance_deadline = data.get("performance_deadline")
    agreement.copies = data.get("copies") or len(case.parties) + 1
    agreement.recorder = data.get("recorder") or ""
    agreement.revision += 1
    agreement.mediator_id = case.assignee_id
    agreement.updated_at = now
    for i, term in enumerate(data.get("terms") or []):
        obligor = str(term["obligor"])
        party = parties.get(obligor) or names[obligor]
        agreement.terms.append(AgreementTerm(
            position=i, obligor=str(party.id), content=term["content"],
            amount=term.get("amount"), due_date=term.get("due_date")))
    session.flush()
    engine.record(session, case, "agreement", "save_draft", actor, {
        "revision": agreement.revision, "terms": len(agreement.terms),
        "copies": agreement.copies, "digest": agreement_digest(agreement),
        **({"voided_signatures": voided} if voided else {})}, now)
    return agreement


def agreement_digest(agreement: Agreement) -> str:
    """A hash of the agreement's text, recorded in the trail with each draft and signature."""
    body = {
        "facts": agreement.facts, "dispute_matters": agreement.dispute_matters,
        "responsibilities": agreement.responsibilities,
        "performance_method": agreement.performance_method,
        "performance_place": agreement.performance_place,
        "performance_deadline": _d(agreement.performance_deadline),
        "copies": agreement.copies,
        "terms": [[t.obligor, t.content, t.amount, _d(t.due_date)] for t in agreement.terms],
    }
    return request_fingerprint(body)


def _d(value: date | None) -> str | None:
    return value.isoformat() if value else None


def add_signature(session: Session, engine: Engine, case_id: int, *, signer: str, method: str,
                  signed_at: datetime, actor: User, now: datetime | None = None) -> Signature:
    """Record that a party (by id) or the mediator signed, sealed or put a fingerprint.

    The last signature puts the agreement in force (its effective date starts the 30-day
    judicial-confirmation window).
    """
    now = now or utcnow()
    case = _agreement_scope(session, engine, case_id, actor)
    agreement = case.agreement
    if agreement is None:
        raise Conflict(msg("尚未制作调解协议"))
    if agreement.effective_at is not None:
        raise Conflict(msg("协议已生效，不能再修改"))
    gaps = agreement_gaps(agreement)
    if gaps:
        parts = [AGREEMENT_PARTS[g] for g in gaps]
        raise Conflict(msg("协议尚不完整（%(missing)s），请补全后再签署", missing=Label(
            "、".join(p.zh for p in parts), ", ".join(p.en for p in parts))))
    if signed_at > now + timedelta(minutes=5):
        raise ValidationFailed(errors=[FieldError("signed_at", msg("签署时间不能晚于现在"))])
    party: Party | None = None
    user_id = None
    if signer == "mediator":
        if case.assignee_id is None:
            raise Conflict(msg("案件尚无承办调解员，无法代表调解员签名"))
        user_id = case.assignee_id
    else:
        party = next((p for p in case.parties if str(p.id) == str(signer)), None)
        if party is None:
            raise ValidationFailed(errors=[FieldError("signer", msg("当事人“%(party)s”不属于本案",
                                                                     party=signer))])
    if any(s.signer == str(signer) for s in agreement.signatures):
        raise Conflict(msg("该方已签名"))
    signature = Signature(signer=str(signer), party_id=party.id if party else None,
                          user_id=user_id, method=method, signed_at=signed_at,
                          recorded_by=actor.id, recorded_at=now)
    agreement.signatures.append(signature)
    session.flush()
    complete = not missing_signers(agreement)
    if complete:
        agreement.effective_at = now
    engine.record(session, case, "signature", "sign", actor, {
        "signer": str(signer), "name": party.name if party else "调解员", "method": method,
        "signed_at": iso(signed_at), "revision": agreement.revision,
        "digest": agreement_digest(agreement), **({"in_force": True} if complete else {})},
        now)
    return signature


def reveal_party(session: Session, engine: Engine, party: Party, *, actor: User,
                 purpose: str, now: datetime | None = None) -> dict[str, str | None]:
    """A party's full phone and ID number for a document; the view itself is logged."""
    session.add(PiiAccess(user_id=actor.id if actor else None, party_id=party.id,
                          fields="phone,id_number", purpose=purpose, at=now or utcnow()))
    session.flush()
    return {"phone": engine.cipher.decrypt(party.phone_enc),
            "id_number": engine.cipher.decrypt(party.id_number_enc)}
