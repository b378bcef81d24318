"""Diagrams show every state and trigger, mark terminal states and auto-fired deadlines."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mediation.resources import data_dir
from mediation.workflow.definition import Definition, load_file, parse_definition
from mediation.workflow.diagram import DiagramError, mermaid, render, svg

SHIPPED = sorted(data_dir("workflows").glob("*.toml"))
SVG_NS = {"svg": "http://www.w3.org/2000/svg"}

needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz 'dot' is not installed (apt-get install graphviz)")


def auto_fires(d: Definition) -> list[tuple[str, str, str]]:
    """(state, destination, trigger) of each deadline that fires on its own."""
    return [(s.name, d.transitions[dl.fire].dest, dl.fire)
            for s in d.states.values() for dl in s.deadlines if dl.kind == "fire" and dl.fire]


@pytest.fixture(params=SHIPPED, ids=lambda p: p.stem)
def shipped(request: pytest.FixtureRequest) -> Definition:
    return load_file(request.param)


def test_mermaid_shows_every_state_and_trigger(shipped: Definition) -> None:
    text = mermaid(shipped)
    assert "stateDiagram-v2" in text.splitlines()
    for state in shipped.states.values():
        assert re.search(rf'state "{re.escape(state.label.zh)} \({state.name}\)( ■)?" as '
                         rf"{state.name}$", text, re.M), state.name
    for t in shipped.transitions.values():
        for source in t.sources:
            assert f"    {source} --> {t.dest} : {t.label.zh} {t.trigger}\n" in text
    assert f"    [*] --> {shipped.initial}\n" in text


def test_mermaid_marks_terminal_states(shipped: Definition) -> None:
    text = mermaid(shipped)
    terminals = [s.name for s in shipped.states.values() if s.terminal]
    others = [s.name for s in shipped.states.values() if not s.terminal]
    assert terminals
    for name in terminals:
        assert f"    {name} --> [*]\n" in text
    for name in others:
        assert f"    {name} --> [*]\n" not in text
    [cls] = [line for line in text.splitlines() if line.strip().startswith("class ")]
    assert set(cls.split()[1].split(",")) == set(terminals)
    assert cls.split()[2] == "terminal"


def test_mermaid_shows_auto_fires_apart_from_manual_triggers() -> None:
    d = load_file(data_dir("workflows") / "aunt_whistle.toml")
    text = mermaid(d)
    fires = auto_fires(d)
    assert fires
    for source, dest, trigger in fires:
        after = next(dl.after_text for dl in d.states[source].deadlines if dl.fire == trigger)
        assert f"    {source} --> {dest} : {after}后自动 auto {trigger}\n" in text
    # and the alerts that do not move the case are notes on their state
    for state in d.states.values():
        for dl in state.deadlines:
            if dl.kind != "fire":
                assert f"note right of {state.name}" in text
                assert dl.reason.zh in text


MINI = """
name = "mini"
label = "小: 流程"
initial = "end"
[states.end]
label = 'a: "b"; #c {d}'
[states.state]
label = "完"
terminal = true
[transitions.go]
label = "走: 了; #1"
from = ["end"]
to = "state"
roles = ["volunteer"]
"""


def test_mermaid_escapes_labels_and_keyword_names() -> None:
    text = mermaid(parse_definition(MINI.encode(), "mini.toml"))
    # Mermaid keywords as state names get safe ids
    assert 'as s0\n' in text and 'as s1 ' not in text and 'as s1\n' in text
    assert "    s0 --> s1 : 走#58; 了#59; #35;1 go\n" in text
    assert 'state "a#58; #quot;b#quot;#59; #35;c #123;d#125; (end)" as s0' in text
    assert 'title: "小: 流程 (mini)"' in text


@needs_dot
def test_svg_shows_every_state_and_trigger(shipped: Definition) -> None:
    root = ET.fromstring(svg(shipped).encode("utf-8"))
    texts = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]
    for state in shipped.states.values():
        assert state.label.zh in texts and state.name in texts
    for t in shipped.transitions.values():
        assert t.label.zh in texts and t.trigger in texts
    fonts = {t.get("font-family") for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert fonts == {"Noto Sans CJK SC"}


@needs_dot
def test_svg_marks_terminal_states_and_auto_fires(shipped: Definition) -> None:
    root = ET.fromstring(svg(shipped).encode("utf-8"))
    groups = list(root.iter("{http://www.w3.org/2000/svg}g"))

    def labelled(cls: str) -> list[list[str]]:
        return [[t.text or "" for t in g.iter("{http://www.w3.org/2000/svg}text")]
                for g in groups if cls in (g.get("class") or "").split()]

    terminal_names = {texts[1] for texts in labelled("terminal")}
    assert terminal_names == {s.name for s in shipped.states.values() if s.terminal}
    auto = labelled("auto")
    assert sorted(texts[1] for texts in auto) == sorted(f for _, _, f in auto_fires(shipped))
    for g in groups:
        if "auto" in (g.get("class") or "").split():
            [path] = g.findall("svg:path", SVG_NS)
            assert path.get("stroke-dasharray")  # dashed
    manual = labelled("transition")
    assert len(manual) == sum(len(t.sources) for t in shipped.transitions.values())


def test_svg_without_dot_names_the_package(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot here
    d = load_file(SHIPPED[0])
    with pytest.raises(DiagramError, match="apt-get install graphviz"):
        svg(d)


def test_render_refuses_an_unknown_format() -> None:
    with pytest.raises(DiagramError, match="unknown diagram format 'png'"):
        render(load_file(SHIPPED[0]), "png")
