"""Request and response shapes of the REST API v1 (INTERFACES.md), as pydantic models.

The same models validate requests and generate /api/openapi.json (spectree).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, StrictInt, field_validator
from pydantic_core import PydanticCustomError

from mediation.cases.models import CATEGORIES

Text200 = Annotated[str, Field(min_length=1, max_length=200)]
Text5000 = Annotated[str, Field(max_length=5000)]
ShortText = Annotated[str, Field(max_length=100)]

_PHONE = re.compile(r"^(?:1\d{10}|0\d{2,3}-?\d{7,8}|\d{7,8})$")
_AMOUNT = re.compile(r"^\d{1,12}(\.\d{1,2})?$")  # yuan, at most two decimals


class Strict(BaseModel):
    """Unknown fields are refused (a typo must not pass silently)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TokenRequest(Strict):
    """Credentials for a bearer token."""

    # A password is compared exactly as typed: stripping it would lock out a user whose
    # password begins or ends with a space (``users create`` keeps them).
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    username: Annotated[str, Field(min_length=1, max_length=60)]
    password: Annotated[str, Field(min_length=1, max_length=200)]


class TokenResponse(BaseModel):
    """A bearer token and when it expires."""

    token: str
    expires_at: str


class AgentIn(Strict):
    """Who acts for a party: an appointed agent (委托代理人) or a guardian (监护人)."""

    kind: Literal["agent", "guardian"] = "agent"
    name: Annotated[str, Field(min_length=1, max_length=100)]
    relation: Annotated[str, Field(max_length=60)] | None = None
    authority: Annotated[str, Field(max_length=200)] | None = None
    phone: Annotated[str, Field(max_length=20)] | None = None

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        if v and not _PHONE.match(v):
            raise PydanticCustomError("invalid_phone", "not a valid phone number")
        return v or None


class PartyIn(Strict):
    """A party to the dispute (PARTY in INTERFACES.md). A person's ``id_number`` is checked
    (GB 11643) and fills in ``sex`` and ``birth_year``; an organisation gives its
    ``credit_code`` (GB 32100) and legal representative."""

    role: Literal["applicant", "respondent", "third_party"]
    kind: Literal["person", "organization"] = "person"
    name: Annotated[str, Field(min_length=1, max_length=100)]
    sex: Literal["男", "女", ""] | None = None
    birth_year: Annotated[StrictInt, Field(ge=1900, le=9999)] | None = None
    ethnicity: Annotated[str, Field(max_length=20)] | None = None
    occupation: Annotated[str, Field(max_length=60)] | None = None
    address: Annotated[str, Field(max_length=200)] | None = None
    employer: Annotated[str, Field(max_length=100)] | None = None
    legal_representative: Annotated[str, Field(max_length=60)] | None = None
    representative_title: Annotated[str, Field(max_length=60)] | None = None
    phone: Annotated[str, Field(max_length=20)] | None = None
    id_number: Annotated[str, Field(max_length=30)] | None = None
    credit_code: Annotated[str, Field(max_length=30)] | None = None
    agents: Annotated[list[AgentIn], Field(max_length=10)] = Field(default_factory=list)

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        if v and not _PHONE.match(v):
            raise PydanticCustomError("invalid_phone", "not a valid phone number")
        return v or None

    @field_validator("id_number", "credit_code")
    @classmethod
    def _number(cls, v: str | None) -> str | None:
        return v.strip().upper() or None if v else None


class CaseCreate(Strict):
    """A new case."""

    workflow: Annotated[str, Field(min_length=1, max_length=60)] = "aunt_whistle"
    grid: Annotated[str, Field(min_length=1, max_length=40)]
    category: Literal[CATEGORIES]  # type: ignore[valid-type]
    risk_level: Literal["low", "medium", "high"]
    title: Text200
    description: Text5000 = ""
    source: Literal["whistle", "application", "referral", "consultation"] = "whistle"
    parties: Annotated[list[PartyIn], Field(min_length=1, max_length=20)]


class TransitionIn(Strict):
    """Fire a trigger."""

    trigger: Annotated[str, Field(min_length=1, max_length=60)]
    expected_version: Annotated[StrictInt, Field(ge=1)]
    data: dict[str, Any] = Field(default_factory=dict)


class ActionIn(Strict):
    """Record an action."""

    action: Annotated[str, Field(min_length=1, max_length=60)]
    data: dict[str, Any] = Field(default_factory=dict)


class TermIn(Strict):
    """A numbered term of the agreement: who owes what to whom, how much, by when."""

    obligor: Annotated[str | StrictInt, Field(description="party id or party name")]
    obligee: Annotated[str | StrictInt | None, Field(
        description="party id or party name (who receives)")] = None
    content: Annotated[str, Field(min_length=1, max_length=2000)]
    amount: Annotated[str, Field(max_length=40)] | float | None = None
    due_date: date | None = None

    @field_validator("amount")
    @classmethod
    def _amount(cls, v: str | float | None) -> str | None:
        if v in (None, ""):
            return None
        text = f"{v:.2f}" if isinstance(v, float) else str(v).strip().replace(",", "")
        if not _AMOUNT.match(text):
            raise PydanticCustomError("invalid_amount", "not an amount")
        return text


class AgreementIn(Strict):
    """The agreement draft (AGREEMENT in INTERFACES.md)."""

    facts: Text5000 = ""
    dispute_matters: Text5000 = ""
    responsibilities: Text5000 = ""
    terms: Annotated[list[TermIn], Field(max_length=50)] = Field(default_factory=list)
    performance_method: Annotated[str, Field(max_length=1000)] = ""
    performance_place: Annotated[str, Field(max_length=200)] = ""
    performance_deadline: date | None = None
    # Computed (parties + 1); a value given must be that number.
    copies: StrictInt | None = None
    recorder: Annotated[str, Field(max_length=60)] = ""


class SignatureIn(Strict):
    """A signature, seal or fingerprint of a party (by id) or of the mediator, or the
    committee's seal (``"committee"``, ``"seal"``). ``signed_at``: when it was really made
    (China time when it carries no offset)."""

    signer: Annotated[str | StrictInt, Field(
        description='a party id, "mediator" or "committee"')]
    method: Literal["signature", "seal", "fingerprint"]
    signed_at: datetime


class CaseQuery(BaseModel):
    """Filters of the case list."""

    model_config = ConfigDict(extra="forbid")

    state: Annotated[str, Field(max_length=60)] | None = None
    grid: Annotated[str, Field(max_length=40)] | None = None
    category: Annotated[str, Field(max_length=20)] | None = None
    workflow: Annotated[str, Field(max_length=60)] | None = None
    q: Annotated[str, Field(max_length=100)] | None = None
    overdue: bool | None = None
    mine: bool | None = None
    # queue: open before closed, overdue first, then risk, then the nearest deadline;
    # newest: the newest reported first
    sort: Literal["queue", "newest"] = "queue"
    lang: Literal["zh-CN", "en"] | None = None  # the answer's language (else Accept-Language)
    page: Annotated[int, Field(ge=1, le=100000)] = 1
    per_page: Annotated[int, Field(ge=1, le=100)] = 20


class StatsQuery(BaseModel):
    """Period and org unit of the statistics."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: date | None = Field(default=None, alias="from")
    to: date | None = None
    org: Annotated[str, Field(max_length=40)] | None = None
    lang: Literal["zh-CN", "en"] | None = None


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] | None = None




# -- answers (documented in /api/openapi.json and checked by spectree on the way out) ----------

class Out(BaseModel):
    """An answer object; fields beyond those listed may be added (never renamed)."""

    model_config = ConfigDict(extra="allow")


class MeOut(Out):
    """The signed-in user."""

    username: str
    role: str
    org: str


class PartyOut(Out):
    """PARTY: phone and ID number masked."""

    id: int
    role: str
    kind: str
    name: str
    phone: str | None = None
    id_number: str | None = None


class TriggerOut(Out):
    """A trigger the requesting user may fire now."""

    trigger: str
    label: str
    requires: list[str]


class CaseOut(Out):
    """CASE: ``report_no`` from the whistle on, ``case_no`` once accepted for mediation."""

    id: int
    report_no: str
    case_no: str | None
    workflow: str
    state: str
    state_label: str
    version: int
    grid: str
    category: str
    risk_level: str
    title: str
    description: str
    parties: list[PartyOut]
    assignee: str | None
    due_at: str | None
    available_triggers: list[TriggerOut]
    created_at: str
    updated_at: str


class CasePage(Out):
    """A page of the case list."""

    items: list[CaseOut]
    total: int
    page: int
    per_page: int


class EventOut(Out):
    """EVENT: one link of the hash chain, exactly as hashed."""

    seq: int
    at: str
    actor: str
    kind: str
    name: str
    from_state: str | None
    to_state: str | None
    data: dict[str, Any]
    prev_hash: str
    hash: str


class EventList(RootModel[list[EventOut]]):
    """A case's trail, in order."""


class TermOut(Out):
    """A numbered term."""

    obligor: int | None
    obligee: int | None
    content: str
    amount: str | None
    due_date: str | None


class AgreementOut(Out):
    """AGREEMENT, with its status, signatures and what it still lacks (``missing``: field
    paths; ``unsigned``: who has not signed or sealed)."""

    status: str
    facts: str
    dispute_matters: str
    responsibilities: str
    terms: list[TermOut]
    performance_method: str
    performance_deadline: str | None
    copies: int
    signatures: list[dict[str, Any]]
    missing: list[str]
    effective_at: str | None


class AgreementRoundOut(Out):
    """One agreement of the case (a round, or a version of one) as listed."""

    round: int
    status: str
    effective_at: str | None
    voided_at: str | None
    void_reason: str | None
    agreement: AgreementOut


class AgreementList(RootModel[list[AgreementRoundOut]]):
    """Every agreement of the case, oldest first."""


class SignatureOut(Out):
    """A recorded signature."""

    signer: int | str
    method: str
    signed_at: str
    in_force: bool


class VerifyOut(Out):
    """The chain check of a case."""

    valid: bool
    events: int


class StatsOut(Out):
    """Figures of an org unit over a period."""

    total: int
    accepted: int
    by_state: dict[str, int]
    by_category: dict[str, int]
    success_rate: float | None
    in_community_rate: float | None
    overdue: int


class DocumentCheckOut(Out):
    """What a printed verification code says, without personal data."""

    valid: bool
    case_no: str | None
    document: str | None
    issued_at: str | None
