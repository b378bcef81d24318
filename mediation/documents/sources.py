"""What a case holds, as the context builders may read it.

:class:`CaseSources` gathers the case, its parties, agreement, events, the labels of its pinned
workflow definition and the names of the users in its trail, loaded once per render. A builder
reads nothing else: no session, no clock, no environment, so the same facts always give the same
context and the same PDF bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.auth.models import User
from mediation.cases.models import Agreement, Case, Party
from mediation.security import FieldCipher
from mediation.stats.queries import Definitions
from mediation.workflow.definition import Definition
from mediation.workflow.models import Event
from mediation.workflow.store import PinnedVersions

SYSTEM_ACTOR = "system"


# -- workflow labels ----------------------------------------------------------------------------

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
             store: Definitions | None = None, until_seq: int | None = None) -> CaseSources:
        """Read the case's events (up to ``until_seq`` when given: the record as it stood
        then), the labels of its pinned definition (from ``store``, else from the pinned
        text) and the names of the users the events mention."""
        query = select(Event).where(Event.case_id == case.id)
        if until_seq is not None:
            query = query.where(Event.seq <= until_seq)
        events = list(session.scalars(query.order_by(Event.seq)))
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

    def attachments(self, kinds: set[str | None]) -> list[Event]:
        """The files attached, of the ``kinds`` given (None: attached without a kind)."""
        return [e for e in self.actions("attach_file") if e.data.get("kind") in kinds]

    def closing_event(self) -> Event | None:
        """The transition that closed the case (into a terminal state), if it is closed."""
        return next((e for e in reversed(self.events) if e.kind == "transition"
                     and e.to_state in self.labels.terminal), None)

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


