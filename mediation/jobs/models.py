"""Incidents: side effects whose last try failed, kept for an admin to see and retry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.cases.models import Case
from mediation.db import Base
from mediation.timeutil import utcnow
from mediation.workflow.models import OutboxRow


class Incident(Base):
    """An outbox row that failed on every try. Open until retried; a retried incident stays
    on record with who retried it and when."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    effect: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    retried_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The username of the admin who retried it, or "command line".
    retried_by: Mapped[str | None] = mapped_column(String(60))

    outbox_row: Mapped[OutboxRow] = relationship()
    case: Mapped[Case | None] = relationship()

    @property
    def open(self) -> bool:
        """Whether it still waits for an admin."""
        return self.retried_at is None
