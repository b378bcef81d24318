"""Context builders: pure functions from a case's facts to the dict a template prints.

:class:`CaseSources` gathers what a builder may read (the case, its parties, agreement, events,
the labels of its pinned workflow definition and the names of the users in its trail), loaded
once per render. A builder reads nothing else: no session, no clock, no environment, so the same
facts always give the same context and the same PDF bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.auth.models import User
from mediation.cases.models import Agreement, Case, Party
from mediation.security import FieldCipher, mask_phone
from mediation.stats.queries import Definitions
from mediation.workflow.definition import Definition
from mediation.workflow.models import Event
from mediation.workflow.store import PinnedVersions

# Dates on documents are China Standard Time (UTC+8, no daylight saving).
CST = timedelta(hours=8)
# The judicial-confirmation window runs 30 days from the agreement taking effect (art. 33).
CONFIRMATION_DAYS = 30

PARTY_ROLES = {"applicant": "申请人", "respondent": "被申请人", "third_party": "第三人"}
SOURCES = {"whistle": "网格发现（吹哨）", "application": "当事人申请",
           "referral": "移送委托", "consultation": "法律咨询转入"}
RISK_LEVELS = {"low": "低", "medium": "中", "high": "高"}
SIGN_METHODS = {"signature": "签名", "seal": "盖章", "fingerprint": "按指印"}
SYSTEM_ACTOR = "system"
NUMERALS = "〇一二三四五六七八九"
# The timeline shows the start of each long text; the full text is in its own record.
SUMMARY_CHARS = 60


# -- formatting helpers ------------------------------------------------------------------------

def local(value: datetime) -> datetime:
    """A naive UTC datetime as China time."""
    return value + CST


def cn_date(value: date | datetime | str | None) -> str:
    """``2025年3月5日`` (datetimes are naive UTC and shown in China time)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        value = local(value).date()
    return f"{value.year}年{value.month}月{value.day}日"


def cn_datetime(value: datetime) -> str:
    """``2025年3月5日 14:30`` in China time."""
    t = local(value)
    return f"{t.year}年{t.month}月{t.day}日 {t:%H:%M}"


def cn_number(n: int) -> str:
    """Chinese numerals for term numbering: 1 → 一, 12 → 十二, 21 → 二十一."""
    if n < 10:
        return NUMERALS[n]
    if n < 20:
        return "十" + (NUMERALS[n % 10] if n % 10 else "")
    if n < 100:
        return NUMERALS[n // 10] + "十" + (NUMERALS[n % 10] if n % 10 else "")
    return str(n)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list | tuple):
        return "、".join(_text(v) for v in value)
    if isinstance(value, dict):
        return value.get("zh-CN") or value.get("zh") or "；".join(
            f"{k}：{_text(v)}" for k, v in value.items())
    return str(value)


# -- workflow labels ------------------------------------------------------------------------------

# For callers without a runtime's ``DefinitionStore`` (which answers the same ``get``).
PINNED = PinnedVersions()


def definitions(runtime: Any = None) -> Definitions:
    """The runtime's definition store when it has one, else :data:`PINNED`."""
    store = getattr(runtime, "store", None)
    return store if store is not None else PINNED


@dataclass(frozen=True)
class WorkflowLabels:
    """What the documents print of a definition: the Chinese labels of its states, triggers,
    actions, fields and levels, the type of each field, and which states end a case, with what
    outcome, at what level. Every printed name of the workflow comes from here."""

    name: str = ""
    title: str = ""
    states: dict[str, str] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)
    terminal: frozenset[str] = frozenset()
    state_levels: dict[str, str] = field(default_factory=dict)  # state → level
    levels: dict[str, str] = field(default_factory=dict)  # level → printed name ([levels])
    # The states in which a case is being mediated (an agreement may be drafted): entering
    # the first of them is the case's acceptance.
    mediation_states: frozenset[str] = frozenset()
    transitions: dict[str, str] = field(default_factory=dict)
    actions: dict[str, str] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    field_types: dict[str, str] = field(default_factory=dict)
    choices: dict[str, dict[str, str]] = field(default_factory=dict)  # field → value → name

    @classmethod
    def from_definition(cls, d: Definition) -> WorkflowLabels:
        """The labels of a loaded definition."""
        return cls(
            name=d.name,
            title=d.label.zh,
            states={k: s.label.zh for k, s in d.states.items()},
            outcomes={k: s.outcome for k, s in d.states.items() if s.outcome},
            terminal=frozenset(k for k, s in d.states.items() if s.terminal),
            state_levels={k: s.level for k, s in d.states.items() if s.level},
            levels={k: v.zh for k, v in d.levels.items()},
            mediation_states=frozenset(d.agreement.states if d.agreement else ()),
            transitions={k: t.label.zh for k, t in d.transitions.items()},
            actions={k: a.label.zh for k, a in d.actions.items()},
            fields={k: f.label.zh for k, f in d.fields.items()},
            field_types={k: f.type for k, f in d.fields.items()},
            choices={k: {c: lb.zh for c, lb in f.choice_labels.items()}
                     for k, f in d.fields.items() if f.choice_labels},
        )

    def state(self, name: str | None) -> str:
        """The label of state ``name``."""
        return self.states.get(name or "", name or "")


def workflow_labels(session: Session, workflow: str, version: str,
                    store: Definitions | None = None) -> WorkflowLabels:
    """The labels of the definition version a case is pinned to; level names, when that
    version has none (written before definitions named their levels), from the current one."""
    labels = WorkflowLabels.from_definition((store or PINNED).get(session, workflow, version))
    if not labels.levels:
        levels = current_levels(store, workflow)
        if levels:
            labels = replace(labels, levels=levels)
    return labels


def current_levels(store: Any, workflow: str) -> dict[str, str]:
    """The level names of the current version of ``workflow`` in ``store`` (a runtime's
    ``DefinitionStore``), or none."""
    current = getattr(store, "current", None)
    if current is None:
        return {}
    try:
        definition = current(workflow)
    except (KeyError, LookupError):
        return {}
    return {k: v.zh for k, v in definition.levels.items()}


# -- sources ------------------------------------------------------------------------------------

@dataclass
class CaseSources:
    """Everything a builder may read about one case, loaded once."""

    case: Case
    events: list[Event]
    labels: WorkflowLabels
    cipher: FieldCipher | None
    users: dict[str, str] = field(default_factory=dict)  # username → name to print
    dossier: dict[str, Any] = field(default_factory=dict)
    # (party id, field) of every full personal number printed: logged as PII access
    pii_used: set[tuple[int, str]] = field(default_factory=set)

    @classmethod
    def load(cls, session: Session, case: Case, cipher: FieldCipher | None,
             dossier: dict[str, Any] | None = None,
             store: Definitions | None = None) -> CaseSources:
        """Read the case's events, the labels of its pinned definition (from ``store``, else
        from the pinned text) and the names of the users the events mention."""
        events = list(session.scalars(
            select(Event).where(Event.case_id == case.id).order_by(Event.seq)))
        usernames = {e.actor for e in events}
        for e in events:
            for key in ("assignee", "mediator", "lawyer", "to"):
                if isinstance(e.data.get(key), str):
                    usernames.add(e.data[key])
        users: dict[str, str] = {}
        if usernames:
            for u in session.scalars(select(User).where(User.username.in_(usernames))):
                users[u.username] = u.display_name
        for known in (case.assignee, case.reporter,
                      case.agreement.mediator if case.agreement else None):
            if known is not None:
                users[known.username] = known.display_name
        return cls(case=case, events=events,
                   labels=workflow_labels(session, case.workflow, case.definition_version,
                                          store),
                   cipher=cipher, users=users, dossier=dossier or {})

    # reading helpers used by conditions and builders

    def actions(self, name: str) -> list[Event]:
        """The events of action ``name``, in order."""
        return [e for e in self.events if e.kind == "action" and e.name == name]

    def transitions(self, trigger: str) -> list[Event]:
        """The events of trigger ``trigger``, in order."""
        return [e for e in self.events if e.kind == "transition" and e.name == trigger]

    def person(self, username: str | None) -> str:
        """The printed name of a user (the system prints as 系统)."""
        if not username:
            return ""
        if username == SYSTEM_ACTOR:
            return "系统"
        return self.users.get(username, username)

    def phone(self, party: Party) -> str:
        """The party's full phone number (logged as a PII view)."""
        value = self.cipher.decrypt(party.phone_enc) if self.cipher else None
        if value:
            self.pii_used.add((party.id, "phone"))
        return value or ""

    def id_number(self, party: Party) -> str:
        """The party's full ID number (logged as a PII view)."""
        value = self.cipher.decrypt(party.id_number_enc) if self.cipher else None
        if value:
            self.pii_used.add((party.id, "id_number"))
        return value or ""

    def agreement(self) -> Agreement | None:
        """The written agreement to print: the current round's (a draft or in force), else
        the last one a breach voided (kept on record)."""
        return self.case.agreement or next(
            (a for a in reversed(self.case.agreements) if a.status == "voided"), None)

    def agreement_signed(self) -> bool:
        """A written agreement that took effect (in force, or in force until a breach)."""
        agreement = self.agreement()
        return agreement is not None and agreement.effective_at is not None

    def agreement_ready(self) -> bool:
        """A written agreement that can be printed: signed, or complete enough to print as a
        copy for signing on paper."""
        from mediation.cases.agreements import gaps

        agreement = self.agreement()
        return agreement is not None and (agreement.effective_at is not None
                                          or not gaps(agreement))

    def effective_at(self) -> datetime | None:
        """When the agreement took effect: the latest of the parties' signatures, the
        mediator's and the seal (art. 29), as really made."""
        agreement = self.agreement()
        return agreement.effective_at if agreement is not None else None

    def accepted_event(self) -> Event | None:
        """The first transition into a mediation state (the case's acceptance)."""
        for e in self.events:
            if e.kind == "transition" and e.to_state in self.labels.mediation_states:
                return e
        return None

    def level_label(self, state: str | None) -> str:
        """The printed name of the level ``state`` is at, from the definition's ``[levels]``
        ("" when the state has no level or the definition does not name it)."""
        level = self.labels.state_levels.get(state or "")
        return self.labels.levels.get(level, "") if level else ""

    def mediator(self) -> str:
        """The mediator to print: the agreement's, else the handler, else the last assigned."""
        agreement = self.agreement()
        if agreement is not None and agreement.mediator is not None:
            return agreement.mediator.display_name
        if self.case.assignee is not None:
            return self.case.assignee.display_name
        for e in reversed(self.events):
            name = e.data.get("assignee") if isinstance(e.data, dict) else None
            if isinstance(name, str):
                return self.person(name)
        return ""


# -- shared pieces ------------------------------------------------------------------------------

def committee_name(case: Case) -> str:
    """``武林门社区人民调解委员会``."""
    return f"{case.committee.name}人民调解委员会"


def party_context(src: CaseSources, party: Party, *, at: date | None = None,
                  with_id: bool = False, with_phone: bool = True) -> dict[str, Any]:
    """The printable facts of one party; full numbers only when asked (and then logged)."""
    age = at.year - party.birth_year if at and party.birth_year else None
    phone = src.phone(party) if with_phone else ""
    id_number = src.id_number(party) if with_id else ""
    return {
        "id": party.id, "name": party.name, "kind": party.kind,
        "role": party.role, "role_label": PARTY_ROLES.get(party.role, party.role),
        "is_org": party.kind == "organization",
        "sex": party.sex, "ethnicity": party.ethnicity, "birth_year": party.birth_year,
        "age": age, "occupation": party.occupation, "employer": party.employer,
        "address": party.address, "legal_representative": party.legal_representative,
        "representative_title": party.representative_title,
        "phone": phone, "id_number": id_number,
        "phone_masked": mask_phone(src.cipher.decrypt(party.phone_enc)) if src.cipher else "",
    }


def _reference_date(src: CaseSources) -> date:
    """The date ages are counted at: the agreement's, else the case's creation (China time)."""
    at = src.effective_at() or src.case.created_at
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
    records = [_record(src, e, place=_text(e.data.get("place")),
                       people=_text(e.data.get("people")),
                       findings=_text(e.data.get("findings")))
               for e in src.actions("record_investigation")]
    return {**common(src), "records": records}


@builder("evidence_list")
def evidence_list(src: CaseSources) -> dict[str, Any]:
    """证据材料清单: every file attached to the case."""
    items = [_record(src, e, filename=_text(e.data.get("filename")),
                     description=_text(e.data.get("description")))
             for e in src.actions("attach_file")]
    return {**common(src), "items": items,
            "date": items[-1]["date"] if items else ""}


@builder("session_record")
def session_record(src: CaseSources) -> dict[str, Any]:
    """调解记录: date, place, participants, what each side said, outcome."""
    records = [_record(src, e, place=_text(e.data.get("place")),
                       participants=_text(e.data.get("participants")),
                       summary=_text(e.data.get("summary")),
                       outcome=_text(e.data.get("outcome")))
               for e in src.actions("record_session")]
    return {**common(src), "records": records, "mediator": src.mediator(),
            "parties": [p.name for p in src.case.parties]}


@builder("agreement")
def agreement(src: CaseSources) -> dict[str, Any]:
    """人民调解协议书 (art. 28–29): parties (no ID numbers), facts, matters in dispute,
    responsibilities, numbered terms, performance, copies, signature blocks, effective date."""
    case = src.case
    agr = src.agreement()
    if agr is None:
        return {**common(src), "present": False}
    at = _reference_date(src)
    effective = src.effective_at()
    parties = [party_context(src, p, at=at) for p in case.parties]
    by_party = {str(s.party_id or s.signer): s for s in agr.signatures}
    signers = []
    for p in parties:
        sig = by_party.get(str(p["id"]))
        signers.append({"label": p["role_label"], "name": p["name"], "is_org": p["is_org"],
                        "method": SIGN_METHODS.get(sig.method, "") if sig else "",
                        "signed_on": cn_date(sig.signed_at) if sig else ""})
    mediator_sig = by_party.get("mediator")
    # Terms name their obligor by party id (save_agreement); print its role and name.
    obligors = {str(p["id"]): f"{p['role_label']}{p['name']}" for p in parties}
    terms = [{"number": cn_number(i + 1), "obligor": obligors.get(t.obligor, t.obligor),
              "content": t.content,
              "amount": t.amount or "", "due_date": cn_date(t.due_date)}
             for i, t in enumerate(agr.terms)]
    deadline = (effective + timedelta(days=CONFIRMATION_DAYS)) if effective else None
    return {
        **common(src),
        "present": True,
        "parties": parties,
        "facts": agr.facts,
        "dispute_matters": agr.dispute_matters,
        "responsibilities": agr.responsibilities,
        "terms": terms,
        "performance_method": agr.performance_method,
        "performance_place": agr.performance_place,
        "performance_deadline": cn_date(agr.performance_deadline),
        "copies": agr.copies or len(parties) + 1,
        "copies_cn": cn_number(agr.copies or len(parties) + 1),
        "signers": signers,
        "mediator": agr.mediator.display_name if agr.mediator else src.mediator(),
        "mediator_signed_on": cn_date(mediator_sig.signed_at) if mediator_sig else "",
        "mediator_method": SIGN_METHODS.get(mediator_sig.method, "") if mediator_sig else "",
        "recorder": agr.recorder,
        "effective_on": cn_date(effective),
        "confirmation_until": cn_date(deadline),
        "date": cn_date(effective),
        "revision": agr.revision,
        # draft (a copy for signing on paper: blank signature blocks), in_force, voided
        "status": "voided" if agr.status in ("voided", "superseded") else agr.status,
        "for_signing": agr.effective_at is None,
        "voided_on": cn_date(agr.voided_at) if agr.voided_at else "",
        "void_reason": agr.void_reason,
    }


@builder("oral_agreement")
def oral_agreement(src: CaseSources) -> dict[str, Any]:
    """口头协议登记表: content and date of each oral agreement, with the parties."""
    records = [_record(src, e, content=_text(e.data.get("content")))
               for e in src.actions("register_oral_agreement")]
    return {**common(src), "records": records, "mediator": src.mediator(),
            "parties": [party_context(src, p, with_phone=False) for p in src.case.parties]}


@builder("follow_up")
def follow_up(src: CaseSources) -> dict[str, Any]:
    """回访记录: date, method, result, notes, visitor."""
    records = [_record(src, e, method=_text(e.data.get("method")),
                       result=src.labels.choices.get("result", {}).get(
                           str(e.data.get("result")), _text(e.data.get("result"))),
                       notes=_text(e.data.get("notes")))
               for e in src.actions("record_follow_up")]
    return {**common(src), "records": records,
            "parties": [p.name for p in src.case.parties]}


@builder("judicial_confirmation")
def judicial_confirmation(src: CaseSources) -> dict[str, Any]:
    """司法确认: court, application date, ruling, within 30 days of the agreement."""
    effective = src.effective_at()
    records = [_record(src, e, court=_text(e.data.get("court")),
                       applied_on=cn_date(e.data.get("applied_on")),
                       ruling=_text(e.data.get("ruling")),
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
        "reason": _text(e.data.get("reason")) if e else "",
        "date": cn_date(e.at) if e else "",
        "mediator": src.person(e.actor) if e else src.mediator(),
    }


# -- the event timeline ---------------------------------------------------------------------------
#
# Triggers, actions, states and fields print the labels of the case's definition. What the engine
# records on its own (DESIGN.md §5: creation, agreement drafts, signatures, deadlines, system
# notices) is not in a definition: its printed names are here. Internal names, keys and hashes
# are never printed.

EVENT_KINDS = {"created": "创建", "transition": "流转", "action": "登记事项",
               "agreement": "协议", "signature": "签名", "party": "当事人",
               "remind": "提醒", "overdue": "超期", "system": "系统"}
ENGINE_EVENTS = {("agreement", "save_draft"): "保存协议草稿",
                 ("agreement", "new_version"): "协议签署后修改（新版本）",
                 ("agreement", "void"): "协议因未履行作废",
                 ("party", "update_party"): "修改当事人信息",
                 ("party", "add_party"): "追加当事人",
                 ("signature", "sign"): "协议签署",
                 ("remind", "deadline"): "期限提醒",
                 ("overdue", "deadline"): "办理超期",
                 ("system", "deadline_not_fired"): "期限到期未能自动处理",
                 ("system", "opened_case"): "转立调解案件"}
# What the engine writes into a creation event.
CREATED_FIELDS = {"title": "纠纷名称", "category": "纠纷类别", "source": "纠纷来源",
                  "risk_level": "风险等级", "grid": "所属网格", "parties": "当事人",
                  "origin": "来源案件"}
# Keys the engine adds to transitions and actions: who took the case is the actor or a field;
# deadlines and English texts are not printed.
_SKIPPED = {"assignee", "deadline", "reason_en", "due_at", "case_id"}


def _short(value: Any) -> str:
    """One line of at most SUMMARY_CHARS characters, without its closing full stop (the
    summary joins its parts with "；")."""
    text = "".join(line.strip() for line in _text(value).splitlines()).rstrip("。；;.")
    return text[:SUMMARY_CHARS] + "…" if len(text) > SUMMARY_CHARS else text


def _field_text(src: CaseSources, key: str, value: Any) -> str:
    """``label：value`` for a field of the definition, its value printed by its type."""
    label = src.labels.fields[key]
    kind = src.labels.field_types.get(key, "text")
    if kind == "confirm":
        return label if value else f"{label}：否"
    if kind == "user" and isinstance(value, str):
        text = src.person(value)
    elif kind == "date":
        text = cn_date(value if isinstance(value, str | date) else None) or _short(value)
    elif kind == "choice":
        text = src.labels.choices.get(key, {}).get(str(value), _short(value))
    else:
        text = _short(value)
    return f"{label}：{text}"


def _created_summary(src: CaseSources, data: dict[str, Any]) -> list[str]:
    parts = [f"流程：{src.labels.title}"] if src.labels.title else []
    values = {"source": SOURCES.get(str(data.get("source")), ""),
              "risk_level": RISK_LEVELS.get(str(data.get("risk_level")), ""),
              "grid": src.case.grid.name if data.get("grid") == src.case.grid.code else ""}
    for key, label in CREATED_FIELDS.items():
        value = values.get(key, data.get(key))
        if value not in (None, "", [], {}):
            parts.append(f"{label}：{_short(value)}")
    return parts


def _signature_summary(data: dict[str, Any], at: datetime) -> list[str]:
    who = "人民调解员" if data.get("signer") == "mediator" else _text(data.get("name"))
    text = f"{who}{SIGN_METHODS.get(str(data.get('method')), '签署')}"
    if data.get("revision"):
        text += f"（协议第{data['revision']}稿）"
    parts = [text]
    signed = data.get("signed_at")
    if isinstance(signed, str):
        try:
            when = datetime.fromisoformat(signed.replace("Z", "+00:00")).replace(tzinfo=None)
        except ValueError:
            when = None
        if when is not None and abs((when - at).total_seconds()) >= 60:
            parts.append(f"签署时间：{cn_datetime(when)}")
    if data.get("in_force"):
        parts.append("各方签署完毕，协议生效")
    return parts


def _draft_summary(data: dict[str, Any]) -> list[str]:
    parts = []
    if data.get("revision"):
        parts.append(f"第{data['revision']}稿")
    if data.get("terms"):
        parts.append(f"协议条款{data['terms']}项")
    if data.get("copies"):
        parts.append(f"一式{cn_number(int(data['copies']))}份")
    if data.get("voided_signatures"):
        parts.append(f"原有{data['voided_signatures']}个签名作废，须重新签署")
    return ["，".join(parts)] if parts else []


def _event_summary(src: CaseSources, e: Event) -> str:
    """What an event recorded, in words a mediation committee reads: field labels of the
    definition, names of people, Chinese dates; no internal key, no hash."""
    data = e.data or {}
    if e.kind == "created":
        parts = _created_summary(src, data)
    elif e.kind == "signature":
        parts = _signature_summary(data, e.at)
    elif e.kind == "agreement":
        parts = _draft_summary(data)
    else:
        parts = []
        # fields in the order the definition lists them (date, place, people, findings ...)
        order = {name: i for i, name in enumerate(src.labels.fields)}
        for key, value in sorted(data.items(), key=lambda kv: order.get(kv[0], len(order))):
            if key in _SKIPPED or value in (None, "", [], {}):
                continue
            if key in src.labels.fields:
                parts.append(_field_text(src, key, value))
            elif key == "reason":  # deadlines and rules give their reason
                parts.append(f"理由：{_short(value)}")
            elif key == "police_notified" and value:
                parts.append("已通报辖区派出所")
            elif key == "warnings":
                parts.append(f"回避提示：{_short(value)}")
            elif key == "error":
                parts.append(f"原因：{_short(value)}")
            elif key == "case_no":
                parts.append(f"案件编号：{_short(value)}")
            # any other key is internal: left to the audit trail
    return "；".join(parts)


def _event_what(src: CaseSources, e: Event) -> str:
    if e.kind == "created":
        return "立案登记"
    if e.kind == "transition":
        return src.labels.transitions.get(e.name, "状态变更")
    if e.kind == "action":
        return src.labels.actions.get(e.name, "登记事项")
    return ENGINE_EVENTS.get((e.kind, e.name), EVENT_KINDS.get(e.kind, "系统记录"))


@builder("timeline")
def timeline(src: CaseSources) -> dict[str, Any]:
    """案件流转记录: every event in order, with the kind, what happened (labels of the
    definition), who did it, the change of state and what it recorded, all in Chinese."""
    rows = []
    for e in src.events:
        moved = e.kind in ("transition", "created")
        t = local(e.at)
        rows.append({"seq": e.seq, "at": cn_datetime(e.at), "day": cn_date(e.at),
                     "time": f"{t:%H:%M}",
                     "from": src.labels.state(e.from_state) if moved and e.from_state else "",
                     "to": src.labels.state(e.to_state) if moved else "",
                     "kind": EVENT_KINDS.get(e.kind, "系统"), "what": _event_what(src, e),
                     "actor": src.person(e.actor) or "系统",
                     "summary": _event_summary(src, e)})
    last = src.events[-1] if src.events else None
    return {**common(src), "rows": rows,
            "date": cn_date(last.at) if last else cn_date(src.case.created_at),
            "count": len(rows),
            # The head of the trail's hash chain, short enough to compare by eye.
            "chain_head": _grouped(last.hash[:16]) if last else ""}


def _grouped(code: str) -> str:
    return " ".join(code[i:i + 4] for i in range(0, len(code), 4)).upper()


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
