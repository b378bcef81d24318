"""The parts every entry point (web app, command line, worker) wires together once."""

from __future__ import annotations

from mediation.config import Config
from mediation.db import Database
from mediation.security import FieldCipher
from mediation.workflow.engine import Engine
from mediation.workflow.store import DefinitionStore


class Runtime:
    """Configuration, database, definitions, engine and cipher for one process."""

    def __init__(self, config: Config):
        self.config = config
        if config.database_url.startswith("sqlite:///"):
            config.instance.mkdir(parents=True, exist_ok=True)
        self.db = Database(config.database_url)
        self.store = DefinitionStore(config.workflows_dir)
        self.cipher = FieldCipher(config.secret_key)
        self.engine = Engine(self.store, self.cipher)

    def close(self) -> None:
        """Release database connections."""
        self.db.dispose()
