"""A consistent copy of a whole instance while it serves, and its restore into an empty one.

The archive is a gzipped tar holding:
- ``manifest.json``: format, when, which database, the schema revision, how many cases and
  events, and the SHA-256 of every other member;
- ``database.sqlite3`` (SQLite: a snapshot through SQLite's online backup API, consistent
  whatever the server writes meanwhile) or ``database.pgdump`` (PostgreSQL: ``pg_dump
  --format=custom``, one consistent transaction);
- ``instance/…``: every other file of the instance folder (uploads, the secret key that
  decrypts the parties' personal numbers, audit checkpoints …) but the live SQLite files.

The archive therefore holds secrets: keep it as carefully as the instance itself.

Restore refuses a target that already holds data, checks every checksum before touching
anything, then migrates the restored schema to the newest revision.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, inspect, select
from sqlalchemy.engine import make_url

from mediation import migrations
from mediation.config import Config
from mediation.timeutil import iso, utcnow

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
INSTANCE_PREFIX = "instance/"


class BackupError(Exception):
    """The backup or restore could not be done; the message says why."""


@dataclass(frozen=True)
class Summary:
    """What an archive holds."""

    database: str
    revision: str | None
    cases: int
    events: int
    files: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(parsed.database).resolve()


def _pg_args(url: str) -> tuple[list[str], dict[str, str]]:
    """Libpq command-line arguments and environment for ``url``."""
    parsed = make_url(url)
    args = ["--host", parsed.host or "127.0.0.1", "--port", str(parsed.port or 5432),
            "--username", parsed.username or "postgres", "--dbname", parsed.database or ""]
    env = {"PGPASSWORD": parsed.password} if parsed.password else {}
    return args, env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian package postgresql-client)")
    return path


def _counts(url: str) -> tuple[int, int]:
    from mediation.cases.models import Case
    from mediation.workflow.models import Event

    engine = create_engine(migrations.normalise_url(url))
    try:
        with engine.connect() as conn:
            names = set(inspect(conn).get_table_names())
            cases = (conn.execute(select(func.count()).select_from(Case.__table__)).scalar_one()
                     if "cases" in names else 0)
            events = (conn.execute(select(func.count()).select_from(Event.__table__)).scalar_one()
                      if "events" in names else 0)
    finally:
        engine.dispose()
    return int(cases), int(events)


def _instance_files(config: Config, skip: set[Path]) -> list[Path]:
    root = config.instance
    if not root.is_dir():
        return []
    out = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.resolve() in skip:
            continue
        out.append(path)
    return out


def backup(config: Config, target: Path) -> Summary:
    """Write an archive of the instance of ``config`` to ``target`` (replaced atomically)."""
    url = config.database_url
    target = target.resolve()
    sqlite_db = _sqlite_path(url)
    skip = {target}
    if sqlite_db is not None:
        skip |= {sqlite_db, Path(f"{sqlite_db}-wal"), Path(f"{sqlite_db}-shm"),
                 Path(f"{sqlite_db}-journal")}
    with tempfile.TemporaryDirectory(prefix="mediation-backup-") as tmp_name:
        tmp = Path(tmp_name)
        if sqlite_db is not None:
            if not sqlite_db.exists():
                raise BackupError(f"no database at {sqlite_db}")
            dump, member = tmp / SQLITE_MEMBER, SQLITE_MEMBER
            source = sqlite3.connect(f"file:{sqlite_db}?mode=ro", uri=True)
            copy = sqlite3.connect(dump)
            try:
                source.backup(copy)  # a consistent snapshot, concurrent writers or not
            finally:
                copy.close()
                source.close()
        else:
            dump, member = tmp / PG_MEMBER, PG_MEMBER
            args, env = _pg_args(url)
            done = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner",
                                   "--file", str(dump), *args],
                                  capture_output=True, text=True, env={**_base_env(), **env})
            if done.returncode != 0:
                raise BackupError("pg_dump failed: " + done.stderr.strip()[-400:])
        dump_url = f"sqlite:///{dump}" if sqlite_db is not None else url
        revision = migrations.current_revision(dump_url)
        cases, events = _counts(dump_url)
        files = _instance_files(config, skip)
        members = {member: _sha256(dump)}
        for path in files:
            members[INSTANCE_PREFIX + path.relative_to(config.instance).as_posix()] = _sha256(path)
        manifest: dict[str, Any] = {"format": FORMAT, "created_at": iso(utcnow()),
                    "database": "sqlite" if sqlite_db is not None else "postgresql",
                    "revision": revision, "cases": cases, "events": events,
                    "members": members}
        partial = target.with_name(target.name + ".partial")
        target.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(partial, "w:gz") as tar:
            data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            info.mtime = int(utcnow().timestamp())
            tar.addfile(info, io.BytesIO(data))
            tar.add(dump, arcname=member)
            for path in files:
                tar.add(path, arcname=INSTANCE_PREFIX
                        + path.relative_to(config.instance).as_posix())
        partial.replace(target)
    return Summary(str(manifest["database"]), revision, cases, events, len(files))


def _base_env() -> dict[str, str]:
    import os

    return dict(os.environ)


def _read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = tar.getmember(MANIFEST)
    except KeyError:
        raise BackupError("not a mediation backup: no manifest.json") from None
    f = tar.extractfile(member)
    if f is None:
        raise BackupError("not a mediation backup: manifest.json is not a file")
    manifest = json.loads(f.read().decode("utf-8"))
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    return dict(manifest)


def _safe_member(name: str) -> bool:
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts


def _target_is_empty(config: Config) -> None:
    url = config.database_url
    sqlite_db = _sqlite_path(url)
    if sqlite_db is not None:
        if sqlite_db.exists() and sqlite_db.stat().st_size > 0:
            raise BackupError(f"the target instance already has a database at {sqlite_db}; "
                              "restore only into an empty instance")
    else:
        engine = create_engine(migrations.normalise_url(url))
        try:
            with engine.connect() as conn:
                tables = inspect(conn).get_table_names()
        finally:
            engine.dispose()
        if tables:
            raise BackupError(f"the target database already has {len(tables)} tables; "
                              "restore only into an empty database")
    existing = [p for p in config.instance.rglob("*") if p.is_file()] \
        if config.instance.is_dir() else []
    existing = [p for p in existing if sqlite_db is None or p.resolve() != sqlite_db]
    if existing:
        raise BackupError(f"the target instance folder {config.instance} is not empty "
                          f"({existing[0].name} …); restore only into an empty instance")


def restore(config: Config, source: Path) -> Summary:
    """Restore the archive ``source`` into the empty instance of ``config``."""
    if not source.is_file():
        raise BackupError(f"no file {source}")
    try:
        tar = tarfile.open(source, "r:gz")  # noqa: SIM115  (closed by the with below)
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"not a readable backup: {exc}") from None
    with tar, tempfile.TemporaryDirectory(prefix="mediation-restore-") as tmp_name:
        try:
            manifest = _read_manifest(tar)
        except (tarfile.TarError, OSError, ValueError, EOFError, zlib.error) as exc:
            raise BackupError(f"not a readable backup: {exc}") from None
        tmp = Path(tmp_name)
        members = manifest.get("members") or {}
        for name, digest in members.items():
            if not _safe_member(name):
                raise BackupError(f"refusing the unsafe member name {name!r}")
            try:
                info = tar.getmember(name)
            except KeyError:
                raise BackupError(f"the backup lacks {name}") from None
            if not info.isfile():
                raise BackupError(f"{name} is not a file")
            try:
                tar.extract(info, tmp, filter="data")
            except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
                raise BackupError(f"{name} cannot be read: the backup is damaged ({exc})") from None
            if _sha256(tmp / name) != digest:
                raise BackupError(f"{name} does not match its checksum: the backup is damaged")
        kind = manifest.get("database")
        url = config.database_url
        sqlite_db = _sqlite_path(url)
        if (kind == "sqlite") != (sqlite_db is not None):
            raise BackupError(f"the backup holds a {kind} database but DATABASE_URL is "
                              f"{make_url(url).get_backend_name()}")
        _target_is_empty(config)
        config.instance.mkdir(parents=True, exist_ok=True)
        for name in members:
            if name.startswith(INSTANCE_PREFIX):
                dest = config.instance / name[len(INSTANCE_PREFIX):]
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(tmp / name, dest)
        if sqlite_db is not None:
            sqlite_db.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(tmp / SQLITE_MEMBER, sqlite_db)
        else:
            args, env = _pg_args(url)
            done = subprocess.run([_tool("pg_restore"), "--no-owner", "--exit-on-error",
                                   *args, str(tmp / PG_MEMBER)],
                                  capture_output=True, text=True, env={**_base_env(), **env})
            if done.returncode != 0:
                raise BackupError("pg_restore failed: " + done.stderr.strip()[-400:])
    migrations.upgrade(url)
    cases, events = _counts(url)
    if (cases, events) != (manifest.get("cases"), manifest.get("events")):
        raise BackupError(f"restored {cases} cases and {events} events, the backup says "
                          f"{manifest.get('cases')} and {manifest.get('events')}")
    files = sum(1 for n in members if n.startswith(INSTANCE_PREFIX))
    return Summary(str(kind), migrations.current_revision(url), cases, events, files)
