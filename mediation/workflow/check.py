"""What ``mediation workflows check`` finds wrong with a definition (DESIGN.md §3).

:func:`mediation.workflow.definition.parse_definition` already refuses files of the wrong
*shape*; this module checks their *meaning*: every name a definition uses must exist (states,
triggers, fields, field types, roles, guards, effects and their parameters, deadline kinds and
anchors), every state must be reachable from the initial one, have a way out unless it is
terminal and lead to some terminal state, and a deadline that fires a trigger must really
leave its state. Nothing here knows a state or trigger by name: the engine is generic.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mediation.auth.models import ROLES
from mediation.resources import data_dir
from mediation.workflow import registry
from mediation.workflow.definition import (
    DEADLINE_KINDS,
    LEVELS,
    OUTCOMES,
    VOCABULARY,
    DeadlineDef,
    Definition,
    DefinitionError,
    Effect,
    GuardRef,
    line_of,
    parse_definition,
)

# What the engine may do with a field named by ``assign`` besides taking a user from the data.
ASSIGN_KEYWORDS = ("actor", "clear", "previous")
# The field type a ``not_before`` rule compares.
DATE_TYPE = "date"
# The case events a rule may react to.
RULE_EVENTS = ("create",)
# The only default a field may have: the acting user's name.
FIELD_DEFAULTS = ("actor",)
# The field type whose values must come from the field's ``choices``.
CHOICE_TYPE = "choice"
# A problem's ``where``: "trigger 'approve'", "state 'x' deadline 1", "rule 2", "the agreement".
_WHERE = re.compile(r"^(?:the )?(state|trigger|action|field|level|rule|agreement|vocabulary)"
                    r"\s*'?([^' ]*)'?")
# Where the CLI finds definitions when given no file (the same place the app loads them from).
WORKFLOWS_ENV = "MEDIATION_WORKFLOWS"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition.

    ``code`` is a stable short slug (``unknown_state``, ``dead_end``, ...), ``where`` names the
    part of the definition (``trigger 'approve'``) and ``text`` is a sentence for people.
    ``severity`` is ``error`` or ``warning``; a definition with either is refused.
    """

    code: str
    where: str
    text: str
    severity: str = "error"
    line: int | None = None  # the line of the definition's text it is about


class _Checker:
    """Collects the problems of one definition."""

    def __init__(self, d: Definition):
        self.d = d
        self.problems: list[Problem] = []

    # -- recording ---------------------------------------------------------------------------

    def add(self, code: str, where: str, message: str, severity: str = "error",
            key: str | None = None) -> None:
        line = self.line(where, key)
        text = f"{where[:1].upper()}{where[1:]} {message}" + (f" (line {line})." if line else ".")
        self.problems.append(Problem(code, where, text, severity, line))

    def line(self, where: str, key: str | None = None) -> int | None:
        """The line of the definition's text a problem is about."""
        match = _WHERE.match(where)
        source = self.d.source
        if match is None:
            return line_of(source, key=key) if key else None
        kind, name = match.group(1), match.group(2)
        if kind == "rule":
            rules = [i + 1 for i, ln in enumerate(source.splitlines()) if ln.strip() == "[[rules]]"]
            n = int(name) if name.isdigit() else 0
            return rules[n - 1] if 0 < n <= len(rules) else None
        table = {"state": "states", "trigger": "transitions", "action": "actions",
                 "field": "fields", "level": "levels"}.get(kind)
        if table is None:
            return line_of(source, table=kind, key=key)
        if table in ("fields", "levels"):
            return line_of(source, table=table, key=name)
        return line_of(source, table=f"{table}.{name}", key=key)

    def names(self, code: str, where: str, key: str, values: Iterable[str],
              known: Iterable[str], kind: str) -> None:
        """Report each of ``values`` that is not among ``known``, and duplicates."""
        known_set = set(known)
        values = list(values)
        for value in values:
            if value not in known_set:
                self.add(code, where, f"names unknown {kind} '{value}' in '{key}'"
                         + _suggest(value, known_set))
        for value, count in Counter(values).items():
            if count > 1:
                self.add("duplicate_name", where, f"lists '{value}' {count} times in '{key}'")

    def roles(self, where: str, key: str, values: Iterable[str]) -> None:
        self.names("unknown_role", where, key, values, ROLES, "role")

    def states(self, where: str, key: str, values: Iterable[str]) -> None:
        self.names("unknown_state", where, key, values, self.d.states, "state")

    def fields(self, where: str, key: str, values: Iterable[str]) -> None:
        self.names("unknown_field", where, key, values, self.d.fields, "field")

    def effects(self, where: str, effects: Iterable[Effect]) -> None:
        for effect in effects:
            spec = registry.EFFECTS.get(effect.name)
            if spec is None:
                self.add("unknown_effect", where, f"names unknown effect '{effect.name}'"
                         + _suggest(effect.name, registry.EFFECTS), key="effects")
                continue
            for param in effect.params:
                if param not in spec.params:
                    allowed = ", ".join(spec.params) or "none"
                    self.add("unknown_effect_param", where,
                             f"gives effect '{effect.name}' unknown parameter '{param}' "
                             f"(it takes: {allowed})")
            for param in spec.params:
                if param not in effect.params:
                    self.add("missing_effect_param", where,
                             f"gives effect '{effect.name}' no '{param}'")
            for param, known in spec.values.items():
                value = effect.params.get(param)
                if value is not None and value not in known:
                    self.add("unknown_effect_value", where,
                             f"gives effect '{effect.name}' unknown {param} '{value}'"
                             + _suggest(str(value), known), key="effects")

    def guards(self, where: str, key: str, refs: Iterable[GuardRef]) -> None:
        refs = list(refs)
        self.names("unknown_guard", where, key, [r.name for r in refs], registry.GUARDS,
                   "guard")
        for ref in refs:
            accepted = registry.GUARD_PARAMS.get(ref.name)
            if accepted is None:
                continue
            for param in ref.params:
                if param not in accepted:
                    self.add("unknown_guard_param", where,
                             f"gives guard '{ref.name}' unknown parameter '{param}' "
                             f"(it takes: {', '.join(accepted) or 'none'})")
            for param, required in accepted.items():
                if required and param not in ref.params:
                    self.add("missing_guard_param", where,
                             f"gives guard '{ref.name}' no '{param}'")

    def order(self, where: str, not_before: dict[str, str], fields: Iterable[str]) -> None:
        """``not_before = { later = "earlier" }``: both dates, ``earlier`` a field asked for
        or a registered fact."""
        asked = set(fields)
        for name, other in not_before.items():
            for value, may_be_fact in ((name, False), (other, True)):
                if value in asked:
                    kind = self.d.fields[value].type if value in self.d.fields else DATE_TYPE
                    if kind != DATE_TYPE:
                        self.add("not_a_date", where, f"compares '{value}' in 'not_before', "
                                 f"which is of type '{kind}', not '{DATE_TYPE}'")
                elif not (may_be_fact and value in registry.FACTS):
                    known = sorted(asked | (set(registry.FACTS) if may_be_fact else set()))
                    what = ("neither a field it asks for nor a fact" if may_be_fact
                            else "not a field it asks for")
                    self.add("unknown_field", where, f"names '{value}' in 'not_before', "
                             f"which is {what}" + _suggest(value, known))

    def assign(self, where: str, assign: str | None, fields: Iterable[str]) -> None:
        if assign is None or assign in ASSIGN_KEYWORDS:
            return
        if assign not in set(fields):
            self.add("unknown_assign", where,
                     f"assigns the case to '{assign}', which is neither "
                     f"{' nor '.join(repr(k) for k in ASSIGN_KEYWORDS)} nor a field it asks for")

    # -- the parts of a definition -----------------------------------------------------------

    def run(self) -> list[Problem]:
        self.check_top()
        self.check_states()
        self.check_fields()
        self.check_transitions()
        self.check_actions()
        self.check_rules()
        self.check_agreement()
        self.check_vocabulary()
        self.check_graph()
        return self.problems

    def check_top(self) -> None:
        d = self.d
        where = "the definition"
        if not d.label.zh.strip():
            self.add("empty_label", where, "has an empty label")
        if d.initial not in d.states:
            self.add("bad_initial", where, f"starts in '{d.initial}', which is not a state"
                     + _suggest(d.initial, d.states))
        elif d.states[d.initial].terminal:
            self.add("bad_initial", where,
                     f"starts in '{d.initial}', which is terminal: a case could never move")
        if not any(s.terminal for s in d.states.values()):
            self.add("no_terminal", where, "has no terminal state, so no case can ever end")
        if d.supervisor_role is not None:
            self.roles(where, "supervisor_role", [d.supervisor_role])
        self.states(where, "accepted_in", d.accepted_in)
        for state in d.accepted_in:
            if state in d.states and d.states[state].terminal:
                self.add("terminal_acceptance", where, f"accepts cases for mediation in "
                         f"'{state}', which is terminal")
        for name in sorted(set(d.transitions) & set(d.actions)):
            self.add("duplicate_name", where,
                     f"uses '{name}' both as a trigger and as an action")

    def check_states(self) -> None:
        d = self.d
        for state in d.states.values():
            where = f"state '{state.name}'"
            if not state.label.zh.strip():
                self.add("empty_label", where, "has an empty label")
            if state.terminal and d.transitions_from(state.name):
                triggers = ", ".join(t.trigger for t in d.transitions_from(state.name))
                self.add("terminal_exit", where,
                         f"is terminal but triggers leave it ({triggers})")
            if state.level is not None and state.level not in LEVELS:
                self.add("unknown_level", where, f"has unknown level '{state.level}' "
                         f"(use {', '.join(LEVELS)})")
            elif state.level is not None and d.levels and state.level not in d.levels:
                self.add("unnamed_level", where, f"is at level '{state.level}', which [levels] "
                         "does not name")
            if state.outcome is not None and state.outcome not in OUTCOMES:
                self.add("unknown_outcome", where, f"has unknown outcome '{state.outcome}' (the "
                         f"statistics count {', '.join(OUTCOMES)})" + _suggest(state.outcome,
                                                                             OUTCOMES),
                         key="outcome")
            if state.terminal and state.deadlines:
                self.add("terminal_deadline", where, "is terminal but has deadlines")
            if state.next is not None:
                self.check_next(state.name, where, state.next)
            for i, deadline in enumerate(state.deadlines, start=1):
                self.check_deadline(state.name, f"{where} deadline {i}", deadline)
        for level, label in d.levels.items():
            if level not in LEVELS:
                self.add("unknown_level", f"level '{level}'",
                         f"is not a level (use {', '.join(LEVELS)})")
            if not label.zh.strip():
                self.add("empty_label", f"level '{level}'", "has an empty label")

    def check_next(self, state: str, where: str, name: str) -> None:
        d = self.d
        if name in d.transitions:
            if state not in d.transitions[name].sources:
                self.add("next_not_possible", where,
                         f"names '{name}' as its next step, which cannot fire from it")
        elif name in d.actions:
            states = d.actions[name].states
            if states is not None and state not in states:
                self.add("next_not_possible", where,
                         f"names '{name}' as its next step, which cannot be recorded in it")
        else:
            self.add("unknown_next", where, f"names unknown step '{name}' as its next"
                     + _suggest(name, [*d.transitions, *d.actions]))

    def check_deadline(self, state: str, where: str, deadline: DeadlineDef) -> None:
        if deadline.kind not in DEADLINE_KINDS:
            self.add("unknown_deadline_kind", where,
                     f"has unknown kind '{deadline.kind}' (use {', '.join(DEADLINE_KINDS)})")
        if deadline.after.total_seconds() <= 0:
            self.add("bad_duration", where,
                     f"comes due after '{deadline.after_text}', which is not a positive time")
        if deadline.anchor not in registry.ANCHORS:
            self.add("unknown_anchor", where, f"counts from unknown anchor '{deadline.anchor}'"
                     + _suggest(deadline.anchor, registry.ANCHORS))
        if deadline.kind == "fire" and deadline.fire is None:
            self.add("deadline_without_trigger", where, "is of kind 'fire' but names no trigger")
        if deadline.kind == "fire" and deadline.effects:
            self.add("deadline_effects_ignored", where, "is of kind 'fire' and has effects: "
                     "its trigger's effects run instead (move them to the trigger)")
        self.effects(where, deadline.effects)
        if deadline.fire is None:
            return
        if deadline.kind != "fire":
            self.add("deadline_fire_ignored", where,
                     f"names trigger '{deadline.fire}' but is of kind '{deadline.kind}', "
                     "which fires nothing (use kind 'fire')")
        transition = self.d.transitions.get(deadline.fire)
        if transition is None:
            self.add("unknown_trigger", where, f"fires unknown trigger '{deadline.fire}'"
                     + _suggest(deadline.fire, self.d.transitions))
        elif state not in transition.sources:
            self.add("deadline_stays", where,
                     f"fires '{deadline.fire}', which cannot fire from '{state}' "
                     f"(it fires from {_list(transition.sources)})")
        elif transition.dest == state:
            self.add("deadline_stays", where,
                     f"fires '{deadline.fire}', which leads back to '{state}' itself, "
                     "so the deadline would never leave the state")

    def check_fields(self) -> None:
        for f in self.d.fields.values():
            where = f"field '{f.name}'"
            if f.type not in registry.FIELD_TYPES:
                self.add("unknown_field_type", where, f"has unknown type '{f.type}'"
                         + _suggest(f.type, registry.FIELD_TYPES))
            if f.role is not None:
                self.roles(where, "role", [f.role])
            if f.default is not None and f.default not in FIELD_DEFAULTS:
                self.add("unknown_default", where, f"has default '{f.default}' "
                         f"(the only one there is: {', '.join(FIELD_DEFAULTS)})")
            if f.type == CHOICE_TYPE and not f.choices:
                self.add("no_choices", where, f"is of type '{CHOICE_TYPE}' but lists no choices")

    def check_transitions(self) -> None:
        d = self.d
        for t in d.transitions.values():
            where = f"trigger '{t.trigger}'"
            if not t.label.zh.strip():
                self.add("empty_label", where, "has an empty label")
            self.states(where, "from", t.sources)
            if t.dest not in d.states:
                self.add("unknown_state", where, f"goes to unknown state '{t.dest}'"
                         + _suggest(t.dest, d.states))
            self.roles(where, "roles", t.roles)
            for source, roles in t.roles_from.items():
                key = f"roles_from.{source}"
                if source not in d.states:
                    self.add("unknown_state", where, f"names unknown state '{source}' in "
                             f"'roles_from'" + _suggest(source, d.states))
                elif source not in t.sources:
                    self.add("roles_from_not_source", where,
                             f"sets roles for '{source}' in 'roles_from', but does not fire "
                             "from there")
                self.roles(where, key, roles)
            roleless = [s for s in t.sources if not t.roles_for(s)]
            if roleless:
                self.add("no_roles", where,
                         f"declares no role that may fire it from {_list(roleless)}, so only "
                         "the system can (deny by default)", severity="warning")
            self.fields(where, "requires", t.requires)
            self.guards(where, "guards", t.guards)
            self.guards(where, "warns", t.warns)
            self.order(where, t.not_before, t.requires)
            self.assign(where, t.assign, t.requires)
            self.effects(where, t.effects)

    def check_actions(self) -> None:
        for a in self.d.actions.values():
            where = f"action '{a.name}'"
            if not a.label.zh.strip():
                self.add("empty_label", where, "has an empty label")
            self.fields(where, "requires", a.requires)
            self.fields(where, "optional", a.optional)
            for name in set(a.requires) & set(a.optional):
                self.add("duplicate_field", where,
                         f"lists '{name}' both in 'requires' and in 'optional'")
            if a.states is not None:
                self.states(where, "states", a.states)
                if not a.states:
                    self.add("no_states", where, "lists no state it may be recorded in")
            self.roles(where, "roles", a.roles)
            self.roles(where, "unit_roles", a.unit_roles)
            self.guards(where, "guards", a.guards)
            self.guards(where, "warns", a.warns)
            self.order(where, a.not_before, (*a.requires, *a.optional))
            if not a.roles and not a.open:
                self.add("no_roles", where,
                         "declares no role and is not open, so nobody may record it "
                         "(deny by default)", severity="warning")
            self.assign(where, a.assign, (*a.requires, *a.optional))

    def check_rules(self) -> None:
        d = self.d
        for i, rule in enumerate(d.rules, start=1):
            where = f"rule {i}"
            if rule.on not in RULE_EVENTS:
                self.add("unknown_event", where, f"reacts to unknown event '{rule.on}' "
                         f"(use {', '.join(RULE_EVENTS)})")
            attributes = _case_attributes()
            for key in rule.when:
                if key not in attributes:
                    self.add("unknown_case_attribute", where,
                             f"tests '{key}' in 'when', which is not an attribute of a case"
                             + _suggest(key, attributes))
            self.effects(where, rule.effects)
            transition = d.transitions.get(rule.fire)
            if transition is None:
                self.add("unknown_trigger", where, f"fires unknown trigger '{rule.fire}'"
                         + _suggest(rule.fire, d.transitions))
                continue
            if rule.on == "create" and d.initial in d.states \
                    and d.initial not in transition.sources:
                self.add("rule_cannot_fire", where,
                         f"fires '{rule.fire}' when a case is created, but that trigger cannot "
                         f"fire from the initial state '{d.initial}'")
            missing = [f for f in transition.requires if f not in rule.data]
            if missing:
                self.add("rule_missing_data", where,
                         f"fires '{rule.fire}' without the data it requires: {_list(missing)}")

    def check_vocabulary(self) -> None:
        """[vocabulary]: each meaning the code knows, bound to a name of the right kind; each
        meaning a guard or fact needs, declared."""
        d = self.d
        where = "vocabulary"
        for meaning, value in d.vocabulary.items():
            kind = VOCABULARY.get(meaning)
            if kind is None:
                self.add("unknown_meaning", where, f"binds '{meaning}', which no code reads"
                         + _suggest(meaning, VOCABULARY), key=meaning)
            elif kind == "action" and value not in d.actions:
                self.add("unknown_action", where, f"binds '{meaning}' to unknown action "
                         f"'{value}'" + _suggest(str(value), d.actions), key=meaning)
            elif kind == "choice":
                fd = d.fields.get(value.get("field", "")) if isinstance(value, dict) else None
                if fd is None or value.get("value") not in fd.choices:
                    self.add("unknown_choice", where, f"binds '{meaning}' to "
                             f"{value!r}, which is not a field's choice", key=meaning)
        needed: dict[str, str] = {}
        for t in d.transitions.values():
            for ref in (*t.guards, *t.warns):
                needed.update(dict.fromkeys(registry.GUARD_NEEDS.get(ref.name, ()),
                                            f"trigger '{t.trigger}'"))
        for a in d.actions.values():
            for ref in (*a.guards, *a.warns):
                needed.update(dict.fromkeys(registry.GUARD_NEEDS.get(ref.name, ()),
                                            f"action '{a.name}'"))
            for other in a.not_before.values():
                needed.update(dict.fromkeys(registry.FACT_NEEDS.get(other, ()),
                                            f"action '{a.name}'"))
        for meaning, user in sorted(needed.items()):
            if meaning not in d.vocabulary:
                self.add("missing_meaning", user, f"relies on '{meaning}', which [vocabulary] "
                         "does not bind")

    def check_agreement(self) -> None:
        if self.d.agreement is None:
            return
        where = "the agreement"
        self.states(where, "states", self.d.agreement.states)
        self.roles(where, "roles", self.d.agreement.roles)
        if not self.d.agreement.roles:
            self.add("no_roles", where, "declares no role that may draft or sign it "
                     "(deny by default)", severity="warning")

    # -- the state graph ---------------------------------------------------------------------

    def check_graph(self) -> None:
        d = self.d
        edges: dict[str, set[str]] = {s: set() for s in d.states}
        for t in d.transitions.values():
            if t.dest not in d.states:
                continue
            for source in t.sources:
                if source in d.states:
                    edges[source].add(t.dest)

        if d.initial in d.states:
            reachable = _closure([d.initial], edges)
            for name in d.states:
                if name not in reachable:
                    self.add("unreachable_state", f"state '{name}'",
                             f"cannot be reached from the initial state '{d.initial}'")

        for name, state in d.states.items():
            if not state.terminal and not edges[name]:
                self.add("dead_end", f"state '{name}'",
                         "is not terminal but no trigger leads out of it")

        terminals = [name for name, state in d.states.items() if state.terminal]
        if not terminals:
            return  # reported once as ``no_terminal``
        reverse: dict[str, set[str]] = {s: set() for s in d.states}
        for source, dests in edges.items():
            for dest in dests:
                reverse[dest].add(source)
        can_end = _closure(terminals, reverse)
        for name in d.states:
            if name not in can_end and edges[name]:
                self.add("no_terminal_reachable", f"state '{name}'",
                         "leads to no terminal state: a case there could never end")


def _closure(start: Iterable[str], edges: dict[str, set[str]]) -> set[str]:
    """Every node reachable from ``start`` (included) along ``edges``."""
    seen = set(start)
    todo = list(seen)
    while todo:
        for nxt in edges[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _case_attributes() -> list[str]:
    """The attributes of a case a rule's ``when`` may test (the application registers them)."""
    registry.ensure_loaded()
    return sorted(registry.CASE_ATTRIBUTES)


def _list(names: Iterable[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def _suggest(name: str, known: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_definition(definition: Definition) -> list[Problem]:
    """Every problem of ``definition``'s meaning, in file order; empty when it may be used."""
    registry.ensure_loaded()
    return _Checker(definition).run()


def default_directory() -> Path:
    """The folder the app loads definitions from: ``$MEDIATION_WORKFLOWS`` or the shipped one."""
    configured = os.environ.get(WORKFLOWS_ENV)
    return Path(configured) if configured else data_dir("workflows")


def definition_files(directory: Path) -> list[Path]:
    """The definition files of ``directory``, in the order the app loads them."""
    return sorted(directory.glob("*.toml"))


def check_paths(paths: Iterable[str | Path]) -> dict[str, list[str]]:
    """Check files (a folder stands for its ``*.toml``): each path → its problems' texts.

    Problems of shape (from :class:`DefinitionError`), unreadable files and two files
    defining the same workflow are reported alongside the problems of meaning.
    """
    results: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for given in paths:
        path = Path(given)
        files = definition_files(path) if path.is_dir() else [path]
        if path.is_dir() and not files:
            results[str(path)] = ["The folder holds no workflow definition (*.toml)."]
        for file in files:
            key = str(file)
            try:
                raw = file.read_bytes()
            except OSError as exc:
                results[key] = [f"The file cannot be read: {exc.strerror or exc}."]
                continue
            try:
                definition = parse_definition(raw, key)
            except DefinitionError as exc:
                results[key] = [f"{p[:1].upper()}{p[1:]}." for p in exc.problems]
                continue
            texts = [p.text for p in check_definition(definition)]
            if definition.name in names and names[definition.name] != key:
                texts.append(f"The definition is called '{definition.name}', like "
                             f"{names[definition.name]}: workflow names must be unique.")
            names.setdefault(definition.name, key)
            results[key] = texts
    return results


def report_lines(results: dict[str, list[str]]) -> tuple[list[str], bool]:
    """The lines the CLI prints for :func:`check_paths` results, and whether all are clean."""
    lines: list[str] = []
    clean = True
    for path, texts in results.items():
        if texts:
            clean = False
            lines.extend(f"{path}: {text}" for text in texts)
        else:
            lines.append(f"{path}: ok")
    count = sum(len(t) for t in results.values())
    lines.append(f"{len(results)} definition(s) checked, "
                 f"{count} problem{'s' if count != 1 else ''} found.")
    return lines, clean
