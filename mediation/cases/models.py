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
    case_no: Mapped[str] = mapped_column(String(80), unique=True)
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

    grid: Mapped[OrgUnit] = relationship(foreign_keys=[grid_id], lazy="joined")
    committee: Mapped[OrgUnit] = relationship(foreign_keys=[committee_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id], lazy="joined")
    reporter: Mapped[User | None] = relationship(foreign_keys=[reporter_id])
    parties: Mapped[list[Party]] = relationship(
        back_populates="case", order_by="Party.position", cascade="all, delete-orphan")
    # The agreement of the current round of mediation; one voided by a breach stays on file.
    agreement: Mapped[Agreement | None] = relationship(
        primaryjoin="and_(Agreement.case_id == Case.id, Agreement.voided_at.is_(None))",
        uselist=False, viewonly=True)

    def _overdue(self, now: datetime) -> bool:
        return self.overdue_at is not None or (self.due_at is not None and self.due_at < now)

    def _overdue_clause(cls: Any, now: datetime) -> Any:  # bound to the class by the hybrid
        return or_(cls.overdue_at.is_not(None), and_(cls.due_at.is_not(None), cls.due_at < now))

    # Overdue: an ``overdue`` deadline fired, or the next deadline has passed unswept. The one
    # definition for the lists, the pages, the API and its filter (``Case.is_overdue(now)`` is
    # the SQL clause, ``case.is_overdue(now)`` the answer for one case).
    is_overdue = hybrid_method(_overdue, _overdue_clause)

    def __repr__(self) -> str:
        return f"<Case {self.case_no} {self.state} v{self.version}>"


class Party(Base):
    """A person or organisation in the dispute. Phone and ID number are stored encrypted."""

    __tablename__ = "parties"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20), default="person")
    name: Mapped[str] = mapped_column(String(100))
    sex: Mapped[str] = mapped_column(String(4), default="")
    birth_year: Mapped[int | None] = mapped_column(Integer)
    ethnicity: Mapped[str] = mapped_column(String(20), default="")
    occupation: Mapped[str] = mapped_column(String(60), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    employer: Mapped[str] = mapped_column(String(100), default="")
    legal_representative: Mapped[str] = mapped_column(String(60), default="")
    representative_title: Mapped[str] = mapped_column(String(60), default="")
    phone_enc: Mapped[str | None] = mapped_column(Text)
    id_number_enc: Mapped[str | None] = mapped_column(Text)

    case: Mapped[Case] = relationship(back_populates="parties")


class Agreement(Base):
    """The written people's mediation agreement (人民调解协议书) of a case."""

    __tablename__ = "agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
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
    effective_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Set when a breach sends the case back to mediation: a new round needs a new agreement.
    voided_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    case: Mapped[Case] = relationship()
    mediator: Mapped[User | None] = relationship()
    terms: Mapped[list[AgreementTerm]] = relationship(
        order_by="AgreementTerm.position", cascade="all, delete-orphan")
    signatures: Mapped[list[Signature]] = relationship(
        order_by="Signature.id", cascade="all, delete-orphan")


class AgreementTerm(Base):
    """A numbered term: who owes what, by when."""

    __tablename__ = "agreement_terms"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    obligor: Mapped[str] = mapped_column(String(100))
    content: Mapped[str] = mapped_column(Text)
    amount: Mapped[str | None] = mapped_column(String(40))
    due_date: Mapped[date | None] = mapped_column(Date)


class Signature(Base):
    """A party's or the mediator's signature, seal or fingerprint on the agreement."""

    __tablename__ = "signatures"
    __table_args__ = (
        UniqueConstraint("agreement_id", "signer"),
        CheckConstraint("method IN ('signature', 'seal', 'fingerprint')", name="method"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), index=True)
    signer: Mapped[str] = mapped_column(String(40))  # a party id, or "mediator"
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
