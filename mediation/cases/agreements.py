"""The written people's mediation agreement (人民调解法 art. 28–29, 33): what it must hold,
who must sign it, when it takes effect, and the operations that draft, sign and void it.

- Content: the facts, the matters in dispute, each side's responsibility, the terms (each with
  who owes, to whom, what, how much, by when), the manner, place and time limit of
  performance; the number of copies is the number of parties plus one. Missing content keeps
  it a draft and :func:`gaps` says what is missing.
- Signatures: every party (signature, fingerprint or, for an organisation, its seal), the
  mediator, and the committee's seal, each with the time it was really made. It takes effect
  at the latest of them (art. 29), which starts the 30-day judicial-confirmation window
  (art. 33).
- History: a draft nobody signed may be rewritten; once someone signed, a change makes a new
  version of the same round and supersedes the old one (kept with its signatures). A breach
  voids the agreement in force (kept, with when and why) and the next round needs a new one.

Like the engine, the operations flush and record but never commit.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mediation.auth.models import User
from mediation.cases import permissions
from mediation.cases.dates import TODAY_SLACK, china_date, china_today, date_bounds
from mediation.cases.identity import age_at, birth_date
from mediation.cases.models import (
    COMMITTEE,
    MEDIATOR,
    Agreement,
    AgreementTerm,
    Case,
    Party,
    Signature,
)
from mediation.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from mediation.i18n import N_, Label, Lazy, msg
from mediation.timeutil import iso, utcnow
from mediation.workflow.audit import object_image, row_key
from mediation.workflow.models import EventKind, EventName

# What each part of the content is called (the keys of :func:`gaps`).
PARTS: dict[str, Lazy] = {
    "facts": N_("纠纷主要事实"),
    "dispute_matters": N_("争议事项"),
    "responsibilities": N_("各方当事人的责任"),
    "terms": N_("协议条款"),
    "performance_method": N_("履行方式"),
    "performance_place": N_("履行地点"),
    "performance_deadline": N_("履行期限"),
}
TERM_OBLIGEE = N_("第%(n)s项条款的权利人（向谁履行）")
ORG_REPRESENTATIVE = N_("%(party)s的法定代表人")
MINOR_GUARDIAN = N_("未成年当事人%(party)s的监护人")
MEDIATOR_LABEL = N_("调解员")
SEAL_LABEL = N_("调解委员会印章")
ADULT = 18
# Amounts in yuan: positive, two decimals at most, below a trillion.
MAX_AMOUNT = Decimal("999999999999.99")
SIGNER_METHODS = {MEDIATOR: ("signature", "fingerprint"), COMMITTEE: ("seal",)}


# -- what the agreement holds ------------------------------------------------------------------

def copies_for(case: Case) -> int:
    """``本协议一式N份``: one for each party and one for the committee."""
    return len(case.parties) + 1


def gaps(agreement: Agreement) -> list[str]:
    """What the agreement still lacks before it can be signed, as field paths: ``facts``,
    ``terms``, ``terms.0.obligee``, ``parties.1.legal_representative``, ``parties.0.guardian``
    (a party under 18 needs a guardian to act for them)."""
    missing = [key for key in ("facts", "dispute_matters", "responsibilities")
               if not getattr(agreement, key).strip()]
    if not agreement.terms:
        missing.append("terms")
    for i, term in enumerate(agreement.terms):
        if not term.obligee:
            missing.append(f"terms.{i}.obligee")
    missing += [key for key in ("performance_method", "performance_place")
                if not getattr(agreement, key).strip()]
    if agreement.performance_deadline is None:
        missing.append("performance_deadline")
    at = china_date(agreement.effective_at) if agreement.effective_at else china_today()
    for i, party in enumerate(agreement.case.parties):
        if party.kind == "organization" and not party.legal_representative.strip():
            missing.append(f"parties.{i}.legal_representative")
        if party.kind == "person" and is_minor(party, at) and not any(
                a.kind == "guardian" for a in party.agents):
            missing.append(f"parties.{i}.guardian")
    return missing


def is_minor(party: Party, at: date, id_number: str | None = None) -> bool:
    """Whether a person is under 18 at ``at`` (from the ID's birth date, else the birth year)."""
    born = birth_date(id_number) if id_number else None
    if born is not None:
        return age_at(born, at) < ADULT
    return party.birth_year is not None and at.year - party.birth_year < ADULT


def gap_label(agreement: Agreement, missing: list[str]) -> Label:
    """The missing parts in words, in both languages."""
    zh: list[str] = []
    en: list[str] = []
    parties = agreement.case.parties
    for path in missing:
        parts = path.split(".")
        if parts[0] in PARTS and len(parts) == 1:
            text = PARTS[parts[0]]
            zh.append(text.zh)
            en.append(text.en)
            continue
        if parts[0] == "terms":
            m = msg(TERM_OBLIGEE.text, n=int(parts[1]) + 1)
        else:
            party = parties[int(parts[1])].name
            m = msg((ORG_REPRESENTATIVE if parts[2] == "legal_representative"
                     else MINOR_GUARDIAN).text, party=party)
        zh.append(m.render("zh-CN"))
        en.append(m.render("en"))
    return Label("、".join(zh), ", ".join(en))


def required_signers(case: Case) -> list[str]:
    """Who must sign: every party (by id), the mediator and the committee (its seal)."""
    return [str(p.id) for p in case.parties] + [MEDIATOR, COMMITTEE]


def unsigned(agreement: Agreement) -> list[str]:
    """Names of those whose signature (or seal) is not recorded yet."""
    signed = {s.signer for s in agreement.signatures}
    out = [p.name for p in agreement.case.parties if str(p.id) not in signed]
    if MEDIATOR not in signed:
        out.append(MEDIATOR_LABEL.zh)
    if COMMITTEE not in signed:
        out.append(SEAL_LABEL.zh)
    return out


def effective_time(agreement: Agreement) -> datetime | None:
    """The latest of the parties' signatures, the mediator's and the seal, once all are
    recorded (art. 29); None before."""
    by_signer = {s.signer: s.signed_at for s in agreement.signatures}
    needed = required_signers(agreement.case)
    if not all(k in by_signer for k in needed):
        return None
    return max(by_signer[k] for k in needed)


def api_status(agreement: Agreement) -> str:
    """The status the API lists: ``draft``, ``in_force`` or ``voided`` (a superseded version
    is void too: its signatures no longer count)."""
    return "voided" if agreement.status == "superseded" else agreement.status


def digest(agreement: Agreement) -> str:
    """A hash of the agreement's text as signed (content, terms, parties' names)."""
    body = {
        "facts": agreement.facts, "dispute_matters": agreement.dispute_matters,
        "responsibilities": agreement.responsibilities,
        "performance_method": agreement.performance_method,
        "performance_place": agreement.performance_place,
        "performance_deadline": _d(agreement.performance_deadline),
        "copies": agreement.copies,
        "terms": [[t.obligor, t.obligee, t.content, t.amount, _d(t.due_date)]
                  for t in agreement.terms],
    }
    text = json.dumps(body, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _d(value: date | None) -> str | None:
    return value.isoformat() if value else None


# -- input ---------------------------------------------------------------------------------------

def _amount(value: Any) -> str | None:
    """``2000`` / ``"2,000"`` / ``2000.5`` → ``"2000.00"``; ValueError when not an amount."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError
    text = str(value).strip().replace(",", "").replace("，", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError from None
    if not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT \
            or amount != amount.quantize(Decimal("0.01")):
        raise ValueError
    return f"{amount.quantize(Decimal('0.01'))}"


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value.strip())
    raise ValueError


def _check(case: Case, data: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """The agreement input made clean (parties by id, amounts in yuan, dates), and what is
    wrong with it. Missing content is not an error (a draft may be incomplete)."""
    errors: list[FieldError] = []
    by_id = {str(p.id): p for p in case.parties}
    by_name: dict[str, Party] = {}
    for p in case.parties:
        by_name.setdefault(p.name, p)
    earliest, latest = date_bounds(case, horizon=True)

    def day(path: str, value: Any) -> date | None:
        if value in (None, ""):
            return None
        try:
            d = _as_date(value)
        except (ValueError, TypeError):
            errors.append(FieldError(path, msg("日期格式不正确（应为 YYYY-MM-DD）")))
            return None
        if d < earliest:
            errors.append(FieldError(path, msg("日期不能早于案件登记日（%(day)s）",
                                               day=earliest.isoformat())))
            return None
        if d > latest:
            errors.append(FieldError(path, msg("日期不能晚于%(day)s", day=latest.isoformat())))
            return None
        return d

    def party(path: str, value: Any) -> Party | None:
        if value in (None, ""):
            return None
        found = by_id.get(str(value)) or by_name.get(str(value).strip())
        if found is None:
            errors.append(FieldError(path, msg("当事人“%(party)s”不属于本案", party=value)))
        return found

    clean: dict[str, Any] = {
        key: (data.get(key) or "").strip() if isinstance(data.get(key) or "", str) else ""
        for key in ("facts", "dispute_matters", "responsibilities", "performance_method",
                    "performance_place", "recorder")}
    deadline = day("performance_deadline", data.get("performance_deadline"))
    clean["performance_deadline"] = deadline
    copies = data.get("copies")
    if copies not in (None, "") and copies != copies_for(case):
        errors.append(FieldError("copies", msg(
            "份数应为当事人数加一，即%(n)s份（可不填，自动计算）", n=copies_for(case))))
    terms = []
    for i, term in enumerate(data.get("terms") or []):
        path = f"terms.{i}"
        obligor = party(f"{path}.obligor", term.get("obligor"))
        if obligor is None and term.get("obligor") in (None, ""):
            errors.append(FieldError(f"{path}.obligor", msg("此项为必填项")))
        obligee = party(f"{path}.obligee", term.get("obligee"))
        if obligor is not None and obligee is not None and obligor.id == obligee.id:
            errors.append(FieldError(f"{path}.obligee", msg("义务人和权利人不能是同一当事人")))
        content = (term.get("content") or "").strip() if isinstance(term.get("content"),
                                                                      str) else ""
        if not content:
            errors.append(FieldError(f"{path}.content", msg("此项为必填项")))
        try:
            amount = _amount(term.get("amount"))
        except ValueError:
            errors.append(FieldError(f"{path}.amount",
                                     msg("金额应为大于0的数字（元），最多两位小数")))
            amount = None
        due = day(f"{path}.due_date", term.get("due_date"))
        if due is not None and deadline is not None and due > deadline:
            errors.append(FieldError(f"{path}.due_date", msg(
                "不能晚于履行期限（%(day)s）", day=deadline.isoformat())))
        terms.append({"obligor": str(obligor.id) if obligor else "",
                      "obligee": str(obligee.id) if obligee else "",
                      "content": content, "amount": amount, "due_date": due})
    clean["terms"] = terms
    return clean, errors


# -- operations ----------------------------------------------------------------------------------

def agreement_scope(session: Session, engine: Any, case_id: int, actor: User) -> Case:
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


def save_agreement(session: Session, engine: Any, case_id: int, data: dict[str, Any], *,
                   actor: User, now: datetime | None = None) -> Agreement:
    """Save the agreement draft of the current round.

    A draft nobody has signed is rewritten; once someone signed, the change makes a new
    version (the old one is kept, superseded, with its signatures). An agreement in force
    cannot change (409). The first draft after a breach opens the next round.
    """
    now = now or utcnow()
    case = agreement_scope(session, engine, case_id, actor)
    clean, errors = _check(case, data)
    if errors:
        raise ValidationFailed(errors=errors)
    current = case.agreement
    if current is not None and current.status == "in_force":
        raise Conflict(msg("协议已生效，不能再修改"))
    name = EventName.SAVE_DRAFT
    superseded: Agreement | None = None
    gone: list[str] = []
    if current is None or current.signatures:
        if current is None:
            last_round = session.scalar(select(func.max(Agreement.round))
                                        .where(Agreement.case_id == case.id))
            round_, version = (last_round or 0) + 1, 1
        else:
            superseded, round_, version = current, current.round, current.version + 1
            current.status = "superseded"
            current.voided_at = now
            current.void_reason = msg("签署后内容修改，由第%(version)s版取代",
                                      version=version).render("zh-CN")
            name = EventName.NEW_VERSION
            session.flush()
        agreement = Agreement(case=case, round=round_, version=version, status="draft",
                              copies=copies_for(case), revision=0, created_at=now)
        session.add(agreement)
    else:
        agreement = current
        gone = [row_key("agreement_terms", t.id) for t in agreement.terms]
        agreement.terms.clear()
    session.flush()
    for key in ("facts", "dispute_matters", "responsibilities", "performance_method",
                "performance_place", "performance_deadline", "recorder"):
        setattr(agreement, key, clean[key])
    agreement.copies = copies_for(case)
    agreement.revision += 1
    agreement.mediator_id = case.assignee_id
    agreement.updated_at = now
    for i, term in enumerate(clean["terms"]):
        agreement.terms.append(AgreementTerm(position=i, **term))
    session.flush()
    session.expire(case, ["agreement", "agreements"])
    rows: dict[str, dict[str, Any] | None] = dict.fromkeys(gone)
    rows.update(object_image(x) for x in (agreement, *agreement.terms))
    if superseded is not None:
        rows.update([object_image(superseded)])
    engine.record(session, case, EventKind.AGREEMENT, name, actor, {
        "round": agreement.round, "version": agreement.version,
        "revision": agreement.revision, "terms": len(agreement.terms),
        "copies": agreement.copies, "digest": digest(agreement), "missing": gaps(agreement),
        **({"superseded": superseded.version,
            "voided_signatures": len(superseded.signatures)} if superseded else {})}, now,
        rows=rows)
    return agreement


def add_signature(session: Session, engine: Any, case_id: int, *, signer: str, method: str,
                  signed_at: datetime, actor: User, now: datetime | None = None) -> Signature:
    """Record that a party (by id) or the mediator signed, sealed or put a fingerprint, or
    that the committee's seal was put on it (``signer="committee"``, method ``seal``), at
    ``signed_at`` (naive UTC: when it was really done, between the report and now).

    The last of them puts the agreement in force, effective at the latest ``signed_at``.
    """
    now = now or utcnow()
    case = agreement_scope(session, engine, case_id, actor)
    agreement = case.agreement
    if agreement is None:
        raise Conflict(msg("尚未制作调解协议"))
    if agreement.status == "in_force":
        raise Conflict(msg("协议已生效，不能再修改"))
    missing = gaps(agreement)
    if missing:
        raise Conflict(msg("协议尚不完整（%(missing)s），请补全后再签署",
                           missing=gap_label(agreement, missing)), missing=missing)
    signer = str(signer)
    party: Party | None = None
    user_id = None
    if signer in SIGNER_METHODS:
        if method not in SIGNER_METHODS[signer]:
            raise ValidationFailed(errors=[FieldError("method", msg(
                "取值无效，可选：%(choices)s", choices="、".join(SIGNER_METHODS[signer])))])
        if signer == MEDIATOR:
            if case.assignee_id is None:
                raise Conflict(msg("案件尚无承办调解员，无法代表调解员签名"))
            user_id = case.assignee_id
    else:
        party = next((p for p in case.parties if str(p.id) == signer), None)
        if party is None:
            raise ValidationFailed(errors=[FieldError("signer", msg(
                "当事人“%(party)s”不属于本案", party=signer))])
    earliest = china_date(case.created_at)
    if china_date(signed_at) < earliest:
        raise ValidationFailed(errors=[FieldError("signed_at", msg(
            "签署日期不能早于案件登记日（%(day)s）", day=earliest.isoformat()))])
    if signed_at > now + TODAY_SLACK:
        raise ValidationFailed(errors=[FieldError("signed_at", msg("签署时间不能晚于现在"))])
    if any(s.signer == signer for s in agreement.signatures):
        raise Conflict(msg("该方已签名") if signer != COMMITTEE else msg("已加盖调解委员会印章"))
    signature = Signature(signer=signer, party_id=party.id if party else None,
                          user_id=user_id, method=method, signed_at=signed_at,
                          recorded_by=actor.id, recorded_at=now)
    agreement.signatures.append(signature)
    session.flush()
    effective = effective_time(agreement)
    if effective is not None:
        agreement.status = "in_force"
        agreement.effective_at = effective
        agreement.updated_at = now
        session.flush()
    label = party.name if party else (MEDIATOR_LABEL if signer == MEDIATOR else SEAL_LABEL).zh
    engine.record(session, case, EventKind.SIGNATURE, EventName.SIGN, actor, {
        "signer": signer, "name": label, "method": method, "signed_at": iso(signed_at),
        "round": agreement.round, "version": agreement.version,
        "revision": agreement.revision, "digest": digest(agreement),
        **({"in_force": True, "effective_at": iso(effective)} if effective else {})}, now,
        rows=dict(object_image(x) for x in (signature, agreement)))
    return signature


def void_agreement(session: Session, engine: Any, case: Case, reason: str, actor: User | None,
                   now: datetime) -> Agreement | None:
    """Void the agreement of the round that just ended (a breach): it stays on record with
    when and why, and the next round needs an agreement of its own."""
    agreement = case.agreement
    if agreement is None:
        return None
    agreement.status = "voided"
    agreement.voided_at = now
    agreement.void_reason = reason
    agreement.updated_at = now
    session.flush()
    session.expire(case, ["agreement", "agreements"])
    engine.record(session, case, EventKind.AGREEMENT, EventName.VOID, actor, {
        "round": agreement.round, "version": agreement.version, "reason": reason,
        "digest": digest(agreement)}, now, rows=dict([object_image(agreement)]))
    return agreement


def effective_date(case: Case) -> date | None:
    """The China date the written agreement in force took effect, if there is one."""
    agreement = case.agreement
    if agreement is None or agreement.effective_at is None:
        return None
    return china_date(agreement.effective_at)


def confirmation_until(effective: datetime) -> date:
    """The last day to apply for judicial confirmation: 30 days from taking effect."""
    return china_date(effective) + timedelta(days=30)
