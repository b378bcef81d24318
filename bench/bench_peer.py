"""P2: the engine against a SpiffWorkflow peer, on the same road and the same database, in the
same run.

The peer is a case workflow built on SpiffWorkflow (the Python BPMN engine of spiff-arena),
persisted the way SpiffWorkflow's documentation starts from: the whole workflow instance,
``BpmnWorkflowSerializer.serialize_json``, in the case row. Its BPMN is made here from our own
definition (workflows/aunt_whistle.toml): a user task per non-terminal state, then an exclusive
gateway on ``decision == '<trigger>'`` to the next state, an end event per terminal state. A
transition of the peer is one transaction: SELECT the row, deserialize, complete the ready
task with the decision, ``do_engine_steps``, serialize, UPDATE the row (version-checked),
INSERT an audit row, COMMIT — through the same SQLAlchemy engine as the app (same SQLite
pragmas and ``BEGIN IMMEDIATE``, or the same PostgreSQL server), in tables of its own beside
the app's.

The road is the one ../shared/peers/spiff measured: accept → escalate → refer_legal →
sign_agreement → confirm_performance, driven step-major over N cases (every case takes a step,
then the next step). The engine does the real work of each step (scope, roles, data, guards:
sign_agreement checks the agreement is complete and signed, confirm_performance that a
follow-up visit found it performed; hash chain, deadlines, outbox); what those guards need (the
agreement and its signatures, the visit) is recorded between steps, untimed, as people would
do it. Only transitions are timed, on both sides.

    .venv/bin/python bench/bench_peer.py [--cases 2000] [--backends sqlite,postgresql]

Needs SpiffWorkflow (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    insert,
    select,
    update,
)

from bench.common import Rate, backends, cheap_passwords, database, figure, n, note, runtime
from bench.dataset import Texts
from mediation.auth.models import User
from mediation.auth.operations import create_user
from mediation.cases.models import Case
from mediation.cases.operations import add_signature, create_case, save_agreement
from mediation.orgs.operations import add_org_unit
from mediation.runtime import Runtime
from mediation.timeutil import utcnow
from mediation.workflow.definition import Definition

ROAD = ["accept", "escalate", "refer_legal", "sign_agreement", "confirm_performance"]
GOAL = 5.0
# Who fires each step: V volunteer of the grid, R reviewer of the street, L the lawyer.
ACTOR = {"accept": "V", "escalate": "V", "refer_legal": "R", "sign_agreement": "L",
         "confirm_performance": "L"}
DATA: dict[str, dict[str, Any]] = {"escalate": {"reason": "双方分歧较大"},
                                   "refer_legal": {"lawyer": "peer_l"}}
PARTIES = [
    {"role": "applicant", "kind": "person", "name": "张桂芳", "phone": "13857112345",
     "address": "3幢2单元401室"},
    {"role": "respondent", "kind": "person", "name": "李建国", "phone": "13900001111",
     "address": "3幢2单元501室"},
]
AGREEMENT = {"facts": "卫生间防水层老化渗漏", "dispute_matters": "维修及赔偿",
             "responsibilities": "被申请人负主要责任", "performance_method": "银行转账",
             "performance_place": "基准社区居委会",
             "terms": [{"obligor": "@respondent", "obligee": "@applicant", "content": "十日内修复并赔偿",
                        "amount": "2000.00"}]}

# -- the BPMN of a definition -------------------------------------------------------------------


def bpmn(definition: Definition) -> str:
    """A BPMN process for ``definition``: user task per waiting state, gateway on the decision."""
    waiting = [s for s, st in definition.states.items() if not st.terminal]
    final = [s for s, st in definition.states.items() if st.terminal]
    flows = [("f_start", "start", definition.initial, None)]
    for state in waiting:
        flows.append((f"f_{state}", state, f"gw_{state}", None))
        for t in definition.transitions.values():
            if state in t.sources:
                flows.append((f"f_{state}_{t.trigger}", f"gw_{state}", t.dest,
                              f"decision == '{t.trigger}'"))
    inc: dict[str, list[str]] = {}
    out: dict[str, list[str]] = {}
    for fid, src, dst, _ in flows:
        out.setdefault(src, []).append(fid)
        inc.setdefault(dst, []).append(fid)

    def refs(node: str) -> str:
        return ("".join(f"<bpmn:incoming>{f}</bpmn:incoming>" for f in inc.get(node, []))
                + "".join(f"<bpmn:outgoing>{f}</bpmn:outgoing>" for f in out.get(node, [])))

    parts = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
             'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" '
             'targetNamespace="http://bpmn.io/schema/bpmn">',
             f'<bpmn:process id="{definition.name}" isExecutable="true">',
             f'<bpmn:startEvent id="start">{refs("start")}</bpmn:startEvent>']
    for state in waiting:
        parts.append(f'<bpmn:userTask id="{state}" name="{state}">{refs(state)}</bpmn:userTask>')
        parts.append(f'<bpmn:exclusiveGateway id="gw_{state}">{refs("gw_" + state)}'
                     "</bpmn:exclusiveGateway>")
    for state in final:
        parts.append(f'<bpmn:endEvent id="{state}" name="{state}">{refs(state)}</bpmn:endEvent>')
    for fid, src, dst, cond in flows:
        if cond:
            parts.append(f'<bpmn:sequenceFlow id="{fid}" sourceRef="{src}" targetRef="{dst}">'
                         '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">'
                         f"{escape(cond)}</bpmn:conditionExpression></bpmn:sequenceFlow>")
        else:
            parts.append(f'<bpmn:sequenceFlow id="{fid}" sourceRef="{src}" targetRef="{dst}"/>')
    parts += ["</bpmn:process>", "</bpmn:definitions>"]
    return "\n".join(parts)


class SpiffPeer:
    """The peer: SpiffWorkflow, the instance serialized whole into the case row."""

    def __init__(self, definition: Definition):
        from lxml import etree
        from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
        from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
        from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

        parser = SpiffBpmnParser()
        parser.add_bpmn_xml(etree.fromstring(bpmn(definition).encode()), filename="peer.bpmn")
        self.spec = parser.get_spec(definition.name)
        self.subprocesses = parser.get_subprocess_specs(definition.name)
        self.final = {s for s, st in definition.states.items() if st.terminal}
        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))

    def _state(self, wf: Any) -> str:
        from SpiffWorkflow.util.task import TaskState

        ready = wf.get_tasks(state=TaskState.READY, manual=True)
        if ready:
            return str(ready[0].task_spec.name)
        for t in wf.get_tasks(state=TaskState.COMPLETED):
            if t.task_spec.name in self.final:
                return str(t.task_spec.name)
        raise RuntimeError("workflow neither waiting nor ended")

    def new(self) -> tuple[str, str]:
        """A new instance: (state, serialized)."""
        from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

        wf = BpmnWorkflow(self.spec, self.subprocesses)
        wf.do_engine_steps()
        return self._state(wf), self.serializer.serialize_json(wf)

    def step(self, state: str, blob: str, trigger: str) -> tuple[str, str]:
        """Fire ``trigger``: (new state, serialized)."""
        from SpiffWorkflow.util.task import TaskState

        wf = self.serializer.deserialize_json(blob)
        (task,) = wf.get_tasks(state=TaskState.READY, manual=True)
        if task.task_spec.name != state:
            raise RuntimeError(f"row says {state}, workflow waits in {task.task_spec.name}")
        task.set_data(decision=trigger)
        wf.run_task_from_id(task.id)
        wf.do_engine_steps()
        return self._state(wf), self.serializer.serialize_json(wf)


PEER = MetaData()
PEER_CASES = Table("peer_cases", PEER, Column("id", Integer, primary_key=True),
                   Column("state", String(60), nullable=False),
                   Column("version", Integer, nullable=False),
                   Column("instance_json", Text, nullable=False),
                   Column("updated_at", String(40)))
PEER_EVENTS = Table("peer_events", PEER, Column("id", Integer, primary_key=True),
                    Column("case_id", Integer, nullable=False, index=True),
                    Column("trigger", String(60)), Column("from_state", String(60)),
                    Column("to_state", String(60)), Column("actor", String(60)),
                    Column("at", String(40)))
_SELECT = select(PEER_CASES.c.state, PEER_CASES.c.version, PEER_CASES.c.instance_json).where(
    PEER_CASES.c.id == bindparam("cid"))
_UPDATE = (update(PEER_CASES)
           .where(PEER_CASES.c.id == bindparam("cid"), PEER_CASES.c.version == bindparam("v"))
           .values(state=bindparam("s"), version=PEER_CASES.c.version + 1,
                   instance_json=bindparam("blob"), updated_at=bindparam("now")))


def run_peer(rt: Runtime, peer: SpiffPeer, count: int) -> Rate:
    """Create ``count`` peer cases (untimed), drive them along the road; the timed rate."""
    engine = rt.db.engine
    PEER.create_all(engine)
    ids = []
    for _ in range(count):
        state, blob = peer.new()
        with engine.begin() as conn:
            ids.append(conn.execute(insert(PEER_CASES).values(
                state=state, version=0, instance_json=blob,
                updated_at=utcnow().isoformat())).inserted_primary_key[0])
    rate = Rate()
    for trigger in ROAD:
        start = time.perf_counter()
        for cid in ids:
            with engine.begin() as conn:
                row = conn.execute(_SELECT, {"cid": cid}).one()
                state, blob = peer.step(row.state, row.instance_json, trigger)
                now = utcnow().isoformat()
                if conn.execute(_UPDATE, {"cid": cid, "v": row.version, "s": state,
                                          "blob": blob, "now": now}).rowcount != 1:
                    raise RuntimeError(f"lost update on peer case {cid}")
                conn.execute(insert(PEER_EVENTS).values(
                    case_id=cid, trigger=trigger, from_state=row.state, to_state=state,
                    actor="peer", at=now))
        rate.seconds += time.perf_counter() - start
        rate.count += len(ids)
    with engine.connect() as conn:
        done = conn.execute(select(PEER_CASES.c.id).where(PEER_CASES.c.state == "resolved")).all()
    assert len(done) == count, f"peer: {len(done)} of {count} resolved"
    return rate


def run_engine(rt: Runtime, count: int) -> Rate:
    """Create ``count`` cases (untimed), drive them along the road through the engine."""
    cheap_passwords()
    with rt.db.session() as s:
        add_org_unit(s, "PD", name="对比区", kind="district")
        add_org_unit(s, "PS", name="对比街道", kind="street", parent_code="PD")
        add_org_unit(s, "PC", name="对比社区", kind="community", parent_code="PS")
        add_org_unit(s, "PG", name="对比网格", kind="grid", parent_code="PC")
        for name, role, org in (("peer_v", "volunteer", "PG"), ("peer_r", "reviewer", "PS"),
                                ("peer_l", "lawyer", "PD")):
            create_user(s, name, role=role, org_code=org, password="peer-pass", full_name=name)
    with rt.db.session() as s:
        users = {u.username[-1].upper(): u for u in s.scalars(select(User))}
    ids, versions = [], {}
    texts = Texts(random.Random(5))  # parties of their own: conflict checks see real neighbours
    for _ in range(count):
        category, title, description, names = texts.case()
        parties = [{**p, "name": name} for p, name in zip(PARTIES, names, strict=True)]
        with rt.db.session() as s:
            case, _ = create_case(s, rt.engine, {
                "workflow": "aunt_whistle", "grid": "PG", "category": category,
                "risk_level": "low", "title": title, "description": description,
                "parties": parties}, actor=s.merge(users["V"]))
            ids.append(case.id)
            versions[case.id] = case.version
    rate = Rate()
    for trigger in ROAD:
        _prepare(rt, trigger, ids, users, versions)
        actor = users[ACTOR[trigger]]
        data = DATA.get(trigger, {})
        start = time.perf_counter()
        for cid in ids:
            with rt.db.session() as s:
                out = rt.engine.fire(s, cid, trigger, actor=actor, data=data,
                                     expected_version=versions[cid])
                versions[cid] = out.case.version
        rate.seconds += time.perf_counter() - start
        rate.count += len(ids)
    with rt.db.session() as s:
        done = s.scalars(select(Case.id).where(Case.state == "resolved")).all()
    assert len(done) >= count, f"engine: {len(done)} of {count} resolved"
    return rate


def _prepare(rt: Runtime, trigger: str, ids: list[int], users: dict[str, User],
             versions: dict[int, int]) -> None:
    """What people record before ``trigger`` may fire (untimed)."""
    if trigger not in ("sign_agreement", "confirm_performance"):
        return
    for cid in ids:
        with rt.db.session() as s:
            actor = s.merge(users["L"])
            if trigger == "sign_agreement":
                case = s.get(Case, cid)
                assert case is not None
                terms = [{**t, "obligor": case.parties[1].name, "obligee": case.parties[0].name}
                         for t in AGREEMENT["terms"]]
                save_agreement(s, rt.engine, cid, {**AGREEMENT, "terms": terms,
                                                   "performance_deadline": (
                                                       utcnow().date() + timedelta(days=10)).isoformat()},
                               actor=actor)
                signers = [str(p.id) for p in case.parties] + ["mediator", "committee"]
                for signer in signers:
                    try:
                        with s.begin_nested():
                            add_signature(s, rt.engine, cid, signer=signer,
                                          method="seal" if signer == "committee" else "signature",
                                          signed_at=utcnow(), actor=actor)
                    except Exception:
                        if signer != "committee":
                            raise
            else:
                rt.engine.act(s, cid, "record_follow_up", actor=actor, data={
                    "date": utcnow().date().isoformat(), "method": "上门回访",
                    "result": "performed"})
            case = s.get(Case, cid)
            assert case is not None
            s.flush()
            versions[cid] = case.version


def main(argv: list[str] | None = None) -> int:
    """Run both on every backend that answers; print the P2 lines."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    try:
        import SpiffWorkflow  # noqa: F401
    except ImportError:
        figure("P2", "skipped: SpiffWorkflow is not installed (pip install -e '.[bench]')", None)
        return 0
    for backend in backends(args.backends):
        with database(backend, "peer") as url, tempfile.TemporaryDirectory() as inst:
            rt = runtime(url, Path(inst))
            try:
                rt.db.create_all()
                peer = SpiffPeer(rt.store.current("aunt_whistle"))
                note(f"P2 {backend}: {args.cases} cases × {len(ROAD)} steps, engine then peer")
                engine = run_engine(rt, args.cases)
                spiff = run_peer(rt, peer, args.cases)
            finally:
                rt.close()
        ratio = engine.per_second / spiff.per_second
        figure("P2", f"{backend} road {' → '.join(ROAD)}, {n(engine.count)} transitions each: "
                     f"engine {n(engine.per_second)}/s, SpiffWorkflow {n(spiff.per_second)}/s, "
                     f"ratio {ratio:.2f} (goal >= {GOAL:g})", ratio >= GOAL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
