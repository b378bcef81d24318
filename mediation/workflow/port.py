"""The one door between the engine and the records it moves (issue 7: the layers run one way).

The engine runs any definition over *cases*: rows that are at a state of a pinned definition
version, count their changes in a version, have a handler and carry the head of their hash
chain. Everything else a case is — its grid and committee, its parties, who may see it, how it
is numbered, whom a handler may not be — belongs to the application (mediation/cases/), which
gives the engine a :class:`CaseLayer`. ``workflow/`` never imports ``cases/``
(tests/workflow/test_layers.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mediation.auth.models import User
    from mediation.i18n import Label, Lazy, Msg
    from mediation.workflow.definition import Definition


class CaseRow(Protocol):
    """What the engine reads and writes on a case (the columns of its table by these names;
    ``chain_head`` is the hash of its last event, ``version`` the number of its events)."""

    id: int
    workflow: str
    definition_version: str
    state: str
    version: int
    chain_head: str | None
    assignee_id: int | None
    assignee: User | None
    state_entered_at: datetime
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    due_at: datetime | None
    overdue_at: datetime | None


class Opened(Protocol):
    """A case just opened by :meth:`CaseLayer.open` (flushed, not yet chained)."""

    case: Any
    # What the creation event records (its ``data``), and the images of the rows of evidence
    # written with it (``{"parties:3": {...}}``).
    data: dict[str, Any]
    rows: dict[str, dict[str, Any] | None]


class CaseLayer(Protocol):
    """What the engine asks of the application's cases."""

    @property
    def model(self) -> type[Any]:
        """The ORM class of a case (a :class:`CaseRow`)."""

    def ref(self, case: Any) -> str:
        """The name a case's chain covers it by (never changes)."""

    def lock(self, session: Session, case_id: int) -> Any | None:
        """The case, loaded for change: its row locked until the transaction ends (SQLite's
        transaction holds the write lock already), with what :meth:`can_see` and
        :meth:`refusal` read; None when there is no such case."""

    def load(self, session: Session, case_ids: Iterable[int]) -> list[Any]:
        """Cases already locked by the caller, loaded (a sweep's batch)."""

    def can_see(self, user: User, case: Any) -> bool:
        """Whether ``user`` may see ``case`` at all."""

    def refusal(self, definition: Definition, roles: Sequence[str], case: Any, user: User,
                what: Label | Lazy | str) -> Msg | None:
        """Why ``user`` may not do ``what`` on ``case`` given the ``roles`` the definition
        names (handler, scope, supervision); None if they may."""

    def in_scope(self, user: User, case: Any) -> bool:
        """Whether ``case`` lies in ``user``'s unit (a definition's ``unit_roles``)."""

    def is_supervisor(self, definition: Definition, user: User, case: Any) -> bool:
        """Whether ``user`` supervises ``case`` (the definition's supervisor role in scope)."""

    def assignment(self, case: Any, handler: User | None) -> dict[str, Any]:
        """The columns that make ``handler`` the case's handler (None: nobody); the loaded
        case shows the handler already."""

    def handler_refusal(self, case: Any, handler: User) -> Msg | None:
        """Why ``handler`` may never handle ``case`` (they are a party of it); None if not."""

    def conflicts(self, session: Session, case: Any, handler: User) -> list[Msg]:
        """Warnings about links between ``handler`` and ``case`` (a conflict check)."""

    def accept(self, session: Session, definition: Definition, case: Any,
               now: datetime) -> dict[str, Any]:
        """The columns a case gets when the definition accepts it (its number in the
        definition's series, when), or nothing when it was accepted before."""

    def open(self, session: Session, definition: Definition, *, grid_code: str, category: str,
             risk_level: str, title: str, description: str, parties: list[dict[str, Any]],
             source: str, actor: User | None, now: datetime, origin: Any | None) -> Opened:
        """Check the input of a new case (422 naming each field) and insert it with its
        parties, at the definition's initial state, version 1 (flushed; the caller chains
        it)."""

    def heads(self, session: Session) -> Iterable[tuple[int, str, int, str | None]]:
        """(id, ref, version, chain head) of every case, by id (what checkpoints record)."""
