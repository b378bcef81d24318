"""Pages of the statistics and reports, under ``/reports``: build them on the one statistics
computation (mediation.stats), its charts (mediation.stats.charts) and the monthly report
(mediation.documents.monthly)."""

from __future__ import annotations

from flask import Blueprint

reports = Blueprint("reports", __name__, url_prefix="/reports")
