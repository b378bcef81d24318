"""The ``render`` effect: a transition queues ``{"document": NAME}`` in the outbox, and a job
renders that document of the case (in-process in the embedded setup, in a worker at scale).

The job needs the field cipher (agreements print the parties' contact numbers) and the public
URL printed in QR codes: the outbox runner puts the runtime on the job's session
(``session.info["runtime"]``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy.orm import Session

from mediation.cases.models import Case
from mediation.documents.store import ensure_rendered
from mediation.workflow.models import OutboxRow
from mediation.workflow.registry import effect

log = logging.getLogger(__name__)


class _Documents(Mapping[str, Any]):
    """The documents of the catalogue, read when ``workflows check`` asks (not at import)."""

    def _names(self) -> dict[str, Any]:
        from mediation.documents.catalogue import catalogue

        return dict(catalogue().documents)

    def __getitem__(self, key: str) -> Any:
        return self._names()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


@effect("render", params=("document",), values={"document": _Documents()})
def render_document(session: Session, row: OutboxRow) -> None:
    """Render ``row.payload["document"]`` for ``row.case_id`` if the case has it and its data
    changed; a case without that document (e.g. an oral agreement) is skipped."""
    name = (row.payload or {}).get("document")
    case = session.get(Case, row.case_id) if row.case_id is not None else None
    if case is None or not name:
        log.warning("render row %s: no case or no document", row.id)
        return
    runtime = session.info["runtime"]
    ensure_rendered(session, runtime, case, str(name))
