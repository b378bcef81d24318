"""Configuration from the environment (INTERFACES.md): DATABASE_URL, CELERY_BROKER_URL,
SECRET_KEY, MEDIATION_INSTANCE, and MEDIATION_PUBLIC_URL (the address printed in QR codes).
Read when an app or command starts, never at import."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Config:
    """Everything the app, the command line and the workers need to start."""

    instance: Path
    database_url: str
    secret_key: str
    broker_url: str | None = None
    workflows_dir: Path | None = None
    # in-process jobs and sweeps (embedded setup); off under Celery and in most tests
    run_jobs_inline: bool = True
    sweep_interval: int = 60
    token_ttl_hours: int = 12
    max_body_bytes: int = 1_000_000
    login_max_failures: int = 10
    login_window_minutes: int = 15
    testing: bool = False
    # The address printed in QR codes on documents (``<public_url>/verify/<code>``).
    public_url: str = "http://localhost:5000"
    # The outbox (mediation.jobs.outbox): tries before an effect becomes an incident, the
    # back-off before the second try (doubled each time), how long a claimed row is left to
    # its worker before another may take it, how often the relay looks for rows to send.
    outbox_max_attempts: int = 8
    outbox_backoff: float = 30.0
    outbox_lease: float = 300.0
    relay_interval: float = 5.0
    # A prefix for every key the Celery broker writes in Redis (several instances, or test
    # runs, on one Redis server).
    broker_prefix: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def embedded(self) -> bool:
        """True when no broker is configured: jobs and sweeps run in-process."""
        return not self.broker_url

    def with_(self, **changes: Any) -> Config:
        """A copy with ``changes``."""
        return replace(self, **changes)


def _secret_key(instance: Path, create: bool = True) -> str:
    """SECRET_KEY from the environment, else one kept in the instance folder.

    The key also derives the key that encrypts parties' phone and ID numbers, so it must stay
    the same across restarts: a generated one is written to instance/secret_key (mode 600).
    """
    env = os.environ.get("SECRET_KEY")
    if env:
        return env
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    if not create:
        return ""
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


# Settings of the jobs that the environment may tune (``MEDIATION_<NAME>``), and their types.
_TUNING: dict[str, type] = {"outbox_max_attempts": int, "outbox_backoff": float,
                            "outbox_lease": float, "relay_interval": float,
                            "sweep_interval": int}


def from_env(*, create_secret: bool = True, **overrides: Any) -> Config:
    """Build the configuration from the environment, with ``overrides`` on top.

    ``create_secret=False`` leaves a missing secret key missing (empty) instead of writing a
    new one into the instance folder (``mediation restore`` brings the instance's own)."""
    instance = Path(os.environ.get("MEDIATION_INSTANCE") or Path.cwd() / "instance").resolve()
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'mediation.sqlite3'}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    workflows = os.environ.get("MEDIATION_WORKFLOWS")
    broker = os.environ.get("CELERY_BROKER_URL") or None
    tuning: dict[str, Any] = {}
    for name, kind in _TUNING.items():
        value = os.environ.get(f"MEDIATION_{name.upper()}")
        if value:
            tuning[name] = kind(value)
    config = Config(
        instance=instance,
        database_url=url,
        secret_key=_secret_key(instance, create_secret),
        broker_url=broker,
        workflows_dir=Path(workflows) if workflows else None,
        run_jobs_inline=broker is None,
        public_url=(os.environ.get("MEDIATION_PUBLIC_URL") or "http://localhost:5000").rstrip("/"),
        broker_prefix=os.environ.get("MEDIATION_BROKER_PREFIX", ""),
        **tuning,
    )
    return config.with_(**overrides) if overrides else config
