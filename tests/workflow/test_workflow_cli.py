"""``mediation workflows check`` and ``mediation workflows diagram``."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from mediation.resources import data_dir

SHIPPED_DIR = data_dir("workflows")
CLEAN = SHIPPED_DIR / "consultation.toml"
CONSOLE_SCRIPT = Path(sys.executable).parent / "mediation"
COMMANDS_WRITTEN = importlib.util.find_spec("mediation.commands") is not None


@pytest.fixture(scope="module")
def main() -> Iterator[click.Group]:
    """The ``mediation`` group with the ``workflows`` commands on it."""
    stub = None
    if not COMMANDS_WRITTEN:  # mediation/commands.py (the lead's) not there yet
        stub = sys.modules.setdefault("mediation.commands", types.ModuleType("mediation.commands"))
    from mediation.cli import main as group
    from mediation.workflow import cli  # noqa: F401  (registers the commands)

    yield group
    if stub is not None:
        sys.modules.pop("mediation.commands", None)


@pytest.fixture()
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.delenv("MEDIATION_WORKFLOWS", raising=False)
    monkeypatch.chdir(tmp_path)  # "whatever the working directory"
    return CliRunner()


def broken_copy(tmp_path: Path) -> Path:
    text = (SHIPPED_DIR / "aunt_whistle.toml").read_text(encoding="utf-8")
    text = text.replace('guards = ["follow_up_performed"]', 'guards = ["follow_up_done"]')
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_check_defaults_to_the_loaded_definitions(main: click.Group, runner: CliRunner) -> None:
    result = runner.invoke(main, ["workflows", "check"])
    assert result.exit_code == 0, result.output
    for path in SHIPPED_DIR.glob("*.toml"):
        assert f"{path}: ok" in result.output
    assert "0 problems found" in result.output


def test_check_names_each_problem_with_its_file(main: click.Group, runner: CliRunner,
                                                tmp_path: Path) -> None:
    broken = broken_copy(tmp_path)
    result = runner.invoke(main, ["workflows", "check", str(broken), str(CLEAN)])
    assert result.exit_code == 1
    assert (f"{broken}: Trigger 'confirm_performance' names unknown guard 'follow_up_done'"
            in result.output)
    assert f"{CLEAN}: ok" in result.output
    assert "1 problem found" in result.output


def test_check_uses_mediation_workflows(main: click.Group, runner: CliRunner,
                                        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "defs"
    folder.mkdir()
    broken_copy(folder)
    monkeypatch.setenv("MEDIATION_WORKFLOWS", str(folder))
    result = runner.invoke(main, ["workflows", "check"])
    assert result.exit_code == 1
    assert str(folder / "broken.toml") in result.output
    assert "unknown guard 'follow_up_done'" in result.output


def test_check_unreadable_path_fails(main: click.Group, runner: CliRunner,
                                     tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    result = runner.invoke(main, ["workflows", "check", str(missing)])
    assert result.exit_code == 1
    assert f"{missing}: The file cannot be read" in result.output


def test_check_reports_shape_problems(main: click.Group, runner: CliRunner,
                                      tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(CLEAN.read_text(encoding="utf-8").replace('initial = "registered"', ""),
                   encoding="utf-8")
    result = runner.invoke(main, ["workflows", "check", str(bad)])
    assert result.exit_code == 1
    assert "missing 'initial'" in result.output


@pytest.mark.parametrize("fmt", ["mermaid", "svg"])
def test_diagram_by_name(main: click.Group, runner: CliRunner, fmt: str) -> None:
    if fmt == "svg" and shutil.which("dot") is None:
        pytest.skip("Graphviz 'dot' is not installed")
    from mediation.workflow.definition import load_file

    d = load_file(SHIPPED_DIR / "aunt_whistle.toml")
    result = runner.invoke(main, ["workflows", "diagram", "aunt_whistle", "--format", fmt])
    assert result.exit_code == 0, result.output
    for state in d.states.values():
        assert state.label.zh in result.output
    for t in d.transitions.values():
        assert t.trigger in result.output and t.label.zh in result.output
    assert result.output.lstrip().startswith("<?xml" if fmt == "svg" else "---")


def test_diagram_of_a_file_to_a_file(main: click.Group, runner: CliRunner,
                                     tmp_path: Path) -> None:
    out = tmp_path / "c.mmd"
    result = runner.invoke(main, ["workflows", "diagram", str(CLEAN), "--format", "mermaid",
                                  "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "stateDiagram-v2" in text and "registered --> answered : 解答 answer" in text


def test_diagram_unknown_name(main: click.Group, runner: CliRunner) -> None:
    result = runner.invoke(main, ["workflows", "diagram", "no_such_flow", "--format", "mermaid"])
    assert result.exit_code != 0
    assert "no workflow called 'no_such_flow'" in result.output
    assert "aunt_whistle" in result.output  # names the known ones


def test_diagram_missing_file(main: click.Group, runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["workflows", "diagram", str(tmp_path / "gone.toml")])
    assert result.exit_code != 0
    assert "cannot read" in result.output


@pytest.mark.skipif(not CONSOLE_SCRIPT.exists(), reason="console script not installed "
                    "(pip install -e .)")
@pytest.mark.skipif(not COMMANDS_WRITTEN, reason="mediation/commands.py not written yet")
def test_console_script_from_another_directory(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MEDIATION_WORKFLOWS"}
    ok = subprocess.run([str(CONSOLE_SCRIPT), "workflows", "check"], cwd=tmp_path, env=env,
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "0 problems found" in ok.stdout
    broken = broken_copy(tmp_path)
    bad = subprocess.run([str(CONSOLE_SCRIPT), "workflows", "check", broken.name],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1
    assert "unknown guard 'follow_up_done'" in bad.stdout
