"""Running the outbox: each queued side effect is claimed, run and marked done, once.

The embedded setup runs it in a background thread of ``mediation serve``; at scale Celery
workers run the same function. A row is claimed with a lease (``available_at`` moves into the
future) so that a crashed run is retried after the lease, and a failing effect backs off.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from mediation.db import Database, rowcount
from mediation.runtime import Runtime
from mediation.timeutil import utcnow
from mediation.workflow.models import OutboxRow
from mediation.workflow.registry import run_queued

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8


@dataclass
class OutboxReport:
    """What one pass over the outbox did."""

    done: int = 0
    failed: int = 0


def pending_ids(db: Database, now: datetime, limit: int = 100) -> list[int]:
    """Rows due to run."""
    with db.session() as s:
        return list(s.scalars(
            select(OutboxRow.id).where(OutboxRow.processed_at.is_(None),
                                       OutboxRow.available_at <= now,
                                       OutboxRow.attempts < MAX_ATTEMPTS)
            .order_by(OutboxRow.id).limit(limit)))


def run_row(rt: Runtime, row_id: int, now: datetime | None = None) -> bool | None:
    """Claim and run one row; True done, False failed (retried later), None not claimed.

    The effect's session carries the runtime (``session.info["runtime"]``): effects need the
    cipher and the configuration.
    """
    now = now or utcnow()
    db = rt.db
    with db.session() as s:
        claimed = rowcount(s.execute(
            update(OutboxRow)
            .where(OutboxRow.id == row_id, OutboxRow.processed_at.is_(None),
                   OutboxRow.available_at <= now)
            .values(available_at=now + LEASE, attempts=OutboxRow.attempts + 1)))
    if not claimed:
        return None
    try:
        with db.session() as s:
            s.info["runtime"] = rt
            row = s.get(OutboxRow, row_id)
            assert row is not None
            run_queued(s, row)
            row.processed_at = utcnow()
            row.error = None
        return True
    except Exception as exc:
        log.exception("outbox row %s failed", row_id)
        with db.session() as s:
            row = s.get(OutboxRow, row_id)
            if row is not None:
                row.error = f"{type(exc).__name__}: {exc}"[:2000]
                row.available_at = utcnow() + timedelta(seconds=30 * 2 ** min(row.attempts, 8))
        return False


def process_outbox(rt: Runtime, now: datetime | None = None, limit: int = 100) -> OutboxReport:
    """Run every due row once."""
    now = now or utcnow()
    report = OutboxReport()
    for row_id in pending_ids(rt.db, now, limit):
        result = run_row(rt, row_id, now)
        if result is True:
            report.done += 1
        elif result is False:
            report.failed += 1
    return report
