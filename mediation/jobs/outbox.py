"""The outbox: side effects written in the transaction of the event that caused them, then run
once each, outside it.

- :func:`enqueue` writes a row in the caller's transaction and remembers its id on the session;
  at scale the ids are sent to the Celery workers right after the commit
  (mediation.jobs.dispatch), and :func:`relay` sends again whatever a lost message or a dead
  worker left behind. In the embedded setup a thread of ``mediation serve`` runs
  :func:`process_outbox` every few seconds.
- :func:`run_row` runs one row: a short transaction *claims* it (one more attempt, and a lease:
  nobody else takes it before ``outbox_lease`` seconds), then the effect runs in a transaction
  of its own that locks the row (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), checks that it is
  still this attempt's, and marks it done in the same commit. A worker killed mid-job leaves
  nothing half-done (its transaction dies with it) and the row is taken again once the lease
  runs out; a slow worker whose lease ran out still holds the row lock, so a second one skips.
  What the effect writes to the database is therefore done exactly once; an effect that talks
  to the outside world is told its row id to make that idempotent too.
- A failed try backs off (``outbox_backoff`` seconds, doubled each time); after
  ``outbox_max_attempts`` tries the row becomes an :class:`~mediation.jobs.models.Incident`,
  which an admin sees and retries (mediation.jobs.operations).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, insert, or_, select, update
from sqlalchemy.orm import Session

from mediation.db import Database
from mediation.jobs.models import Incident
from mediation.timeutil import utcnow
from mediation.workflow.fastpath import Statements, runner
from mediation.workflow.models import OutboxRow
from mediation.workflow.registry import run_queued

if TYPE_CHECKING:
    from mediation.runtime import Runtime

log = logging.getLogger(__name__)

# session.info key: the ids of the rows a transaction queued, sent after it commits.
QUEUED = "mediation.outbox.queued"
_OUTBOX = cast(Table, OutboxRow.__table__)
# The row a transition queues, on the engine's hot path (prepared once per database).
_STATEMENTS = Statements(lambda _key: (
    insert(_OUTBOX).returning(_OUTBOX.c.id),
    ("case_id", "event_seq", "effect", "payload", "created_at", "available_at", "attempts"),
    (_OUTBOX.c.id,)))
# A relay sends a row again at most this many relay intervals after the last time.
_REDISPATCH_INTERVALS = 12


@dataclass
class OutboxReport:
    """What one pass over the outbox did."""

    done: int = 0
    failed: int = 0
    incidents: int = 0


def enqueue(session: Session, *, case_id: int | None, event_seq: int | None, effect: str,
            payload: dict[str, Any], now: datetime) -> int:
    """Queue ``effect`` in the caller's transaction; return the row id."""
    run = runner(session)
    row = run.execute(_STATEMENTS.get(run.dialect, "insert"), {
        "case_id": case_id, "event_seq": event_seq, "effect": effect, "payload": payload,
        "created_at": now, "available_at": now, "attempts": 0})
    assert row is not None
    row_id = int(row[0])
    queued(session).append(row_id)
    return row_id


def queued(session: Session) -> list[int]:
    """The ids of the rows queued in ``session``'s transaction (sent after it commits)."""
    return cast(list[int], session.info.setdefault(QUEUED, []))


def _pending() -> Any:
    return (OutboxRow.processed_at.is_(None), OutboxRow.failed_at.is_(None))


def backoff(rt: Runtime, attempt: int) -> timedelta:
    """How long to wait after failed try number ``attempt`` (1, 2, ...)."""
    seconds = rt.config.outbox_backoff * 2 ** min(attempt - 1, 16)
    return timedelta(seconds=min(seconds, 6 * 3600))


def pending_ids(db: Database, now: datetime, limit: int = 100) -> list[int]:
    """Rows due to run."""
    with db.session() as s:
        return list(s.scalars(
            select(OutboxRow.id).where(*_pending(), OutboxRow.available_at <= now)
            .order_by(OutboxRow.id).limit(limit)))


def claim(rt: Runtime, row_id: int, now: datetime) -> int | None:
    """Take row ``row_id`` for one try; its attempt number, or None if it is done, failed, or
    someone else's for now. Committed at once: a try that kills its worker still counts."""
    with rt.db.session() as s:
        return s.scalar(
            update(OutboxRow)
            .where(OutboxRow.id == row_id, *_pending(), OutboxRow.available_at <= now)
            .values(available_at=now + timedelta(seconds=rt.config.outbox_lease),
                    attempts=OutboxRow.attempts + 1)
            .returning(OutboxRow.attempts))


def run_row(rt: Runtime, row_id: int, now: datetime | None = None) -> bool | None:
    """Claim and run one row: True done, False failed (retried later, or an incident now),
    None not run (done already, or taken by someone else).

    The effect's session carries the runtime (``session.info["runtime"]``): effects need the
    cipher and the configuration.
    """
    now = now or utcnow()
    attempt = claim(rt, row_id, now)
    if attempt is None:
        return None
    try:
        with rt.db.session() as s:
            s.info["runtime"] = rt
            row = s.scalar(select(OutboxRow).where(OutboxRow.id == row_id)
                           .with_for_update(skip_locked=True))
            if (row is None or row.processed_at is not None or row.failed_at is not None
                    or row.attempts != attempt):
                return None  # another try took over (this one's lease ran out)
            run_queued(s, row)
            row.processed_at = utcnow()
            row.error = None
        return True
    except Exception as exc:
        log.exception("outbox row %s failed on try %s", row_id, attempt)
        failed(rt, row_id, attempt, exc)
        return False


def failed(rt: Runtime, row_id: int, attempt: int, exc: BaseException) -> Incident | None:
    """Record a failed try: back off, or after the last try open an incident (returned)."""
    now = utcnow()
    with rt.db.session() as s:
        row = s.scalar(select(OutboxRow).where(OutboxRow.id == row_id).with_for_update())
        if row is None or row.attempts != attempt or row.processed_at is not None:
            return None
        row.error = f"{type(exc).__name__}: {exc}"[:2000]
        if attempt < rt.config.outbox_max_attempts:
            row.available_at = now + backoff(rt, attempt)
            delay = (row.available_at - now).total_seconds()
            if rt.jobs is not None:
                rt.jobs.send_later(row_id, delay)
            return None
        row.failed_at = now
        incident = Incident(outbox_id=row.id, case_id=row.case_id, effect=row.effect,
                            payload=dict(row.payload or {}), attempts=attempt,
                            error=row.error, opened_at=now)
        s.add(incident)
        s.flush()
        log.error("outbox row %s (%s) failed %s times: incident %s", row_id, row.effect,
                  attempt, incident.id)
        return incident


def process_outbox(rt: Runtime, now: datetime | None = None, limit: int = 100) -> OutboxReport:
    """Run every due row once (the embedded setup's thread, and ``mediation jobs run``)."""
    now = now or utcnow()
    report = OutboxReport()
    for row_id in pending_ids(rt.db, now, limit):
        result = run_row(rt, row_id, now)
        if result is True:
            report.done += 1
        elif result is False:
            report.failed += 1
    return report


def relay(rt: Runtime, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Send to the workers the rows that should be running but are not: due for longer than a
    relay interval (the message sent after their commit was lost, their worker died, or their
    back-off is over) and not sent in the last few intervals. Several relays at once split the
    rows (``SKIP LOCKED``). Returns the ids sent."""
    now = now or utcnow()
    interval = timedelta(seconds=rt.config.relay_interval)
    stmt = (select(OutboxRow.id)
            .where(*_pending(), OutboxRow.available_at <= now - interval,
                   or_(OutboxRow.dispatched_at.is_(None),
                       OutboxRow.dispatched_at <= now - interval * _REDISPATCH_INTERVALS))
            .order_by(OutboxRow.id).limit(limit).with_for_update(skip_locked=True))
    with rt.db.session() as s:
        ids = list(s.scalars(stmt))
        if ids:
            s.execute(update(OutboxRow).where(OutboxRow.id.in_(ids)).values(dispatched_at=now))
    if ids and rt.jobs is not None:
        for row_id in ids:
            rt.jobs.send(row_id)
    return ids
