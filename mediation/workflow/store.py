"""Definitions in use: the current file of each workflow, every version ever pinned by a case,
and one ``transitions`` machine per version, built once."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from transitions import Machine, MachineError

from mediation.i18n import msg
from mediation.resources import data_dir
from mediation.timeutil import utcnow
from mediation.workflow.definition import Definition, DefinitionError, parse_definition
from mediation.workflow.models import DefinitionVersion


class WrongState(Exception):
    """The trigger cannot fire from the case's state."""


class WorkflowMachine:
    """A ``transitions`` machine for one definition version, shared by every case on it.

    Cases are not added to the machine as models (that would mean one machine per row); a
    light holder carries the state through ``Event.trigger`` instead, so the machine alone
    decides whether a trigger fires from a state and where it leads.
    """

    class _Holder:
        __slots__ = ("state",)

        def __init__(self, state: str):
            self.state = state

    def __init__(self, definition: Definition):
        self.definition = definition
        # What the machine answered for each (state, trigger) asked so far: it never changes
        # for a version, so each is asked once (None: the trigger cannot fire from there).
        self._next: dict[tuple[str, str], str | None] = {}
        self.machine = Machine(
            model=None,
            states=list(definition.states),
            transitions=[
                {"trigger": t.trigger, "source": list(t.sources), "dest": t.dest}
                for t in definition.transitions.values()
            ],
            initial=None,
            auto_transitions=False,
            send_event=True,
        )

    def next_state(self, state: str, trigger: str) -> str:
        """Where ``trigger`` leads from ``state``; :class:`WrongState` if it cannot fire."""
        key = (state, trigger)
        try:
            dest = self._next[key]
        except KeyError:
            holder = self._Holder(state)
            try:
                self.machine.events[trigger].trigger(holder)
                dest = holder.state
            except (MachineError, KeyError):
                dest = None
            self._next[key] = dest
        if dest is None:
            raise WrongState(trigger)
        return dest

    def triggers(self, state: str) -> list[str]:
        """Triggers that may fire from ``state``, in the definition's order."""
        possible = set(self.machine.get_triggers(state))
        return [t for t in self.definition.transitions if t in possible]


class PinnedVersions:
    """Definitions read back from the text stored with each pinned version
    (``DefinitionVersion.source``), parsed once per process."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], Definition] = {}
        self._lock = threading.Lock()

    def remember(self, definition: Definition) -> None:
        """Know ``definition`` without reading it back (the files the process loaded)."""
        with self._lock:
            self._cache[(definition.name, definition.version)] = definition

    def get(self, session: Session, name: str, version: str) -> Definition:
        """The definition ``name`` at ``version``; ``LookupError`` if no case pinned it."""
        key = (name, version)
        found = self._cache.get(key)
        if found is None:
            source = session.scalar(select(DefinitionVersion.source).where(
                DefinitionVersion.name == name, DefinitionVersion.version == version))
            if source is None:
                raise LookupError(msg("没有名为“%(name)s”的流程", name=f"{name}@{version}").render("en"))
            found = parse_definition(source.encode("utf-8"), f"{name}@{version}")
            self.remember(found)
        return found


class DefinitionStore:
    """Loads workflows/ once; finds pinned versions in the database when a file has moved on."""

    def __init__(self, directory: Path | None = None):
        self.directory = directory or data_dir("workflows")
        self._current: dict[str, Definition] = {}
        self._versions = PinnedVersions()
        self._machines: dict[tuple[str, str], WorkflowMachine] = {}
        self._lock = threading.Lock()
        self._pinned: set[tuple[str, str]] = set()  # versions known to be in the database
        self.load()

    def load(self) -> None:
        """Read every ``*.toml`` in the folder (each must pass ``workflows check``)."""
        from mediation.workflow.check import check_definition

        for path in sorted(self.directory.glob("*.toml")):
            definition = parse_definition(path.read_bytes(), str(path))
            problems = [p for p in check_definition(definition) if p.severity == "error"]
            if problems:
                raise DefinitionError(str(path), [p.text for p in problems])
            self._current[definition.name] = definition
            self._versions.remember(definition)

    def names(self) -> list[str]:
        """Names of the workflows in use."""
        return list(self._current)

    def current(self, name: str) -> Definition:
        """The current definition called ``name``; ``KeyError`` if none."""
        return self._current[name]

    def all_current(self) -> list[Definition]:
        """Every current definition."""
        return list(self._current.values())

    def get(self, session: Session, name: str, version: str) -> Definition:
        """The definition a case is pinned to, from memory or from the database."""
        return self._versions.get(session, name, version)

    def pin(self, session: Session, definition: Definition) -> None:
        """Make sure the text of ``definition`` is in the database before a case uses it."""
        key = (definition.name, definition.version)
        if key in self._pinned:
            return
        exists = session.scalar(select(DefinitionVersion.version).where(
            DefinitionVersion.name == definition.name,
            DefinitionVersion.version == definition.version))
        if exists is None:
            # Two first cases at once may both get here: the second insert does nothing.
            insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
            session.execute(insert(DefinitionVersion).values(
                name=definition.name, version=definition.version, source=definition.source,
                created_at=utcnow()).on_conflict_do_nothing())
        else:
            self._pinned.add(key)

    def machine(self, definition: Definition) -> WorkflowMachine:
        """The machine of ``definition``'s version, built on first use."""
        key = (definition.name, definition.version)
        machine = self._machines.get(key)
        if machine is None:
            with self._lock:
                machine = self._machines.get(key)
                if machine is None:
                    machine = WorkflowMachine(definition)
                    self._machines[key] = machine
        return machine
