"""The at-scale setup with real services: a Celery worker (a subprocess, ``mediation worker``)
on the machine's Redis, with PostgreSQL.

Skipped, saying why, only when Redis or PostgreSQL does not answer. Each test run uses its own
PostgreSQL database and its own Redis key prefix (deleted at the end; nothing else is touched).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pypdf
import pytest
from sqlalchemy import func, select

from mediation.documents.models import RenderedDocument
from mediation.jobs.models import Incident
from mediation.jobs.operations import list_incidents, retry_incident
from mediation.jobs.outbox import enqueue
from mediation.runtime import Runtime
from mediation.timeutil import utcnow
from mediation.workflow.models import OutboxRow
from tests import pg
from tests.conftest import make_config
from tests.factories import World, case_body

REDIS_URL = os.environ.get("MEDIATION_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ROOT = Path(__file__).resolve().parents[2]
MEDIATION = str(Path(sys.executable).with_name("mediation"))
# Short tries, leases and intervals, so that the tests take seconds.
TUNING = {"MEDIATION_OUTBOX_MAX_ATTEMPTS": "3", "MEDIATION_OUTBOX_BACKOFF": "0.3",
          "MEDIATION_OUTBOX_LEASE": "4", "MEDIATION_RELAY_INTERVAL": "0.5",
          "MEDIATION_SWEEP_INTERVAL": "1"}


def _redis_answers() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception:
        return False
    return True


pytestmark = pytest.mark.skipif(
    not (pg.postgres_available() and _redis_answers()),
    reason=f"needs PostgreSQL on {pg.HOST}:{pg.PORT} and Redis at {REDIS_URL}; one does not answer")


def wait_for(predicate: Callable[[], object], seconds: float = 40.0, what: str = "") -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"waited {seconds}s for {what or predicate}")


class Services:
    """A PostgreSQL database with the schema, a Redis key prefix, and workers on them."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.url = pg.fresh_database("celery")
        from mediation.db import Database

        database = Database(self.url)
        database.create_all()
        database.dispose()
        self.prefix = f"mediation-test-{os.getpid()}-{secrets.token_hex(4)}:"
        self.rt = Runtime(make_config(self.url, tmp / "instance", broker_url=REDIS_URL,
                                      broker_prefix=self.prefix))
        self.workers: list[subprocess.Popen[bytes]] = []

    def env(self) -> dict[str, str]:
        return {**os.environ, **TUNING, "DATABASE_URL": self.url, "CELERY_BROKER_URL": REDIS_URL,
                "MEDIATION_BROKER_PREFIX": self.prefix, "SECRET_KEY": "test-secret-key",
                "MEDIATION_INSTANCE": str(self.tmp / "worker"),
                "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        with open(self.tmp / f"{name}.log", "wb") as log:  # the worker keeps its own copy
            proc = subprocess.Popen(
                [MEDIATION, "worker", "--concurrency", "1", "--beat", "--loglevel", "INFO",
                 "--include", "tests.jobs.worker_effects", "--hostname", f"{name}@test"],
                cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        self.workers.append(proc)
        return proc

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def close(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.kill(proc)
        self.rt.close()
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=self.prefix + "*", count=1000))
        if keys:
            client.delete(*keys)

    def row(self, row_id: int) -> OutboxRow:
        with self.rt.db.session() as s:
            row = s.get(OutboxRow, row_id)
            assert row is not None
            return row

    def queue(self, case_id: int | None, effect: str, payload: dict) -> int:
        """An outbox row, committed; sent to the workers after the commit."""
        with self.rt.db.session() as s:
            return enqueue(s, case_id=case_id, event_seq=None, effect=effect, payload=payload,
                           now=utcnow())


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    svc = Services(tmp_path_factory.mktemp("celery"))
    World(svc.rt).build()
    try:
        yield svc
    finally:
        svc.close()


@pytest.fixture(scope="module")
def worker(services: Services) -> subprocess.Popen[bytes]:
    return services.start_worker("main")


def test_a_transitions_pdf_and_the_deadline_sweep_run_in_the_worker(services, worker):
    world = World(services.rt)
    case_id = world.new_case()
    world.fire(case_id, "accept", "v1")  # queues the rights notice (权利义务告知书)
    with services.rt.db.session() as s:
        (row,) = s.scalars(select(OutboxRow).where(OutboxRow.case_id == case_id)).all()
        case_no = world.case(case_id).case_no
    # A whistle blown four days ago: its 72-hour escalation is due; beat's sweep fires it.
    with services.rt.db.session() as s:
        from mediation.cases.operations import create_case

        late, _ = create_case(s, services.rt.engine, case_body(), actor=world.user(s, "v1"),
                              now=utcnow() - timedelta(days=4))
    wait_for(lambda: services.row(row.id).processed_at, what="the render job")
    assert services.row(row.id).attempts == 1
    with services.rt.db.session() as s:
        doc = s.scalars(select(RenderedDocument).where(
            RenderedDocument.case_id == case_id)).one()
        assert doc.document == "rights_notice" and doc.pdf.startswith(b"%PDF")
        path = services.tmp / "rights.pdf"
        path.write_bytes(doc.pdf)
        text = "".join(page.extract_text() for page in pypdf.PdfReader(path).pages)
        assert case_no in text.replace(" ", "") or "权利义务" in text
    wait_for(lambda: world.case(late.id).state == "escalated", what="the sweep")
    assert "mediation.outbox.run" in services.log("main")


def test_a_job_that_always_fails_ends_as_an_incident_an_admin_retries(services, worker):
    gate = services.tmp / "gate"
    gate.write_text("closed")
    row_id = services.queue(None, "test_gate", {"gate": str(gate)})

    def incident() -> Incident | None:
        with services.rt.db.session() as s:
            return s.scalar(select(Incident).where(Incident.outbox_id == row_id))

    wait_for(incident, what="the incident")
    row = services.row(row_id)
    assert row.attempts == 3 and row.failed_at is not None and row.processed_at is None
    inc = incident()
    assert inc is not None and inc.attempts == 3 and "gate closed" in inc.error
    with services.rt.db.session() as s:
        assert [i.id for i in list_incidents(s, actor=None)] == [inc.id]
        admin = world_user(s, "admin")
        gate.unlink()  # the gateway is back
        retry_incident(s, inc.id, actor=admin)
    wait_for(lambda: services.row(row_id).processed_at, what="the retried job")
    row = services.row(row_id)
    assert row.attempts == 1 and row.failed_at is None
    with services.rt.db.session() as s:
        assert list_incidents(s, actor=None) == []
        (done,) = list_incidents(s, actor=None, open_only=False)
        assert done.retried_by == "admin"


def world_user(session, username):
    return World.user(None, session, username)  # type: ignore[arg-type]


def test_a_worker_killed_mid_job_leaves_it_to_another_which_finishes_it_once(services):
    world = World(services.rt)
    case_id = world.new_case()
    world.fire(case_id, "accept", "v1")
    marker = services.tmp / "marks"
    services.start_worker("doomed")
    row_id = services.queue(case_id, "test_slow_render",
                            {"document": "rights_notice", "marker": str(marker)})
    wait_for(lambda: marker.exists() and "stalled" in marker.read_text(),
             what="the first try to stall mid-job")
    # SIGKILL to the worker that stalled (this one, or the module's), its pool process too
    stalled = int(next(m for m in marker.read_text().splitlines() if m.startswith("stalled"))
                  .split()[1])
    (doomed,) = [w for w in services.workers if w.poll() is None
                 and os.getpgid(stalled) == w.pid]
    services.kill(doomed)
    assert services.row(row_id).processed_at is None
    services.start_worker("rescuer")
    wait_for(lambda: services.row(row_id).processed_at, what="the job to be finished")
    marks = marker.read_text().splitlines()
    starts = [m for m in marks if m.startswith("start")]
    dones = [m for m in marks if m.startswith("done")]
    assert [s.split()[2] for s in starts] == ["1", "2"], marks
    assert len(dones) == 1 and dones[0].endswith(" 2")
    assert services.row(row_id).attempts == 2
    with services.rt.db.session() as s:
        count = s.scalar(select(func.count()).select_from(RenderedDocument).where(
            RenderedDocument.case_id == case_id, RenderedDocument.document == "rights_notice"))
    assert count == 1
