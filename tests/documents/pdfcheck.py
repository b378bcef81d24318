"""Reading a rendered PDF back as a clerk would look at it: which glyph each character was
drawn with, where each word lies, whether words collide or leave the type area, whether a date
was split across lines.

Glyphs are read from the embedded font programs (pypdf for the PDF objects, fontTools for the
fonts); words and their boxes come from poppler (tests/documents/conftest.py ``PdfText``).
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from fontTools.pens.boundsPen import BoundsPen
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from tests.documents.conftest import PdfText, Word

MM = 72 / 25.4
# The type area of reports/css/base.css (GB/T 9704): margins top 37, right 26, bottom 35, left 28.
MARGINS = {"top": 37 * MM, "right": 26 * MM, "bottom": 35 * MM, "left": 28 * MM}


@dataclass(frozen=True)
class Glyph:
    """How one character was drawn: the font, the glyph id and whether it has an outline."""

    font: str
    cid: int
    name: str
    outline: bool

    @property
    def real(self) -> bool:
        """A glyph of its own (not .notdef, not empty)."""
        return self.cid != 0 and self.name != ".notdef" and self.outline


def _to_unicode(cmap_text: str) -> dict[int, str]:
    out: dict[int, str] = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap_text, re.S):
        for src, dst in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            out[int(src, 16)] = bytes.fromhex(dst).decode("utf-16-be")
    for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap_text, re.S):
        for a, b, dst in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>",
                                    block):
            first = bytes.fromhex(dst).decode("utf-16-be")
            for i, cid in enumerate(range(int(a, 16), int(b, 16) + 1)):
                out[cid] = first[:-1] + chr(ord(first[-1]) + i)
    return out


def glyphs(pdf: bytes, chars: Iterable[str]) -> dict[str, list[Glyph]]:
    """For each of ``chars``, every glyph that draws it in ``pdf`` (by the fonts' ToUnicode
    maps and the embedded font programs)."""
    wanted = set(chars)
    found: dict[str, list[Glyph]] = {c: [] for c in wanted}
    seen: set[int] = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        fonts = page.get("/Resources", {}).get("/Font", {})
        for ref in fonts.values():
            font = ref.get_object()
            key = id(font.indirect_reference) if font.indirect_reference else id(font)
            if key in seen or "/ToUnicode" not in font or "/DescendantFonts" not in font:
                continue
            seen.add(key)
            cmap = _to_unicode(font["/ToUnicode"].get_object().get_data().decode("latin-1"))
            cids = {cid: ch for cid, ch in cmap.items() if ch in wanted}
            if not cids:
                continue
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            program = descriptor.get("/FontFile2") or descriptor.get("/FontFile3")
            tt = TTFont(io.BytesIO(program.get_object().get_data()))
            order = tt.getGlyphOrder()
            glyph_set = tt.getGlyphSet()
            for cid, ch in cids.items():
                name = order[cid] if cid < len(order) else ".notdef"
                pen = BoundsPen(glyph_set)
                if name in glyph_set:
                    glyph_set[name].draw(pen)
                found[ch].append(Glyph(str(font["/BaseFont"]), cid, name, pen.bounds is not None))
    return found


def outside_type_area(pdf: PdfText, tolerance: float = 0.6) -> list[Word]:
    """Words that leave the type area sideways, or the page."""
    bad = []
    for w in pdf.words:
        width, height = pdf.page_sizes[w.page - 1]
        if (w.x0 < MARGINS["left"] - tolerance or w.x1 > width - MARGINS["right"] + tolerance
                or w.y0 < 0 or w.y1 > height):
            bad.append(w)
    return bad


def collisions(pdf: PdfText, tolerance: float = 1.0) -> list[tuple[Word, Word]]:
    """Pairs of words of a page whose boxes overlap (text printed over text)."""
    bad = []
    by_page: dict[int, list[Word]] = {}
    for w in pdf.words:
        by_page.setdefault(w.page, []).append(w)
    for words in by_page.values():
        words.sort(key=lambda w: w.y0)
        for i, a in enumerate(words):
            for b in words[i + 1:]:
                if b.y0 > a.y1 - tolerance:
                    break
                if (min(a.x1, b.x1) - max(a.x0, b.x0) > tolerance
                        and min(a.y1, b.y1) - max(a.y0, b.y0) > tolerance):
                    bad.append((a, b))
    return bad


_DATE_HEAD = re.compile(r"\d{4}年(\d{1,2}(月(\d{1,2})?)?)?$")
_DATE_TAIL = re.compile(r"^(\d{1,2}(月(\d{1,2}日)?|日)|月\d{1,2}日|日)")


def split_dates(pdf: PdfText) -> list[tuple[str, str]]:
    """A date broken across two lines: a word ending in its head (``2025年12月4``) and the next
    word, on another line, beginning with its tail (``日``)."""
    bad = []
    words = pdf.words
    for a, b in itertools.pairwise(words):
        if abs(a.y0 - b.y0) < 1:
            continue  # same line
        if _DATE_HEAD.search(a.text) and _DATE_TAIL.match(b.text):
            bad.append((a.text, b.text))
    return bad


def content_words(pdf: PdfText, page: int) -> list[Word]:
    """The words of ``page`` inside the type area (not the running heads and feet), in
    reading order."""
    _, height = pdf.page_sizes[page - 1]
    inside = [w for w in pdf.words if w.page == page
              and MARGINS["top"] - 2 <= w.y0 and w.y1 <= height - MARGINS["bottom"] + 2]
    return sorted(inside, key=lambda w: (round(w.y0), w.x0))
