"""``check_definition`` finds every kind of problem DESIGN.md §3 names, and none in the
shipped definitions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mediation.resources import data_dir
from mediation.workflow.check import Problem, check_definition, check_paths
from mediation.workflow.definition import DefinitionError, parse_definition

SHIPPED = sorted(data_dir("workflows").glob("*.toml"))

# A small clean definition; each case below breaks it in one way.
BASE = """
name = "mini"
label = "小流程"
initial = "open"
supervisor_role = "reviewer"

[states.open]
label = "待办"
deadlines = [
  { kind = "remind", after = "1d", reason = "提醒" },
  { kind = "fire", after = "3d", fire = "escalate", reason = "超时上报" },
]

[states.up]
label = "已上报"

[states.done]
label = "完成"
terminal = true

[states.dropped]
label = "放弃"
terminal = true

[fields]
reason = { type = "text", label = "理由" }
who = { type = "user", role = "reviewer", default = "actor", label = "处理人" }
pick = { type = "choice", choices = ["a", "b"], label = "选择" }

[transitions.escalate]
label = "上报"
from = ["open"]
to = "up"
roles = ["volunteer"]
requires = ["reason"]
assign = "clear"

[transitions.finish]
label = "完成"
from = ["open", "up"]
to = "done"
roles = ["volunteer", "reviewer"]
roles_from = { up = ["reviewer"] }
requires = ["who"]
assign = "who"
guards = ["written_agreement_in_force"]
effects = [{ name = "render", document = "dossier" }]

[transitions.drop]
label = "放弃"
from = ["open", "up"]
to = "dropped"
roles = ["reviewer"]

[actions.note]
label = "备注"
requires = ["reason"]
optional = ["pick"]
open = true

[actions.look]
label = "查看"
states = ["open", "up"]
roles = ["reviewer"]
requires = ["reason"]

[[rules]]
on = "create"
when = { risk_level = "high" }
fire = "escalate"
data = { reason = "高风险" }
effects = [{ name = "notify", target = "police_post" }]

[agreement]
states = ["up"]
roles = ["reviewer"]
"""


def check(text: str) -> list[Problem]:
    return check_definition(parse_definition(text.encode("utf-8"), "mini.toml"))


def edit(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, f"edit target not unique: {old!r}"
    return text.replace(old, new)


def test_base_is_clean() -> None:
    assert check(BASE) == []


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_definitions_are_clean(path: Path) -> None:
    assert check_definition(parse_definition(path.read_bytes(), str(path))) == []


def test_both_shipped_definitions_are_checked() -> None:
    assert {p.stem for p in SHIPPED} >= {"aunt_whistle", "consultation"}
    assert all(texts == [] for texts in check_paths(SHIPPED).values())


# (id, broken text, code, where): each must be reported exactly where it is.
BROKEN = [
    ("initial unknown", edit('initial = "open"', 'initial = "opne"'),
     "bad_initial", "the definition"),
    ("initial terminal", edit('initial = "open"', 'initial = "done"'),
     "bad_initial", "the definition"),
    ("unknown source state", edit('from = ["open"]\nto = "up"', 'from = ["opn"]\nto = "up"'),
     "unknown_state", "trigger 'escalate'"),
    ("unknown destination", edit('to = "dropped"', 'to = "droped"'),
     "unknown_state", "trigger 'drop'"),
    ("unknown roles_from state", edit("roles_from = { up = ", "roles_from = { upp = "),
     "unknown_state", "trigger 'finish'"),
    ("roles_from a state it does not fire from",
     edit("roles_from = { up = ", "roles_from = { dropped = "),
     "roles_from_not_source", "trigger 'finish'"),
    ("unknown action state", edit('states = ["open", "up"]', 'states = ["open", "nowhere"]'),
     "unknown_state", "action 'look'"),
    ("unknown agreement state", edit('states = ["up"]', 'states = ["upp"]'),
     "unknown_state", "the agreement"),
    ("deadline fires unknown trigger",
     edit('fire = "escalate", reason', 'fire = "escalat", reason'),
     "unknown_trigger", "state 'open' deadline 2"),
    ("rule fires unknown trigger", edit('fire = "escalate"\ndata', 'fire = "escalat"\ndata'),
     "unknown_trigger", "rule 1"),
    ("unknown required field", edit('requires = ["who"]', 'requires = ["whom"]'),
     "unknown_field", "trigger 'finish'"),
    ("unknown optional field", edit('optional = ["pick"]', 'optional = ["pik"]'),
     "unknown_field", "action 'note'"),
    ("unknown field type", edit('{ type = "text", label = "理由" }',
                                '{ type = "txt", label = "理由" }'),
     "unknown_field_type", "field 'reason'"),
    ("unknown user-field role",
     edit('{ type = "user", role = "reviewer"', '{ type = "user", role = "reviewr"'),
     "unknown_role", "field 'who'"),
    ("unknown trigger role", edit('roles = ["volunteer"]', 'roles = ["volunter"]'),
     "unknown_role", "trigger 'escalate'"),
    ("unknown roles_from role", edit('{ up = ["reviewer"] }', '{ up = ["judge"] }'),
     "unknown_role", "trigger 'finish'"),
    ("unknown action role", edit('roles = ["reviewer"]\nrequires = ["reason"]',
                                 'roles = ["boss"]\nrequires = ["reason"]'),
     "unknown_role", "action 'look'"),
    ("unknown agreement role", edit('states = ["up"]\nroles = ["reviewer"]',
                                    'states = ["up"]\nroles = ["notary"]'),
     "unknown_role", "the agreement"),
    ("unknown supervisor role", edit('supervisor_role = "reviewer"', 'supervisor_role = "chief"'),
     "unknown_role", "the definition"),
    ("unknown guard", edit('guards = ["written_agreement_in_force"]', 'guards = ["stars_align"]'),
     "unknown_guard", "trigger 'finish'"),
    ("unknown effect", edit('name = "render"', 'name = "fax"'),
     "unknown_effect", "trigger 'finish'"),
    ("unknown effect in a rule", edit('name = "notify"', 'name = "shout"'),
     "unknown_effect", "rule 1"),
    ("unknown effect parameter", edit('document = "dossier"', 'doc = "dossier"'),
     "unknown_effect_param", "trigger 'finish'"),
    ("extra effect parameter", edit('document = "dossier"', 'document = "dossier", x = 1'),
     "unknown_effect_param", "trigger 'finish'"),
    ("effect without its parameter", edit('{ name = "notify", target = "police_post" }',
                                          '{ name = "notify" }'),
     "missing_effect_param", "rule 1"),
    ("next step that does not exist", edit('[states.open]\n', '[states.open]\nnext = "fly"\n'),
     "unknown_next", "state 'open'"),
    ("notice to an unknown target", edit('target = "police_post"', 'target = "fire_brigade"'),
     "unknown_effect_value", "rule 1"),
    ("deadline effect with an unknown name",
     edit('{ kind = "remind", after = "1d",',
          '{ kind = "remind", after = "1d", effects = [{ name = "fax" }],'),
     "unknown_effect", "state 'open' deadline 1"),
    ("unknown anchor", edit('{ kind = "remind", after = "1d",',
                            '{ kind = "remind", after = "1d", anchor = "full_moon",'),
     "unknown_anchor", "state 'open' deadline 1"),
    ("unknown rule event", edit('on = "create"', 'on = "birthday"'),
     "unknown_event", "rule 1"),
    ("rule tests an unknown case attribute", edit("when = { risk_level", "when = { risk_lvl"),
     "unknown_case_attribute", "rule 1"),
    ("rule trigger not from the initial state",
     edit('fire = "escalate"\ndata', 'fire = "drop"\ndata',
          edit('from = ["open", "up"]\nto = "dropped"', 'from = ["up"]\nto = "dropped"')),
     "rule_cannot_fire", "rule 1"),
    ("rule without the data its trigger requires", edit('data = { reason = "高风险" }',
                                                        'data = { note = "高风险" }'),
     "rule_missing_data", "rule 1"),
    ("assign names no field of the trigger", edit('assign = "who"', 'assign = "lawyer"'),
     "unknown_assign", "trigger 'finish'"),
    ("unknown field default", edit('default = "actor"', 'default = "boss"'),
     "unknown_default", "field 'who'"),
    ("choice without choices", edit('choices = ["a", "b"], ', ''),
     "no_choices", "field 'pick'"),
    ("duplicate source", edit('from = ["open", "up"]\nto = "dropped"',
                              'from = ["open", "up", "open"]\nto = "dropped"'),
     "duplicate_name", "trigger 'drop'"),
    ("field both required and optional", edit('optional = ["pick"]', 'optional = ["reason"]'),
     "duplicate_field", "action 'note'"),
    ("trigger and action share a name", edit("[actions.note]", "[actions.drop]"),
     "duplicate_name", "the definition"),
    ("unreachable state", BASE + '\n[states.limbo]\nlabel = "悬空"\nterminal = true\n',
     "unreachable_state", "state 'limbo'"),
    ("dead end", edit('from = ["open", "up"]\nto = "done"', 'from = ["open"]\nto = "done"',
                      edit('from = ["open", "up"]\nto = "dropped"',
                           'from = ["open"]\nto = "dropped"')),
     "dead_end", "state 'up'"),
    ("no terminal reachable",
     BASE + '\n[states.loop]\nlabel = "循环"\n\n[transitions.spin]\nlabel = "转"\n'
            'from = ["open", "loop"]\nto = "loop"\nroles = ["reviewer"]\n',
     "no_terminal_reachable", "state 'loop'"),
    ("no terminal at all", BASE.replace("terminal = true", "terminal = false"),
     "no_terminal", "the definition"),
    ("deadline fires a trigger that does not fire from its state",
     edit('[states.up]\nlabel = "已上报"',
          '[states.up]\nlabel = "已上报"\n'
          'deadlines = [{ kind = "fire", after = "2d", fire = "escalate", reason = "再上报" }]'),
     "deadline_stays", "state 'up' deadline 1"),
    ("deadline fires a trigger that comes back to its state",
     BASE.replace('from = ["open"]\nto = "up"', 'from = ["open", "up"]\nto = "up"').replace(
         '[states.up]\nlabel = "已上报"',
         '[states.up]\nlabel = "已上报"\n'
         'deadlines = [{ kind = "fire", after = "2d", fire = "escalate", reason = "再上报" }]'),
     "deadline_stays", "state 'up' deadline 1"),
    ("a reminder that names a trigger", edit('{ kind = "remind", after = "1d", reason',
                                             '{ kind = "remind", after = "1d", fire = "drop", '
                                             'reason'),
     "deadline_fire_ignored", "state 'open' deadline 1"),
    ("zero duration", edit('after = "1d"', 'after = "0h"'),
     "bad_duration", "state 'open' deadline 1"),
    ("terminal state with an outgoing trigger",
     edit('from = ["open", "up"]\nto = "dropped"', 'from = ["open", "up", "done"]\nto = "dropped"'),
     "terminal_exit", "state 'done'"),
    ("terminal state with a deadline",
     edit('label = "完成"\nterminal = true',
          'label = "完成"\nterminal = true\n'
          'deadlines = [{ kind = "overdue", after = "1d", reason = "x" }]'),
     "terminal_deadline", "state 'done'"),
    ("transition with no roles", edit('roles = ["reviewer"]\n\n[actions', 'roles = []\n\n[actions'),
     "no_roles", "trigger 'drop'"),
    ("action with no roles that is not open", edit("open = true", "open = false"),
     "no_roles", "action 'note'"),
    ("unknown level", edit('[states.up]\nlabel', '[states.up]\nlevel = "county"\nlabel'),
     "unknown_level", "state 'up'"),
    ("empty state label", edit('label = "放弃"\nterminal', 'label = ""\nterminal'),
     "empty_label", "state 'dropped'"),
]


@pytest.mark.parametrize(("text", "code", "where"), [b[1:] for b in BROKEN],
                         ids=[b[0] for b in BROKEN])
def test_each_problem_is_named_where_it_is(text: str, code: str, where: str) -> None:
    problems = check(text)
    found = [p for p in problems if p.code == code and p.where == where]
    assert found, f"expected {code} at {where}, got {[(p.code, p.where) for p in problems]}"
    for p in found:
        # a sentence that names the place
        assert p.text.lower().startswith(where.lower()) and p.text.endswith(".")


def test_unknown_deadline_kind_in_a_file_is_reported(tmp_path: Path) -> None:
    # The parser refuses an unknown kind as a shape problem; check_paths reports it.
    path = tmp_path / "mini.toml"
    path.write_text(edit('kind = "remind"', 'kind = "nag"'), encoding="utf-8")
    with pytest.raises(DefinitionError):
        parse_definition(path.read_bytes(), str(path))
    [text] = check_paths([path])[str(path)]
    assert "deadline 1" in text and "unknown kind 'nag'" in text


def test_unknown_deadline_kind_on_a_built_definition() -> None:
    import dataclasses

    d = parse_definition(BASE.encode(), "mini.toml")
    state = d.states["open"]
    bad = dataclasses.replace(state.deadlines[0], kind="nag")
    d = dataclasses.replace(d, states={**d.states, "open": dataclasses.replace(
        state, deadlines=(bad, *state.deadlines[1:]))})
    assert [(p.code, p.where) for p in check_definition(d)] == [
        ("unknown_deadline_kind", "state 'open' deadline 1")]


def test_every_problem_is_reported_not_just_the_first() -> None:
    text = edit('to = "dropped"', 'to = "droped"',
                edit('guards = ["written_agreement_in_force"]', 'guards = ["nope"]'))
    codes = {p.code for p in check(text)}
    # the typo also strands 'dropped' (nothing leads there any more)
    assert {"unknown_state", "unknown_guard", "unreachable_state"} <= codes


def test_problems_suggest_the_name_meant() -> None:
    [problem] = [p for p in check(edit('to = "dropped"', 'to = "droped"'))
                 if p.code == "unknown_state"]
    assert "'droped'" in problem.text and "did you mean 'dropped'" in problem.text


def test_a_broken_shipped_definition_is_caught() -> None:
    path = data_dir("workflows") / "aunt_whistle.toml"
    text = path.read_text(encoding="utf-8")
    # the 15-day auto-escalation now names a trigger that cannot leave grid mediation
    start = text.index("[states.grid_mediation]")
    fixed = text[:start] + text[start:].replace('fire = "escalate"', 'fire = "accept"', 1)
    assert fixed != text
    problems = check_definition(parse_definition(fixed.encode(), str(path)))
    assert ("deadline_stays", "state 'grid_mediation' deadline 1") in {
        (p.code, p.where) for p in problems}
    # and a typo in a role and a guard
    typo = text.replace('guards = ["follow_up_performed"]', 'guards = ["follow_up_done"]')
    typo = typo.replace('roles = ["reviewer", "lawyer"]', 'roles = ["reviewer", "layer"]', 1)
    found = {(p.code, p.where) for p in check_definition(parse_definition(typo.encode(), "x"))}
    assert ("unknown_guard", "trigger 'confirm_performance'") in found
    assert ("unknown_role", "trigger 'end_without_agreement'") in found


def test_check_paths_reports_shape_problems_and_unreadable_files(tmp_path: Path) -> None:
    shape = tmp_path / "shape.toml"
    shape.write_text(BASE.replace('to = "up"', "to = 3"), encoding="utf-8")
    not_toml = tmp_path / "garbage.toml"
    not_toml.write_text("name = [", encoding="utf-8")
    missing = tmp_path / "missing.toml"
    good = tmp_path / "good.toml"
    good.write_text(BASE, encoding="utf-8")
    results = check_paths([shape, not_toml, missing, good])
    assert any("'to' must be a string" in t for t in results[str(shape)])
    assert any("not valid toml" in t.lower() for t in results[str(not_toml)])
    assert any("cannot be read" in t for t in results[str(missing)])
    assert results[str(good)] == []


def test_check_paths_refuses_two_files_with_one_workflow_name(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(BASE, encoding="utf-8")
    (tmp_path / "b.toml").write_text(BASE, encoding="utf-8")
    results = check_paths([tmp_path])
    assert results[str(tmp_path / "a.toml")] == []
    assert any("must be unique" in t for t in results[str(tmp_path / "b.toml")])


def test_no_shipped_state_or_trigger_name_in_the_engine_code() -> None:
    names: set[str] = set()
    for path in SHIPPED:
        d = parse_definition(path.read_bytes(), str(path))
        names |= set(d.states) | set(d.transitions)
        # an outcome ("withdrawn", "closed") is a vocabulary of its own that code may use
        names -= {s.outcome for s in d.states.values() if s.outcome}
    package = Path(__file__).resolve().parents[2] / "mediation"
    # a quoted name, not a dict key ({"closed": ...} is a word, not a state)
    alternatives = "|".join(map(re.escape, sorted(names)))
    pattern = re.compile(r"""(["'])(""" + alternatives + r""")\1(?!\s*:)""")
    hits = [f"{py.relative_to(package.parent)}: {m.group(0)}"
            for py in package.rglob("*.py") for m in pattern.finditer(py.read_text("utf-8"))]
    assert hits == []


def test_levels_must_be_known_and_named():
    text = (data_dir("workflows") / "aunt_whistle.toml").read_text(encoding="utf-8")
    broken = text.replace("[levels]", "[levels]\nnowhere = \"无处\"", 1)
    problems = check_definition(parse_definition(broken.encode(), "levels.toml"))
    assert [(p.code, p.where) for p in problems] == [("unknown_level", "level 'nowhere'")]
    unnamed = text.replace("\ncenter = ", "\n# center = ", 1)
    problems = check_definition(parse_definition(unnamed.encode(), "u.toml"))
    assert {(p.code, p.where) for p in problems} == {
        ("unnamed_level", "state 'escalated'"), ("unnamed_level", "state 'center_mediation'")}
