"""The tamper-evident trail: events chained by SHA-256 (DESIGN.md §5), and what each event
changed in the record.

hash = SHA-256(prev_hash + canonical JSON of the event), where the canonical JSON has sorted
keys, no spaces, UTF-8, and times as ISO 8601 with microseconds. The first event of a case
chains from 64 zeros. Events are appended under the case's lock and never updated.

Each event also carries, under the hash, the *changes* it made to the record: the columns of
the case row it set (``{"case": {...}}``; the creation sets them all) and the full image of
every row of evidence it wrote or deleted (``{"rows": {"agreements:7": {...}, "agreement_terms
:12": null}}``). Replaying the changes of a chain in order gives the case row and the evidence
rows as they must be now; :func:`replay` does it and the verifier compares them with the
database. Encrypted columns enter an image as the SHA-256 of their ciphertext (no personal data
in the trail).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from mediation.timeutil import iso
from mediation.workflow.models import Event

GENESIS = "0" * 64
# The column of a case row that holds the hash of its last event: written with that event, so
# under no hash itself; verification checks it against the chain.
HEAD_COLUMN = "chain_head"
# Columns whose value is a ciphertext: an image holds its digest.
ENCRYPTED_SUFFIX = "_enc"


def norm(value: Any) -> Any:
    """A column value as it enters an image: JSON-safe and the same on every database."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _cell(key: str, value: Any) -> Any:
    if key.endswith(ENCRYPTED_SUFFIX) and value is not None:
        return "sha256:" + hashlib.sha256(str(value).encode()).hexdigest()
    return norm(value)


def image(values: dict[str, Any]) -> dict[str, Any]:
    """The image of (some) columns of a row: normalised, ciphertexts digested."""
    return {k: _cell(k, v) for k, v in values.items()}


def row_key(table: str, pk: Any) -> str:
    """``agreements:7``: how an image names its row."""
    return f"{table}:{pk}"


def object_image(obj: Any) -> tuple[str, dict[str, Any]]:
    """(key, image of every column) of a flushed ORM object."""
    mapper = inspect(obj).mapper
    table = mapper.local_table
    values = {c.key: getattr(obj, c.key) for c in mapper.column_attrs if c.key != HEAD_COLUMN}
    pk = values[mapper.primary_key[0].key]
    return row_key(str(table.name), pk), image(values)


def canonical(case_ref: str, seq: int, at: datetime, actor: str, kind: str, name: str,
              from_state: str | None, to_state: str | None, data: dict[str, Any],
              handler: str | None = None, changes: dict[str, Any] | None = None) -> bytes:
    """The bytes an event's hash covers (``case_ref``: the case's report number, which never
    changes)."""
    body = {"case": case_ref, "seq": seq, "at": iso(at), "actor": actor, "kind": str(kind),
            "name": str(name), "from": from_state, "to": to_state, "data": data,
            "handler": handler, "changes": changes}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, payload: bytes) -> str:
    """SHA-256 over the previous hash and the payload."""
    return hashlib.sha256(prev_hash.encode() + payload).hexdigest()


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    # A round trip through JSON: what is hashed is exactly what the JSON column gives back.
    return cast(dict[str, Any], json.loads(json.dumps(data, ensure_ascii=False, default=str)))


def link(*, case_ref: str, seq: int, prev_hash: str, at: datetime, actor: str, kind: str,
         name: str, from_state: str | None = None, to_state: str | None = None,
         data: dict[str, Any] | None = None, handler: str | None = None,
         changes: dict[str, Any] | None = None, case_id: int) -> dict[str, Any]:
    """The row of event ``seq`` of a case's chain, chained to ``prev_hash`` (the hash of event
    ``seq - 1``, or :data:`GENESIS`). ``changes``: ``{"case": {column: value}, "rows": {key:
    image or None}}`` (values as :func:`image` gives them). The caller writes it under the
    case's lock, with the case row's new version (``seq``) and chain head (its ``hash``)."""
    at = at.replace(tzinfo=None)
    clean = _jsonable(data or {})
    kind, name = str(kind), str(name)
    digest = chain_hash(prev_hash, canonical(case_ref, seq, at, actor, kind, name, from_state,
                                             to_state, clean, handler, changes))
    return {"case_id": case_id, "seq": seq, "at": at, "actor": actor, "kind": kind,
            "name": name, "from_state": from_state, "to_state": to_state, "data": clean,
            "handler": handler, "changes": changes, "prev_hash": prev_hash, "hash": digest}


# -- verifying ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    """One thing found wrong with a case's record: ``what`` (a short slug: ``chain``,
    ``case_row``, ``row``, ``missing_row``, ``extra_row``, ``checkpoint``), ``where`` (an event
    seq, a column, a row key) and a sentence for people."""

    what: str
    where: str
    detail: str
    seq: int | None = None


@dataclass
class Replay:
    """The record as the trail says it must be."""

    case: dict[str, Any] = field(default_factory=dict)
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)


def verify_chain(case_ref: str, events: list[Event]) -> list[Problem]:
    """The links of a chain (in ``seq`` order): contiguous from 1, each chained to the one
    before, each hash matching the event's content. Stops at the first broken link."""
    prev = GENESIS
    for expected_seq, ev in enumerate(events, start=1):
        if ev.seq != expected_seq:
            return [Problem("chain", f"event {ev.seq}",
                            f"sequence gap: expected {expected_seq}, found {ev.seq}", ev.seq)]
        if ev.prev_hash != prev:
            return [Problem("chain", f"event {ev.seq}",
                            "prev_hash does not match the previous event's hash", ev.seq)]
        digest = chain_hash(prev, canonical(case_ref, ev.seq, ev.at, ev.actor, ev.kind, ev.name,
                                            ev.from_state, ev.to_state, ev.data, ev.handler,
                                            ev.changes))
        if digest != ev.hash:
            return [Problem("chain", f"event {ev.seq}",
                            "hash does not match the event's content", ev.seq)]
        prev = ev.hash
    return []


def replay(events: list[Event]) -> Replay:
    """Apply the changes of each event in order."""
    out = Replay()
    for ev in events:
        changes = ev.changes or {}
        case = changes.get("case")
        if isinstance(case, dict):
            out.case.update(case)
        rows = changes.get("rows")
        if isinstance(rows, dict):
            for key, img in rows.items():
                if img is None:
                    out.rows.pop(key, None)
                elif isinstance(img, dict):
                    out.rows[key] = img
    return out


def compare_case(expected: dict[str, Any], actual: dict[str, Any]) -> list[Problem]:
    """Each column of the case row that differs from the replay of its trail."""
    problems = []
    for key in sorted(set(expected) | set(actual)):
        if expected.get(key) != actual.get(key):
            problems.append(Problem("case_row", key, f"cases.{key} is {actual.get(key)!r}, "
                                    f"the trail says {expected.get(key)!r}"))
    return problems


def compare_rows(expected: dict[str, dict[str, Any]],
                 actual: dict[str, dict[str, Any]]) -> list[Problem]:
    """Rows of evidence missing, added or changed against the replay of the trail."""
    problems = []
    for key in sorted(set(expected) - set(actual)):
        problems.append(Problem("missing_row", key, f"{key} is in the trail but not in the "
                                "database (deleted?)"))
    for key in sorted(set(actual) - set(expected)):
        problems.append(Problem("extra_row", key, f"{key} is in the database but was never "
                                "recorded in the trail (inserted?)"))
    for key in sorted(set(expected) & set(actual)):
        diff = [c for c in sorted(set(expected[key]) | set(actual[key]))
                if expected[key].get(c) != actual[key].get(c)]
        if diff:
            problems.append(Problem("row", key, f"{key}: {', '.join(diff)} differ from the "
                                    "trail"))
    return problems


@dataclass(frozen=True)
class ChainReport:
    """The result of verifying one case's chain (the chain alone: see
    :mod:`mediation.cases.evidence` for the whole record)."""

    case_id: int
    case_no: str
    events: int
    valid: bool
    broken_seq: int | None = None
    reason: str | None = None


def verify_events(case_id: int, case_ref: str, events: list[Event],
                  expected: int | None = None) -> ChainReport:
    """Recompute a chain from its events (in ``seq`` order); name the first broken one.

    ``expected`` is the number of events the case says it has (its version counts one per
    event): a chain cut short at its end hashes fine, but is one link short of the case.
    """
    problems = verify_chain(case_ref, events)
    if problems:
        return ChainReport(case_id, case_ref, len(events), False, problems[0].seq,
                           problems[0].detail)
    if expected is not None and expected != len(events):
        return ChainReport(case_id, case_ref, len(events), False, len(events) + 1,
                           f"the case has changed {expected} times but its chain has "
                           f"{len(events)} events: events are missing at the end")
    return ChainReport(case_id, case_ref, len(events), True)


def verify_case(session: Session, case_id: int, case_ref: str,
                expected: int | None = None) -> ChainReport:
    """Verify the chain of one case (``expected``: its version, the number of its events)."""
    events = list(session.scalars(
        select(Event).where(Event.case_id == case_id).order_by(Event.seq)))
    return verify_events(case_id, case_ref, events, expected)
