"""Org units: district → street → community → grid."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.db import Base

KINDS = ("district", "street", "community", "grid")
PARENT_KIND = {"street": "district", "community": "street", "grid": "community"}


class OrgUnit(Base):
    """A unit of the tree. ``path`` (``/D1/S1/C1/G1/``) makes subtree queries one LIKE."""

    __tablename__ = "org_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    short_name: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    path: Mapped[str] = mapped_column(String(400), index=True)

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id])

    def contains(self, other: OrgUnit) -> bool:
        """Whether ``other`` is this unit or lies below it."""
        return other.path.startswith(self.path)

    def lineage(self) -> list[str]:
        """The paths of this unit and of every unit above it (the units that contain it)."""
        parts = [p for p in self.path.split("/") if p]
        return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]

    def ancestor(self, kind: str) -> OrgUnit | None:
        """The unit of ``kind`` on the way up from here (itself included)."""
        unit: OrgUnit | None = self
        while unit is not None and unit.kind != kind:
            unit = unit.parent
        return unit

    def __repr__(self) -> str:
        return f"<OrgUnit {self.code} {self.kind}>"
