"""Health, the workflow definitions, and statistics."""

from __future__ import annotations

from typing import Any

from flask import request
from spectree import Response

from mediation.api import api, current_user
from mediation.api.schemas import Json, Problem, StatsQuery
from mediation.errors import FieldError, ValidationFailed
from mediation.extensions import spec
from mediation.i18n import msg
from mediation.orgs.operations import find_org
from mediation.stats.queries import case_stats
from mediation.web import db_session, lang, runtime

BEARER: dict[str, list[str]] = {"bearer": []}


def healthz() -> Any:
    """Liveness: the process answers and the database is reachable."""
    from sqlalchemy import text

    db_session().execute(text("SELECT 1"))
    return {"status": "ok"}


@api.get("/workflows")
@spec.validate(resp=Response(HTTP_200=None, HTTP_401=Problem), tags=["workflows"],
               security=BEARER)
def workflows() -> Any:
    """Every workflow in use: states with labels, transitions with roles."""
    language = lang()
    out = []
    for d in runtime().store.all_current():
        out.append({
            "name": d.name, "version": d.version, "label": d.label.get(language),
            "initial": d.initial,
            "states": [{"name": s.name, "label": s.label.get(language), "terminal": s.terminal,
                        "level": s.level,
                        "deadlines": [{"kind": x.kind, "after": x.after_text, "fire": x.fire,
                                       "reason": x.reason.get(language)} for x in s.deadlines]}
                       for s in d.states.values()],
            "transitions": [{"trigger": t.trigger, "label": t.label.get(language),
                             "sources": list(t.sources), "dest": t.dest,
                             "roles": list(t.roles), "requires": list(t.requires),
                             "guards": list(t.guards)}
                            for t in d.transitions.values()],
            "actions": [{"action": a.name, "label": a.label.get(language),
                         "requires": list(a.requires), "optional": list(a.optional),
                         "states": list(a.states) if a.states is not None else None}
                        for a in d.actions.values()],
        })
    return out


@api.get("/stats")
@spec.validate(query=StatsQuery, resp=Response(HTTP_200=Json, HTTP_401=Problem,
                                                HTTP_422=Problem), tags=["stats"],
               security=BEARER)
def stats() -> Any:
    """Figures for the user's unit (or ``org`` inside it) over ``from``..``to``."""
    q = request.context.query  # type: ignore[attr-defined]
    user = current_user()
    org = user.org_unit
    if q.org:
        found = find_org(db_session(), q.org)
        if found is None or not user.org_unit.contains(found):
            raise ValidationFailed(errors=[FieldError("org", msg("unknown_org", code=q.org))])
        org = found
    if q.from_ and q.to and q.from_ > q.to:
        raise ValidationFailed(errors=[FieldError("to", msg("out_of_range"))])
    result = case_stats(db_session(), runtime().store, org=org, date_from=q.from_,
                        date_to=q.to, user=user)
    return {**result.as_api(), "org": org.code,
            "from": q.from_.isoformat() if q.from_ else None,
            "to": q.to.isoformat() if q.to else None}
