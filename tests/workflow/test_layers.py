"""The layers run one way (issue 7): the engine (mediation/workflow/) never imports the cases
of people's mediation (mediation/cases/); cases/ gives it a CaseLayer instead."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import mediation.workflow

WORKFLOW = Path(mediation.workflow.__file__).parent
FORBIDDEN = "mediation.cases"


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in ``path``, type-checking ones and those inside
    functions included, and every string naming a module of cases/ (a dynamic import)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against mediation.workflow
                base = ".".join([*["mediation", "workflow"][:3 - node.level], base]).strip(".")
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{a.name}") for a in node.names]
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and node.value.startswith(FORBIDDEN)):
            found.append((node.lineno, node.value))
    return found


def test_workflow_never_imports_cases() -> None:
    offending = [f"{path.relative_to(WORKFLOW.parent.parent)}:{line} imports {module}"
                 for path in sorted(WORKFLOW.rglob("*.py"))
                 for line, module in _imports(path)
                 if module == FORBIDDEN or module.startswith(FORBIDDEN + ".")]
    assert offending == []


def test_the_check_sees_an_import(tmp_path: Path) -> None:
    """The scan above finds the forms an import can take (so its silence means something)."""
    sample = tmp_path / "sample.py"
    sample.write_text("from typing import TYPE_CHECKING\n"
                      "if TYPE_CHECKING:\n    from mediation.cases.models import Case\n"
                      "def f():\n    import mediation.cases.permissions\n"
                      "X = 'mediation.cases.rules'\n"
                      "from .. import cases\n", encoding="utf-8")
    modules = {m for _, m in _imports(sample)}
    assert {"mediation.cases.models", "mediation.cases.permissions", "mediation.cases.rules",
            "mediation.cases"} <= modules


def test_the_engine_runs_cases_through_the_layer(rt: object) -> None:
    """The runtime gives the engine the cases of people's mediation as its CaseLayer."""
    from mediation.cases.port import MediationCases
    from mediation.workflow.port import CaseLayer

    engine = rt.engine  # type: ignore[attr-defined]
    assert isinstance(engine.cases, MediationCases)
    for name in CaseLayer.__dict__:
        if not name.startswith("_"):
            assert hasattr(engine.cases, name), name
    assert importlib.import_module("mediation.plugins").MODULES
