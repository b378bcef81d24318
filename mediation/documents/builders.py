"""Context builders: one pure function per document, from a case's :class:`CaseSources` to
the dict its template prints. Registered by the name reports/catalogue.toml gives them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from mediation.cases.dates import china_date
from mediation.cases.identity import age_at, birth_date
from mediation.cases.models import COMMITTEE, MEDIATOR, Case, Party
from mediation.documents.formatting import (
    PARTY_ROLES,
    RISK_LEVELS,
    SIGN_METHODS,
    SOURCES,
    amount_figures,
    amount_upper,
    cn_date,
    cn_datetime,
    cn_number,
    local,
    plain,
)
from mediation.documents.sources import CaseSources
from mediation.documents.timeline import timeline_context
from mediation.security import mask_phone
from mediation.workflow.models import Event

# The judicial-confirmation window runs 30 days from the agreement taking effect (art. 33).
CONFIRMATION_DAYS = 30


# -- shared pieces ------------------------------------------------------------------------------

def committee_name(case: Case) -> str:
    """``武林门社区人民调解委员会``."""
    return f"{case.committee.name}人民调解委员会"


AGENT_KINDS = {"agent": "委托代理人", "guardian": "法定代理人（监护人）"}


def party_context(src: CaseSources, party: Party, *, at: date | None = None,
                  with_id: bool = False, with_phone: bool = True) -> dict[str, Any]:
    """The printable facts of one party, and of who acts for it (agents, guardians); the age
    from the ID number's birth date at ``at`` (else from the birth year); full numbers only
    when asked (and then logged)."""
    phone = src.phone(party) if with_phone else ""
    id_number = src.id_number(party) if with_id else ""
    born = birth_date(src.cipher.decrypt(party.id_number_enc)) if src.cipher else None
    if at is None:
        age = None
    elif born is not None:
        age = age_at(born, at)
    else:
        age = at.year - party.birth_year if party.birth_year else None
    return {
        "id": party.id, "name": party.name, "kind": party.kind,
        "role": party.role, "role_label": PARTY_ROLES.get(party.role, party.role),
        "is_org": party.kind == "organization",
        "sex": party.sex, "ethnicity": party.ethnicity, "birth_year": party.birth_year,
        "age": age if age is None or age >= 0 else None,
        "occupation": party.occupation, "employer": party.employer,
        "address": party.address, "legal_representative": party.legal_representative,
        "representative_title": party.representative_title,
        "credit_code": party.credit_code,
        "agents": [{"kind": a.kind, "label": AGENT_KINDS.get(a.kind, "代理人"), "name": a.name,
                    "relation": a.relation, "authority": a.authority} for a in party.agents],
        "phone": phone, "id_number": id_number,
        "phone_masked": mask_phone(src.cipher.decrypt(party.phone_enc)) if src.cipher else "",
    }


def _reference_date(src: CaseSources) -> date:
    """The date ages are counted at: the agreement's (in force, else drafted), else the
    case's report (China time)."""
    agreement = src.agreement()
    at = src.effective_at() or (agreement.updated_at if agreement else None) \
        or src.case.created_at
    return local(at).date()


def common(src: CaseSources) -> dict[str, Any]:
    """What every case document prints: committee, case number, title, category."""
    case = src.case
    return {
        "committee": committee_name(case),
        "committee_short": case.committee.short_name,
        "case_no": case.number,
        "title": case.title,
        "category": case.category,
        "grid": case.grid.name,
    }


def _record(src: CaseSources, e: Event, **extra: Any) -> dict[str, Any]:
    data = e.data or {}
    return {"seq": e.seq, "at": cn_datetime(e.at), "date": cn_date(data.get("date") or e.at),
            "actor": src.person(e.actor), **extra}


# -- builders -----------------------------------------------------------------------------------

Builder = Callable[[CaseSources], dict[str, Any]]
BUILDERS: dict[str, Builder] = {}


def builder(name: str) -> Callable[[Builder], Builder]:
    """Register a context builder under the name the catalogue uses."""
    def deco(fn: Builder) -> Builder:
        BUILDERS[name] = fn
        return fn
    return deco


@builder("registration")
def registration(src: CaseSources) -> dict[str, Any]:
    """受理登记表: the case as reported, its parties (with ID numbers) and its acceptance."""
    case = src.case
    at = local(case.created_at).date()
    accepted = src.accepted_event()
    created = next((e for e in src.events if e.kind == "created"), None)
    return {
        **common(src),
        "registered_on": cn_date(case.created_at),
        "source": SOURCES.get(case.source, case.source),
        "risk_level": RISK_LEVELS.get(case.risk_level, case.risk_level),
        "description": case.description,
        "parties": [party_context(src, p, at=at, with_id=True) for p in case.parties],
        "reporter": case.reporter.display_name if case.reporter else (
            src.person(created.actor) if created else ""),
        "accepted_on": cn_date(accepted.at) if accepted else "",
        "accepted_by": src.person(accepted.actor) if accepted else "",
        "accepted_level": src.level_label(accepted.to_state) if accepted else "",
        "date": cn_date(case.created_at),
    }


@builder("rights_notice")
def rights_notice(src: CaseSources) -> dict[str, Any]:
    """权利义务告知书 (人民调解法 art. 23–24), dated on acceptance, addressed to every party."""
    accepted = src.accepted_event()
    at = accepted.at if accepted else src.case.created_at
    return {
        **common(src),
        "parties": [party_context(src, p, with_phone=False) for p in src.case.parties],
        "mediator": src.person(accepted.data.get("assignee") or accepted.actor)
        if accepted else src.mediator(),
        "date": cn_date(at),
    }


@builder("investigation")
def investigation(src: CaseSources) -> dict[str, Any]:
    """调查记录: one record per investigation recorded."""
    records = [_record(src, e, place=plain(e.data.get("place")),
                       people=plain(e.data.get("people")),
                       findings=plain(e.data.get("findings")))
               for e in src.actions("record_investigation")]
    return {**common(src), "records": records}


@builder("evidence_list")
def evidence_list(src: CaseSources) -> dict[str, Any]:
    """证据材料清单: every file attached to the case."""
    items = [_record(src, e, filename=plain(e.data.get("filename")),
                     description=plain(e.data.get("description")))
             for e in src.actions("attach_file")]
    return {**common(src), "items": items,
            "date": items[-1]["date"] if items else ""}


@builder("session_record")
def session_record(src: CaseSources) -> dict[str, Any]:
    """调解记录: date, place, participants, what each side said, outcome."""
    records = [_record(src, e, place=plain(e.data.get("place")),
                       participants=plain(e.data.get("participants")),
                       summary=plain(e.data.get("summary")),
                       outcome=plain(e.data.get("outcome")))
               for e in src.actions("record_session")]
    return {**common(src), "records": records, "mediator": src.mediator(),
            "parties": [p.name for p in src.case.parties]}


@builder("agreement")
def agreement(src: CaseSources) -> dict[str, Any]:
    """人民调解协议书, field by field as 人民调解法 art. 28–29 and 33 and the Ministry of
    Justice's format want it: every party's basic facts (no ID numbers) with who acts for it,
    the facts, the matters in dispute, each side's responsibility, the numbered terms (who owes
    whom what, how much in figures and in capitals, by when), the manner, place and time limit
    of performance, the copies (parties + 1) and who keeps them, the judicial-confirmation
    notice, and the signatures.

    While the agreement is a draft it prints as the copy for signing on paper (``for_signing``:
    blank signature, fingerprint and seal blocks); in force, as the record of who signed how and
    when, effective on the latest of them; voided (or superseded), the same record marked with
    when and why it stopped counting.
    """
    case = src.case
    agr = src.agreement()
    if agr is None:
        return {**common(src), "present": False}
    at = _reference_date(src)
    effective = agr.effective_at
    for_signing = agr.status == "draft"
    parties = [party_context(src, p, at=at) for p in case.parties]
    named = {str(p["id"]): f"{p['role_label']}{p['name']}" for p in parties}
    by_name = {p["name"]: named[str(p["id"])] for p in parties}
    by_signer = {s.signer: s for s in agr.signatures}

    def signed(key: str) -> dict[str, str]:
        sig = None if for_signing else by_signer.get(key)
        return {"method": SIGN_METHODS.get(sig.method, "") if sig else "",
                "signed_on": cn_date(sig.signed_at) if sig else ""}

    signers = [{"label": p["role_label"], "name": p["name"], "is_org": p["is_org"],
                "agents": [a["name"] for a in p["agents"]], **signed(str(p["id"]))}
               for p in parties]
    terms = [{"number": cn_number(i + 1),
              "obligor": named.get(t.obligor) or by_name.get(t.obligor, t.obligor),
              "obligee": named.get(t.obligee) or by_name.get(t.obligee, t.obligee),
              "content": t.content.strip().rstrip("。；;."),
              "amount": amount_figures(t.amount) if t.amount else "",
              "amount_upper": amount_upper(t.amount) if t.amount else "",
              "due_date": cn_date(t.due_date)}
             for i, t in enumerate(agr.terms)]
    copies = len(parties) + 1
    status = "voided" if agr.status in ("voided", "superseded") else agr.status
    return {
        **common(src),
        "present": True,
        "agreement_id": agr.id,
        "parties": parties,
        # "双方" only where there are two sides; with three or more, "各方"
        "sides": "双方" if len(parties) == 2 else "各方",
        "facts": agr.facts,
        "dispute_matters": agr.dispute_matters,
        "responsibilities": agr.responsibilities,
        "terms": terms,
        "performance_method": agr.performance_method,
        "performance_place": agr.performance_place,
        "performance_deadline": cn_date(agr.performance_deadline),
        "copies": copies,
        "copies_cn": cn_number(copies),
        "keepers": "、".join(p["name"] for p in parties),
        "signers": signers,
        "mediator": agr.mediator.display_name if agr.mediator else src.mediator(),
        "mediator_sig": signed(MEDIATOR),
        "seal": signed(COMMITTEE),
        "recorder": agr.recorder,
        "effective_on": cn_date(effective) if not for_signing else "",
        "confirmation_until": cn_date(china_date(effective) + timedelta(days=CONFIRMATION_DAYS))
        if effective and not for_signing else "",
        "date": cn_date(effective) if effective and not for_signing else "",
        "round": agr.round,
        "version": agr.version,
        "revision": agr.revision,
        "status": status,
        "superseded": agr.status == "superseded",
        "for_signing": for_signing,
        "voided_on": cn_date(agr.voided_at) if agr.voided_at else "",
        "void_reason": agr.void_reason,
    }


@builder("oral_agreement")
def oral_agreement(src: CaseSources) -> dict[str, Any]:
    """口头协议登记表: content and date of each oral agreement, with the parties."""
    records = [_record(src, e, content=plain(e.data.get("content")))
               for e in src.actions("register_oral_agreement")]
    return {**common(src), "records": records, "mediator": src.mediator(),
            "parties": [party_context(src, p, with_phone=False) for p in src.case.parties],
            "party_names": [p.name for p in src.case.parties]}


@builder("follow_up")
def follow_up(src: CaseSources) -> dict[str, Any]:
    """回访记录: date, method, result, notes, visitor."""
    records = [_record(src, e, method=plain(e.data.get("method")),
                       result=src.labels.choices.get("result", {}).get(
                           str(e.data.get("result")), plain(e.data.get("result"))),
                       notes=plain(e.data.get("notes")))
               for e in src.actions("record_follow_up")]
    return {**common(src), "records": records,
            "parties": [p.name for p in src.case.parties]}


@builder("judicial_confirmation")
def judicial_confirmation(src: CaseSources) -> dict[str, Any]:
    """司法确认: court, application date, ruling, within 30 days of the agreement."""
    effective = src.effective_at()
    records = [_record(src, e, court=plain(e.data.get("court")),
                       applied_on=cn_date(e.data.get("applied_on")),
                       ruling=plain(e.data.get("ruling")),
                       ruled_on=cn_date(e.data.get("ruled_on")),
                       date=cn_date(e.data.get("applied_on")))
               for e in src.actions("record_judicial_confirmation")]
    return {**common(src), "records": records,
            "effective_on": cn_date(effective),
            "confirmation_until": cn_date(effective + timedelta(days=CONFIRMATION_DAYS))
            if effective else "",
            "parties": [p.name for p in src.case.parties]}


@builder("termination_notice")
def termination_notice(src: CaseSources) -> dict[str, Any]:
    """终止调解告知书 (art. 26): the reason, and the routes left to the parties."""
    # The transition that ended the mediation: into a terminal state whose outcome is failure.
    ended = [ev for ev in src.events if ev.kind == "transition"
             and src.labels.outcomes.get(ev.to_state or "") == "failure"]
    e = ended[-1] if ended else None
    return {
        **common(src),
        "parties": [party_context(src, p, with_phone=False) for p in src.case.parties],
        "reason": plain(e.data.get("reason")) if e else "",
        "date": cn_date(e.at) if e else "",
        "mediator": src.person(e.actor) if e else src.mediator(),
    }


@builder("timeline")
def timeline(src: CaseSources) -> dict[str, Any]:
    """案件流转记录: every event in order, in Chinese (see :mod:`mediation.documents.timeline`)."""
    return {**common(src), **timeline_context(src)}


def _filing(src: CaseSources) -> dict[str, Any]:
    case = src.case
    closing = next((e for e in reversed(src.events)
                    if e.kind == "transition" and e.to_state in src.labels.terminal), None)
    accepted = src.accepted_event()
    return {
        "filed_by": src.person(closing.actor) if closing else "",
        "filed_on": cn_date(case.closed_at) if case.closed_at else "",
        "closed": case.closed_at is not None,
        "from": cn_date(accepted.at) if accepted else "",
        "to": cn_date(case.closed_at) if case.closed_at else "",
        "outcome": src.labels.state(case.state) if case.closed_at else "",
    }


@builder("closing_sheet")
def closing_sheet(src: CaseSources) -> dict[str, Any]:
    """备考表: how the file was closed and by whom (page count filled in by the layout)."""
    return {**common(src), **_filing(src),
            "mediator": src.mediator(),
            "date": cn_date(src.case.closed_at) if src.case.closed_at else ""}


@builder("dossier")
def dossier(src: CaseSources) -> dict[str, Any]:
    """The dossier's cover (卷名, 卷号, mediator, dates, filed by, retention); its sections are
    added by the renderer from the catalogue."""
    case = src.case
    names = [p.name for p in case.parties]
    first = "、".join(names[:2]) + ("等" if len(names) > 2 else "")
    return {
        **common(src), **_filing(src),
        "volume_name": f"{first}{case.category}纠纷调解卷" if names else f"{case.title}调解卷",
        "year": local(case.created_at).year,
        "mediator": src.mediator(),
        "retention": src.dossier.get("retention", "长期"),
        "dossier_title": src.dossier.get("title", "人民调解卷宗"),
        "date": cn_date(case.closed_at) if case.closed_at else "",
    }
