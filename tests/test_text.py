"""Invisible characters (bidi overrides, controls) are stripped at input and never printed."""

from __future__ import annotations

import pytest

from mediation.documents.store import render_case_document
from mediation.text import clean_data, clean_text, has_invisible
from tests.api.conftest import api  # noqa: F401  (the API as the world's users)
from tests.documents.conftest import needs_poppler, read_pdf  # noqa: F401
from tests.factories import PARTIES, case_body

RLO, PDF_, LRI, PDI = "\u202e", "\u202c", "\u2066", "\u2069"


@pytest.mark.parametrize(("typed", "kept"), [
    (f"李{RLO}live{PDF_}明", "李live明"),
    (f"{LRI}张三{PDI}", "张三"),
    ("a\u200bb\ufeffc\u200ed\u200fe\u061cf", "abcdef"),   # zero width, BOM, marks
    ("铃\x07声\x1b[31m红\x7f\x85", "铃声[31m红\n"),        # C0, DEL; NEL is a line break
    ("一\r\n二\r三\u2028四", "一\n二\n三\n四"),
    ("👨\u200d👩\u200d👧 a\tb", "👨\u200d👩\u200d👧 a\tb"),  # joiners and tabs stay
    ("𪚥㐀 ordinary text", "𪚥㐀 ordinary text"),
])
def test_clean_text(typed, kept):
    assert clean_text(typed) == kept
    assert has_invisible(typed) == (typed != kept)
    assert not has_invisible(kept)


def test_one_line_fields_and_nested_data():
    assert clean_text("一\n二\t三", multiline=False) == "一 二 三"
    assert clean_data({f"k{RLO}": [f"a{RLO}b", {"n": 1, "t": f"{LRI}x"}], "b": True}) == {
        "k": ["ab", {"n": 1, "t": "x"}], "b": True}


def test_the_api_stores_text_without_bidi_overrides(rt, world, api):  # noqa: F811
    body = case_body(title=f"楼上{RLO}漏水{PDF_}纠纷")
    body["parties"][0]["name"] = f"李{RLO}live{PDF_}明"
    r = api.post("/cases", body, "v1")
    assert r.status_code == 201, r.get_json()
    case = r.get_json()
    assert case["title"] == "楼上漏水纠纷"
    assert case["parties"][0]["name"] == "李live明"
    event = api.act(case["id"], "add_note", "v1", {"text": f"备注{LRI}abc{PDI}\r\n第二行"})
    assert event["data"]["text"] == "备注abc\n第二行"


@needs_poppler
def test_text_stored_with_an_override_prints_in_typed_order(rt, world, read_pdf):  # noqa: F811
    """A name stored before input was cleaned (straight into the database) prints as typed,
    never reordered (李evil明)."""
    # stored through the operation, not the API that cleans input (a raw UPDATE would be
    # tampering: the record would fail verification and print nothing)
    parties = [{**PARTIES[0], "name": f"李{RLO}live{PDF_}明"}, PARTIES[1]]
    case_id = world.new_case(parties=parties)
    with rt.db.session() as s:
        from mediation.cases.models import Case

        pdf = read_pdf(render_case_document(s, rt, s.get(Case, case_id), "registration")[0])
    assert "李live明" in pdf.text and "evil" not in pdf.text
