"""The definitions and the code agree, checked (issue 7): every name the code relies on is
declared in the definition ([vocabulary], outcomes, documents) and a definition that breaks
the code's expectations is refused at load, naming the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediation.resources import data_dir
from mediation.workflow.check import check_paths
from mediation.workflow.definition import DefinitionError
from mediation.workflow.store import DefinitionStore

SHIPPED = (data_dir("workflows") / "aunt_whistle.toml").read_text(encoding="utf-8")


def _line(text: str, needle: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), start=1) if needle in ln)


def _write(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "workflows"
    folder.mkdir()
    path = folder / "aunt_whistle.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("old", "new", "needle", "words"), [
    # renaming the follow-up action: confirm_performance could never fire
    ("[actions.record_follow_up]", "[actions.record_visit]", 'follow_up = "record_follow_up"',
     "unknown action 'record_follow_up'"),
    # an outcome the statistics do not count: every success rate would be 0
    ('outcome = "success"', 'outcome = "settled"', 'outcome = "settled"',
     "unknown outcome 'settled'"),
    # a misspelled document: the render job would fail at run time
    ('document = "rights_notice"', 'document = "rights_notise"', "rights_notise",
     "unknown document 'rights_notise'"),
    # a key no code reads
    ('report_series = "报"', 'report_series = "报"\nlegal_role = "lawyer"', "legal_role",
     "unknown key 'legal_role'"),
    # a guard's meaning left unbound
    ('follow_up = "record_follow_up"\n', "", "[transitions.confirm_performance]",
     "relies on 'follow_up'"),
])
def test_a_definition_breaking_the_codes_expectations_is_refused_naming_the_line(
        tmp_path: Path, old: str, new: str, needle: str, words: str) -> None:
    assert old in SHIPPED
    text = SHIPPED.replace(old, new, 1)
    path = _write(tmp_path, text)
    problems = check_paths([path])[str(path)]
    found = [p for p in problems if words in p]
    assert found, problems
    assert f"line {_line(text, needle)}" in found[0], found[0]
    with pytest.raises(DefinitionError) as info:
        DefinitionStore(path.parent)  # refused at load, not at run time
    assert any(words in p for p in info.value.problems)


def test_the_shipped_definitions_bind_every_meaning_the_code_reads() -> None:
    results = check_paths([data_dir("workflows")])
    assert all(problems == [] for problems in results.values()), results
    store = DefinitionStore()
    aunt = store.current("aunt_whistle")
    assert aunt.word("follow_up") in aunt.actions
    assert aunt.choice("performed") == ("result", "performed")
