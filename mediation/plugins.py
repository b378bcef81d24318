"""The modules that register what a workflow definition may name — guards, facts, deadline
anchors, field types, effects, notice targets and the attributes of a case — imported by
:func:`mediation.workflow.registry.ensure_loaded` on first use (never at import time)."""

MODULES = (
    "mediation.workflow.builtins",
    "mediation.cases.rules",
    "mediation.cases.fields",
    "mediation.jobs.effects",
    "mediation.documents.jobs",
    "mediation.notifications.delivery",
)
