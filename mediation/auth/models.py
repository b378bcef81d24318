"""Users, API tokens and login attempts."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.db import Base
from mediation.i18n import N_
from mediation.orgs.models import OrgUnit
from mediation.timeutil import utcnow

ROLES = ("volunteer", "reviewer", "lawyer", "admin")
ROLE_LABELS = {"volunteer": N_("调解志愿者"), "reviewer": N_("审查员"),
               "lawyer": N_("律师"), "admin": N_("管理员")}
# Users of this role see only the cases referred to their district's legal service.
LEGAL_ROLE = "lawyer"


class User(UserMixin, Base):
    """A person who signs in: one role, one org unit."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    full_name: Mapped[str] = mapped_column(String(60), default="")
    role: Mapped[str] = mapped_column(String(20))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    password_hash: Mapped[str] = mapped_column(String(200))
    # Where the mediator lives: the engine compares it with the parties' (conflicts of interest).
    address: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Rotated on logout and password change: invalidates every session cookie (Flask-Login).
    session_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")

    def get_id(self) -> str:
        """Flask-Login's id: the rotating session token, not the primary key."""
        return self.session_token

    @property
    def is_active(self) -> bool:
        """Disabled users cannot sign in."""
        return self.active

    @property
    def display_name(self) -> str:
        """The name to print: the full name, or the username."""
        return self.full_name or self.username

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")


class LoginAttempt(Base):
    """A failed or successful login, kept to throttle guessing across processes."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    success: Mapped[bool] = mapped_column(Boolean)
