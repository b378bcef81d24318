"""Sending outbox rows to the Celery workers (the at-scale setup).

Every session of a runtime with a broker sends, right after it commits, the ids of the outbox
rows its transaction queued (:func:`mediation.jobs.outbox.enqueue`); a rolled-back transaction
sends nothing. A send that fails (Redis down) is only logged: the rows are in the database,
and the relay (mediation.jobs.outbox.relay, run by Celery beat) sends them later.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from mediation.config import Config

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)

RUN_TASK = "mediation.outbox.run"
# A send gives up quickly when the broker does not answer: the relay sends it again later.
_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2,
                 "interval_max": 0.5}


class Dispatcher:
    """Sends outbox row ids to the workers; the Celery app is made on first use (after a
    gunicorn or Celery fork, never before)."""

    def __init__(self, config: Config):
        self.config = config
        self._app: Celery | None = None

    @property
    def app(self) -> Celery:
        """The Celery app used to send."""
        if self._app is None:
            from mediation.jobs.celeryapp import make_celery

            self._app = make_celery(self.config)
        return self._app

    def send(self, row_id: int, countdown: float | None = None) -> bool:
        """Ask a worker to run row ``row_id`` (after ``countdown`` seconds); False if the
        broker could not be reached (the relay will send it)."""
        try:
            self.app.send_task(RUN_TASK, args=[row_id], countdown=countdown, retry=True,
                               retry_policy=_RETRY_POLICY)
        except Exception:
            log.warning("could not send outbox row %s to the workers; the relay will",
                        row_id, exc_info=True)
            return False
        return True

    def send_later(self, row_id: int, seconds: float) -> None:
        """Ask for another try of row ``row_id`` in ``seconds`` (its back-off)."""
        self.send(row_id, countdown=max(seconds, 0.0))

    def after_commit(self, session: Session) -> None:
        """Send the rows ``session``'s transaction queued (a SQLAlchemy ``after_commit``
        hook)."""
        from mediation.jobs.outbox import QUEUED

        ids: list[int] = session.info.pop(QUEUED, [])
        for row_id in ids:
            self.send(row_id)

    def close(self) -> None:
        """Release the broker connections."""
        if self._app is not None:
            self._app.close()
            self._app = None


def _forget(session: Session, *args: Any) -> None:
    from mediation.jobs.outbox import QUEUED

    session.info.pop(QUEUED, None)


def install(sessionmaker: Any, dispatcher: Dispatcher | None) -> None:
    """Hook ``dispatcher`` to the sessions of ``sessionmaker``: send after commit, forget on
    rollback. Without a dispatcher (embedded setup) the ids are only forgotten."""
    if dispatcher is not None:
        event.listen(sessionmaker, "after_commit", dispatcher.after_commit)
    else:
        event.listen(sessionmaker, "after_commit", _forget)
    event.listen(sessionmaker, "after_rollback", _forget)
