"""The one translation system: every text of the code and the templates has its English, and the
English catalogue holds nothing that no code or template says any more."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from mediation import i18n

ROOT = Path(__file__).resolve().parent.parent
CFG = ROOT / "mediation" / "translations" / "babel.cfg"
PO = ROOT / "mediation" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"msg": None, "N_": None, "_": None, "gettext": None, "ngettext": (1, 2),
            "lazy_gettext": None, "pgettext": ((1, "c"), 2)}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
CJK = re.compile(r"[\u3400-\u9fff]")


def _method_map() -> list[tuple[str, str]]:
    pairs = []
    for line in CFG.read_text().splitlines():
        m = re.match(r"\[(\w+):\s*(.+)\]", line.strip())
        if m:
            pairs.append((m.group(2), m.group(1)))
    return pairs


@pytest.fixture(scope="module")
def extracted() -> dict[str, str]:
    """Every text the code and templates give to gettext, with where it is."""
    texts: dict[str, str] = {}
    # Folders whose name starts with "_" are read too (templates/_macros/); dot folders are not.
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), _method_map(), keywords=KEYWORDS,
            directory_filter=lambda path: not Path(path).name.startswith(".")):
        for text in (message if isinstance(message, tuple) else (message,)):
            if text:
                texts.setdefault(text, f"{filename}:{lineno}")
    return texts


@pytest.fixture(scope="module")
def catalogue():
    with PO.open("rb") as f:
        return read_po(f, locale="en")


def test_the_source_has_texts(extracted: dict[str, str]) -> None:
    assert len(extracted) > 50


def test_every_text_has_its_english(extracted: dict[str, str], catalogue) -> None:
    missing = [f"{where}: {text}" for text, where in sorted(extracted.items())
               if text not in catalogue or not catalogue[text].string
               or catalogue[text].fuzzy]
    assert not missing, "untranslated (run `make translations`, then translate):\n" + "\n".join(
        missing)


def test_no_translation_is_unused(extracted: dict[str, str], catalogue) -> None:
    unused = [m.id for m in catalogue if m.id and (m.id[0] if isinstance(m.id, tuple) else m.id)
              not in extracted]
    assert not unused, "no code or template says these any more:\n" + "\n".join(map(str, unused))


def test_english_keeps_every_placeholder_and_no_chinese(catalogue) -> None:
    wrong = []
    for m in catalogue:
        if not m.id:
            continue
        source = m.id if isinstance(m.id, str) else m.id[0]
        target = m.string if isinstance(m.string, str) else m.string[0]
        if set(PLACEHOLDER.findall(source)) != set(PLACEHOLDER.findall(target)):
            wrong.append(f"placeholders differ: {source} → {target}")
        if CJK.search(target):
            wrong.append(f"Chinese left in the English: {target}")
    assert not wrong, "\n".join(wrong)


def test_a_message_renders_in_either_language() -> None:
    m = i18n.msg("网格“%(code)s”不存在", code="G9")
    assert m.render("zh-CN") == "网格“G9”不存在"
    assert m.render("en") == "No grid 'G9'"
    assert m.both() == {"zh-CN": "网格“G9”不存在", "en": "No grid 'G9'"}


def test_marked_labels_translate_inside_messages() -> None:
    m = i18n.msg("%(role)s不能执行“%(trigger)s”", role=i18n.N_("律师"),
                 trigger=i18n.Label("受理", "Accept"))
    assert m.render("en") == "A lawyer may not 'Accept'"
    assert m.render("zh-CN") == "律师不能执行“受理”"
