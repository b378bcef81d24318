"""The names a definition may use: guards, effects, deadline anchors, facts and field types.

Each is registered here by name from Python; a definition naming one that is not registered is
refused by ``mediation workflows check`` and at load, never imported by dotted path.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from mediation.i18n import Msg

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mediation.auth.models import User
    from mediation.workflow.definition import Definition, FieldDef
    from mediation.workflow.models import OutboxRow

# A case as guards, facts, anchors and fields see it: the application's case row (see
# mediation.workflow.port.CaseRow); the engine itself knows only what a definition declares.
Case = Any


@dataclass
class GuardContext:
    """What a guard may look at: the case before the change, the data sent, who acts, when."""

    session: Session
    case: Case
    definition: Definition
    data: dict[str, Any]
    actor: User | None
    now: datetime
    # The parameters the definition gives this guard (``{ name = "...", days = 30 }``).
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class FieldContext:
    """What a field validator may look at."""

    session: Session
    case: Case | None
    actor: User | None
    # Users a ``user`` field looked up, by username (the engine takes a handler from here
    # instead of reading them again).
    users: dict[str, Any] = field(default_factory=dict)


GuardFn = Callable[[GuardContext], Msg | None]
AnchorFn = Callable[["Session", "Case", datetime], datetime]
# A date the case's record establishes (when its agreement took effect ...), or None.
FactFn = Callable[["Session", "Case", "Definition"], date | None]
# Returns the cleaned value, or raises ValueError(Msg) with the reason.
FieldFn = Callable[[Any, "FieldDef", FieldContext], Any]


@dataclass(frozen=True)
class EffectSpec:
    """A side effect: ``inline`` ones run inside the transition's transaction (e.g. opening a
    case from a consultation); the rest are queued in the outbox and run by jobs."""

    name: str
    handler: Callable[..., Any]
    inline: bool
    params: tuple[str, ...]
    # The names a parameter may take (a registry, e.g. the notice targets), checked by
    # ``workflows check``; parameters not listed take any value.
    values: dict[str, Mapping[str, Any]] = field(default_factory=dict)


GUARDS: dict[str, GuardFn] = {}
# What each guard accepts as parameters (name → required?), checked by ``workflows check``.
GUARD_PARAMS: dict[str, dict[str, bool]] = {}
# The meanings of [vocabulary] each guard or fact reads (``workflows check`` wants them bound).
GUARD_NEEDS: dict[str, tuple[str, ...]] = {}
FACT_NEEDS: dict[str, tuple[str, ...]] = {}
ANCHORS: dict[str, AnchorFn] = {}
FACTS: dict[str, FactFn] = {}
FACT_LABELS: dict[str, Any] = {}  # name → what the date is called (a Label or lazy text)
FIELD_TYPES: dict[str, FieldFn] = {}
EFFECTS: dict[str, EffectSpec] = {}
# Who a ``notify`` effect tells: name → function of (session, case) giving the users.
NOTIFY_TARGETS: dict[str, Callable[..., Any]] = {}

# What a definition's ``[[rules]]`` may test in ``when``: the attributes of a case, as the
# application registers them (:func:`case_attributes`).
CASE_ATTRIBUTES: set[str] = set()

# The application's list of the modules that register names (``MODULES``), imported on first
# use, not at import time: the engine does not know them itself.
PLUGINS = "mediation.plugins"
_loaded = False


def ensure_loaded() -> None:
    """Import the modules that register the guards, effects, anchors, fields and case
    attributes a definition may name."""
    global _loaded
    if not _loaded:
        for name in importlib.import_module(PLUGINS).MODULES:
            importlib.import_module(name)
        _loaded = True


def case_attributes(names: Iterable[str]) -> None:
    """Register attributes of a case that rules may test."""
    CASE_ATTRIBUTES.update(names)


def guard(name: str, *, params: dict[str, bool] | None = None,
          needs: tuple[str, ...] = ()) -> Callable[[GuardFn], GuardFn]:
    """Register a guard: returns ``None`` to allow, or a :class:`Msg` saying why not.
    ``params`` names the parameters a definition may give it (True: required); ``needs``
    the meanings of the definition's [vocabulary] it reads."""
    def deco(fn: GuardFn) -> GuardFn:
        GUARDS[name] = fn
        GUARD_PARAMS[name] = dict(params or {})
        GUARD_NEEDS[name] = needs
        return fn
    return deco


def fact(name: str, label: Any, needs: tuple[str, ...] = ()) -> Callable[[FactFn], FactFn]:
    """Register a fact: a date of the case's record a date field may be compared with
    (``not_before = { date = "agreement_effective" }``); ``label`` names it in refusals,
    ``needs`` the meanings of [vocabulary] it reads."""
    def deco(fn: FactFn) -> FactFn:
        FACTS[name] = fn
        FACT_LABELS[name] = label
        FACT_NEEDS[name] = needs
        return fn
    return deco


def anchor(name: str) -> Callable[[AnchorFn], AnchorFn]:
    """Register a deadline anchor: the time a deadline's ``after`` counts from."""
    def deco(fn: AnchorFn) -> AnchorFn:
        ANCHORS[name] = fn
        return fn
    return deco


def field_type(name: str) -> Callable[[FieldFn], FieldFn]:
    """Register a field type's validator."""
    def deco(fn: FieldFn) -> FieldFn:
        FIELD_TYPES[name] = fn
        return fn
    return deco


def effect(name: str, *, inline: bool = False, params: tuple[str, ...] = (),
           values: dict[str, Mapping[str, Any]] | None = None,
           ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a side effect. Queued effects are called as ``handler(session, row: OutboxRow)``;
    inline ones as ``handler(session, case, event, params, actor, now)``. ``values`` names the
    registry each listed parameter's value must be found in."""
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        EFFECTS[name] = EffectSpec(name, fn, inline, params, dict(values or {}))
        return fn
    return deco


def notify_target(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register who a ``notify`` effect with ``target = name`` tells."""
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        NOTIFY_TARGETS[name] = fn
        return fn
    return deco


def run_queued(session: Session, row: OutboxRow) -> None:
    """Run one outbox row's effect."""
    ensure_loaded()
    EFFECTS[row.effect].handler(session, row)
