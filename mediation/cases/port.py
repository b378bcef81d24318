"""What people's mediation cases give the workflow engine (its
:class:`~mediation.workflow.port.CaseLayer`): the case and party rows, who may see and do what,
conflicts of interest, numbers, and the chain heads checkpoints record.

The engine calls these; they never call the engine back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from mediation.auth.models import LEGAL_ROLE, User
from mediation.cases import permissions
from mediation.cases.conflicts import find_conflicts, refusal_as_party
from mediation.cases.models import CATEGORIES, RISK_LEVELS, SOURCES, Case, Party, PartyAgent
from mediation.cases.numbering import next_case_no, next_report_no
from mediation.errors import FieldError, Forbidden, ValidationFailed
from mediation.i18n import Label, Lazy, Msg, msg
from mediation.orgs.models import OrgUnit
from mediation.security import FieldCipher
from mediation.workflow.audit import object_image
from mediation.workflow.definition import Definition
from mediation.workflow.fastpath import Statements, materialize, runner

_CASES = cast(Table, Case.__table__)
_UNITS = cast(Table, OrgUnit.__table__)
_USERS = cast(Table, User.__table__)
_GRID = _UNITS.alias("grid")
_HANDLER = _USERS.alias("handler")
_CASE_COLS = tuple(_CASES.c)
_GRID_COLS = tuple(_GRID.c)
_HANDLER_COLS = tuple(_HANDLER.c)
# Attribute names, in the order of the columns above (they are the column names).
_CASE_KEYS = tuple(c.key for c in _CASE_COLS)
_UNIT_KEYS = tuple(c.key for c in _UNITS.c)
_USER_KEYS = tuple(c.key for c in _USERS.c)


def _lock_statement(key: str) -> Any:
    """A case row with its grid and handler, one statement; locked (PostgreSQL) or not
    (SQLite: the transaction holds the write lock)."""
    columns = (*_CASE_COLS, *_GRID_COLS, *_HANDLER_COLS)
    stmt = (select(*columns)
            .select_from(_CASES.join(_GRID, _GRID.c.id == _CASES.c.grid_id)
                         .outerjoin(_HANDLER, _HANDLER.c.id == _CASES.c.assignee_id))
            .where(_CASES.c.id == bindparam("b_case_id")))
    if key == "lock":
        stmt = stmt.with_for_update(of=_CASES)
    return stmt, None, columns


_STATEMENTS = Statements(_lock_statement)


@dataclass
class Opening:
    """A case just opened (see :class:`mediation.workflow.port.Opened`)."""

    case: Case
    data: dict[str, Any]
    rows: dict[str, dict[str, Any] | None]


class MediationCases:
    """People's mediation cases, as the engine sees them."""

    def __init__(self, cipher: FieldCipher):
        self.cipher = cipher

    @property
    def model(self) -> type[Case]:
        """The ORM class of a case."""
        return Case

    # -- rows -------------------------------------------------------------------------------

    def ref(self, case: Case) -> str:
        """The report number: given when the whistle is blown, never changed."""
        return case.report_no

    def lock(self, session: Session, case_id: int) -> Case | None:
        """The case with its grid and handler, in one statement on the hot path."""
        run = runner(session)
        key = "read" if run.dialect.name == "sqlite" else "lock"
        row = run.execute(_STATEMENTS.get(run.dialect, key), {"b_case_id": case_id})
        if row is None:
            return None
        n, g = len(_CASE_KEYS), len(_UNIT_KEYS)
        case = materialize(session, Case, dict(zip(_CASE_KEYS, row[:n], strict=True)))
        set_committed_value(case, "grid", materialize(
            session, OrgUnit, dict(zip(_UNIT_KEYS, row[n:n + g], strict=True))))
        handler = None
        if row[n + g] is not None:
            handler = materialize(session, User, dict(zip(_USER_KEYS, row[n + g:], strict=True)))
        set_committed_value(case, "assignee", handler)
        return case

    def load(self, session: Session, case_ids: Iterable[int]) -> list[Case]:
        """Cases the caller has locked, read afresh."""
        ids = set(case_ids)
        if not ids:
            return []
        return list(session.scalars(select(Case).where(Case.id.in_(ids))
                                    .execution_options(populate_existing=True)))

    def heads(self, session: Session) -> Iterable[tuple[int, str, int, str | None]]:
        """(id, report number, version, chain head) of every case."""
        for row in session.execute(select(Case.id, Case.report_no, Case.version,
                                          Case.chain_head).order_by(Case.id)):
            yield row[0], row[1], row[2], row[3]

    # -- who may ------------------------------------------------------------------------------

    def can_see(self, user: User, case: Case) -> bool:
        """See :func:`mediation.cases.permissions.can_see`."""
        return permissions.can_see(user, case)

    def refusal(self, definition: Definition, roles: Sequence[str], case: Case, user: User,
                what: Label | Lazy | str) -> Msg | None:
        """See :func:`mediation.cases.permissions.refusal`."""
        return permissions.refusal(definition, roles, case, user, what)

    def in_scope(self, user: User, case: Case) -> bool:
        """The case's grid lies in the user's unit."""
        return user.org_unit.contains(case.grid)

    def is_supervisor(self, definition: Definition, user: User, case: Case) -> bool:
        """See :func:`mediation.cases.permissions.is_supervisor`."""
        return permissions.is_supervisor(definition, user, case)

    # -- handlers -------------------------------------------------------------------------------

    def assignment(self, case: Case, handler: User | None) -> dict[str, Any]:
        """The handler's id; a lawyer also opens the case to their district's legal service."""
        set_committed_value(case, "assignee", handler)
        values: dict[str, Any] = {"assignee_id": handler.id if handler else None}
        if handler is not None and handler.role == LEGAL_ROLE:
            district = handler.org_unit.ancestor("district") or handler.org_unit
            values["legal_unit_id"] = district.id
        return values

    def handler_refusal(self, case: Case, handler: User) -> Msg | None:
        """A mediator who is a party of the case may not take it."""
        return refusal_as_party(case, handler)

    def conflicts(self, session: Session, case: Case, handler: User) -> list[Msg]:
        """See :func:`mediation.cases.conflicts.find_conflicts`."""
        return find_conflicts(session, case, handler)

    # -- numbers --------------------------------------------------------------------------------

    def accept(self, session: Session, definition: Definition, case: Case,
               now: datetime) -> dict[str, Any]:
        """The committee's case number, gapless, the first time the case is accepted."""
        if case.case_no is not None:
            return {}
        return {"case_no": next_case_no(session, case.committee, definition.number_series, now),
                "accepted_at": now}

    # -- opening --------------------------------------------------------------------------------

    def open(self, session: Session, definition: Definition, *, grid_code: str, category: str,
             risk_level: str, title: str, description: str, parties: list[dict[str, Any]],
             source: str, actor: User | None, now: datetime, origin: Case | None) -> Opening:
        """Check the input (422 naming each field), take the report number and insert the case
        with its parties (the whole creation rolls back with the transaction, its number
        included)."""
        errors: list[FieldError] = []
        grid = session.scalar(select(OrgUnit).where(OrgUnit.code == grid_code))
        if grid is None:
            errors.append(FieldError("grid", msg("网格“%(code)s”不存在", code=grid_code)))
        elif grid.kind != "grid":
            errors.append(FieldError("grid", msg("“%(code)s”不是网格", code=grid_code)))
        elif actor is not None and not actor.org_unit.contains(grid):
            errors.append(FieldError("grid", msg("网格“%(code)s”不在您的辖区内", code=grid_code)))
        if category not in CATEGORIES:
            errors.append(FieldError("category", msg("取值无效，可选：%(choices)s",
                                                     choices="、".join(CATEGORIES))))
        if risk_level not in RISK_LEVELS:
            errors.append(FieldError("risk_level", msg("取值无效，可选：%(choices)s",
                                                       choices=", ".join(RISK_LEVELS))))
        if source not in SOURCES:
            errors.append(FieldError("source", msg("取值无效，可选：%(choices)s",
                                                   choices=", ".join(SOURCES))))
        if not (title or "").strip():
            errors.append(FieldError("title", msg("不能为空")))
        if errors:
            raise ValidationFailed(errors=errors)
        assert grid is not None
        committee = grid.ancestor("community") or grid
        case = Case(
            report_no=next_report_no(session, committee, definition.report_series, now),
            case_no=None, workflow=definition.name, definition_version=definition.version,
            state=definition.initial, version=1, grid=grid, committee=committee,
            category=category, source=source, risk_level=risk_level, title=title.strip(),
            description=(description or "").strip(), reporter_id=actor.id if actor else None,
            origin_case_id=origin.id if origin else None,
            state_entered_at=now, created_at=now, updated_at=now,
        )
        if definition.open_to_legal:
            district = grid.ancestor("district")
            case.legal_unit_id = district.id if district else None
        for i, p in enumerate(parties):
            case.parties.append(self.new_party(i, p))
        session.add(case)
        session.flush()
        # Who reports a case must be able to see it (a lawyer sees only referred cases); a case
        # opened from another (a converted consultation) follows its origin.
        if actor is not None and origin is None and not permissions.can_see(actor, case):
            raise Forbidden(msg("您无法查看该网格的案件，不能在此登记"))
        rows: dict[str, dict[str, Any] | None] = dict(object_image(p) for p in case.parties)
        rows.update(object_image(a) for p in case.parties for a in p.agents)
        data = {"report_no": case.report_no, "grid": grid.code, "category": category,
                "risk_level": risk_level, "source": source, "title": case.title,
                "parties": [p.name for p in case.parties],
                **({"origin": origin.number} if origin else {})}
        return Opening(case, data, rows)

    def new_party(self, position: int, p: dict[str, Any]) -> Party:
        """A party row from validated input, its personal numbers encrypted."""
        party = Party(
            position=position, role=p.get("role", "applicant"), kind=p.get("kind", "person"),
            name=p["name"], sex=p.get("sex") or "", birth_year=p.get("birth_year"),
            ethnicity=p.get("ethnicity") or "", occupation=p.get("occupation") or "",
            address=p.get("address") or "", employer=p.get("employer") or "",
            legal_representative=p.get("legal_representative") or "",
            representative_title=p.get("representative_title") or "",
            credit_code=p.get("credit_code") or "",
            phone_enc=self.cipher.encrypt(p.get("phone")),
            id_number_enc=self.cipher.encrypt(p.get("id_number")),
        )
        for i, a in enumerate(p.get("agents") or []):
            party.agents.append(PartyAgent(
                position=i, kind=a.get("kind", "agent"), name=a["name"],
                relation=a.get("relation") or "", authority=a.get("authority") or "",
                phone_enc=self.cipher.encrypt(a.get("phone"))))
        return party
