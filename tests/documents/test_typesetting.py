"""Typesetting read back from the PDFs of engine-made cases with hostile text: a party named
with 40 Latin letters and no space, names with characters of CJK Extension B (𪚥) and A (㐀), a
5,000-character description and facts. Nothing leaves the type area or prints over other text,
no date is split across lines, every character has a real glyph, the fonts are those of the
stylesheets, the seal's place lies over the committee's name and the date, a page that holds
only signatures says 此页无正文, and records carry signature lines for the mediator, the recorder
and the parties.

Every document is rendered once for the module (they are slow to make), on an SQLite database
of its own: the typesetting does not depend on the database.
"""

from __future__ import annotations

import re
import tempfile
from datetime import datetime
from pathlib import Path

import pytest

from mediation.config import Config
from mediation.documents.monthly import monthly_report_pdf
from mediation.documents.render import renderer
from mediation.documents.store import available_documents, render_case_document
from mediation.runtime import Runtime
from tests.documents import factories as f
from tests.documents.conftest import PdfText, needs_poppler
from tests.documents.pdfcheck import (
    collisions,
    content_words,
    glyphs,
    outside_type_area,
    split_dates,
)

pytestmark = needs_poppler

FONTS = ("Noto-Serif-CJK-SC", "Noto-Sans-CJK-SC", "BabelStone-Han", "HanaMinA", "HanaMinB")
# The first words of a signature block: a page starting with one of them holds only signatures.
SIGN_STARTS = ("签署人", "人民调解委员会印章", "人民调解员：", "单位印章")


class Printed:
    """The PDFs of the module, read back."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.raw: dict[str, bytes] = {}
        self.read: dict[str, PdfText] = {}

    def add(self, name: str, pdf: bytes) -> None:
        folder = self.tmp / name
        folder.mkdir()
        self.raw[name] = pdf
        self.read[name] = PdfText(pdf, folder)


@pytest.fixture(scope="module")
def printed() -> Printed:
    tmp = Path(tempfile.mkdtemp(prefix="typesetting-"))
    rt = Runtime(Config(instance=tmp, database_url=f"sqlite:///{tmp / 'docs.db'}",
                        secret_key="typesetting", run_jobs_inline=False))
    rt.db.create_all()
    world = f.DocumentWorld(rt).build()
    out = Printed(tmp)
    with rt.db.session() as session:
        case = f.resolved_case(world, session, hostile=True)
        ended = f.litigation_case(world, session, hostile=True)
        for name in available_documents(session, case):
            if name != "dossier":  # the dossier is these documents bound together
                out.add(name, render_case_document(session, rt, case, name)[0])
        out.add("termination_notice", render_case_document(session, rt, ended,
                                                           "termination_notice")[0])
        out.add("monthly_report", monthly_report_pdf(session, "S1", "2025-03",
                                                     now=datetime(2025, 6, 1)))
    rt.close()
    return out


NAMES = ["registration", "rights_notice", "investigation", "evidence_list", "session_record",
         "agreement", "follow_up", "judicial_confirmation", "timeline", "termination_notice",
         "monthly_report"]


def test_every_document_was_printed(printed):
    assert sorted(printed.read) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_nothing_leaves_its_box(printed, name):
    pdf = printed.read[name]
    assert not outside_type_area(pdf), outside_type_area(pdf)[:5]
    assert not collisions(pdf), collisions(pdf)[:5]
    assert not split_dates(pdf), split_dates(pdf)[:5]


@pytest.mark.parametrize("name", NAMES)
def test_fonts_are_the_stylesheets_and_embedded(printed, name):
    rows = [line.split() for line in printed.read[name].fonts.splitlines()[2:]]
    assert rows
    for row in rows:
        assert re.match(r"^[A-Z]{6}\+", row[0]), row
        assert row[0][7:].removesuffix("-Bold") in FONTS, row
        assert row[-5:-3] == ["yes", "yes"], row  # embedded, subset


def test_long_texts_print_whole(printed):
    """The 5,000-character description is all there, page after page, and the 40-letter name
    too, wrapped where its cell is narrower than the name."""
    registration = printed.read["registration"]
    body = "".join(w.text for page in range(1, registration.page_count + 1)
                   for w in content_words(registration, page))
    assert re.sub(r"\s+", "", f.HOSTILE_TEXT) in body
    assert registration.page_count > 2
    for name in ("agreement", "rights_notice", "termination_notice"):
        assert f.LATIN_NAME in printed.read[name].text, name
    wrapped = [w.text for w in printed.read["session_record"].words
               if w.text and w.text in f.LATIN_NAME]
    assert "".join(wrapped).startswith(f.LATIN_NAME[:20]) and len(wrapped) > 1


@pytest.mark.parametrize("name", ["registration", "agreement", "rights_notice"])
def test_rare_characters_have_real_glyphs(printed, name):
    drawn = glyphs(printed.raw[name], "𪚥㐀张")
    for ch, found in drawn.items():
        assert found, f"{ch} is not in {name}"
        assert all(g.real for g in found), (ch, found)


@pytest.mark.parametrize("name", ["agreement", "rights_notice", "termination_notice",
                                  "monthly_report"])
def test_the_seal_lies_over_the_name_and_the_date(printed, name):
    pdf = printed.read[name]
    hint = next(w for w in pdf.words if w.text.endswith("印章") and len(w.text) <= 9)
    below = [w for w in pdf.words if w.page == hint.page and w.y0 > hint.y1]
    issuer, date = sorted(below, key=lambda w: w.y0)[:2]
    circle = 42 * 72 / 25.4
    for w in (issuer, date):
        centre = (w.x0 + w.x1) / 2
        assert abs(centre - (hint.x0 + hint.x1) / 2) < circle / 2, w
        assert w.y1 - hint.y0 < circle, w  # inside the circle's height
    assert re.search(r"委员会$|街道$", issuer.text) and re.match(r"\d{4}年\d+月\d+日", date.text)


@pytest.mark.parametrize("name", NAMES)
def test_a_page_of_signatures_only_says_so(printed, name):
    pdf = printed.read[name]
    for page in range(2, pdf.page_count + 1):
        words = content_words(pdf, page)
        if not words:
            continue
        first = words[0].text
        assert not first.startswith(SIGN_STARTS), (name, page, first)
        marked = [w for w in words if w.text.startswith("（此页无正文")]
        assert not marked or marked[0] is words[0], (name, page)


def test_this_page_has_no_body_text_only_when_true():
    """The renderer marks a signature block that starts a page, and only that one: with more
    and more text before it, the block stays on the first page, then moves to the second with
    some text (unmarked), or alone (marked)."""
    r = renderer()
    seen = set()
    for lines in range(12, 44):
        html = ("<html><body>" + "<p>正文。</p>" * lines
                + '<div class="sign-block"><p class="no-body">（此页无正文）</p>'
                + "<p>签署人</p>" * 8 + "</div></body></html>")
        pdf, _ = r.pdf_pages(html, ["base.css"])
        pages = [re.sub(r"\s", "", p) for p in PdfText(pdf, Path(tempfile.mkdtemp())).pages]
        if len(pages) == 1:
            seen.add("together")
            assert "此页无正文" not in pages[0]
        elif pages[1].startswith("正文"):
            seen.add("with text")
            assert "此页无正文" not in "".join(pages)
        else:
            seen.add("alone")
            assert pages[1].startswith("（此页无正文）签署人"), (lines, pages[1][:30])
            assert "此页无正文" not in pages[0]
    assert seen == {"together", "with text", "alone"}


@pytest.mark.parametrize(("name", "lines"), [
    ("session_record", ("调解员", "记录人", "当事人", "签名（盖章或按指印）")),
    ("investigation", ("调查人", "记录人", "被调查人", "签名（盖章或按指印）")),
    ("follow_up", ("回访人", "记录人", "被回访人")),
])
def test_records_have_signature_lines(printed, name, lines):
    pdf = printed.read[name]
    assert not pdf.has(*lines)
    if name == "session_record":
        for party in (f.RARE_NAME, f.LATIN_NAME[:20], "李建华"):
            assert party in pdf.text
