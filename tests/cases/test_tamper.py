"""Random tampering with the stored record is always caught (issue 7, docs/audit.md).

A record of several cases is built through the engine (agreements drafted, rewritten after
signing, voided by a breach, signed again; an organisation with its agent; a consultation
converted) and checkpointed. Then, each in a transaction rolled back afterwards, one random
mutation of the stored record: any column of any row of events, cases, parties, their agents,
agreements, terms or signatures changed; a row deleted; two events swapped; a row inserted;
or events cut off the end of a chain with the case row put back as the shorter chain says
(what only the checkpoint can catch). ``verify_all`` must report every single one.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Boolean, Date, DateTime, Integer, String, Table, Text, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from mediation.cases.evidence import verify_all
from mediation.cases.models import (
    Agreement,
    AgreementTerm,
    Case,
    Party,
    PartyAgent,
    Signature,
)
from mediation.workflow.audit import replay
from mediation.workflow.models import Event
from tests.factories import AGREEMENT, PARTIES, TODAY, World

TABLES: list[Table] = [t for t in (Event.__table__, Case.__table__, Party.__table__,
                                   PartyAgent.__table__, Agreement.__table__,
                                   AgreementTerm.__table__, Signature.__table__)]  # type: ignore[misc]
# Values a CHECK constraint allows, so that a change is a change and not a refusal.
ALLOWED = {("cases", "risk_level"): ["low", "medium", "high"],
           ("agreements", "status"): ["draft", "in_force", "voided", "superseded"],
           ("signatures", "method"): ["signature", "seal", "fingerprint"],
           ("party_agents", "kind"): ["agent", "guardian"]}


def build_record(world: World) -> None:
    """Cases in many shapes, all through the engine, then a checkpoint of every chain."""
    world.case_in("resolved")
    world.case_in("rejected")
    world.case_in("litigation")
    # an organisation with an agent, an agreement rewritten after one signature, signed
    org = {"role": "third_party", "kind": "organization", "name": "杭州某物业服务有限公司",
           "credit_code": "91330103MA2B3C4D52", "legal_representative": "周建国",
           "agents": [{"kind": "agent", "name": "王律师", "relation": "律师",
                       "authority": "特别授权", "phone": "13800001111"}]}
    case_id = world.new_case(parties=[*PARTIES, org])
    world.fire(case_id, "accept", "v1")
    world.sign_all(case_id, "v1")
    # a breach voids it; the next round's agreement is drafted, signed once, rewritten
    world.fire(case_id, "sign_agreement", "v1")
    world.fire(case_id, "report_breach", "v1", {"reason": "逾期未付"})
    world.fire(case_id, "assign_center", "r1", {"mediator": "r1"})
    from mediation.cases.operations import add_signature, save_agreement
    from mediation.timeutil import utcnow
    with world.rt.db.session() as s:
        actor = world.user(s, "r1")
        save_agreement(s, world.rt.engine, case_id, dict(AGREEMENT), actor=actor)
        first = s.get(Case, case_id).parties[0].id
        add_signature(s, world.rt.engine, case_id, signer=str(first), method="signature",
                      signed_at=utcnow(), actor=actor)
        save_agreement(s, world.rt.engine, case_id, {**AGREEMENT, "facts": "补充"},
                       actor=actor)
    world.act(case_id, "record_session", "r1",
              {"date": TODAY, "summary": "再次调解", "outcome": "继续"})
    with world.rt.db.session() as s:
        assert world.rt.checkpoints().write(s) is not None


# -- mutations ----------------------------------------------------------------------------------

def _different(table: Table, column: Any, value: Any, rng: random.Random,
               conn: Connection) -> Any:
    """A value of the column's type that differs from ``value``."""
    allowed = ALLOWED.get((table.name, column.name))
    if allowed:
        return rng.choice([v for v in allowed if v != value])
    kind = column.type
    if column.foreign_keys and value is not None:
        target = next(iter(column.foreign_keys)).column
        ids = [i for (i,) in conn.execute(select(target)) if i != value]
        if ids and rng.random() < 0.7:
            return rng.choice(ids)
        return value + 1000
    if isinstance(kind, Boolean):
        return not bool(value)
    if isinstance(kind, Integer):
        if value is None:
            return rng.randint(1, 5)
        return value + rng.choice([-1, 1, 7, 1000]) if column.name != "version" or value > 1 \
            else value + 1
    if isinstance(kind, DateTime):
        base = value or datetime(2026, 1, 1)
        return base + timedelta(seconds=rng.choice([-1, 1, 3600, 86400]))
    if isinstance(kind, Date):
        return (value or date(2026, 1, 1)) + timedelta(days=rng.choice([-1, 1, 30]))
    if isinstance(kind, String | Text):
        if value is None or value == "":
            return "篡改"
        text = str(value)
        i = rng.randrange(len(text))
        new = text[:i] + ("5" if text[i] != "5" else "6") + text[i + 1:]
        limit = getattr(kind, "length", None)
        return new[:limit] if limit else new
    # JSON: data or changes of an event
    doc = json.loads(json.dumps(value)) if value is not None else {}
    if isinstance(doc, dict) and doc and rng.random() < 0.6:
        key = rng.choice(sorted(doc))
        doc[key] = "篡改" if doc[key] != "篡改" else "改"
    elif isinstance(doc, dict):
        doc["inserted"] = rng.randint(1, 9)
    else:
        doc = {"inserted": True}
    return doc


def _pk(table: Table) -> list[Any]:
    return list(table.primary_key.columns)


def _where(table: Table, row: Any) -> Any:
    from sqlalchemy import and_
    return and_(*[c == row._mapping[c.name] for c in _pk(table)])


def _random_row(conn: Connection, table: Table, rng: random.Random) -> Any | None:
    rows = conn.execute(select(table)).all()
    return rng.choice(rows) if rows else None


def mutate_change(conn: Connection, rng: random.Random) -> str | None:
    table = rng.choice(TABLES)
    row = _random_row(conn, table, rng)
    if row is None:
        return None
    column = rng.choice(list(table.columns))
    old = row._mapping[column.name]
    new = _different(table, column, old, rng, conn)
    conn.execute(update(table).where(_where(table, row)).values({column.name: new}))
    return f"change {table.name}.{column.name}"


def mutate_delete(conn: Connection, rng: random.Random) -> str | None:
    table = rng.choice(TABLES)
    row = _random_row(conn, table, rng)
    if row is None:
        return None
    conn.execute(table.delete().where(_where(table, row)))
    return f"delete from {table.name}"


def mutate_insert(conn: Connection, rng: random.Random) -> str | None:
    table = rng.choice(TABLES)
    row = _random_row(conn, table, rng)
    if row is None:
        return None
    values = dict(row._mapping)
    if table.name == "events":
        last = conn.execute(select(table.c.seq).where(table.c.case_id == values["case_id"])
                            .order_by(table.c.seq.desc()).limit(1)).scalar_one()
        values["seq"] = rng.choice([last + 1, last + 2])
    else:
        values["id"] = conn.execute(select(table.c.id).order_by(table.c.id.desc())).scalar() + 1
        for unique in ("report_no", "case_no"):
            if values.get(unique):
                values[unique] = values[unique] + "副本"
    if table.name == "agreements":
        values["version"] = values["version"] + 100  # (case, round, version) is unique
    if table.name == "signatures":
        values["signer"] = values["signer"] + "x"  # (agreement, signer) is unique
    conn.execute(table.insert().values(values))
    return f"insert into {table.name}"


def mutate_reorder(conn: Connection, rng: random.Random) -> str | None:
    events = Event.__table__
    case_id = rng.choice([c for (c,) in conn.execute(select(events.c.case_id).distinct())])
    seqs = [s for (s,) in conn.execute(select(events.c.seq).where(events.c.case_id == case_id))]
    a, b = rng.sample(seqs, 2)
    for old, new in ((a, -1), (b, a), (-1, b)):
        conn.execute(update(events).where(events.c.case_id == case_id, events.c.seq == old)
                     .values(seq=new))
    return "swap two events"


def mutate_truncate(conn: Connection, rng: random.Random) -> str | None:
    """Cut the last events of a chain and put the case row back as the shorter chain says:
    consistent inside the database, caught only by the checkpoint."""
    events = Event.__table__
    cases = Case.__table__
    case_id = rng.choice([c for (c,) in conn.execute(select(cases.c.id))])
    evs = list(Session(bind=conn).scalars(select(Event).where(Event.case_id == case_id)
                                          .order_by(Event.seq)))
    # how far back the cut may go without touching rows of evidence (those would need
    # restoring too; an attacker could, the test keeps it simple)
    k = 0
    while k < len(evs) - 1 and not (evs[-1 - k].changes or {}).get("rows"):
        k += 1
    if k == 0:
        return None
    cut = rng.randint(1, k)
    keep = evs[:-cut]
    conn.execute(events.delete().where(events.c.case_id == case_id,
                                       events.c.seq > keep[-1].seq))
    expected = replay(keep).case
    values = {}
    for column in cases.columns:
        value = expected.get(column.name)
        if isinstance(column.type, DateTime) and value is not None:
            value = datetime.fromisoformat(value)
        values[column.name] = value
    values["chain_head"] = keep[-1].hash  # the head of what is left, as the row keeps it
    conn.execute(update(cases).where(cases.c.id == case_id).values(values))
    return f"truncate {cut} with counters lowered"


MUTATIONS: list[tuple[Callable[[Connection, random.Random], str | None], int]] = [
    (mutate_change, 10), (mutate_delete, 3), (mutate_insert, 3), (mutate_reorder, 2),
    (mutate_truncate, 2)]


def run_mutations(world: World, n: int, seed: int) -> dict[str, int]:
    """Apply ``n`` mutations (each rolled back after its check); every one must be caught."""
    rng = random.Random(seed)
    ledger = world.rt.checkpoints().read()
    with world.rt.db.session() as s:
        reports, general = verify_all(s, ledger)
        assert all(r.valid for r in reports) and not general, (reports, general)
    done: dict[str, int] = {}
    missed: list[str] = []
    applied = 0
    funcs, weights = zip(*MUTATIONS, strict=True)
    while applied < n:
        mutate = rng.choices(funcs, weights)[0]
        with world.rt.db.engine.connect() as conn:
            trans = conn.begin()
            try:
                try:
                    what = mutate(conn, rng)
                except DBAPIError:  # a constraint refused it: not a mutation, try another
                    what = None
                if what is None:
                    continue
                applied += 1
                done[what.split(" ")[0]] = done.get(what.split(" ")[0], 0) + 1
                session = Session(bind=conn)
                reports, general = verify_all(session, ledger)
                session.close()
                if all(r.valid for r in reports) and not general:
                    missed.append(what)
            finally:
                trans.rollback()
    assert not missed, f"undetected mutations: {missed}"
    return done


def test_random_mutations_of_the_record_are_all_detected(world: World) -> None:
    build_record(world)
    done = run_mutations(world, 200, seed=7)
    assert set(done) == {"change", "delete", "insert", "swap", "truncate"}


@pytest.mark.long
def test_a_thousand_random_mutations_are_all_detected(world: World) -> None:
    build_record(world)
    run_mutations(world, 1000, seed=2026)

