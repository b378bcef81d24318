"""What every benchmark shares: figure lines, throwaway databases, runtimes, memory.

A figure line begins with its id and ends with ``ok`` or ``short`` against its goal::

    P1 sqlite 1 client: engine 1,450/s, bare 1,900/s, ratio 1.31 (goal <= 1.5) ok

Lines go to standard output (and are collected for the summary of ``bench/run.py``); progress
and details go to standard error.
"""

from __future__ import annotations

import os
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediation.config import Config
from mediation.runtime import Runtime

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
BACKENDS = ("sqlite", "postgresql")
LINES: list[str] = []


def n(value: float) -> str:
    """1,450 (thousands separated, no decimals)."""
    return f"{value:,.0f}"


def ms(value: float) -> str:
    """Seconds as milliseconds: 3.2 ms, 41 ms."""
    v = value * 1000
    return f"{v:.1f} ms" if v < 10 else f"{v:,.0f} ms"


def figure(fid: str, text: str, ok: bool | None) -> str:
    """Print one figure line (``ok``/``short`` against its goal; None: informative)."""
    verdict = "" if ok is None else (" ok" if ok else " short")
    line = f"{fid} {text}{verdict}"
    LINES.append(line)
    print(line, flush=True)
    return line


def note(text: str) -> None:
    """Progress and details (standard error)."""
    print(text, file=sys.stderr, flush=True)


@contextmanager
def timed(what: str) -> Iterator[dict[str, float]]:
    """Time a block and say so on standard error; ``box["seconds"]`` holds the time."""
    box: dict[str, float] = {}
    start = time.perf_counter()
    note(f"   {what} ...")
    yield box
    box["seconds"] = time.perf_counter() - start
    note(f"   {what}: {box['seconds']:.1f} s")


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50, p95, p99 and mean of ``samples`` (seconds)."""
    ordered = sorted(samples)

    def at(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99),
            "mean": statistics.fmean(ordered)}


def postgres_answers() -> bool:
    """Whether PostgreSQL answers on 127.0.0.1:5432."""
    try:
        import psycopg

        psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres",
                        connect_timeout=2).close()
    except Exception:
        return False
    return True


def redis_answers(url: str = "redis://127.0.0.1:6379/0") -> bool:
    """Whether Redis answers."""
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception:
        return False
    return True


def backends(wanted: str) -> list[str]:
    """The backends of ``wanted`` (comma-separated) that answer."""
    out = []
    for b in [x.strip() for x in wanted.split(",") if x.strip()]:
        if b == "postgresql" and not postgres_answers():
            note(f"postgresql: not answering on {PG_HOST}:{PG_PORT}; skipped")
            continue
        out.append(b)
    return out


@contextmanager
def database(backend: str, tag: str = "bench") -> Iterator[str]:
    """A URL for an empty database of ``backend``, removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"mediation-{tag}-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        return
    import psycopg
    from psycopg import sql

    name = f"mediation_{tag}_{os.getpid()}_{secrets.token_hex(4)}"
    info: dict[str, Any] = dict(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres",
                                connect_timeout=2)
    with psycopg.connect(**info, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0")
                     .format(sql.Identifier(name)))
    try:
        yield f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with psycopg.connect(**info, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                         .format(sql.Identifier(name)))


def runtime(url: str, instance: Path, **extra: Any) -> Runtime:
    """A runtime on ``url`` without background jobs."""
    return Runtime(Config(instance=instance, database_url=url, secret_key="bench-secret",
                          run_jobs_inline=False, **extra))


def cheap_passwords() -> None:
    """Cheap argon2 parameters: benchmarks create thousands of users (not a figure)."""
    import argon2

    from mediation import security

    security._hasher = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    security._dummy_hash.cache_clear()


def rss_peak_kb(pid: int) -> int | None:
    """The peak resident set (VmHWM) of process ``pid``, in KiB."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    m = re.search(r"VmHWM:\s+(\d+) kB", text)
    return int(m.group(1)) if m else None


def children(pid: int) -> list[int]:
    """The child processes of ``pid``."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                out.append(int(entry.name))
    return out


@dataclass
class Rate:
    """A count over seconds."""

    count: int = 0
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        """Count per second."""
        return self.count / self.seconds if self.seconds else 0.0
