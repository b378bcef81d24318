"""The Celery app of the at-scale setup: the workers run outbox rows, relay the ones left
behind and sweep deadlines; Celery beat (``mediation beat``, or ``mediation worker --beat``)
says when.

Tasks are thin: each opens the worker process's :class:`~mediation.runtime.Runtime` (made on
first use in that process, after the fork) and calls the same functions the embedded setup
runs in-process. Messages are acknowledged after the task ran (``acks_late``) and one at a
time, so a message of a worker that died goes back to the queue; the outbox's own claim and
lease make a task that runs twice harmless, and the relay finds the rows whose message was
lost altogether.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from mediation.config import Config

log = logging.getLogger(__name__)

QUEUE = "mediation"


class _Process:
    """The runtime of this worker process, made on first use."""

    runtime: Any = None


def _runtime(config: Config) -> Any:
    if _Process.runtime is None:
        from mediation.runtime import Runtime

        _Process.runtime = Runtime(config)
    return _Process.runtime


@worker_process_init.connect
def _after_fork(**_: Any) -> None:
    # A forked pool process must not share the parent's database or broker connections.
    if _Process.runtime is not None:
        _Process.runtime.db.engine.dispose(close=False)
        _Process.runtime = None


def beat_schedule(config: Config) -> dict[str, Any]:
    """What beat sends, and how often: the relay and the deadline sweep."""
    return {
        "relay-outbox": {"task": "mediation.outbox.relay",
                         "schedule": timedelta(seconds=config.relay_interval)},
        "sweep-deadlines": {"task": "mediation.sweep",
                            "schedule": timedelta(seconds=config.sweep_interval)},
    }


def make_celery(config: Config) -> Celery:
    """A Celery app on ``config.broker_url`` with the mediation tasks."""
    if not config.broker_url:
        raise ValueError("CELERY_BROKER_URL is not set")
    app = Celery("mediation", broker=config.broker_url, set_as_current=False)
    transport: dict[str, Any] = {"visibility_timeout": 3600}
    if config.broker_prefix:
        transport["global_keyprefix"] = config.broker_prefix
    app.conf.update(
        task_default_queue=QUEUE,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        broker_transport_options=transport,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        enable_utc=True,
        timezone="UTC",
        beat_schedule=beat_schedule(config),
        beat_schedule_filename=str(config.instance / "celerybeat-schedule"),
    )

    @app.task(name="mediation.outbox.run")
    def run_outbox_row(row_id: int) -> str:
        """Run one outbox row (sent after the commit that queued it, or by the relay)."""
        from mediation.jobs.outbox import run_row

        result = run_row(_runtime(config), int(row_id))
        return {True: "done", False: "failed", None: "skipped"}[result]

    @app.task(name="mediation.outbox.relay")
    def relay_outbox() -> int:
        """Send again the rows nobody is running."""
        from mediation.jobs.outbox import relay

        return len(relay(_runtime(config)))

    @app.task(name="mediation.sweep")
    def sweep() -> dict[str, int]:
        """Fire the deadlines due now."""
        rt = _runtime(config)
        report = rt.sweep()
        if report.fired or report.errors:
            log.info("sweep: %s", report)
        return {"due": report.due, "fired": report.fired, "errors": report.errors}

    return app
