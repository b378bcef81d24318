"""PostgreSQL helpers for the suite: is a server there, and a fresh database per session.

The test machines run PostgreSQL on 127.0.0.1:5432 with user ``postgres`` and trust auth.
Databases made here are named ``mediation_test_<prefix>_<pid>_<random>`` and dropped at the
end of the session (:func:`drop_databases`, also registered with :mod:`atexit`); those left
by a run that was killed are dropped by the next run once their process is gone.
"""

from __future__ import annotations

import atexit
import os
import re
import secrets
import threading

import psycopg
from psycopg import sql

HOST = os.environ.get("MEDIATION_TEST_PG_HOST", "127.0.0.1")
PORT = int(os.environ.get("MEDIATION_TEST_PG_PORT", "5432"))
USER = os.environ.get("MEDIATION_TEST_PG_USER", "postgres")
NAMESPACE = "mediation_test_"
CONNECT_TIMEOUT = 2  # seconds: a missing server must not slow the suite down

_created: list[str] = []
_lock = threading.Lock()
_available: bool | None = None


def _conninfo(dbname: str = "postgres") -> str:
    return psycopg.conninfo.make_conninfo(
        host=HOST, port=PORT, user=USER, dbname=dbname, connect_timeout=CONNECT_TIMEOUT)


def url_for(dbname: str) -> str:
    """The SQLAlchemy URL (psycopg 3) of database ``dbname`` on the test server."""
    return f"postgresql+psycopg://{USER}@{HOST}:{PORT}/{dbname}"


def postgres_available(*, refresh: bool = False) -> bool:
    """Whether the test PostgreSQL server answers (the answer is kept for the process)."""
    global _available
    if _available is None or refresh:
        try:
            with psycopg.connect(_conninfo(), autocommit=True) as conn:
                conn.execute("SELECT 1")
            _available = True
        except psycopg.Error:
            _available = False
    return _available


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def drop_stale_databases() -> list[str]:
    """Drop test databases whose creating process is gone (a killed run); return their names."""
    pattern = re.compile(rf"^{NAMESPACE}[a-z0-9_]*_(\d+)_[0-9a-f]{{8}}$")
    dropped: list[str] = []
    with psycopg.connect(_conninfo(), autocommit=True) as conn:
        names = [row[0] for row in conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (NAMESPACE + "%",))]
        for name in names:
            match = pattern.match(name)
            if match and not _pid_alive(int(match.group(1))):
                try:
                    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(name)))
                except psycopg.Error:  # another worker of this run is dropping it
                    continue
                dropped.append(name)
    return dropped


def fresh_database(prefix: str = "run") -> str:
    """Create an empty, uniquely named database and return its SQLAlchemy URL.

    The database is dropped at the end of the session (:func:`drop_databases`).
    """
    slug = re.sub(r"[^a-z0-9_]+", "_", prefix.lower()).strip("_")[:20] or "db"
    name = f"{NAMESPACE}{slug}_{os.getpid()}_{secrets.token_hex(4)}"
    with _lock:
        if not _created:
            atexit.register(drop_databases)
            drop_stale_databases()
        with psycopg.connect(_conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0").format(
                sql.Identifier(name)))
        _created.append(name)
    return url_for(name)


def drop_databases() -> None:
    """Drop every database this process made (connections still open are closed)."""
    with _lock:
        names, _created[:] = list(_created), []
    if not names:
        return
    with psycopg.connect(_conninfo(), autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
