"""What the engine writes: events (the hash-chained trail), deadlines, outbox rows, and the
definition versions cases are pinned to."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mediation.db import Base
from mediation.timeutil import utcnow


class EventKind(StrEnum):
    """What an event of the trail is (DESIGN.md §5). The one list of kinds: the engine,
    operations, documents and statistics compare with these, never with bare strings."""

    CREATED = "created"  # the case was opened (whistle blown, consultation registered)
    TRANSITION = "transition"  # a trigger of the definition moved it
    ACTION = "action"  # an action of the definition recorded a fact
    AGREEMENT = "agreement"  # a written agreement was drafted, changed or voided
    SIGNATURE = "signature"  # a signature, fingerprint or seal was recorded
    PARTY = "party"  # a party's facts were changed or a party added
    REMIND = "remind"  # a reminder deadline came due
    OVERDUE = "overdue"  # an overdue deadline came due
    SYSTEM = "system"  # something the system did on its own


class EventName(StrEnum):
    """The names of the events the engine and the case operations write themselves (those of
    triggers and actions come from the definition)."""

    SAVE_DRAFT = "save_draft"  # kind agreement
    NEW_VERSION = "new_version"  # kind agreement: a change after signing
    VOID = "void"  # kind agreement: voided by a breach
    SIGN = "sign"  # kind signature
    UPDATE_PARTY = "update_party"  # kind party
    ADD_PARTY = "add_party"  # kind party
    DEADLINE = "deadline"  # kinds remind, overdue
    DEADLINE_NOT_FIRED = "deadline_not_fired"  # kind system
    OPENED_CASE = "opened_case"  # kind system


class DefinitionVersion(Base):
    """The text of every definition version a case was ever started on."""

    __tablename__ = "definition_versions"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Event(Base):
    """One link of a case's trail, named by its case and sequence number (no other key: every
    column is under the hash). Never updated or deleted by the application."""

    __tablename__ = "events"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(60))
    from_state: Mapped[str | None] = mapped_column(String(60))
    to_state: Mapped[str | None] = mapped_column(String(60))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The case's handler (username) after this event: who had the case when (return_to_grid
    # hands a case back to whoever had it in the grid).
    handler: Mapped[str | None] = mapped_column(String(60))
    # What the event changed in the record (mediation.workflow.audit): the case row's columns
    # and the images of the evidence rows written; under the hash.
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Deadline(Base):
    """A due time set on entering a state; fired once by a sweep, or cancelled on leaving."""

    __tablename__ = "deadlines"
    __table_args__ = (Index("ix_deadlines_pending", "fired_at", "cancelled_at", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    state: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(20))
    trigger: Mapped[str | None] = mapped_column(String(60))
    due_at: Mapped[datetime] = mapped_column(DateTime)
    reason: Mapped[str] = mapped_column(String(400))
    reason_en: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    fired_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)


class OutboxRow(Base):
    """A side effect queued in the same transaction as the event that caused it.

    Pending until ``processed_at``; ``failed_at`` when its last try failed (an incident, see
    mediation.jobs). Run by mediation.jobs.outbox.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "processed_at", "available_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    event_seq: Mapped[int | None] = mapped_column(Integer)
    effect: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    available_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime)
    error: Mapped[str | None] = mapped_column(Text)
    # The last try failed: no more tries until an admin retries it.
    failed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # When the relay last sent it to the workers (at scale).
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime)
