"""The bare endpoints P5 and P6 compare the app with: Flask and SQLAlchemy Core, the same
indexed query, no authentication, no scope, no serialisation beyond the row.

    gunicorn -c python:mediation.gunicorn_conf 'bench.bare_app:create()'
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, jsonify, request
from sqlalchemy import bindparam, func, select

from mediation.cases.models import Case
from mediation.db import make_engine
from mediation.orgs.models import OrgUnit


def create() -> Flask:
    """The bare app on DATABASE_URL."""
    engine = make_engine(os.environ["DATABASE_URL"])
    cases = Case.__table__
    units = OrgUnit.__table__
    page = (select(cases).where(cases.c.grid_id == bindparam("grid"),
                                cases.c.state == bindparam("state"))
            .order_by(cases.c.created_at.desc(), cases.c.id.desc()).limit(bindparam("n")))
    count = select(func.count()).select_from(cases).where(
        cases.c.grid_id == bindparam("grid"), cases.c.state == bindparam("state"))
    grid_id = select(units.c.id).where(units.c.code == bindparam("code"))
    one = select(cases).where(cases.c.id == bindparam("id"))
    app = Flask(__name__)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    def plain(row: Any) -> dict[str, Any]:
        return {k: (v.isoformat() if hasattr(v, "isoformat") else v)
                for k, v in row._mapping.items()}

    @app.get("/bare/cases")
    def index() -> Any:
        with engine.connect() as conn:
            gid = conn.scalar(grid_id, {"code": request.args["grid"]})
            params = {"grid": gid, "state": request.args["state"],
                      "n": int(request.args.get("per_page", 50))}
            rows = conn.execute(page, params).all()
            total = conn.scalar(count, params)
        return jsonify({"items": [plain(r) for r in rows], "total": total})

    @app.get("/bare/cases/<int:case_id>")
    def show(case_id: int) -> Any:
        with engine.connect() as conn:
            row = conn.execute(one, {"id": case_id}).first()
        return jsonify(plain(row)) if row else ("", 404)

    return app
