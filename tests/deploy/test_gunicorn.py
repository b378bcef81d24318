"""gunicorn with several workers serves the app (the at-scale web tier), on the suite's
database."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from mediation.auth.operations import find_user, issue_token
from tests.factories import World

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str, token: str | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, json.loads(resp.read())


def test_gunicorn_serves_the_api_from_several_workers(world: World, tmp_path: Path):
    rt = world.rt
    case_id = world.new_case()
    with rt.db.session() as s:
        token = issue_token(s, find_user(s, "v1"))[0]
    port = free_port()
    env = {**os.environ, "DATABASE_URL": rt.config.database_url, "SECRET_KEY": "test-secret-key",
           "MEDIATION_INSTANCE": str(tmp_path / "instance"), "WEB_CONCURRENCY": "3",
           "MEDIATION_BIND": f"127.0.0.1:{port}"}
    env.pop("CELERY_BROKER_URL", None)
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([GUNICORN, "-c", "python:mediation.gunicorn_conf"], cwd=ROOT,
                                env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        end = time.monotonic() + 30
        while True:
            try:
                assert get(f"{base}/healthz") == (200, {"status": "ok"})
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < end, log.read_text()
                time.sleep(0.2)
        for _ in range(12):  # spread over the workers
            status, page = get(f"{base}/api/v1/cases?state=reported", token)
            assert status == 200 and [c["id"] for c in page["items"]] == [case_id]
            status, case = get(f"{base}/api/v1/cases/{case_id}", token)
            assert status == 200 and case["state"] == "reported"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    text = log.read_text()
    assert text.count("Booting worker with pid") >= 3, text
    assert "side effects and deadline sweeps will not run under gunicorn" in text
