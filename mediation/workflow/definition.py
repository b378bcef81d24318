"""Workflow definitions: TOML files in workflows/ read into plain, frozen objects.

Loading checks the *shape* of a file (tables, keys, types) and collects every problem it finds;
the meaning (unknown names, reachability, ...) is checked by :mod:`mediation.workflow.check`.
A definition's version is the content hash of its file, so a case can pin the exact text it
started on.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from mediation.i18n import Label
from mediation.timeutil import parse_duration

DEADLINE_KINDS = ("remind", "fire", "overdue")
LEVELS = ("grid", "center", "legal")
# The outcomes of terminal states the statistics count by (mediation.stats): success, failure
# and withdrawn are mediations concluded; rejected reports and closed or converted
# consultations are not. A definition naming another outcome is refused.
OUTCOMES = ("success", "failure", "withdrawn", "rejected", "closed", "converted")
# The meanings the code relies on, each bound to a name of the definition in [vocabulary]:
# what kind of name it must be. Guards, facts, statistics and the demo read the names from
# there, never from Python.
VOCABULARY = {
    "oral_agreement": "action",  # registering an oral agreement (口头协议登记)
    "follow_up": "action",  # a follow-up visit (回访), whose result says if it was performed
    "judicial_confirmation": "action",  # an application for judicial confirmation (司法确认)
    "performed": "choice",  # { field, value }: the follow-up result meaning "performed"
}
# The keys a definition's top level may have; any other is refused (a typo, or a key no code
# reads, like the former ``legal_role``: who sees what belongs to the roles, not a workflow).
TOP_KEYS = frozenset({"name", "label", "label_en", "initial", "report_series", "number_series",
                      "accepted_in", "supervisor_role", "open_to_legal", "levels", "states",
                      "fields", "transitions", "actions", "rules", "agreement", "vocabulary"})


class DefinitionError(Exception):
    """A definition could not be read; ``problems`` lists every reason."""

    def __init__(self, source: str, problems: list[str]):
        super().__init__(f"{source}: " + "; ".join(problems))
        self.source = source
        self.problems = problems


@dataclass(frozen=True)
class Effect:
    """A named side effect with its parameters, queued in the outbox."""

    name: str
    params: dict[str, Any]


@dataclass(frozen=True)
class GuardRef:
    """A named guard (or warning check) with the parameters the definition gives it:
    ``guards = ["agreement_in_force"]`` or ``warns = [{ name = "late", days = 30 }]``."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeadlineDef:
    """A deadline set on entering a state."""

    kind: str  # remind | fire | overdue
    after: timedelta
    after_text: str
    reason: Label
    fire: str | None = None
    anchor: str = "entered"
    # What else happens when it comes due (e.g. a notice to the handler); a ``fire`` deadline
    # has its trigger's effects.
    effects: tuple[Effect, ...] = ()


@dataclass(frozen=True)
class StateDef:
    """One state of a workflow."""

    name: str
    label: Label
    terminal: bool = False
    outcome: str | None = None
    deadlines: tuple[DeadlineDef, ...] = ()
    level: str | None = None  # grid | center | legal: who handles the case in this state
    # The step expected next (a trigger or action): the pages make it the primary button.
    next: str | None = None


@dataclass(frozen=True)
class FieldDef:
    """A piece of data a trigger or action may ask for."""

    name: str
    type: str
    label: Label
    role: str | None = None
    default: str | None = None
    choices: tuple[str, ...] = ()
    # The printed name of each choice (``choices = { performed = "已履行", ... }``).
    choice_labels: dict[str, Label] = field(default_factory=dict)
    # What the form says under the field's label (``hint``, ``hint_en``), e.g. the routes to
    # court and arbitration a mediator must tell the parties.
    hint: Label | None = None
    # How many lines a text needs on a form (1: a short answer such as a place); unset: a
    # paragraph.
    rows: int | None = None


@dataclass(frozen=True)
class TransitionDef:
    """A trigger: from where to where, who may fire it and what it needs."""

    trigger: str
    label: Label
    sources: tuple[str, ...]
    dest: str
    roles: tuple[str, ...]
    roles_from: dict[str, tuple[str, ...]] = field(default_factory=dict)
    requires: tuple[str, ...] = ()
    guards: tuple[GuardRef, ...] = ()
    # Checks that do not refuse but warn (the warning is recorded with the event).
    warns: tuple[GuardRef, ...] = ()
    # Date fields that may not be earlier than another field or a fact of the case
    # (``not_before = { ruled_on = "applied_on" }``).
    not_before: dict[str, str] = field(default_factory=dict)
    # Who becomes the handler: "actor", "clear", "previous" (whoever had the case when it was
    # last in the destination state; nobody if nobody had), or a user field.
    assign: str | None = None
    conflict_check: bool = False
    effects: tuple[Effect, ...] = ()
    # Irreversible (the case leaves its level or ends): the pages ask for confirmation first.
    confirm: bool = False

    def roles_for(self, source: str) -> tuple[str, ...]:
        """The roles that may fire this trigger from ``source``."""
        return self.roles_from.get(source, self.roles)


@dataclass(frozen=True)
class ActionDef:
    """An action: a fact recorded without moving the case."""

    name: str
    label: Label
    requires: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    states: tuple[str, ...] | None = None  # None: every state
    roles: tuple[str, ...] = ()
    open: bool = False  # anyone who can see the case
    # Roles whose members may record it on any case of their unit, whoever handles it (the
    # grid's volunteers record follow-up visits of a case a lawyer handled).
    unit_roles: tuple[str, ...] = ()
    assign: str | None = None
    conflict_check: bool = False
    guards: tuple[GuardRef, ...] = ()
    warns: tuple[GuardRef, ...] = ()
    not_before: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleDef:
    """Something the system does on its own, e.g. escalate a high-risk report at once."""

    on: str
    when: dict[str, Any]
    fire: str
    data: dict[str, Any]
    effects: tuple[Effect, ...] = ()


@dataclass(frozen=True)
class AgreementDef:
    """When and by whom the written agreement may be drafted and signed."""

    states: tuple[str, ...]
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Definition:
    """A whole workflow definition, pinned by ``version`` (hash of the file's bytes)."""

    name: str
    version: str
    label: Label
    initial: str
    number_series: str
    supervisor_role: str | None
    # Cases of this workflow are for the legal service from the start (a consultation desk):
    # the district's legal role sees them without a referral.
    open_to_legal: bool
    states: dict[str, StateDef]
    transitions: dict[str, TransitionDef]
    actions: dict[str, ActionDef]
    fields: dict[str, FieldDef]
    rules: tuple[RuleDef, ...]
    agreement: AgreementDef | None
    source: str  # the TOML text
    # The printed name of each level its states are at (``[levels]``: ``grid = { label = ... }``):
    # place names (矛调中心, 社会治理中心, 综治中心 ...) belong to the definition, never to code.
    # Empty for a definition without the table.
    levels: dict[str, Label] = field(default_factory=dict)
    # The series of report numbers (given when a case is opened).
    report_series: str = "报"
    # Entering one of these states for the first time accepts the case for mediation: it gets
    # its case number (series ``number_series``) and ``accepted_at``. Empty: never (a
    # consultation keeps its report number).
    accepted_in: tuple[str, ...] = ()
    # [vocabulary]: the definition's names for the meanings the code relies on (VOCABULARY).
    vocabulary: dict[str, Any] = field(default_factory=dict)

    def word(self, meaning: str) -> str | None:
        """The definition's name for an action the code relies on (``follow_up`` →
        ``record_follow_up``), or None when it has none."""
        value = self.vocabulary.get(meaning)
        return value if isinstance(value, str) else None

    def choice(self, meaning: str) -> tuple[str, str] | None:
        """(field, value) the definition names for a meaning of kind choice, or None."""
        value = self.vocabulary.get(meaning)
        if isinstance(value, dict) and isinstance(value.get("field"), str):
            return value["field"], str(value.get("value"))
        return None

    def level_label(self, level: str | None) -> Label | None:
        """The printed name of ``level``, or None when the definition does not name it."""
        return self.levels.get(level) if level else None

    def state(self, name: str) -> StateDef:
        """The state called ``name``."""
        return self.states[name]

    def is_terminal(self, state: str) -> bool:
        """Whether ``state`` ends the case."""
        return self.states[state].terminal

    def transitions_from(self, state: str) -> list[TransitionDef]:
        """Every trigger that can fire from ``state``, in file order."""
        return [t for t in self.transitions.values() if state in t.sources]


def _version(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:16]


class _Reader:
    """Reads tables of a parsed TOML document, noting problems instead of failing at once."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def text(self, table: dict[str, Any], key: str, where: str, default: str | None = None,
            required: bool = True) -> str:
        value = table.get(key, default)
        if value is None:
            if required:
                self.problems.append(f"{where}: missing '{key}'")
            return ""
        if not isinstance(value, str):
            self.problems.append(f"{where}: '{key}' must be a string")
            return ""
        return value

    def texts(self, table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problems.append(f"{where}: '{key}' must be a list of names")
            return ()
        return tuple(value)

    def label(self, table: dict[str, Any], where: str, key: str = "label") -> Label:
        zh = self.text(table, key, where)
        en = self.text(table, key + "_en", where, default=zh, required=False)
        return Label(zh, en or zh)

    def guards(self, table: dict[str, Any], key: str, where: str) -> tuple[GuardRef, ...]:
        out = []
        value = table.get(key, [])
        if not isinstance(value, list):
            self.problems.append(f"{where}: '{key}' must be a list of guard names or tables")
            return ()
        for i, item in enumerate(value):
            if isinstance(item, str):
                out.append(GuardRef(item))
            elif isinstance(item, dict) and isinstance(item.get("name"), str):
                out.append(GuardRef(item["name"], {k: v for k, v in item.items()
                                                   if k != "name"}))
            else:
                self.problems.append(f"{where}: {key} {i + 1} needs a 'name'")
        return tuple(out)

    def mapping(self, table: dict[str, Any], key: str, where: str) -> dict[str, str]:
        value = table.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            self.problems.append(f"{where}: '{key}' must be a table of names")
            return {}
        return dict(value)

    def effects(self, table: dict[str, Any], where: str) -> tuple[Effect, ...]:
        out = []
        for i, item in enumerate(table.get("effects", [])):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                self.problems.append(f"{where}: effect {i + 1} needs a 'name'")
                continue
            params = {k: v for k, v in item.items() if k != "name"}
            out.append(Effect(item["name"], params))
        return tuple(out)

    def table(self, doc: dict[str, Any], key: str, where: str) -> dict[str, Any]:
        value = doc.get(key, {})
        if not isinstance(value, dict):
            self.problems.append(f"{where}: '{key}' must be a table")
            return {}
        return value


def _choice_labels(f: dict[str, Any]) -> dict[str, Label]:
    """``choices`` as a table of labels (``{ performed = "已履行" }`` or
    ``{ performed = { label = "已履行", label_en = "performed" } }``); a list has none."""
    raw = f.get("choices")
    if not isinstance(raw, dict):
        return {}
    out = {}
    for key, value in raw.items():
        if isinstance(value, dict):
            zh = str(value.get("label", key))
            out[key] = Label(zh, str(value.get("label_en", zh)))
        else:
            out[key] = Label(str(value), str(value))
    return out


def parse_definition(raw: bytes, source: str = "<definition>") -> Definition:
    """Read a definition from TOML bytes; raise :class:`DefinitionError` naming every problem."""
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DefinitionError(source, [f"not valid TOML: {exc}"]) from exc
    r = _Reader()
    for key in doc:
        if key not in TOP_KEYS:
            line = line_of(raw.decode("utf-8"), key=key)
            r.problems.append(f"the definition has unknown key '{key}' (no code reads it)"
                              + (f" (line {line})" if line else ""))
    name = r.text(doc, "name", "definition")
    label = r.label(doc, "definition")
    initial = r.text(doc, "initial", "definition")

    states: dict[str, StateDef] = {}
    for sname, st in r.table(doc, "states", "definition").items():
        where = f"state '{sname}'"
        if not isinstance(st, dict):
            r.problems.append(f"{where}: must be a table")
            continue
        deadlines = []
        for i, d in enumerate(st.get("deadlines", [])):
            dwhere = f"{where} deadline {i + 1}"
            if not isinstance(d, dict):
                r.problems.append(f"{dwhere}: must be a table")
                continue
            kind = r.text(d, "kind", dwhere)
            if kind and kind not in DEADLINE_KINDS:
                r.problems.append(f"{dwhere}: unknown kind '{kind}' (use {', '.join(DEADLINE_KINDS)})")
            after_text = r.text(d, "after", dwhere)
            try:
                after = parse_duration(after_text) if after_text else timedelta(0)
            except ValueError as exc:
                r.problems.append(f"{dwhere}: {exc}")
                after = timedelta(0)
            fire = d.get("fire")
            if kind == "fire" and not isinstance(fire, str):
                r.problems.append(f"{dwhere}: kind 'fire' needs the trigger to 'fire'")
            deadlines.append(DeadlineDef(
                kind=kind, after=after, after_text=after_text,
                reason=r.label(d, dwhere, "reason"),
                fire=fire if isinstance(fire, str) else None,
                anchor=r.text(d, "anchor", dwhere, default="entered"),
                effects=r.effects(d, dwhere),
            ))
        states[sname] = StateDef(
            name=sname, label=r.label(st, where), terminal=bool(st.get("terminal", False)),
            outcome=st.get("outcome"), deadlines=tuple(deadlines), level=st.get("level"),
            next=st.get("next") if isinstance(st.get("next"), str) else None,
        )

    fields: dict[str, FieldDef] = {}
    for fname, f in r.table(doc, "fields", "definition").items():
        where = f"field '{fname}'"
        if not isinstance(f, dict):
            r.problems.append(f"{where}: must be a table")
            continue
        fields[fname] = FieldDef(
            name=fname, type=r.text(f, "type", where), label=r.label(f, where),
            role=f.get("role"), default=f.get("default"),
            choices=tuple(f.get("choices", ())), choice_labels=_choice_labels(f),
            hint=r.label(f, where, "hint") if "hint" in f else None,
            rows=f["rows"] if isinstance(f.get("rows"), int) else None,
        )

    transitions: dict[str, TransitionDef] = {}
    for trig, t in r.table(doc, "transitions", "definition").items():
        where = f"trigger '{trig}'"
        if not isinstance(t, dict):
            r.problems.append(f"{where}: must be a table")
            continue
        roles_from_raw = t.get("roles_from", {})
        roles_from = {}
        if isinstance(roles_from_raw, dict):
            roles_from = {k: r.texts(roles_from_raw, k, where) for k in roles_from_raw}
        else:
            r.problems.append(f"{where}: 'roles_from' must be a table")
        transitions[trig] = TransitionDef(
            trigger=trig, label=r.label(t, where), sources=r.texts(t, "from", where),
            dest=r.text(t, "to", where), roles=r.texts(t, "roles", where), roles_from=roles_from,
            requires=r.texts(t, "requires", where), guards=r.guards(t, "guards", where),
            warns=r.guards(t, "warns", where), not_before=r.mapping(t, "not_before", where),
            assign=t.get("assign"), conflict_check=bool(t.get("conflict_check", False)),
            effects=r.effects(t, where), confirm=bool(t.get("confirm", False)),
        )
        if not transitions[trig].sources:
            r.problems.append(f"{where}: 'from' names no state")

    actions: dict[str, ActionDef] = {}
    for aname, a in r.table(doc, "actions", "definition").items():
        where = f"action '{aname}'"
        if not isinstance(a, dict):
            r.problems.append(f"{where}: must be a table")
            continue
        actions[aname] = ActionDef(
            name=aname, label=r.label(a, where), requires=r.texts(a, "requires", where),
            optional=r.texts(a, "optional", where),
            states=r.texts(a, "states", where) if "states" in a else None,
            roles=r.texts(a, "roles", where), open=bool(a.get("open", False)),
            unit_roles=r.texts(a, "unit_roles", where),
            assign=a.get("assign"), conflict_check=bool(a.get("conflict_check", False)),
            guards=r.guards(a, "guards", where), warns=r.guards(a, "warns", where),
            not_before=r.mapping(a, "not_before", where),
        )

    rules = []
    for i, rule in enumerate(doc.get("rules", [])):
        where = f"rule {i + 1}"
        if not isinstance(rule, dict):
            r.problems.append(f"{where}: must be a table")
            continue
        rules.append(RuleDef(
            on=r.text(rule, "on", where), when=dict(rule.get("when", {})),
            fire=r.text(rule, "fire", where), data=dict(rule.get("data", {})),
            effects=r.effects(rule, where),
        ))

    agreement = None
    if "agreement" in doc:
        a = r.table(doc, "agreement", "definition")
        agreement = AgreementDef(states=r.texts(a, "states", "agreement"),
                                 roles=r.texts(a, "roles", "agreement"))

    levels: dict[str, Label] = {}
    for lname, lv in r.table(doc, "levels", "definition").items():
        where = f"level '{lname}'"
        if isinstance(lv, str):
            levels[lname] = Label(lv, lv)
        elif isinstance(lv, dict):
            levels[lname] = r.label(lv, where)
        else:
            r.problems.append(f"{where}: must be a name or a table with a 'label'")

    if r.problems:
        raise DefinitionError(source, r.problems)
    return Definition(
        name=name, version=_version(raw), label=label, initial=initial,
        number_series=str(doc.get("number_series", "")),
        supervisor_role=doc.get("supervisor_role"),
        open_to_legal=bool(doc.get("open_to_legal", False)),
        states=states, transitions=transitions, actions=actions, fields=fields,
        rules=tuple(rules), agreement=agreement, source=raw.decode("utf-8"), levels=levels,
        report_series=str(doc.get("report_series", "报")),
        accepted_in=r.texts(doc, "accepted_in", "definition"),
        vocabulary=dict(r.table(doc, "vocabulary", "definition")),
    )


def line_of(source: str, table: str | None = None, key: str | None = None) -> int | None:
    """The line (from 1) of ``[table]`` in a TOML text, or of ``key = ...`` (inside
    ``[table]`` when given, else at the top level); None when not found."""
    lines = source.splitlines()
    start, end = 0, len(lines)
    if table is not None:
        header = f"[{table}]"
        found = next((i for i, ln in enumerate(lines) if ln.strip() == header), None)
        if found is None:
            return None
        start = found + 1
        end = next((i for i in range(start, len(lines)) if lines[i].lstrip().startswith("[")),
                   len(lines))
        if key is None:
            return found + 1
    elif key is not None:
        end = next((i for i, ln in enumerate(lines) if ln.lstrip().startswith("[")), len(lines))
    for i in range(start, end):
        stripped = lines[i].lstrip()
        if key is not None and (stripped.startswith(f"{key} ") or stripped.startswith(f"{key}=")):
            return i + 1
    return start if table is not None else None  # the table's header line


def load_file(path: Path) -> Definition:
    """Read one definition file."""
    return parse_definition(path.read_bytes(), str(path))
