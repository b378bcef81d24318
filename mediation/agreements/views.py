"""Pages of the written agreement (人民调解协议书), under ``/cases/<id>/agreement``.

The case page links here when the engine offers the ``agreement`` option
(``Engine.options``); build the editor with :mod:`mediation.agreements.forms`, the shared macros
(templates/_macros/) and the operations in mediation.cases.operations.
"""

from __future__ import annotations

from flask import Blueprint

agreements = Blueprint("agreements", __name__, url_prefix="/cases/<int:case_id>/agreement")
