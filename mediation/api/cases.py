"""Cases: create, list, read, fire triggers, record actions, the agreement, the trail.

Each handler is thin: load, authorise, validate, call one operation, answer. The request's
session is committed once after the handler returns (see ``create_app``).
"""

from __future__ import annotations

from typing import Any

from flask import request
from spectree import Response
from sqlalchemy import select

from mediation.api import api, current_user
from mediation.api.schemas import (
    ActionIn,
    AgreementIn,
    AgreementList,
    AgreementOut,
    CaseCreate,
    CaseOut,
    CasePage,
    CaseQuery,
    EventList,
    EventOut,
    Problem,
    SignatureIn,
    SignatureOut,
    TransitionIn,
    VerifyOut,
)
from mediation.api.serializers import (
    agreement_json,
    agreements_json,
    case_json,
    event_json,
    signature_json,
)
from mediation.cases.dates import naive_utc
from mediation.cases.evidence import verify_record
from mediation.cases.models import CATEGORIES, Case
from mediation.cases.operations import add_signature, create_case, save_agreement
from mediation.cases.permissions import can_see
from mediation.cases.queries import CaseFilter, list_cases
from mediation.errors import FieldError, NotFound, ValidationFailed
from mediation.extensions import spec
from mediation.i18n import msg
from mediation.orgs.operations import find_org
from mediation.timeutil import iso
from mediation.web import db_session, lang, runtime
from mediation.workflow.models import Event

BEARER: dict[str, list[str]] = {"bearer": []}
ERRORS = {"HTTP_401": Problem, "HTTP_404": Problem}
# What a change to a case may answer besides success.
WRITE_ERRORS = {**ERRORS, "HTTP_400": Problem, "HTTP_403": Problem, "HTTP_409": Problem,
                "HTTP_413": Problem, "HTTP_422": Problem}


def answers(**ok: Any) -> Response:
    """The documented answers of a change: ``ok`` (e.g. ``HTTP_200=CaseOut``) and the errors."""
    return Response(**ok, **WRITE_ERRORS)


def _ctx() -> Any:
    return request.context  # type: ignore[attr-defined]


def check_filters(session: Any, store: Any, q: Any) -> None:
    """Filters that name nothing are an error (a typo must not look like an empty list)."""
    errors = []
    if q.state and not any(q.state in d.states for d in store.all_current()):
        errors.append(FieldError("state", msg("取值无效，可选：%(choices)s", choices="、".join(
            dict.fromkeys(s for d in store.all_current() for s in d.states)))))
    if q.workflow and q.workflow not in store.names():
        errors.append(FieldError("workflow", msg("没有名为“%(name)s”的流程", name=q.workflow)))
    if q.category and q.category not in CATEGORIES:
        errors.append(FieldError("category", msg("取值无效，可选：%(choices)s",
                                                 choices="、".join(CATEGORIES))))
    if q.grid and find_org(session, q.grid) is None:
        errors.append(FieldError("grid", msg("单位“%(code)s”不存在", code=q.grid)))
    if errors:
        raise ValidationFailed(errors=errors)


def visible_case(case_id: int) -> Case:
    """The case, if the current user may see it; 404 otherwise (existence does not leak)."""
    case = db_session().get(Case, case_id)
    if case is None or not can_see(current_user(), case):
        raise NotFound(msg("案件不存在或无权查看"))
    return case


def _case(case: Case, warnings: Any = None) -> dict[str, Any]:
    return case_json(db_session(), runtime().engine, case, current_user(), lang(), warnings)


@api.post("/cases")
@spec.validate(json=CaseCreate, resp=answers(HTTP_201=CaseOut, HTTP_200=CaseOut),
               tags=["cases"], security=BEARER)
def create() -> Any:
    """Open a case. With ``Idempotency-Key``, a retry returns the first case."""
    body = _ctx().json.model_dump(mode="json")
    key = (request.headers.get("Idempotency-Key") or "").strip()[:200] or None
    case, created = create_case(db_session(), runtime().engine, body, actor=current_user(),
                                idempotency_key=key)
    status = 201 if created else 200
    return _case(case), status, {"Location": f"/api/v1/cases/{case.id}"}


@api.get("/cases")
@spec.validate(query=CaseQuery, resp=Response(HTTP_200=CasePage, HTTP_422=Problem, **ERRORS),
               tags=["cases"], security=BEARER)
def index() -> Any:
    """The cases the user sees, filtered and paginated, as a work queue."""
    q = _ctx().query
    check_filters(db_session(), runtime().store, q)
    f = CaseFilter(state=q.state, grid=q.grid, category=q.category, workflow=q.workflow,
                   q=q.q, overdue=q.overdue, mine=q.mine, sort=q.sort)
    session, engine, user = db_session(), runtime().engine, current_user()
    rows, total = list_cases(session, user, f, q.page, q.per_page)
    return {"items": [case_json(session, engine, c, user, lang()) for c in rows],
            "total": total, "page": q.page, "per_page": q.per_page}


@api.get("/cases/<int:case_id>")
@spec.validate(resp=Response(HTTP_200=CaseOut, **ERRORS), tags=["cases"], security=BEARER)
def show(case_id: int) -> Any:
    """One case."""
    return _case(visible_case(case_id))


@api.post("/cases/<int:case_id>/transitions")
@spec.validate(json=TransitionIn, resp=answers(HTTP_200=CaseOut),
               tags=["cases"], security=BEARER)
def transition(case_id: int) -> Any:
    """Fire a trigger: 409 on a stale version or wrong state, 403 if the role may not, 422
    with the fields named if data or a guard is missing."""
    body = _ctx().json
    outcome = runtime().engine.fire(db_session(), case_id, body.trigger, actor=current_user(),
                                    data=body.data, expected_version=body.expected_version)
    return _case(outcome.case, outcome.warnings)


@api.post("/cases/<int:case_id>/actions")
@spec.validate(json=ActionIn, resp=answers(HTTP_201=EventOut),
               tags=["cases"], security=BEARER)
def action(case_id: int) -> Any:
    """Record an action (a fact that does not move the case)."""
    body = _ctx().json
    outcome = runtime().engine.act(db_session(), case_id, body.action, actor=current_user(),
                                   data=body.data)
    out = event_json(outcome.event)
    out["case_version"] = outcome.case.version  # for the next expected_version
    if outcome.warnings:
        out["warnings"] = [w.render(lang()) for w in outcome.warnings]
    return out, 201


@api.get("/cases/<int:case_id>/agreement")
@spec.validate(resp=Response(HTTP_200=AgreementOut, **ERRORS), tags=["agreement"],
               security=BEARER)
def get_agreement(case_id: int) -> Any:
    """The agreement of the current round (a draft or in force); after a breach, until the
    next draft, the voided one (its ``status`` says so)."""
    case = visible_case(case_id)
    agreement = case.agreement or next(
        (a for a in reversed(case.agreements) if a.status != "superseded"), None)
    if agreement is None:
        raise NotFound(msg("尚未制作调解协议"))
    return agreement_json(agreement, lang())


@api.get("/cases/<int:case_id>/agreements")
@spec.validate(resp=Response(HTTP_200=AgreementList, **ERRORS), tags=["agreement"],
               security=BEARER)
def list_agreements(case_id: int) -> Any:
    """Every agreement of the case, oldest first: rounds (a breach voids one, the next round
    makes another) and the versions a change after signing superseded; nothing is dropped."""
    return agreements_json(visible_case(case_id), lang())


@api.put("/cases/<int:case_id>/agreement")
@spec.validate(json=AgreementIn, resp=answers(HTTP_200=AgreementOut),
               tags=["agreement"], security=BEARER)
def put_agreement(case_id: int) -> Any:
    """Save the agreement draft: rewritten while nobody signed, a new version once someone
    did (the old one is kept). Incomplete content is saved; ``missing`` says what it lacks."""
    data = _ctx().json.model_dump()
    agreement = save_agreement(db_session(), runtime().engine, case_id, data,
                               actor=current_user())
    return agreement_json(agreement, lang())


@api.post("/cases/<int:case_id>/agreement/signatures")
@spec.validate(json=SignatureIn, resp=answers(HTTP_201=SignatureOut),
               tags=["agreement"], security=BEARER)
def sign(case_id: int) -> Any:
    """Record a party's or the mediator's signature; the last one puts it in force."""
    body = _ctx().json
    try:
        signed_at = naive_utc(body.signed_at)
    except OverflowError:
        raise ValidationFailed(errors=[FieldError("signed_at", msg(
            "时间格式不正确（应为 ISO 8601）"))]) from None
    sig = add_signature(db_session(), runtime().engine, case_id, signer=str(body.signer),
                        method=body.method, signed_at=signed_at, actor=current_user())
    case = db_session().get(Case, case_id)
    assert case is not None and case.agreement is not None
    out = signature_json(sig, case.agreement)
    out["in_force"] = case.agreement.status == "in_force"
    out["effective_at"] = iso(case.agreement.effective_at)
    return out, 201


@api.get("/cases/<int:case_id>/events")
@spec.validate(resp=Response(HTTP_200=EventList, **ERRORS), tags=["audit"], security=BEARER)
def events(case_id: int) -> Any:
    """The case's trail, in order."""
    case = visible_case(case_id)
    evs = db_session().scalars(select(Event).where(Event.case_id == case.id).order_by(Event.seq))
    return [event_json(e) for e in evs]


@api.get("/cases/<int:case_id>/events/verify")
@spec.validate(resp=Response(HTTP_200=VerifyOut, **ERRORS), tags=["audit"], security=BEARER)
def verify(case_id: int) -> Any:
    """Verify the case's record: its hash chain, the case row and its evidence (parties,
    agreements, terms, signatures) against the replay of the chain, and the chain against the
    signed checkpoints; ``problems`` says what broke."""
    case = visible_case(case_id)
    heads = runtime().checkpoints().read().heads.get(case.id)
    return verify_record(db_session(), case.id, heads).as_api()
