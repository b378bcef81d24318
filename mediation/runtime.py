"""The parts every entry point (web app, command line, worker) wires together once."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mediation.cases.port import MediationCases
from mediation.config import Config
from mediation.db import Database
from mediation.security import FieldCipher
from mediation.workflow.engine import Engine
from mediation.workflow.store import DefinitionStore

if TYPE_CHECKING:
    from mediation.jobs.dispatch import Dispatcher


log = logging.getLogger(__name__)


class Runtime:
    """Configuration, database, definitions, engine and cipher for one process; at scale also
    the dispatcher that sends queued side effects to the Celery workers after each commit."""

    def __init__(self, config: Config):
        self.config = config
        if config.database_url.startswith("sqlite:///"):
            config.instance.mkdir(parents=True, exist_ok=True)
        self.db = Database(config.database_url)
        self.store = DefinitionStore(config.workflows_dir)
        self.cipher = FieldCipher(config.secret_key)
        self.engine = Engine(self.store, self.cipher, MediationCases(self.cipher))
        from mediation.jobs.dispatch import Dispatcher, install

        self.jobs: Dispatcher | None = Dispatcher(config) if config.broker_url else None
        install(self.db.sessionmaker, self.jobs)

    def checkpoints(self) -> Any:
        """The signed checkpoints of chain heads of this instance (outside the database)."""
        from mediation.workflow.checkpoints import Checkpoints

        return Checkpoints.for_instance(self.config.instance, heads=self.engine.cases.heads)

    def sweep(self, now: datetime | None = None) -> Any:
        """One deadline sweep, then a checkpoint of the chain heads that moved (a failed
        checkpoint is logged, never fatal to the sweep)."""
        report = self.engine.sweep(self.db, now)
        try:
            with self.db.session() as session:
                self.checkpoints().write(session, now)
        except Exception:  # the sweep did its work; the next one checkpoints again
            log.exception("checkpoint after the sweep failed")
        return report

    def close(self) -> None:
        """Release database and broker connections."""
        if self.jobs is not None:
            self.jobs.close()
        self.db.dispose()
