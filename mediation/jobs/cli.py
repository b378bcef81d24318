"""``mediation worker``, ``mediation beat`` and ``mediation jobs ...`` (the at-scale setup's
background work, and the incidents of both setups)."""

from __future__ import annotations

import os
import socket
import sys

import click

from mediation.cli import main, runtime, unit_of_work
from mediation.config import Config, from_env


def _broker_config() -> Config:
    config = from_env()
    if not config.broker_url:
        click.echo("error: CELERY_BROKER_URL is not set; the embedded setup runs jobs and "
                   "sweeps inside `mediation serve`", err=True)
        sys.exit(1)
    return config


@main.command("worker")
@click.option("--concurrency", "-c", type=click.IntRange(1, 256), default=None,
              help="worker processes (default: one per core)")
@click.option("--beat", "-B", "with_beat", is_flag=True,
              help="also run the beat scheduler in this worker (a single-machine setup: run "
                   "exactly one beat per installation)")
@click.option("--pool", type=click.Choice(["prefork", "solo", "threads"]), default="prefork",
              show_default=True)
@click.option("--loglevel", "-l", default="INFO", show_default=True)
@click.option("--include", "-I", multiple=True, metavar="MODULE",
              help="also import MODULE in the worker (extra effects)")
@click.option("--hostname", "-n", default=None,
              help="node name (default: mediation-PID@HOST, unique per worker)")
def worker(concurrency: int | None, with_beat: bool, pool: str, loglevel: str,
           include: tuple[str, ...], hostname: str | None) -> None:
    """A Celery worker (at-scale setup): runs side effects from the outbox and sweeps."""
    config = _broker_config()
    from mediation.jobs.celeryapp import make_celery

    app = make_celery(config)
    argv = ["worker", f"--loglevel={loglevel}", f"--pool={pool}", "--queues=mediation",
            f"--hostname={hostname or f'mediation-{os.getpid()}@{socket.gethostname()}'}"]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    if with_beat:
        argv += ["--beat", f"--schedule={config.instance / 'celerybeat-schedule'}"]
        config.instance.mkdir(parents=True, exist_ok=True)
    if include:
        argv.append(f"--include={','.join(include)}")
    app.worker_main(argv)


@main.command("beat")
@click.option("--loglevel", "-l", default="INFO", show_default=True)
def beat(loglevel: str) -> None:
    """Celery beat: sends the relay and the deadline sweep on schedule (run one)."""
    config = _broker_config()
    from mediation.jobs.celeryapp import make_celery

    config.instance.mkdir(parents=True, exist_ok=True)
    app = make_celery(config)
    sys.exit(app.start(["beat", f"--loglevel={loglevel}",
                        f"--schedule={config.instance / 'celerybeat-schedule'}"]) or 0)


@main.group("jobs")
def jobs() -> None:
    """Side effects waiting, failed (incidents) and retried."""


@jobs.command("incidents")
@click.option("--all", "show_all", is_flag=True, help="retried ones too")
def incidents(show_all: bool) -> None:
    """Side effects that failed on every try, newest first."""
    from mediation.jobs.operations import list_incidents

    with unit_of_work() as session:
        rows = list_incidents(session, actor=None, open_only=not show_all)
        for inc in rows:
            case = inc.case.case_no if inc.case else "-"
            status = (f"retried {inc.retried_at:%Y-%m-%d %H:%M} by {inc.retried_by}"
                      if inc.retried_at else "open")
            click.echo(f"{inc.id}\t{inc.opened_at:%Y-%m-%d %H:%M:%S}\t{inc.effect}\t{case}\t"
                       f"{inc.attempts} tries\t{status}\t{inc.error.splitlines()[0] if inc.error else ''}")
        click.echo(f"{len(rows)} incident(s)" + ("" if show_all else " open"))


@jobs.command("retry")
@click.argument("incident_id", type=int)
def retry(incident_id: int) -> None:
    """Run the side effect of incident INCIDENT_ID again (a fresh set of tries)."""
    from mediation.jobs.operations import retry_incident

    with unit_of_work() as session:
        inc = retry_incident(session, incident_id, actor=None)
        click.echo(f"incident {inc.id}: {inc.effect} queued again (outbox row {inc.outbox_id})")


@jobs.command("status")
def status() -> None:
    """How many side effects wait, are done, failed."""
    from sqlalchemy import func, select

    from mediation.workflow.models import OutboxRow

    with unit_of_work() as session:
        done = session.scalar(select(func.count()).where(OutboxRow.processed_at.is_not(None)))
        failed = session.scalar(select(func.count()).where(OutboxRow.failed_at.is_not(None)))
        total = session.scalar(select(func.count()).select_from(OutboxRow))
    click.echo(f"waiting {(total or 0) - (done or 0) - (failed or 0)}, done {done}, "
               f"failed {failed}")


@jobs.command("run")
def run() -> None:
    """Run the side effects due now in this process (the embedded setup's thread, once)."""
    from mediation.jobs.outbox import process_outbox

    report = process_outbox(runtime())
    click.echo(f"done {report.done}, failed {report.failed}")
    sys.exit(1 if report.failed else 0)
