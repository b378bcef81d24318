"""Transitions per second through the workflow engine, beside the same statements bare.

Three ways to move the same cases along the same triggers, one transaction per transition,
on the same database:

- engine: ``Runtime.engine.fire(...)`` in a session of its own, committed, as a request, a
  command or a job does it (scope, role, data and guard checks, the ORM session);
- bare: the statements the engine emits for that transition (captured once with SQLAlchemy's
  ``before_cursor_execute`` event and compared with the bare ones, shape by shape), issued
  with SQLAlchemy Core on a connection: read the case row with its grid and handler, check
  its version and state, update it with the next version and chain head, insert the event
  with its SHA-256 chain hash, cancel and set deadlines, queue outbox rows when the trigger
  has effects, commit;
- floor: the same statements prepared once and run on the DBAPI cursor, as the engine runs
  them (mediation.workflow.fastpath): what these statements cost with no engine at all.

The ratio engine/bare is the price of the engine (goal: at most 1.5); floor/engine says how
far the engine is from its own statements. Every path writes the same rows, so every record
is verified at the end (chain, case row, chain head). Runs on SQLite (a file in a temporary
folder) and, when it answers on 127.0.0.1:5432, on PostgreSQL (a throwaway database made and
dropped here). The cycle of triggers comes from the definition: the shortest loop of
guard-free triggers reachable from the initial state (for ``aunt_whistle``: escalate, then
return to the grid, forever), fired by a user the permission rules allow.

    .venv/bin/python bench/bench_engine.py [--transitions 3000] [--seconds 10] [--profile]

Prints figures; never asserts times.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import secrets
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import bindparam, event, insert, select, update
from sqlalchemy.engine import Connection

from mediation.auth.models import ROLES, User
from mediation.auth.operations import create_user
from mediation.cases.evidence import verify_record
from mediation.cases.models import Case
from mediation.cases.operations import create_case
from mediation.config import Config
from mediation.orgs.models import OrgUnit
from mediation.orgs.operations import add_org_unit
from mediation.runtime import Runtime
from mediation.timeutil import utcnow
from mediation.workflow import registry
from mediation.workflow.audit import GENESIS, canonical, chain_hash, image
from mediation.workflow.definition import Definition, TransitionDef
from mediation.workflow.fastpath import Runner, Statements
from mediation.workflow.models import Deadline, Event, OutboxRow

WORKFLOW = "aunt_whistle"
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
CASES = 40  # cases the cycle turns over, round robin
CHUNK = 250  # transitions per timed chunk; engine and bare chunks alternate
WARMUP = 120  # transitions per path before timing

# The org tree of the bench: one unit of each kind, and where each role's user sits.
UNITS = [("BD", "基准区", "district", None), ("BS", "基准街道", "street", "BD"),
         ("BC", "基准社区", "community", "BS"), ("BG", "基准一号网格", "grid", "BC")]
ROLE_UNIT = {"volunteer": "BG", "reviewer": "BS"}  # every other role: the district
PARTIES = [
    {"role": "applicant", "kind": "person", "name": "张桂芳", "address": "基准社区3幢401室",
     "phone": "13857112345", "id_number": "330103195803120027"},
    {"role": "respondent", "kind": "person", "name": "李建国", "address": "基准社区3幢501室",
     "phone": "13900001111", "id_number": "330103197501010016"},
]


# -- the cycle ---------------------------------------------------------------------------------

def _usable(definition: Definition, tdef: TransitionDef) -> bool:
    """A trigger the bench can fire forever: no guards, no inline effects, no terminal end,
    deadlines counted from entering the state."""
    dest = definition.state(tdef.dest)
    return (not tdef.guards and not dest.terminal
            and all(not registry.EFFECTS[e.name].inline for e in tdef.effects)
            and all(d.anchor == "entered" for d in dest.deadlines))


def find_cycle(definition: Definition) -> tuple[list[str], list[str]]:
    """(prefix, cycle): triggers from the initial state to the nearest state on a loop, and
    the shortest loop of triggers from there back to it."""
    edges: dict[str, list[tuple[str, str]]] = {}
    for tdef in definition.transitions.values():
        if _usable(definition, tdef):
            for src in tdef.sources:
                edges.setdefault(src, []).append((tdef.trigger, tdef.dest))

    def paths_from(start: str) -> dict[str, list[str]]:
        seen = {start: []}
        queue = deque([start])
        while queue:
            state = queue.popleft()
            for trigger, dest in edges.get(state, []):
                if dest not in seen:
                    seen[dest] = [*seen[state], trigger]
                    queue.append(dest)
        return seen

    for state, prefix in paths_from(definition.initial).items():
        best: list[str] | None = None
        for trigger, dest in edges.get(state, []):
            back = paths_from(dest).get(state)
            if back is not None and (best is None or len(back) + 1 < len(best)):
                best = [trigger, *back]
        if best:
            return prefix, best
    raise SystemExit(f"bench: {definition.name} has no loop of guard-free triggers")


def sample_data(definition: Definition, tdef: TransitionDef,
                usernames: dict[str, str]) -> dict[str, Any]:
    """Valid data for every field ``tdef`` requires."""
    data: dict[str, Any] = {}
    for name in tdef.requires:
        fd = definition.fields[name]
        data[name] = {
            "text": lambda fd: f"基准测试：{fd.label.zh}",
            "confirm": lambda fd: True,
            "date": lambda fd: date.today().isoformat(),
            "choice": lambda fd: fd.choices[0],
            "names": lambda fd: ["张桂芳", "李建国"],
            "user": lambda fd: usernames[fd.role or "volunteer"],
        }[fd.type](fd)
    return data


@dataclass
class Step:
    """One trigger of the cycle: who fires it, with what, and what the bare path writes."""

    trigger: str
    actor: User
    data: dict[str, Any]
    sources: frozenset[str]
    dest: str
    assign: str | None
    terminal: bool
    deadlines: list[dict[str, Any]]
    effects: list[tuple[str, dict[str, Any]]]


@dataclass
class Tracker:
    """Where each case is in the cycle, and its version (the ``expected_version`` sent)."""

    steps: list[Step]
    case_ids: list[int]
    step: list[int] = field(default_factory=list)
    version: list[int] = field(default_factory=list)
    turn: int = 0

    def next(self) -> tuple[int, int, Step]:
        """The next (index, case id, step), round robin over the cases."""
        i = self.turn % len(self.case_ids)
        self.turn += 1
        return i, self.case_ids[i], self.steps[self.step[i]]

    def done(self, i: int) -> None:
        """Case ``i`` moved on."""
        self.step[i] = (self.step[i] + 1) % len(self.steps)
        self.version[i] += 1


# -- the two paths -----------------------------------------------------------------------------

class EnginePath:
    """One transition through the engine: a session, ``fire``, commit."""

    def __init__(self, rt: Runtime, tracker: Tracker):
        self.rt = rt
        self.tracker = tracker

    def __call__(self) -> None:
        i, case_id, step = self.tracker.next()
        with self.rt.db.session() as session:
            self.rt.engine.fire(session, case_id, step.trigger, actor=step.actor,
                                data=step.data, expected_version=self.tracker.version[i])
        self.tracker.done(i)


class BarePath:
    """The same transition as the engine's statements on a connection, with only the Python
    needed to compute their parameters: through SQLAlchemy Core (``conn.execute`` of the same
    Core statements), or, with ``dbapi=True``, prepared once and run on the DBAPI cursor as the
    engine runs them (:mod:`mediation.workflow.fastpath`) — the floor of these statements."""

    def __init__(self, rt: Runtime, tracker: Tracker, *, dbapi: bool = False):
        self.rt = rt
        self.tracker = tracker
        self.dbapi = dbapi
        cases, units, users = Case.__table__, OrgUnit.__table__, User.__table__
        events, deadlines = Event.__table__, Deadline.__table__
        grid, handler = units.alias("grid"), users.alias("handler")
        # The engine loads the case with its grid and handler, one statement.
        lock = (select(*cases.c, *grid.c, *handler.c)
                .select_from(cases.join(grid, grid.c.id == cases.c.grid_id)
                             .outerjoin(handler, handler.c.id == cases.c.assignee_id))
                .where(cases.c.id == bindparam("b_case_id")))
        if rt.db.engine.dialect.name != "sqlite":
            lock = lock.with_for_update(of=cases)
        self.keys = [c.key for c in cases.c]
        # assign = "previous": who had the case when it was last in the destination state
        previous = select(*users.c).where(users.c.username == (
            select(events.c.handler)
            .where(events.c.case_id == bindparam("b_case_id"),
                   events.c.to_state == bindparam("b_state"))
            .order_by(events.c.seq.desc()).limit(1).scalar_subquery()))
        outbox = OutboxRow.__table__
        self.core: dict[Any, Any] = {
            "lock": (lock, None, (*cases.c, *grid.c, *handler.c)),
            "previous": (previous, None, tuple(users.c)),
            "event": (insert(events), [c.key for c in events.c], ()),
            "cancel": (update(deadlines)
                       .where(deadlines.c.case_id == bindparam("b_case_id"),
                              deadlines.c.fired_at.is_(None), deadlines.c.cancelled_at.is_(None))
                       .values(cancelled_at=bindparam("now")), None, ()),
            "deadline": (insert(deadlines), ["case_id", "state", "kind", "trigger", "due_at",
                                             "reason", "reason_en", "created_at"], ()),
            "outbox": (insert(outbox).returning(outbox.c.id),
                       ["case_id", "event_seq", "effect", "payload", "created_at",
                        "available_at", "attempts"], (outbox.c.id,)),
        }
        self.update_case = update(cases).where(cases.c.id == bindparam("b_id"),
                                               cases.c.version == bindparam("b_version"))
        self.prepared = Statements(self._build)

    def _build(self, key: Any) -> Any:
        if isinstance(key, tuple):
            return self.update_case, key[1], ()
        return self.core[key]

    def __call__(self) -> None:
        i, case_id, step = self.tracker.next()
        with self.rt.db.engine.begin() as conn:
            self.transition(conn, case_id, step, self.tracker.version[i])
        self.tracker.done(i)

    # the three kinds of statement, through Core or on the DBAPI cursor
    def _one(self, conn: Connection, key: Any, params: dict[str, Any]) -> Any:
        if self.dbapi:
            return runner_for(conn).execute(self.prepared.get(conn.dialect, key), params)
        result = conn.execute(self._build(key)[0], params)
        return result.first() if result.returns_rows else None

    def _run(self, conn: Connection, key: Any, params: dict[str, Any]) -> int:
        if self.dbapi:
            return runner_for(conn).rowcount(self.prepared.get(conn.dialect, key), params)
        return int(conn.execute(self._build(key)[0], params).rowcount)

    def _many(self, conn: Connection, key: Any, rows: list[dict[str, Any]]) -> None:
        if self.dbapi:
            runner_for(conn).many(self.prepared.get(conn.dialect, key), rows)
        elif rows:
            conn.execute(self._build(key)[0], rows)

    def transition(self, conn: Connection, case_id: int, step: Step, expected: int) -> None:
        """Lock, check, update with the chain head, insert the event, replace deadlines,
        queue effects."""
        now = utcnow()
        row = self._one(conn, "lock", {"b_case_id": case_id})
        if row is None:
            raise LookupError(case_id)
        case = dict(zip(self.keys, row[:len(self.keys)], strict=True))
        if case["version"] != expected or case["state"] not in step.sources:
            raise RuntimeError(f"case {case_id}: version or state moved under the bench")
        values: dict[str, Any] = {"state": step.dest, "state_entered_at": now, "updated_at": now}
        data = dict(step.data)
        handler = None
        if step.assign == "clear":
            values["assignee_id"] = None
            data["assignee"] = None
        elif step.assign == "previous":
            found = self._one(conn, "previous", {"b_case_id": case_id, "b_state": step.dest})
            values["assignee_id"] = found[0] if found else None
            handler = data["assignee"] = found[1] if found else None
        elif step.assign == "actor":
            values["assignee_id"] = step.actor.id
            handler = data["assignee"] = step.actor.username
        if step.terminal:
            values["closed_at"] = now
        rows = [{"case_id": case_id, "state": step.dest, "kind": d["kind"],
                 "trigger": d["trigger"], "due_at": now + d["after"], "reason": d["reason"],
                 "reason_en": d["reason_en"], "created_at": now} for d in step.deadlines]
        values["due_at"] = min(r["due_at"] for r in rows) if rows else None
        values["overdue_at"] = None
        values["version"] = seq = expected + 1
        prev = case["chain_head"] or GENESIS
        actor = step.actor.username
        changes = {"case": image(values)}  # what the transition changed in the case row
        digest = chain_hash(prev, canonical(case["report_no"], seq, now, actor, "transition",
                                            step.trigger, case["state"], step.dest, data,
                                            handler, changes))
        written = {**values, "chain_head": digest}
        if self._run(conn, ("update", tuple(sorted(written))),
                     {**written, "b_id": case_id, "b_version": expected}) != 1:
            raise RuntimeError(f"case {case_id}: version moved under the bench")
        self._one(conn, "event", {
            "case_id": case_id, "seq": seq, "at": now, "actor": actor, "kind": "transition",
            "name": step.trigger, "from_state": case["state"], "to_state": step.dest,
            "data": data, "handler": handler, "changes": changes, "prev_hash": prev,
            "hash": digest})
        self._run(conn, "cancel", {"b_case_id": case_id, "now": now})
        self._many(conn, "deadline", rows)
        for name, params in step.effects:
            self._one(conn, "outbox", {
                "case_id": case_id, "event_seq": seq, "effect": name, "payload": params,
                "created_at": now, "available_at": now, "attempts": 0})


def runner_for(conn: Connection) -> Runner:
    """The fast-path runner of a connection (kept on it for its transaction)."""
    found = conn.info.get("bench.runner")
    if found is None or found.conn is not conn:
        found = conn.info["bench.runner"] = Runner(conn)
    return found  # type: ignore[no-any-return]


# -- setting up --------------------------------------------------------------------------------

@contextmanager
def database(backend: str) -> Iterator[str]:
    """A URL for an empty database of ``backend``, removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="mediation-bench-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        return
    import psycopg
    from psycopg import sql

    name = f"mediation_bench_{os.getpid()}_{secrets.token_hex(4)}"
    info = dict(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", connect_timeout=2)
    with psycopg.connect(**info, autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0")
                     .format(sql.Identifier(name)))
    try:
        yield f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with psycopg.connect(**info, autocommit=True) as conn:  # type: ignore[arg-type]
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                         .format(sql.Identifier(name)))


def postgres_answers() -> bool:
    """Whether PostgreSQL answers on 127.0.0.1:5432."""
    try:
        import psycopg

        psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres",
                        connect_timeout=2).close()
    except Exception:
        return False
    return True


def build(rt: Runtime, n_cases: int) -> Tracker:
    """Org tree, one user per role, and ``n_cases`` cases walked to the start of the cycle."""
    rt.db.create_all()
    definition = rt.store.current(WORKFLOW)
    prefix, cycle = find_cycle(definition)
    with rt.db.session() as s:
        for code, name, kind, parent in UNITS:
            add_org_unit(s, code, name=name, kind=kind, parent_code=parent)
        for role in ROLES:
            create_user(s, f"bench_{role}", role=role, org_code=ROLE_UNIT.get(role, "BD"),
                        password=secrets.token_hex(8), full_name=f"基准{role}")
    with rt.db.session() as s:
        users = list(s.scalars(select(User).order_by(User.id)))
    usernames = {u.role: u.username for u in users}
    body = {"workflow": WORKFLOW, "grid": "BG", "category": "邻里", "risk_level": "medium",
            "title": "楼上卫生间漏水致楼下天花板受损", "description": "基准测试案件",
            "parties": PARTIES}
    volunteer = next(u for u in users if u.org_unit.kind == "grid")
    case_ids = []
    for _ in range(n_cases):
        with rt.db.session() as s:
            case, _ = create_case(s, rt.engine, dict(body), actor=s.merge(volunteer))
            case_ids.append(case.id)

    def allowed(case_id: int, trigger: str) -> User:
        with rt.db.session() as s:
            case = s.get(Case, case_id)
            assert case is not None
            for user in users:
                tdefs = rt.engine.available_triggers(s, case, s.merge(user))
                if trigger in {t.trigger for t in tdefs}:
                    return user
        raise SystemExit(f"bench: nobody may fire {trigger} on case {case_id}")

    def fire(case_id: int, trigger: str, user: User) -> None:
        with rt.db.session() as s:
            rt.engine.fire(s, case_id, trigger, actor=s.merge(user),
                           data=sample_data(definition, definition.transitions[trigger],
                                            usernames))

    for trigger in prefix:
        user = allowed(case_ids[0], trigger)
        for case_id in case_ids:
            fire(case_id, trigger, user)
    steps = []
    probe = case_ids[0]
    for trigger in cycle:  # who may fire each step, found by walking one case round the loop
        tdef = definition.transitions[trigger]
        user = allowed(probe, trigger)
        dest = definition.state(tdef.dest)
        steps.append(Step(
            trigger=trigger, actor=user, data=sample_data(definition, tdef, usernames),
            sources=frozenset(tdef.sources), dest=tdef.dest, assign=tdef.assign,
            terminal=dest.terminal,
            deadlines=[{"kind": d.kind, "trigger": d.fire, "after": d.after,
                        "reason": d.reason.zh, "reason_en": d.reason.en}
                       for d in dest.deadlines],
            effects=[(e.name, dict(e.params)) for e in tdef.effects]))
        fire(probe, trigger, user)
    # the probe went once round the loop: it is back at the start like the others
    with rt.db.session() as s:
        versions = {c.id: c.version for c in s.scalars(select(Case))}
    tracker = Tracker(steps, case_ids)
    tracker.step = [0] * len(case_ids)
    tracker.version = [versions[c] for c in case_ids]
    return tracker


# -- measuring ---------------------------------------------------------------------------------

_SHAPE = re.compile(r"^\s*(SELECT .*?\sFROM\s+(\w+)|UPDATE (\w+)|INSERT INTO (\w+)|BEGIN\w*|\w+)",
                    re.S)


def shape(statement: str) -> str:
    """``SELECT cases``, ``UPDATE deadlines``, ``INSERT INTO events``...: what a statement
    does to which table (joins, columns and bound values left out)."""
    m = _SHAPE.match(statement)
    if m is None:
        return statement[:30]
    verb = statement.split(None, 1)[0].upper()
    table = m.group(2) or m.group(3) or m.group(4) or ""
    if verb == "BEGIN":
        return statement.strip().upper()
    lock = " FOR UPDATE" if "FOR UPDATE" in statement.upper() else ""
    return f"{verb} {table}{lock}".strip()


def statements(rt: Runtime, run: Callable[[], None], n: int) -> list[list[str]]:
    """The shapes of the statements ``run`` issues, transition by transition, over ``n``
    transitions."""
    seen: list[list[str]] = []

    def listen(conn: Any, cursor: Any, stmt: str, *args: Any) -> None:
        seen[-1].append(shape(stmt))

    event.listen(rt.db.engine, "before_cursor_execute", listen)
    try:
        for _ in range(n):
            seen.append([])
            run()
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", listen)
    return seen


@dataclass
class Figures:
    """Transitions and seconds of one path."""

    transitions: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Transitions per second."""
        return self.transitions / self.seconds if self.seconds else 0.0


def measure(paths: dict[str, Callable[[], None]], limit: int, seconds: float
            ) -> dict[str, Figures]:
    """Alternate timed chunks of each path until each has ``limit`` transitions or has used
    ``seconds`` (alternating spreads the growth of the tables and the machine's noise)."""
    figures = {name: Figures() for name in paths}
    while True:
        active = [n for n, f in figures.items() if f.transitions < limit and f.seconds < seconds]
        if not active:
            return figures
        for name in active:
            fig, run = figures[name], paths[name]
            todo = min(CHUNK, limit - fig.transitions)
            start = time.perf_counter()
            for _ in range(todo):
                run()
            fig.seconds += time.perf_counter() - start
            fig.transitions += todo


def profile(run: Callable[[], None], n: int, top: int) -> str:
    """cProfile of ``n`` engine transitions: the functions with the most own and total time."""
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        run()
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


class Clients:
    """``count`` client processes on one database, each moving its own cases along the cycle;
    the parent tells them all to run a chunk of one path and times until the last is done."""

    def __init__(self, url: str, instance: Path, tracker: Tracker, count: int):
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self.pipes = []
        self.procs = []
        per = len(tracker.case_ids) // count
        for k in range(count):
            parent, child = ctx.Pipe()
            sl = slice(k * per, (k + 1) * per)
            sub = Tracker(tracker.steps, tracker.case_ids[sl], list(tracker.step[sl]),
                          list(tracker.version[sl]))
            proc = ctx.Process(target=_client, args=(url, instance, sub, child), daemon=True)
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)
        for pipe in self.pipes:
            pipe.recv()  # ready

    def run(self, path: str, each: int) -> float:
        """Every client runs ``each`` transitions of ``path``; the wall time."""
        start = time.perf_counter()
        for pipe in self.pipes:
            pipe.send((path, each))
        for pipe in self.pipes:
            pipe.recv()
        return time.perf_counter() - start

    def close(self) -> None:
        """Stop the clients."""
        for pipe in self.pipes:
            pipe.send(None)
        for proc in self.procs:
            proc.join(30)


def _client(url: str, instance: Path, tracker: Tracker, pipe: Any) -> None:
    rt = Runtime(Config(instance=instance, database_url=url, secret_key="bench-secret",
                        run_jobs_inline=False))
    paths = make_paths(rt, tracker)
    pipe.send("ready")
    while True:
        cmd = pipe.recv()
        if cmd is None:
            break
        path, each = cmd
        for _ in range(each):
            paths[path]()
        pipe.send("done")
    rt.close()


def measure_clients(clients: Clients, count: int, limit: int, seconds: float
                    ) -> dict[str, Figures]:
    """Alternate chunks of each path on every client until each path has ``limit``
    transitions or has used ``seconds``."""
    figures = {name: Figures() for name in PATHS}
    each = max(CHUNK // count, 20)
    while True:
        active = [k for k, f in figures.items() if f.transitions < limit and f.seconds < seconds]
        if not active:
            return figures
        for name in active:
            figures[name].seconds += clients.run(name, each)
            figures[name].transitions += each * count


PATHS = ("engine", "bare", "floor")


def make_paths(rt: Runtime, tracker: Tracker) -> dict[str, Callable[[], None]]:
    """The engine, its statements through Core, its statements on the DBAPI cursor."""
    return {"engine": EnginePath(rt, tracker), "bare": BarePath(rt, tracker),
            "floor": BarePath(rt, tracker, dbapi=True)}


Result = tuple[dict[str, Figures], float]


def bench(backend: str, args: argparse.Namespace) -> dict[int, Result]:
    """Set up ``backend``, check every path issues the engine's statements, measure them with
    one client and with ``args.clients`` clients: {clients: ({path: figures}, statements
    each)}."""
    out: dict[int, Result] = {}
    with database(backend) as url, tempfile.TemporaryDirectory() as inst:
        rt = Runtime(Config(instance=Path(inst), database_url=url, secret_key="bench-secret",
                            run_jobs_inline=False))
        try:
            tracker = build(rt, args.cases * max(1, args.clients))
            paths = make_paths(rt, tracker)
            per_cycle = len(tracker.steps) * len(tracker.case_ids)
            for run in paths.values():
                for _ in range(max(args.warmup, per_cycle)):
                    run()
            # every case once round the cycle: each step of the cycle is seen
            n = per_cycle
            shapes = {name: statements(rt, run, n) for name, run in paths.items()}
            each = shapes["engine"]
            a = [x for one in each for x in one]
            steps = " → ".join(s.trigger for s in tracker.steps)
            print(f"{backend}: cycle {steps} (repeating) on {len(tracker.case_ids)} cases; "
                  f"{len(a) / n:.1f} statements per transition", file=sys.stderr)
            for name in ("bare", "floor"):
                b = [x for one in shapes[name] for x in one]
                if a != b:
                    print(f"{backend}: WARNING the {name} path does not issue the engine's "
                          "statements", file=sys.stderr)
                    for x, y in zip(a + [""] * len(b), b + [""] * len(a), strict=False):
                        if x or y:
                            print(f"    engine: {x:<32} {name}: {y}", file=sys.stderr)
            if args.show_sql:  # one turn of the cycle: the first case at each step
                for k, step in enumerate(tracker.steps):
                    print(f"  {step.trigger}: " + ", ".join(each[k * len(tracker.case_ids)]),
                          file=sys.stderr)
            out[1] = (measure(paths, args.transitions, args.seconds), len(a) / n)
            if args.profile:
                print(f"\n== cProfile, engine path, {backend}, {args.profile_n} transitions",
                      file=sys.stderr)
                print(profile(paths["engine"], args.profile_n, args.profile_top),
                      file=sys.stderr)
            if args.clients > 1:
                rt.db.engine.dispose()
                clients = Clients(url, Path(inst), tracker, args.clients)
                try:
                    many = measure_clients(clients, args.clients, args.transitions, args.seconds)
                finally:
                    clients.close()
                out[args.clients] = (many, len(a) / n)
            with rt.db.session() as s:
                report = [(r.id, r.report_no) for r in s.execute(select(Case.id, Case.report_no))]
                broken = [no for cid, no in report if verify_record(s, cid).problems]
            if broken:
                print(f"{backend}: WARNING broken records: {', '.join(broken)}", file=sys.stderr)
            return out
        finally:
            rt.close()


def main(argv: list[str] | None = None) -> int:
    """Run on every backend that answers and print the P1 lines."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transitions", type=int, default=3000,
                        help="transitions per path and backend at most (default 3000)")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="seconds per path and backend at most (default 10)")
    parser.add_argument("--cases", type=int, default=CASES, help="cases the cycle turns over")
    parser.add_argument("--clients", type=int, default=4, help="clients of the second figure")
    parser.add_argument("--warmup", type=int, default=WARMUP, help="untimed transitions per path")
    parser.add_argument("--backends", default="sqlite,postgresql",
                        help="comma-separated: sqlite, postgresql (skipped if it does not answer)")
    parser.add_argument("--show-sql", action="store_true", help="list the statement shapes")
    parser.add_argument("--profile", action="store_true",
                        help="also print a cProfile of the engine path")
    parser.add_argument("--profile-n", type=int, default=1000)
    parser.add_argument("--profile-top", type=int, default=30)
    args = parser.parse_args(argv)

    from bench.common import backends, figure, n

    for backend in backends(args.backends):
        for clients, (figs, stmts) in bench(backend, args).items():
            engine, bare, floor = (figs[p].rate for p in PATHS)
            ratio = bare / engine if engine else float("inf")
            below = floor / engine if engine else float("inf")
            figure("P1", f"{backend} {clients} client{'s' if clients > 1 else ''}: "
                         f"engine {n(engine)}/s, bare {n(bare)}/s, ratio {ratio:.2f} "
                         f"(goal <= 1.5), {stmts:.1f} statements per transition; the same "
                         f"statements on the DBAPI cursor {n(floor)}/s, ratio {below:.2f}",
                   ratio <= 1.5)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
