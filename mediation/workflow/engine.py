"""The engine: fires triggers, records actions and sweeps deadlines, for any definition.

Every change is one database transaction (DESIGN.md §3): lock the case (row lock on
PostgreSQL; SQLite transactions begin IMMEDIATE), compare ``expected_version``, check scope,
role, required data and guards (each failure with a reason a person understands), change the
state, append the event, replace the deadlines, queue the side effects in the outbox. The
engine flushes but never commits: the caller's unit of work (request, command, job) does.

Nothing here knows a state or trigger by name: everything comes from the definition. Nothing
here knows what a case is beyond what a definition declares either: the application's cases
come through a :class:`~mediation.workflow.port.CaseLayer` (who may see and do what, conflict
checks, numbers, the case and party rows).

The statements of a change are few and fixed (issue 9): on SQLite ``BEGIN IMMEDIATE``, the
case read with its grid and handler, one version-checked ``UPDATE`` of the case row that also
keeps the head of its hash chain (so the chain's last link is never read back), one ``INSERT``
of the event, the deadlines cancelled and set, the outbox rows; they run prepared on the
session's DBAPI connection (:mod:`mediation.workflow.fastpath`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from mediation.auth.models import User
from mediation.db import Database
from mediation.errors import (
    Conflict,
    FieldError,
    Forbidden,
    MediationError,
    NotFound,
    ValidationFailed,
)
from mediation.i18n import N_, Label, Lazy, Msg, msg
from mediation.jobs import outbox
from mediation.security import FieldCipher
from mediation.timeutil import utcnow
from mediation.workflow import registry
from mediation.workflow.audit import GENESIS, HEAD_COLUMN, image, link, object_image
from mediation.workflow.definition import (
    Definition,
    Effect,
    FieldDef,
    GuardRef,
    TransitionDef,
)
from mediation.workflow.fastpath import Runner, Statements, materialize, runner
from mediation.workflow.models import Deadline, Event, EventKind, EventName
from mediation.workflow.port import CaseLayer
from mediation.workflow.store import DefinitionStore, WrongState

log = logging.getLogger(__name__)

SYSTEM = "system"

_DEADLINES = cast(Table, Deadline.__table__)
_EVENTS = cast(Table, Event.__table__)
_USERS = cast(Table, User.__table__)
_USER_KEYS = tuple(c.key for c in _USERS.c)
_EVENT_KEYS = tuple(c.key for c in _EVENTS.c)
_DEADLINE_KEYS = ("case_id", "state", "kind", "trigger", "due_at", "reason", "reason_en",
                  "created_at")


def _statement(cases: Table, key: Any) -> tuple[Any, Sequence[str] | None, Sequence[Any]]:
    """The Core statement of the hot path called ``key`` (prepared once per database)."""
    if isinstance(key, tuple) and key[0] == "update_case":
        # The case row: whichever columns the change sets, checked against the version read
        # under the lock.
        return (update(cases).where(cases.c.id == bindparam("b_id"),
                                    cases.c.version == bindparam("b_version")), key[1], ())
    if key == "insert_event":
        return insert(_EVENTS), _EVENT_KEYS, ()
    if key == "cancel_deadlines":
        return (update(_DEADLINES)
                .where(_DEADLINES.c.case_id == bindparam("b_case_id"),
                       _DEADLINES.c.fired_at.is_(None), _DEADLINES.c.cancelled_at.is_(None))
                .values(cancelled_at=bindparam("now")), None, ())
    if key == "insert_deadline":
        return insert(_DEADLINES), _DEADLINE_KEYS, ()
    if key == "claim_deadline":
        return (update(_DEADLINES)
                .where(_DEADLINES.c.id == bindparam("b_id"), _DEADLINES.c.fired_at.is_(None),
                       _DEADLINES.c.cancelled_at.is_(None))
                .values(fired_at=bindparam("now")), None, ())
    if key == "pending_due":
        return (select(_DEADLINES.c.due_at)
                .where(_DEADLINES.c.case_id == bindparam("b_case_id"),
                       _DEADLINES.c.fired_at.is_(None), _DEADLINES.c.cancelled_at.is_(None)),
                None, (_DEADLINES.c.due_at,))
    if key == "user_named":
        return (select(*_USERS.c).where(_USERS.c.username == bindparam("b_username")), None,
                tuple(_USERS.c))
    if key == "handler_in":
        # Who had the case when it was last in a state (the handler after the last event
        # there); no row when nobody had.
        last = (select(_EVENTS.c.handler)
                .where(_EVENTS.c.case_id == bindparam("b_case_id"),
                       _EVENTS.c.to_state == bindparam("b_state"))
                .order_by(_EVENTS.c.seq.desc()).limit(1).scalar_subquery())
        return select(*_USERS.c).where(_USERS.c.username == last), None, tuple(_USERS.c)
    if key == "last_link":
        return (select(_EVENTS.c.hash).where(_EVENTS.c.case_id == bindparam("b_case_id"))
                .order_by(_EVENTS.c.seq.desc()).limit(1), None, (_EVENTS.c.hash,))
    raise KeyError(key)


@dataclass
class Outcome:
    """What a change did: the case after it, the event it appended, warnings to show."""

    case: Any
    event: Event
    warnings: list[Msg] = field(default_factory=list)


@dataclass(frozen=True)
class Option:
    """Something a user might do on a case now, whether they may, and if not, why.

    ``kind`` is ``trigger``, ``action`` or ``agreement`` (drafting and signing the written
    agreement). ``relevant`` is False when the user's role has no part in it at all (a page
    shows those nowhere); ``reason`` says why an option that is relevant is not allowed now
    (someone else handles the case, a guard such as a missing follow-up visit).
    """

    kind: str
    name: str
    label: Label | Lazy
    allowed: bool
    relevant: bool
    reason: Msg | None = None
    requires: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    confirm: bool = False


@dataclass
class SweepReport:
    """What one sweep did."""

    due: int = 0
    fired: int = 0
    skipped: int = 0
    errors: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def stale(current: object, expected: object) -> Msg:
    """The refusal of a change made on an out-of-date version of the case."""
    return msg("案件已被他人更新（当前版本 %(current)s，提交版本 %(expected)s），请刷新后重试",
               current=current, expected=expected)


def _actor_name(actor: User | None) -> str:
    return actor.username if actor is not None else SYSTEM


def _handler_name(case: Any) -> str | None:
    return case.assignee.username if case.assignee is not None else None


class Engine:
    """Runs cases along their pinned definitions."""

    def __init__(self, store: DefinitionStore, cipher: FieldCipher, cases: CaseLayer):
        self.store = store
        self.cipher = cipher
        self.cases = cases
        table = cast(Table, cases.model.__table__)
        self._sql = Statements(lambda key: _statement(table, key))
        registry.ensure_loaded()

    # -- loading -----------------------------------------------------------------------------

    def definition(self, session: Session, case: Any) -> Definition:
        """The definition version ``case`` is pinned to."""
        return self.store.get(session, case.workflow, case.definition_version)

    def lock_case(self, session: Session, case_id: int) -> Any:
        """Load a case for change, holding its row lock until the transaction ends."""
        case = self.cases.lock(session, case_id)
        if case is None:
            raise NotFound(msg("案件不存在或无权查看"))
        return case

    def _load_visible(self, session: Session, case_id: int, actor: User | None) -> Any:
        case = self.lock_case(session, case_id)
        if actor is not None and not self.cases.can_see(actor, case):
            raise NotFound(msg("案件不存在或无权查看"))
        return case

    # -- what a user may do ---------------------------------------------------------------------

    def available_triggers(self, session: Session, case: Any, user: User) -> list[TransitionDef]:
        """The triggers ``user`` may fire on ``case`` now (guards and data not yet checked);
        none on a case the user cannot see."""
        if not self.cases.can_see(user, case):
            return []
        definition = self.definition(session, case)
        machine = self.store.machine(definition)
        out = []
        for trigger in machine.triggers(case.state):
            tdef = definition.transitions[trigger]
            if self.cases.refusal(definition, tdef.roles_for(case.state), case, user,
                                  tdef.label) is None:
                out.append(tdef)
        return out

    def available_actions(self, session: Session, case: Any, user: User) -> list[str]:
        """The actions ``user`` may record on ``case`` now."""
        definition = self.definition(session, case)
        out = []
        for adef in definition.actions.values():
            if adef.states is not None and case.state not in adef.states:
                continue
            if self._may_act(definition, adef, case, user):
                out.append(adef.name)
        return out

    def _may_act(self, definition: Definition, adef: Any, case: Any, user: User) -> bool:
        """Whether ``user`` may record action ``adef`` on ``case`` (state not checked)."""
        if adef.open:
            return self.cases.can_see(user, case)
        if user.role in adef.unit_roles and self.cases.in_scope(user, case):
            return True
        return self.cases.refusal(definition, adef.roles, case, user, adef.label) is None

    def options(self, session: Session, case: Any, user: User,
                now: datetime | None = None) -> list[Option]:
        """What ``user`` may do on ``case`` now, and if not, why: the triggers that can fire
        from its state (role, handler and scope checked, then the guards), the actions of its
        state, and the written agreement. The pages' buttons are the allowed ones; nothing on
        a case the user cannot see."""
        if not self.cases.can_see(user, case):
            return []
        now = now or utcnow()
        definition = self.definition(session, case)
        supervisor = self.cases.is_supervisor(definition, user, case)
        out: list[Option] = []
        for trigger in self.store.machine(definition).triggers(case.state):
            tdef = definition.transitions[trigger]
            roles = tdef.roles_for(case.state)
            reason = self.cases.refusal(definition, roles, case, user, tdef.label)
            if reason is None and tdef.guards:
                reason = next((e.message for e in self._guards(
                    session, definition, case, {}, user, now, tdef.guards, "trigger")), None)
            out.append(Option("trigger", trigger, tdef.label, reason is None,
                              user.role in roles or supervisor, reason, tdef.requires,
                              confirm=tdef.confirm))
        for adef in definition.actions.values():
            if adef.states is not None and case.state not in adef.states:
                continue
            reason = None if self._may_act(definition, adef, case, user) else \
                self.cases.refusal(definition, adef.roles, case, user, adef.label)
            out.append(Option("action", adef.name, adef.label, reason is None,
                              adef.open or user.role in adef.roles or supervisor
                              or user.role in adef.unit_roles, reason,
                              adef.requires, adef.optional))
        rule = definition.agreement
        if rule is not None and case.state in rule.states:
            label = N_("调解协议")
            reason = self.cases.refusal(definition, rule.roles, case, user, label)
            out.append(Option("agreement", "agreement", label, reason is None,
                              user.role in rule.roles or supervisor, reason))
        return out

    # -- input ----------------------------------------------------------------------------------

    def validate_fields(self, session: Session, definition: Definition, case: Any | None,
                        actor: User | None, data: dict[str, Any] | None,
                        requires: tuple[str, ...], optional: tuple[str, ...] = (),
                        *, allow_extra: bool = False) -> tuple[dict[str, Any], list[FieldError]]:
        """Check ``data`` against the definition's fields; return the clean data and errors
        (field paths relative to ``data``)."""
        ctx = registry.FieldContext(session=session, case=case, actor=actor)
        return self._validate(ctx, definition, data, requires, optional, allow_extra)

    @staticmethod
    def _validate(ctx: registry.FieldContext, definition: Definition,
                  data: dict[str, Any] | None, requires: tuple[str, ...],
                  optional: tuple[str, ...] = (), allow_extra: bool = False,
                  ) -> tuple[dict[str, Any], list[FieldError]]:
        data = dict(data or {})
        clean: dict[str, Any] = {}
        errors: list[FieldError] = []
        actor = ctx.actor
        for name in (*requires, *optional):
            fd: FieldDef = definition.fields[name]
            value = data.pop(name, None)
            if value is None and fd.default == "actor" and actor is not None:
                value = actor.username
            if value is None or value == "" or value == []:
                if name in requires:
                    errors.append(FieldError(name, msg("此项为必填项")))
                continue
            try:
                clean[name] = registry.FIELD_TYPES[fd.type](value, fd, ctx)
            except ValueError as exc:
                reason = exc.args[0] if exc.args and isinstance(exc.args[0], Msg) else msg(
                    "格式不正确，应为%(expected)s", expected=N_("正确的格式"))
                errors.append(FieldError(name, reason))
        if allow_extra:
            clean.update(data)
        else:
            errors += [FieldError(k, msg("不允许的字段")) for k in data]
        return clean, errors

    # -- creating a case ------------------------------------------------------------------------

    def start_case(self, session: Session, *, workflow: str, grid_code: str, category: str,
                   risk_level: str, title: str, description: str = "",
                   parties: list[dict[str, Any]] | None = None, source: str = "whistle",
                   actor: User | None, now: datetime | None = None,
                   origin: Any | None = None) -> Outcome:
        """Open a case in its workflow's initial state, numbered for the grid's committee.

        The definition's ``create`` rules run at once (a high-risk report is escalated by the
        system in the same transaction).
        """
        now = now or utcnow()
        try:
            definition = self.store.current(workflow)
        except KeyError:
            raise ValidationFailed(errors=[FieldError("workflow", msg(
                "没有名为“%(name)s”的流程", name=workflow))]) from None
        self.store.pin(session, definition)
        opened = self.cases.open(
            session, definition, grid_code=grid_code, category=category,
            risk_level=risk_level, title=title, description=description,
            parties=list(parties or []), source=source, actor=actor, now=now, origin=origin)
        case = opened.case
        deadlines, due_at = self._plan_deadlines(session, definition, case, case.state, now)
        values = {"due_at": due_at, "overdue_at": None}
        for key, value in values.items():
            set_committed_value(case, key, value)
        # The creation's changes: the whole case row, every party and who acts for them.
        event = self._append(
            session, case, values, count=False,
            changes={"case": object_image(case)[1], "rows": opened.rows},
            kind=EventKind.CREATED, name=definition.name, from_state=None, to_state=case.state,
            data=opened.data, actor=actor, now=now)
        self._replace_deadlines(session, case, deadlines, now)
        outcome = Outcome(case, event)
        for rule in definition.rules:
            if rule.on == "create" and all(getattr(case, k, None) == v
                                           for k, v in rule.when.items()):
                outcome = self._transition(session, definition, case, rule.fire, None,
                                           dict(rule.data), now, extra_effects=rule.effects)
        return outcome

    # -- transitions ----------------------------------------------------------------------------

    def fire(self, session: Session, case_id: int, trigger: str, *, actor: User | None,
             data: dict[str, Any] | None = None, expected_version: int | None = None,
             now: datetime | None = None) -> Outcome:
        """Fire ``trigger`` on a case as ``actor`` (None: the system).

        Raises 404 (not visible), 422 (unknown trigger, missing data, failed guards), 409
        (stale ``expected_version``, or the trigger cannot fire from the current state) and
        403 (the actor may not).
        """
        now = now or utcnow()
        case = self._load_visible(session, case_id, actor)
        definition = self.definition(session, case)
        if trigger not in definition.transitions:
            raise ValidationFailed(errors=[FieldError("trigger", msg(
                "流程“%(workflow)s”中没有操作“%(trigger)s”", workflow=definition.name, trigger=trigger))])
        if expected_version is not None and expected_version != case.version:
            raise Conflict(stale(case.version, expected_version),
                           current_version=case.version)
        return self._transition(session, definition, case, trigger, actor, data, now)

    def _transition(self, session: Session, definition: Definition, case: Any, trigger: str,
                    actor: User | None, data: dict[str, Any] | None, now: datetime,
                    extra_effects: tuple[Effect, ...] = (),
                    deadline: Deadline | None = None) -> Outcome:
        tdef = definition.transitions[trigger]
        machine = self.store.machine(definition)
        label = tdef.label
        try:
            dest = machine.next_state(case.state, trigger)
        except WrongState:
            raise Conflict(msg("案件当前状态为“%(state)s”，不能执行“%(trigger)s”",
                               state=definition.state(case.state).label,
                               trigger=label), current_state=case.state) from None
        if actor is not None:
            refusal = self.cases.refusal(definition, tdef.roles_for(case.state), case, actor,
                                         label)
            if refusal is not None:
                raise Forbidden(refusal)
        ctx = registry.FieldContext(session=session, case=case, actor=actor)
        clean, errors = self._validate(ctx, definition, data, tdef.requires,
                                       allow_extra=actor is None)
        errors += self._check_order(session, definition, case, clean, tdef.not_before)
        errors = [e.prefixed("data") for e in errors]
        errors += self._guards(session, definition, case, clean, actor, now, tdef.guards,
                               "trigger")
        if errors:
            raise ValidationFailed(errors=errors)

        from_state = case.state
        warnings: list[Msg] = [e.message for e in self._guards(
            session, definition, case, clean, actor, now, tdef.warns, "trigger")]
        values: dict[str, Any] = {"state": dest, "state_entered_at": now, "updated_at": now}
        reassigned, handler = self._new_handler(ctx, tdef.assign, clean, actor, case, dest)
        if reassigned:
            if tdef.conflict_check and handler is not None:
                self._refuse_party(case, handler, tdef.assign)
                warnings += self.cases.conflicts(session, case, handler)
            values.update(self.cases.assignment(case, handler))
        if definition.is_terminal(dest):
            values["closed_at"] = now
        accepted: dict[str, Any] = {}
        if dest in definition.accepted_in:
            accepted = self.cases.accept(session, definition, case, now)
            values.update(accepted)
        deadlines, due_at = self._plan_deadlines(session, definition, case, dest, now)
        values.update(due_at=due_at, overdue_at=None)
        event_data = dict(clean)
        if reassigned:
            event_data["assignee"] = handler.username if handler is not None else None
        if "case_no" in accepted:
            event_data["case_no"] = accepted["case_no"]
        if warnings:
            event_data["warnings"] = [w.both() for w in warnings]
        if deadline is not None:
            event_data["deadline"] = {"id": deadline.id, "due_at": deadline.due_at.isoformat()}
        # One UPDATE of the case row (version-checked, with the new chain head), one INSERT of
        # the event, the deadlines replaced, the outbox filled.
        event = self._append(session, case, values, kind=EventKind.TRANSITION, name=trigger,
                             from_state=from_state, to_state=dest, data=event_data,
                             actor=actor, now=now)
        self._replace_deadlines(session, case, deadlines, now)
        self._run_effects(session, case, event, (*tdef.effects, *extra_effects), actor, now)
        return Outcome(case, event, warnings)

    def _guards(self, session: Session, definition: Definition, case: Any,
                clean: dict[str, Any], actor: User | None, now: datetime,
                refs: tuple[GuardRef, ...], field: str) -> list[FieldError]:
        """The reasons the named guards give (refusals, or warnings for ``warns``)."""
        out = []
        for ref in refs:
            gctx = registry.GuardContext(session=session, case=case, definition=definition,
                                         data=clean, actor=actor, now=now, params=ref.params)
            reason = registry.GUARDS[ref.name](gctx)
            if reason is not None:
                out.append(FieldError(field, reason))
        return out

    def _check_order(self, session: Session, definition: Definition, case: Any,
                     clean: dict[str, Any], not_before: dict[str, str]) -> list[FieldError]:
        """Date fields that are earlier than the field or fact the definition says they may
        not precede (a ruling before its application, a visit before the agreement)."""
        errors = []
        for name, other in not_before.items():
            value = clean.get(name)
            if not value:
                continue
            if other in clean or other in definition.fields:
                bound_text = clean.get(other)
                bound = date.fromisoformat(bound_text) if bound_text else None
                label = definition.fields[other].label
            else:
                bound = registry.FACTS[other](session, case, definition)
                label = registry.FACT_LABELS.get(other, other)
            if bound is not None and date.fromisoformat(value) < bound:
                errors.append(FieldError(name, msg("不能早于%(what)s（%(day)s）", what=label,
                                                   day=bound.isoformat())))
        return errors

    def _refuse_party(self, case: Any, handler: User, assign: str | None) -> None:
        """A handler the case may never have (a party of it) may not take it."""
        reason = self.cases.handler_refusal(case, handler)
        if reason is None:
            return
        if assign in (None, "actor", "clear", "previous"):
            raise Forbidden(reason)
        raise ValidationFailed(errors=[FieldError(f"data.{assign}", reason)])

    def _new_handler(self, ctx: registry.FieldContext, assign: str | None,
                     clean: dict[str, Any], actor: User | None, case: Any = None,
                     dest: str | None = None) -> tuple[bool, User | None]:
        """Whether a change sets the handler, and to whom (None: cleared)."""
        if assign is None:
            return False, None
        if assign == "clear":
            return True, None
        if assign == "actor":
            return actor is not None, actor
        run = runner(ctx.session)
        if assign == "previous":
            # Whoever had the case when it was last in the destination state (if still
            # active); nobody, when nobody had.
            assert case is not None and dest is not None
            row = run.execute(self._sql.get(run.dialect, "handler_in"),
                              {"b_case_id": case.id, "b_state": dest})
            previous = self._user(ctx.session, row)
            return True, previous if previous is not None and previous.active else None
        username = clean.get(assign)
        if not username:
            return False, None
        found = ctx.users.get(username)  # the user field's check loaded them already
        if found is None:
            found = self._user(ctx.session, run.execute(
                self._sql.get(run.dialect, "user_named"), {"b_username": username}))
        return True, found

    @staticmethod
    def _user(session: Session, row: Sequence[Any] | None) -> User | None:
        if row is None:
            return None
        return cast(User, materialize(session, User, dict(zip(_USER_KEYS, row, strict=True))))

    # -- writing --------------------------------------------------------------------------------

    def _append(self, session: Session, case: Any, values: dict[str, Any], *, kind: str,
                name: str, from_state: str | None, to_state: str | None,
                data: dict[str, Any], actor: User | None, now: datetime, count: bool = True,
                changes: dict[str, Any] | None = None,
                rows: dict[str, dict[str, Any] | None] | None = None) -> Event:
        """Write ``values`` to the case row and append the event that records them, chained
        from the head the case row keeps: one UPDATE (version-checked; the next version when
        ``count``, and the new head) and one INSERT. ``changes`` defaults to the columns
        written; ``rows`` adds the images of evidence rows the caller wrote."""
        run = runner(session)
        if count:
            values = {**values, "version": case.version + 1}
        seq = values.get("version", case.version)
        if changes is None:
            changes = {"case": image(values)}
        if rows:
            changes["rows"] = rows
        event = link(case_ref=self.cases.ref(case), case_id=case.id, seq=seq,
                     prev_hash=self._head(run, case, seq), at=now, actor=_actor_name(actor),
                     kind=kind, name=name, from_state=from_state, to_state=to_state,
                     data=data, handler=_handler_name(case), changes=changes)
        self._write_case(run, case, {**values, HEAD_COLUMN: event["hash"]})
        run.execute(self._sql.get(run.dialect, "insert_event"), event)
        return Event(**event)

    def _head(self, run: Runner, case: Any, seq: int) -> str:
        """The hash event ``seq`` chains from: the head the case row keeps (read back from the
        chain only for a row written before it kept one)."""
        if seq == 1:
            return GENESIS
        head = getattr(case, HEAD_COLUMN)
        if head is None:
            row = run.execute(self._sql.get(run.dialect, "last_link"), {"b_case_id": case.id})
            head = row[0] if row else GENESIS
        return cast(str, head)

    def _write_case(self, run: Runner, case: Any, values: dict[str, Any]) -> None:
        """UPDATE the case row with ``values``, checked against the version read under the
        lock; the loaded object is kept in step."""
        stmt = self._sql.get(run.dialect, ("update_case", tuple(sorted(values))))
        if run.rowcount(stmt, {**values, "b_id": case.id, "b_version": case.version}) != 1:
            raise Conflict(stale("?", case.version))
        for key, value in values.items():
            set_committed_value(case, key, value)

    def _plan_deadlines(self, session: Session, definition: Definition, case: Any,
                        state: str, now: datetime) -> tuple[list[dict[str, Any]], datetime | None]:
        """The deadline rows of ``state`` for ``case`` and the earliest due time."""
        rows: list[dict[str, Any]] = []
        due: list[datetime] = []
        for d in definition.state(state).deadlines:
            start = registry.ANCHORS[d.anchor](session, case, now)
            rows.append({"case_id": case.id, "state": state, "kind": d.kind, "trigger": d.fire,
                         "due_at": start + d.after, "reason": d.reason.zh,
                         "reason_en": d.reason.en, "created_at": now})
            due.append(start + d.after)
        return rows, min(due, default=None)

    def _replace_deadlines(self, session: Session, case: Any, rows: list[dict[str, Any]],
                           now: datetime) -> None:
        """Cancel the case's pending deadlines, then add ``rows`` (the cancel comes first so
        that it cannot touch them)."""
        run = runner(session)
        run.rowcount(self._sql.get(run.dialect, "cancel_deadlines"),
                     {"b_case_id": case.id, "now": now})
        run.many(self._sql.get(run.dialect, "insert_deadline"), rows)

    def _run_effects(self, session: Session, case: Any, event: Event,
                     effects: tuple[Effect, ...], actor: User | None, now: datetime) -> None:
        for eff in effects:
            spec = registry.EFFECTS[eff.name]
            if spec.inline:
                spec.handler(session, self, case, event, eff.params, actor, now)
            else:
                outbox.enqueue(session, case_id=case.id, event_seq=event.seq,
                               effect=eff.name, payload=dict(eff.params), now=now)

    # -- actions --------------------------------------------------------------------------------

    def act(self, session: Session, case_id: int, action: str, *, actor: User,
            data: dict[str, Any] | None = None, now: datetime | None = None) -> Outcome:
        """Record an action (a fact that does not move the case)."""
        now = now or utcnow()
        case = self._load_visible(session, case_id, actor)
        definition = self.definition(session, case)
        adef = definition.actions.get(action)
        if adef is None:
            raise ValidationFailed(errors=[FieldError("action", msg(
                "流程“%(workflow)s”中没有登记事项“%(action)s”", workflow=definition.name, action=action))])
        if adef.states is not None and case.state not in adef.states:
            raise Conflict(msg("案件当前状态为“%(state)s”，不能登记“%(action)s”",
                               state=definition.state(case.state).label,
                               action=adef.label))
        if not adef.open and not self._may_act(definition, adef, case, actor):
            refusal = self.cases.refusal(definition, adef.roles, case, actor, adef.label)
            if refusal is not None:
                raise Forbidden(refusal)
        ctx = registry.FieldContext(session=session, case=case, actor=actor)
        clean, errors = self._validate(ctx, definition, data, adef.requires, adef.optional)
        errors += self._check_order(session, definition, case, clean, adef.not_before)
        errors = [e.prefixed("data") for e in errors]
        errors += self._guards(session, definition, case, clean, actor, now, adef.guards,
                               "action")
        if errors:
            raise ValidationFailed(errors=errors)
        warnings: list[Msg] = [e.message for e in self._guards(
            session, definition, case, clean, actor, now, adef.warns, "action")]
        values: dict[str, Any] = {}
        reassigned, handler = self._new_handler(ctx, adef.assign, clean, actor, case,
                                                case.state)
        if reassigned:
            if adef.conflict_check and handler is not None:
                self._refuse_party(case, handler, adef.assign)
                warnings += self.cases.conflicts(session, case, handler)
            values = self.cases.assignment(case, handler)
            clean["assignee"] = handler.username if handler is not None else None
        if warnings:
            clean["warnings"] = [w.both() for w in warnings]
        return Outcome(case, self.record(session, case, EventKind.ACTION, action, actor, clean,
                                         now, values),
                       warnings)

    def record(self, session: Session, case: Any, kind: str, name: str, actor: User | None,
               data: dict[str, Any], now: datetime,
               values: dict[str, Any] | None = None,
               rows: dict[str, dict[str, Any] | None] | None = None) -> Event:
        """Append an event that does not move the case (action, agreement, signature, system
        notice), with any other column ``values`` of the case, and count the change in the
        case's version. ``rows``: the images of the evidence rows the caller wrote (None for
        one deleted), by :func:`~mediation.workflow.audit.object_image` key."""
        session.flush()  # what the caller changed through the ORM goes first
        return self._append(session, case, {**(values or {}), "updated_at": now}, kind=kind,
                            name=name, from_state=case.state, to_state=case.state, data=data,
                            actor=actor, now=now, rows=rows)

    # -- deadlines ------------------------------------------------------------------------------

    def sweep(self, db: Database, now: datetime | None = None, batch: int = 100) -> SweepReport:
        """Fire every deadline due by ``now``, each exactly once however many sweeps run.

        Deadlines are claimed in batches, one transaction a batch, each with its case locked:
        on PostgreSQL ``FOR UPDATE SKIP LOCKED``, so that sweeps in several workers share the
        due deadlines out instead of queueing on them, and a case a person is changing right
        now is left to the next round; on SQLite the transaction holds the write lock. Each
        deadline fires in a savepoint: one that fails is logged and left for the next sweep,
        the others of its batch stand. Deadlines created by what this sweep fires count from
        ``now`` and wait for a later sweep.
        """
        now = now or utcnow()
        report = SweepReport()
        with db.session() as session:
            # Deadlines made from here on (by what this sweep fires) are not this sweep's.
            last_id = session.scalar(select(func.max(Deadline.id))) or 0
        failed: set[int] = set()
        while True:
            with db.session() as session:
                claimed = session.execute(
                    self._due(session, now, last_id, failed, batch)).all()
                due = self._lock_cases(session, claimed, failed)
                # The batch's cases and deadlines, loaded at once (locked by the claim), and
                # held here: the session's identity map only keeps them while referenced.
                held = [*self.cases.load(session, {c for _, c in due}),
                        *session.scalars(select(Deadline).where(
                            Deadline.id.in_([d for d, _ in due])))] if due else []
                for deadline_id, case_id in due:
                    try:
                        with session.begin_nested():
                            kind = self._fire_deadline(session, deadline_id, case_id, now,
                                                       locked=True)
                    except Exception:  # one bad case must not stop the sweep: next time
                        log.exception("deadline %s of case %s failed", deadline_id, case_id)
                        report.errors += 1
                        failed.add(deadline_id)
                        continue
                    if kind is None:
                        report.skipped += 1
                    else:
                        report.fired += 1
                        report.by_kind[kind] = report.by_kind.get(kind, 0) + 1
            report.due += len(due)
            del held
            if len(claimed) < batch:
                return report

    @staticmethod
    def _due(session: Session, now: datetime, last_id: int, failed: set[int],
             batch: int) -> Any:
        """The next batch of due deadlines, locked (their cases are locked next: a join here
        lets the planner hash-join every pending deadline with every case)."""
        stmt = (select(Deadline.id, Deadline.case_id)
                .where(Deadline.fired_at.is_(None), Deadline.cancelled_at.is_(None),
                       Deadline.due_at <= now, Deadline.id <= last_id)
                .order_by(Deadline.due_at, Deadline.id).limit(batch))
        if failed:
            stmt = stmt.where(Deadline.id.not_in(failed))
        if session.get_bind().dialect.name != "sqlite":
            stmt = stmt.with_for_update(skip_locked=True)
        return stmt

    def _lock_cases(self, session: Session, claimed: Sequence[Any], passed: set[int]
                    ) -> list[Any]:
        """The claimed deadlines whose case this sweep could lock; the others (a person is
        changing the case right now) are left to the next sweep (added to ``passed``)."""
        if not claimed or session.get_bind().dialect.name == "sqlite":
            return list(claimed)  # SQLite: the transaction holds the write lock already
        model: Any = self.cases.model
        locked = set(session.scalars(select(model.id).where(
            model.id.in_({c for _, c in claimed})).with_for_update(skip_locked=True)))
        passed.update(d for d, c in claimed if c not in locked)
        return [(d, c) for d, c in claimed if c in locked]

    def _fire_deadline(self, session: Session, deadline_id: int, case_id: int,
                       now: datetime, *, locked: bool = False) -> str | None:
        # ``locked``: the sweep's claim holds the case's lock and loaded it into the session.
        case = session.get(self.cases.model, case_id) if locked else None
        if case is None:
            case = self.lock_case(session, case_id)
        run = runner(session)
        claimed = run.rowcount(self._sql.get(run.dialect, "claim_deadline"),
                               {"b_id": deadline_id, "now": now})
        if not claimed:
            return None
        deadline = session.get(Deadline, deadline_id)
        assert deadline is not None
        definition = self.definition(session, case)
        info = {"reason": deadline.reason, "reason_en": deadline.reason_en,
                "due_at": deadline.due_at.isoformat(), "deadline": deadline.id}
        if deadline.kind == "fire" and deadline.trigger:
            try:
                self._transition(session, definition, case, deadline.trigger, None,
                                 {"reason": deadline.reason}, now, deadline=deadline)
            except MediationError as exc:
                log.warning("deadline %s could not fire %s: %s", deadline.id,
                            deadline.trigger, exc)
                self.record(session, case, EventKind.SYSTEM, EventName.DEADLINE_NOT_FIRED,
                            None, {**info, "error": exc.detail.both()}, now)
            return deadline.kind
        pending = [r[0] for r in run.all(self._sql.get(run.dialect, "pending_due"),
                                          {"b_case_id": case.id})]
        values: dict[str, Any] = {"due_at": min(pending) if pending else None}
        if deadline.kind == "overdue":
            values["overdue_at"] = now
        event = self.record(session, case, EventKind(deadline.kind), EventName.DEADLINE, None,
                            info, now, values)
        # The deadline's own effects (a notice to the handler ...), found in the definition
        # by what the row keeps of it.
        ddef = next((d for d in definition.state(deadline.state).deadlines
                     if d.kind == deadline.kind and d.reason.zh == deadline.reason), None)
        if ddef is not None and ddef.effects:
            self._run_effects(session, case, event, ddef.effects, None, now)
        return deadline.kind
