"""Effects the Celery worker tests load into the worker (``mediation worker --include``).

They are registered only in the worker processes of those tests, and queued by the tests
directly in the outbox (no definition names them).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

from mediation.documents.jobs import render_document
from mediation.workflow.models import OutboxRow
from mediation.workflow.registry import effect


def _note(path: str, line: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())


@effect("test_slow_render", params=("document",))
def slow_render(session: Session, row: OutboxRow) -> None:
    """The real render job, which on its first try stalls after rendering (the test kills the
    worker then); every start is noted, and every completion once its transaction commits."""
    marker = row.payload["marker"]
    _note(marker, f"start {os.getpid()} {row.attempts}")
    render_document(session, row)
    event.listen(session, "after_commit",
                 lambda s: _note(marker, f"done {os.getpid()} {row.attempts}"), once=True)
    if row.attempts == 1:
        _note(marker, f"stalled {os.getpid()}")
        time.sleep(120)


@effect("test_gate")
def gate(session: Session, row: OutboxRow) -> None:
    """Fails while the file ``payload["gate"]`` exists."""
    if Path(row.payload["gate"]).exists():
        raise RuntimeError("短信网关不可用 (gate closed)")
