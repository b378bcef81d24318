"""Pictures of a definition: Mermaid text (for Markdown) and SVG (drawn by Graphviz).

Both show every state with its label and name, every trigger with its label and name, the
initial state, terminal states marked (double border, ■ and an end arrow in Mermaid), and
deadlines: those that fire a trigger on their own as edges labelled "自动 auto" (dashed and red
in SVG), reminders and overdue alerts as notes on their state.
"""

from __future__ import annotations

import json
import re
from typing import Any

from mediation.workflow.definition import DeadlineDef, Definition

# Chinese labels need a CJK font; Debian's fonts-noto-cjk provides this family.
FONT = "Noto Sans CJK SC"
FORMATS = ("mermaid", "svg")

_KIND_TEXT = {"remind": "提醒 remind", "overdue": "逾期 overdue", "fire": "自动 auto"}
_MERMAID_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_MERMAID_KEYWORDS = {"state", "note", "end", "direction", "class", "classDef", "style",
                     "stateDiagram", "as", "left", "right", "of", "click"}


class DiagramError(Exception):
    """A diagram could not be drawn (e.g. Graphviz is not installed)."""


def _deadline_text(deadline: DeadlineDef) -> str:
    kind = _KIND_TEXT.get(deadline.kind, deadline.kind)
    anchor = "" if deadline.anchor == "entered" else f" ({deadline.anchor})"
    return f"期限 {deadline.after_text}{anchor} {kind} — {deadline.reason.zh}"


def _auto_edges(d: Definition) -> list[tuple[str, str, DeadlineDef]]:
    """(state, destination, deadline) for each deadline that fires a known trigger."""
    out = []
    for state in d.states.values():
        for deadline in state.deadlines:
            transition = d.transitions.get(deadline.fire or "")
            if deadline.kind == "fire" and transition is not None:
                out.append((state.name, transition.dest, deadline))
    return out


# -- Mermaid ---------------------------------------------------------------------------------

def _mermaid_text(text: str) -> str:
    """Text safe inside a Mermaid label: entity codes for what the syntax would read."""
    replacements = {"#": "#35;", '"': "#quot;", ";": "#59;", ":": "#58;", "<": "#lt;",
                    ">": "#gt;", "{": "#123;", "}": "#125;", "\n": " "}
    return "".join(replacements.get(ch, ch) for ch in text)


def mermaid(definition: Definition) -> str:
    """The definition as a Mermaid ``stateDiagram-v2``."""
    d = definition
    ids: dict[str, str] = {}
    for i, name in enumerate(d.states):
        ok = _MERMAID_ID.match(name) and name not in _MERMAID_KEYWORDS
        ids[name] = name if ok else f"s{i}"

    def sid(name: str) -> str:
        return ids.get(name) or f"unknown_{re.sub(r'[^A-Za-z0-9_]', '_', name)}"

    lines = [
        "---",
        f"title: {json.dumps(f'{d.label.zh} ({d.name})', ensure_ascii=False)}",
        "---",
        "stateDiagram-v2",
    ]
    for state in d.states.values():
        mark = " ■" if state.terminal else ""
        lines.append(f'    state "{_mermaid_text(state.label.zh)} ({state.name}){mark}" '
                     f"as {sid(state.name)}")
    if d.initial in d.states:
        lines.append(f"    [*] --> {sid(d.initial)}")
    for t in d.transitions.values():
        label = _mermaid_text(f"{t.label.zh} {t.trigger}")
        for source in t.sources:
            lines.append(f"    {sid(source)} --> {sid(t.dest)} : {label}")
    for source, dest, deadline in _auto_edges(d):
        label = _mermaid_text(f"{deadline.after_text}后自动 auto {deadline.fire}")
        lines.append(f"    {sid(source)} --> {sid(dest)} : {label}")
    for state in d.states.values():
        notes = [dl for dl in state.deadlines if dl.kind != "fire"]
        if notes:
            lines.append(f"    note right of {sid(state.name)}")
            lines.extend(f"        {_mermaid_text(_deadline_text(dl))}" for dl in notes)
            lines.append("    end note")
    terminals = [sid(s.name) for s in d.states.values() if s.terminal]
    for name in terminals:
        lines.append(f"    {name} --> [*]")
    if terminals:
        lines.append("    classDef terminal fill:#e8e8e8,stroke:#333,stroke-width:3px")
        lines.append(f"    class {','.join(terminals)} terminal")
    return "\n".join(lines) + "\n"


# -- SVG through Graphviz --------------------------------------------------------------------

def _dot_label(*lines: str) -> str:
    return "\\n".join(line.replace("\\", "\\\\") for line in lines)


def graph(definition: Definition) -> Any:
    """The definition as a :class:`graphviz.Digraph` (for SVG, PNG, PDF, ...)."""
    try:
        import graphviz
    except ImportError as exc:  # pragma: no cover - the package is a dependency
        raise DiagramError("drawing SVG needs the Python package 'graphviz' "
                           "(pip install graphviz)") from exc
    d = definition
    ids = {name: f"state{i}" for i, name in enumerate(d.states)}
    g = graphviz.Digraph(
        d.name,
        graph_attr={"rankdir": "LR", "fontname": FONT, "labelloc": "t",
                    "label": _dot_label(f"{d.label.zh} ({d.name})"), "nodesep": "0.4"},
        node_attr={"shape": "box", "style": "rounded", "fontname": FONT, "fontsize": "12"},
        edge_attr={"fontname": FONT, "fontsize": "10"},
    )
    g.node("start", label="", shape="circle", style="filled", fillcolor="black",
           width="0.2", fixedsize="true")
    for state in d.states.values():
        lines = [state.label.zh, state.name]
        lines += [_deadline_text(dl) for dl in state.deadlines if dl.kind != "fire"]
        attrs = {"peripheries": "2", "style": "rounded,filled,bold", "fillcolor": "#e8e8e8",
                 "class": "state terminal"} if state.terminal else {"class": "state"}
        g.node(ids[state.name], label=_dot_label(*lines), **attrs)
    if d.initial in ids:
        g.edge("start", ids[d.initial])
    for t in d.transitions.values():
        for source in t.sources:
            if source in ids and t.dest in ids:
                g.edge(ids[source], ids[t.dest], label=_dot_label(t.label.zh, t.trigger),
                       **{"class": "transition"})
    for source, dest, deadline in _auto_edges(d):
        if source in ids and dest in ids:
            g.edge(ids[source], ids[dest],
                   label=_dot_label(f"{deadline.after_text}后自动 auto", deadline.fire or ""),
                   style="dashed", color="#c0392b", fontcolor="#c0392b", **{"class": "auto"})
    return g


def svg(definition: Definition) -> str:
    """The definition drawn as SVG by Graphviz's ``dot``."""
    g = graph(definition)
    import graphviz  # importable: graph() checked

    try:
        return str(g.pipe(format="svg", encoding="utf-8", quiet=True))
    except graphviz.ExecutableNotFound as exc:
        raise DiagramError("drawing SVG needs Graphviz's 'dot' program: install the Debian "
                           "package 'graphviz' (apt-get install graphviz)") from exc
    except graphviz.CalledProcessError as exc:
        raise DiagramError(f"Graphviz failed: {exc.stderr!r}") from exc


def render(definition: Definition, fmt: str) -> str:
    """The diagram in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "mermaid":
        return mermaid(definition)
    if fmt == "svg":
        return svg(definition)
    raise DiagramError(f"unknown diagram format '{fmt}' (use {', '.join(FORMATS)})")
