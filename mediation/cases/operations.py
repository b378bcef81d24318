"""Changes to cases outside the trigger/action path: idempotent creation with the parties
checked, and revealing a party's full personal numbers. The written agreement and its
signatures are in :mod:`mediation.cases.agreements` (re-exported here).

Like the engine, these flush and record but never commit.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.auth.models import User
from mediation.cases.agreements import add_signature, digest, save_agreement
from mediation.cases.dates import china_today
from mediation.cases.identity import IdentityError, check_credit_code, check_id_number, sex_of
from mediation.cases.models import Case, IdempotencyKey, Party, PiiAccess
from mediation.errors import FieldError, ValidationFailed
from mediation.i18n import msg
from mediation.timeutil import utcnow
from mediation.workflow.engine import Engine

__all__ = ["add_signature", "agreement_digest", "check_parties", "create_case",
           "request_fingerprint", "reveal_party", "save_agreement"]

agreement_digest = digest


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
    parties = check_parties(body.get("parties") or [], today=china_today(now))
    outcome = engine.start_case(
        session, workflow=body["workflow"], grid_code=body["grid"], category=body["category"],
        risk_level=body["risk_level"], title=body["title"],
        description=body.get("description") or "", parties=parties,
        source=body.get("source") or "whistle", actor=actor, now=now)
    if idempotency_key:
        session.add(IdempotencyKey(user_id=actor.id, key=idempotency_key,
                                   request_hash=fingerprint, case_id=outcome.case.id))
        session.flush()
    return outcome.case, True


def check_parties(parties: list[dict[str, Any]], *, today: date,
                  prefix: str = "parties") -> list[dict[str, Any]]:
    """The parties with their numbers checked and normalised: a person's resident ID number
    (check digit, birth date, region code) agreeing with the sex and birth year given (which it
    fills in when missing); an organisation's unified social credit code. Raises 422 naming
    each wrong field (``parties.1.id_number``)."""
    errors: list[FieldError] = []
    out = []
    for i, given in enumerate(parties):
        p = dict(given)
        path = f"{prefix}.{i}"
        if p.get("birth_year") is not None and p["birth_year"] > today.year:
            errors.append(FieldError(f"{path}.birth_year", msg("出生年份不能晚于今年")))
        number = p.get("id_number")
        if number and p.get("kind", "person") == "organization":
            errors.append(FieldError(f"{path}.id_number", msg(
                "单位当事人请填写统一社会信用代码（credit_code），不填身份证号码")))
        elif number:
            try:
                number = check_id_number(number, today=today)
            except IdentityError as exc:
                errors.append(FieldError(f"{path}.id_number", exc.reason))
            else:
                p["id_number"] = number
                born, sex = int(number[6:10]), sex_of(number)
                if p.get("birth_year") not in (None, born):
                    errors.append(FieldError(f"{path}.birth_year", msg(
                        "与身份证号码中的出生年份（%(year)s）不符", year=born)))
                if p.get("sex") not in (None, "", sex):
                    errors.append(FieldError(f"{path}.sex", msg(
                        "与身份证号码中的性别（%(sex)s）不符", sex=sex)))
                p["birth_year"], p["sex"] = born, sex
        code = p.get("credit_code")
        if code and p.get("kind", "person") != "organization":
            errors.append(FieldError(f"{path}.credit_code", msg("只有单位当事人才有统一社会信用代码")))
        elif code:
            try:
                p["credit_code"] = check_credit_code(code)
            except IdentityError as exc:
                errors.append(FieldError(f"{path}.credit_code", exc.reason))
        out.append(p)
    if errors:
        raise ValidationFailed(errors=errors)
    return out


def reveal_party(session: Session, engine: Engine, party: Party, *, actor: User,
                 purpose: str, now: datetime | None = None) -> dict[str, str | None]:
    """A party's full phone and ID number for a document; the view itself is logged."""
    session.add(PiiAccess(user_id=actor.id if actor else None, party_id=party.id,
                          fields="phone,id_number", purpose=purpose, at=now or utcnow()))
    session.flush()
    return {"phone": engine.cipher.decrypt(party.phone_enc),
            "id_number": engine.cipher.decrypt(party.id_number_enc)}
