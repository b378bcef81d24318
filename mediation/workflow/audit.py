"""The tamper-evident trail: events chained by SHA-256 (DESIGN.md §5).

hash = SHA-256(prev_hash + canonical JSON of the event), where the canonical JSON has sorted
keys, no spaces, UTF-8, and the time as ISO 8601 with microseconds. The first event of a case
chains from 64 zeros. Events are appended under the case's lock and never updated.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session

from mediation.timeutil import iso
from mediation.workflow.models import Event

GENESIS = "0" * 64
_EVENTS = cast(Table, Event.__table__)
# Built once (the hot path): the last link of a case's chain, and the insert of a new one.
_LAST_LINK = (select(_EVENTS.c.seq, _EVENTS.c.hash)
              .where(_EVENTS.c.case_id == bindparam("b_case_id"))
              .order_by(_EVENTS.c.seq.desc()).limit(1))
_INSERT = insert(_EVENTS)


def canonical(case_ref: str, seq: int, at: datetime, actor: str, kind: str, name: str,
              from_state: str | None, to_state: str | None, data: dict[str, Any],
              handler: str | None = None) -> bytes:
    """The bytes an event's hash covers (``case_ref``: the case's report number, which never
    changes)."""
    body = {"case": case_ref, "seq": seq, "at": iso(at), "actor": actor, "kind": str(kind),
            "name": str(name), "from": from_state, "to": to_state, "data": data,
            "handler": handler}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, payload: bytes) -> str:
    """SHA-256 over the previous hash and the payload."""
    return hashlib.sha256(prev_hash.encode() + payload).hexdigest()


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    # A round trip through JSON: what is hashed is exactly what the JSON column gives back.
    return json.loads(json.dumps(data, ensure_ascii=False, default=str))


def append_event(session: Session, *, case_id: int, case_ref: str, at: datetime, actor: str,
                 kind: str, name: str, from_state: str | None = None,
                 to_state: str | None = None, data: dict[str, Any] | None = None,
                 handler: str | None = None) -> Event:
    """Append an event to a case's chain. The caller holds the case's lock."""
    conn = session.connection()  # plain statements: no ORM layer on the hot path
    last = conn.execute(_LAST_LINK, {"b_case_id": case_id}).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    at = at.replace(tzinfo=None)
    clean = _jsonable(data or {})
    kind, name = str(kind), str(name)
    digest = chain_hash(prev, canonical(case_ref, seq, at, actor, kind, name, from_state,
                                        to_state, clean, handler))
    values = {"case_id": case_id, "seq": seq, "at": at, "actor": actor, "kind": kind,
              "name": name, "from_state": from_state, "to_state": to_state, "data": clean,
              "handler": handler, "prev_hash": prev, "hash": digest}
    # A plain INSERT (events are append-only: nothing for the ORM to track); the returned
    # object carries what was written.
    conn.execute(_INSERT, values)
    return Event(**values)


@dataclass(frozen=True)
class ChainReport:
    """The result of verifying one case's chain."""

    case_id: int
    case_no: str
    events: int
    valid: bool
    broken_seq: int | None = None
    reason: str | None = None


def verify_events(case_id: int, case_no: str, events: list[Event],
                  expected: int | None = None) -> ChainReport:
    """Recompute a chain from its events (in ``seq`` order); name the first broken one.

    ``expected`` is the number of events the case says it has (its version counts one per
    event): a chain cut short at its end hashes fine, but is one link short of the case.
    """
    prev = GENESIS
    for expected_seq, ev in enumerate(events, start=1):
        if ev.seq != expected_seq:
            return ChainReport(case_id, case_no, len(events), False, ev.seq,
                               f"sequence gap: expected {expected_seq}, found {ev.seq}")
        if ev.prev_hash != prev:
            return ChainReport(case_id, case_no, len(events), False, ev.seq,
                               "prev_hash does not match the previous event's hash")
        digest = chain_hash(prev, canonical(case_no, ev.seq, ev.at, ev.actor, ev.kind, ev.name,
                                            ev.from_state, ev.to_state, ev.data, ev.handler))
        if digest != ev.hash:
            return ChainReport(case_id, case_no, len(events), False, ev.seq,
                               "hash does not match the event's content")
        prev = ev.hash
    if expected is not None and expected != len(events):
        return ChainReport(case_id, case_no, len(events), False, len(events) + 1,
                           f"the case has changed {expected} times but its chain has "
                           f"{len(events)} events: events are missing at the end")
    return ChainReport(case_id, case_no, len(events), True)


def verify_case(session: Session, case_id: int, case_no: str,
                expected: int | None = None) -> ChainReport:
    """Verify the chain of one case (``expected``: its version, the number of its events)."""
    events = list(session.scalars(
        select(Event).where(Event.case_id == case_id).order_by(Event.seq)))
    return verify_events(case_id, case_no, events, expected)
