"""Cases, their parties, the written agreement and its signatures, case-number counters,
idempotency keys and the log of who saw a full personal number."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    or_,
)
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.auth.models import User
from mediation.db import Base
from mediation.i18n import N_
from mediation.orgs.models import OrgUnit
from mediation.timeutil import utcnow

RISK_LEVELS = ("low", "medium", "high")
SOURCES = ("whistle", "application", "referral", "consultation")
# The categories of the national statistics: the stored value, and its words on the pages.
CATEGORY_LABELS = {
    "婚姻家庭": N_("婚姻家庭"), "邻里": N_("邻里"), "房屋宅基地": N_("房屋宅基地"),
    "合同": N_("合同"), "生产经营": N_("生产经营"), "损害赔偿": N_("损害赔偿"),
    "山林土地": N_("山林土地"), "征地拆迁": N_("征地拆迁"), "环境污染": N_("环境污染"),
    "劳动争议": N_("劳动争议"), "消费": N_("消费"), "医疗": N_("医疗"),
    "道路交通": N_("道路交通"), "物业": N_("物业"), "其他": N_("其他"),
}
CATEGORIES = tuple(CATEGORY_LABELS)
PARTY_ROLES = ("applicant", "respondent", "third_party")
PARTY_KINDS = ("person", "organization")
SIGN_METHODS = ("signature", "seal", "fingerprint")
# Who acts for a party: an agent it appointed (委托代理人) or a guardian (监护人, 法定代理人).
AGENT_KINDS = ("agent", "guardian")
# An agreement version: a draft (content may change; once someone signed, a change makes a new
# version), in force (every party, the mediator and the committee's seal recorded), voided (a
# breach ended it; kept on record) or superseded (a later version of the same round replaced
# it before it took effect; its signatures are void, it is kept on record).
AGREEMENT_STATUSES = ("draft", "in_force", "voided", "superseded")
CURRENT_AGREEMENT = ("draft", "in_force")
# The signers that are not parties: the mediator, and the committee (its seal).
MEDIATOR = "mediator"
COMMITTEE = "committee"
# The words every page, list and message uses for these values (never colour alone).
RISK_LABELS = {"low": N_("一般"), "medium": N_("较急"), "high": N_("可能激化")}
PARTY_ROLE_LABELS = {"applicant": N_("申请人"), "respondent": N_("被申请人"),
                     "third_party": N_("第三人")}
SOURCE_LABELS = {"whistle": N_("网格发现（吹哨）"), "application": N_("当事人申请"),
                 "referral": N_("有关单位移送"), "consultation": N_("法律咨询转入")}


class Case(Base):
    """A dispute moving along a workflow; ``version`` counts its changes (optimistic lock)."""

    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint("risk_level IN ('low', 'medium', 'high')", name="risk_level"),
        CheckConstraint("version >= 1", name="version_positive"),
        # A grid's list filtered by state, newest first (the API's list page at scale).
        Index("ix_cases_grid_state_created", "grid_id", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Given when the whistle is blown; never changes.
    report_no: Mapped[str] = mapped_column(String(80), unique=True)
    # The committee's official number, given when the case is accepted for mediation (the
    # definition says which states accept); None for a report never accepted.
    case_no: Mapped[str | None] = mapped_column(String(80), unique=True)
    workflow: Mapped[str] = mapped_column(String(60))
    definition_version: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(60), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    grid_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    category: Mapped[str] = mapped_column(String(20), index=True)
    source: Mapped[str] = mapped_column(String(20), default="whistle")
    risk_level: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # The district whose legal service the case was referred to (what its lawyers may see).
    legal_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    origin_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    state_entered_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(DateTime)
    overdue_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # When the case first entered a state that accepts it for mediation (and got its case_no).
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The hash of the case's last event (its ``version``-th), written with it: a transition
    # chains its event from here instead of reading the last one back. Not under any hash;
    # verification checks it against the chain (docs/audit.md).
    chain_head: Mapped[str | None] = mapped_column(String(64))

    grid: Mapped[OrgUnit] = relationship(foreign_keys=[grid_id], lazy="joined")
    committee: Mapped[OrgUnit] = relationship(foreign_keys=[committee_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id], lazy="joined")
    reporter: Mapped[User | None] = relationship(foreign_keys=[reporter_id])
    parties: Mapped[list[Party]] = relationship(
        back_populates="case", order_by="Party.position", cascade="all, delete-orphan")
    # The agreement of the current round of mediation (a draft or in force); voided and
    # superseded versions stay on file (``agreements``).
    agreement: Mapped[Agreement | None] = relationship(
        primaryjoin="and_(Agreement.case_id == Case.id, "
                    "Agreement.status.in_(('draft', 'in_force')))",
        uselist=False, viewonly=True)
    # Every agreement version ever made, oldest first.
    agreements: Mapped[list[Agreement]] = relationship(
        order_by="Agreement.id", viewonly=True)

    @property
    def number(self) -> str:
        """The number to show: the case number once accepted, else the report number."""
        return self.case_no or self.report_no

    def _overdue(self, now: datetime) -> bool:
        return self.overdue_at is not None or (self.due_at is not None and self.due_at < now)

    def _overdue_clause(cls: Any, now: datetime) -> Any:  # bound to the class by the hybrid
        return or_(cls.overdue_at.is_not(None), and_(cls.due_at.is_not(None), cls.due_at < now))

    # Overdue: an ``overdue`` deadline fired, or the next deadline has passed unswept. The one
    # definition for the lists, the pages, the API and its filter (``Case.is_overdue(now)`` is
    # the SQL clause, ``case.is_overdue(now)`` the answer for one case).
    is_overdue = hybrid_method(_overdue, _overdue_clause)

    def __repr__(self) -> str:
        return f"<Case {self.number} {self.state} v{self.version}>"


class Party(Base):
    """A person or organisation in the dispute. Phone and ID number are stored encrypted."""

    __tablename__ = "parties"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20), default="person")
    # Indexed: a conflict check looks for the cases a mediator was a party of, by name.
    name: Mapped[str] = mapped_column(String(100), index=True)
    sex: Mapped[str] = mapped_column(String(4), default="")
    birth_year: Mapped[int | None] = mapped_column(Integer)
    ethnicity: Mapped[str] = mapped_column(String(20), default="")
    occupation: Mapped[str] = mapped_column(String(60), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    employer: Mapped[str] = mapped_column(String(100), default="")
    legal_representative: Mapped[str] = mapped_column(String(60), default="")
    representative_title: Mapped[str] = mapped_column(String(60), default="")
    # An organisation's unified social credit code (GB 32100); public, not encrypted.
    credit_code: Mapped[str] = mapped_column(String(18), default="")
    phone_enc: Mapped[str | None] = mapped_column(Text)
    id_number_enc: Mapped[str | None] = mapped_column(Text)

    case: Mapped[Case] = relationship(back_populates="parties")
    agents: Mapped[list[PartyAgent]] = relationship(
        order_by="PartyAgent.position", cascade="all, delete-orphan")


class PartyAgent(Base):
    """Who acts for a party: an appointed agent (委托代理人, with the authority given) or a
    guardian (监护人, with the relation)."""

    __tablename__ = "party_agents"
    __table_args__ = (CheckConstraint("kind IN ('agent', 'guardian')", name="agent_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    relation: Mapped[str] = mapped_column(String(60), default="")  # 父亲, 律师, 员工 ...
    authority: Mapped[str] = mapped_column(String(200), default="")  # 特别授权 ...
    phone_enc: Mapped[str | None] = mapped_column(Text)


class Agreement(Base):
    """One version of the written people's mediation agreement (人民调解协议书) of a case.

    A round of mediation has one agreement; a breach voids it and the next round makes a new
    one. Within a round, a change after someone signed makes a new version and supersedes the
    old one, which is kept with its signatures: nothing once signed is overwritten.
    """

    __tablename__ = "agreements"
    __table_args__ = (
        UniqueConstraint("case_id", "round", "version"),
        CheckConstraint("status IN ('draft', 'in_force', 'voided', 'superseded')",
                        name="agreement_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    facts: Mapped[str] = mapped_column(Text, default="")
    dispute_matters: Mapped[str] = mapped_column(Text, default="")
    responsibilities: Mapped[str] = mapped_column(Text, default="")
    performance_method: Mapped[str] = mapped_column(Text, default="")
    performance_place: Mapped[str] = mapped_column(String(200), default="")
    performance_deadline: Mapped[date | None] = mapped_column(Date)
    copies: Mapped[int] = mapped_column(Integer)
    recorder: Mapped[str] = mapped_column(String(60), default="")
    revision: Mapped[int] = mapped_column(Integer, default=1)
    mediator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The latest of the parties' signatures, the mediator's and the seal (art. 29): when the
    # people really signed, not when it was typed in.
    effective_at: Mapped[datetime | None] = mapped_column(DateTime)
    # When and why it stopped counting: a breach (voided) or a later version (superseded).
    voided_at: Mapped[datetime | None] = mapped_column(DateTime)
    void_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    case: Mapped[Case] = relationship()
    mediator: Mapped[User | None] = relationship()
    terms: Mapped[list[AgreementTerm]] = relationship(
        order_by="AgreementTerm.position", cascade="all, delete-orphan")
    signatures: Mapped[list[Signature]] = relationship(
        order_by="Signature.id", cascade="all, delete-orphan")


class AgreementTerm(Base):
    """A numbered term: who owes what to whom, how much, by when (parties by id)."""

    __tablename__ = "agreement_terms"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    obligor: Mapped[str] = mapped_column(String(100))
    obligee: Mapped[str] = mapped_column(String(100), default="")
    content: Mapped[str] = mapped_column(Text)
    amount: Mapped[str | None] = mapped_column(String(40))  # yuan, "2000.00"
    due_date: Mapped[date | None] = mapped_column(Date)


class Signature(Base):
    """A party's or the mediator's signature, seal or fingerprint on the agreement, or the
    committee's seal; ``signed_at`` is when it was really made."""

    __tablename__ = "signatures"
    __table_args__ = (
        UniqueConstraint("agreement_id", "signer"),
        CheckConstraint("method IN ('signature', 'seal', 'fingerprint')", name="method"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), index=True)
    signer: Mapped[str] = mapped_column(String(40))  # a party id, "mediator" or "committee"
    party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    method: Mapped[str] = mapped_column(String(20))
    signed_at: Mapped[datetime] = mapped_column(DateTime)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CaseCounter(Base):
    """The last case number given, per committee, series and year (gapless numbering)."""

    __tablename__ = "case_counters"

    committee_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    series: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class IdempotencyKey(Base):
    """A client's ``Idempotency-Key`` for case creation, per user."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PiiAccess(Base):
    """Every view of a party's full phone or ID number (个人信息保护法)."""

    __tablename__ = "pii_access"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    fields: Mapped[str] = mapped_column(String(60))
    purpose: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
