"""``mediation backup`` while cases are being written, and ``mediation restore`` into a fresh
instance that then verifies and serves (issue 10, row 16; INTERFACES.md)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mediation.cases.models import Case, Party
from mediation.config import Config
from mediation.runtime import Runtime
from tests import pg
from tests.conftest import make_config
from tests.factories import PARTIES, World

SECRET = "backup-test-secret"


def cli(instance: Path, *args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DATABASE_URL",
                                                             "CELERY_BROKER_URL")}
    env["MEDIATION_INSTANCE"] = str(instance)
    if url:
        env["DATABASE_URL"] = url
    return subprocess.run([sys.executable, "-m", "mediation", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def _source(tmp_path: Path, url: str | None = None) -> tuple[Runtime, World, Path]:
    """An instance with its own secret key file, schema, org tree, users and a few cases."""
    instance = tmp_path / "source"
    instance.mkdir()
    (instance / "secret_key").write_text(SECRET)
    (instance / "uploads").mkdir()
    (instance / "uploads" / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a photo")
    url = url or f"sqlite:///{instance / 'mediation.sqlite3'}"
    done = cli(instance, "db", "upgrade", url=url)
    assert done.returncode == 0, done.stderr
    rt = Runtime(Config(instance=instance, database_url=url, secret_key=SECRET,
                        run_jobs_inline=False, testing=True))
    world = World(rt).build()
    for _ in range(3):
        world.case_in("performing")
    return rt, world, instance


def _counts(rt: Runtime) -> tuple[int, int]:
    from mediation.workflow.models import Event

    with rt.db.session() as s:
        return (s.scalar(select(func.count()).select_from(Case)) or 0,
                s.scalar(select(func.count()).select_from(Event)) or 0)


def test_backup_while_writing_then_restore_verifies_and_serves(tmp_path):
    rt, world, instance = _source(tmp_path)
    stop = threading.Event()
    written: list[int] = []

    def write() -> None:
        while not stop.is_set():
            written.append(world.new_case())

    writer = threading.Thread(target=write)
    writer.start()
    try:
        archive = tmp_path / "copy.tar.gz"
        done = cli(instance, "backup", str(archive))
    finally:
        stop.set()
        writer.join()
    assert done.returncode == 0, done.stderr
    assert written, "the writer wrote nothing while the backup ran"
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        names = set(tar.getnames())
    assert {"database.sqlite3", "instance/secret_key", "instance/uploads/photo.jpg"} <= names
    assert "instance/mediation.sqlite3" not in names  # the live file is not copied raw
    total_cases, _ = _counts(rt)
    assert 3 <= manifest["cases"] <= total_cases

    target = tmp_path / "restored"
    done = cli(target, "restore", str(archive))
    assert done.returncode == 0, done.stderr
    assert f"{manifest['cases']} cases" in done.stdout
    assert (target / "uploads" / "photo.jpg").read_bytes().startswith(b"\xff\xd8")
    verified = cli(target, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"{manifest['cases']} case(s) checked, 0 broken" in verified.stdout

    # The restored instance serves, with its own key: the parties' numbers still decrypt.
    from mediation import create_app
    from mediation.config import from_env

    os.environ["MEDIATION_INSTANCE"] = str(target)
    try:
        restored = Runtime(from_env(run_jobs_inline=False))
    finally:
        del os.environ["MEDIATION_INSTANCE"]
    try:
        assert restored.config.secret_key == SECRET
        with restored.db.session() as s:
            party = s.scalars(select(Party).order_by(Party.id)).first()
            assert party is not None
            assert restored.cipher.decrypt(party.phone_enc) == PARTIES[0]["phone"]
        client = create_app(runtime=restored).test_client()
        token = client.post("/api/v1/auth/token",
                            json={"username": "v1", "password": "Pw-v1-2026"}).get_json()
        listing = client.get("/api/v1/cases?per_page=100",
                             headers={"Authorization": f"Bearer {token['token']}"})
        assert listing.status_code == 200
        assert listing.get_json()["total"] == manifest["cases"]
    finally:
        restored.close()
        rt.close()


def test_restore_refuses_an_instance_that_holds_data(tmp_path):
    rt, _world, instance = _source(tmp_path)
    rt.close()
    archive = tmp_path / "copy.tar.gz"
    assert cli(instance, "backup", str(archive)).returncode == 0
    done = cli(instance, "restore", str(archive))
    assert done.returncode == 1
    assert "already has a database" in done.stderr
    assert _counts(Runtime(make_config(f"sqlite:///{instance / 'mediation.sqlite3'}",
                                       instance)))[0] == 3  # nothing touched


def _rewrite(archive: Path, out: Path, change) -> None:
    with tarfile.open(archive) as src, tarfile.open(out, "w:gz") as dst:
        for info in src.getmembers():
            data = src.extractfile(info).read()  # type: ignore[union-attr]
            info, data = change(info, data)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))


@pytest.fixture
def archive(tmp_path) -> Path:
    rt, _world, instance = _source(tmp_path)
    rt.close()
    path = tmp_path / "copy.tar.gz"
    assert cli(instance, "backup", str(path)).returncode == 0
    return path


def test_a_damaged_archive_is_refused_and_nothing_is_written(tmp_path, archive):
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    target = tmp_path / "t1"
    done = cli(target, "restore", str(broken))
    assert done.returncode == 1
    assert "damaged" in done.stderr or "not a readable backup" in done.stderr
    assert not (target / "mediation.sqlite3").exists()


def test_a_changed_member_fails_its_checksum(tmp_path, archive):
    tampered = tmp_path / "tampered.tar.gz"

    def change(info, data):
        if info.name == "instance/uploads/photo.jpg":
            data = data + b"!"
        return info, data

    _rewrite(archive, tampered, change)
    target = tmp_path / "t2"
    done = cli(target, "restore", str(tampered))
    assert done.returncode == 1
    assert "instance/uploads/photo.jpg does not match its checksum" in done.stderr
    assert not (target / "mediation.sqlite3").exists()


def test_a_member_outside_the_instance_is_refused(tmp_path, archive):
    evil = tmp_path / "evil.tar.gz"

    def change(info, data):
        if info.name == "manifest.json":
            manifest = json.loads(data)
            manifest["members"]["../escaped.txt"] = "0" * 64
            data = json.dumps(manifest).encode()
        return info, data

    _rewrite(archive, evil, change)
    done = cli(tmp_path / "t3", "restore", str(evil))
    assert done.returncode == 1
    assert "unsafe member name" in done.stderr
    assert not (tmp_path / "escaped.txt").exists()


def test_not_a_backup_is_named(tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_text("hello")
    done = cli(tmp_path / "t4", "restore", str(junk))
    assert done.returncode == 1 and "not a readable backup" in done.stderr


@pytest.mark.skipif(not shutil.which("pg_dump"), reason="pg_dump is not installed")
def test_postgresql_backup_and_restore_with_pg_dump(tmp_path):
    if not pg.postgres_available():
        pytest.skip("PostgreSQL does not answer on 127.0.0.1:5432")
    source_url = pg.fresh_database("backup_src")
    rt, _world, instance = _source(tmp_path, url=source_url)
    expected = _counts(rt)
    rt.close()
    archive = tmp_path / "pg.tar.gz"
    done = cli(instance, "backup", str(archive), url=source_url)
    assert done.returncode == 0, done.stderr
    target_url = pg.fresh_database("backup_dst")
    target = tmp_path / "pg-restored"
    done = cli(target, "restore", str(archive), url=target_url)
    assert done.returncode == 0, done.stderr
    restored = Runtime(make_config(target_url, target))
    try:
        assert _counts(restored) == expected
    finally:
        restored.close()
    verified = cli(target, "audit", "verify", url=target_url)
    assert verified.returncode == 0, verified.stdout
    # a second restore into the now full database is refused
    again = cli(tmp_path / "pg-again", "restore", str(archive), url=target_url)
    assert again.returncode == 1 and "already has" in again.stderr
