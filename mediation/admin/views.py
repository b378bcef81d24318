"""Pages of the administration, under ``/admin``: build them on mediation.auth.operations and
mediation.orgs.operations; deactivate, never delete."""

from __future__ import annotations

from flask import Blueprint

admin = Blueprint("admin", __name__, url_prefix="/admin")
