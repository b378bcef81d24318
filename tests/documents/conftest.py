"""Fixtures for the document tests: the committee of tests/documents/factories.py on the
suite's databases (every backend), a session to walk cases in, and helpers that read PDFs back
with poppler (pdftotext, pdffonts, pdfinfo)."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from mediation.runtime import Runtime
from tests.documents.factories import DocumentWorld

POPPLER = all(shutil.which(t) for t in ("pdftotext", "pdffonts", "pdfinfo"))
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils not installed")


@pytest.fixture
def docs(rt: Runtime) -> DocumentWorld:
    """武林门社区, its grid and its three mediators, on an empty database."""
    return DocumentWorld(rt).build()


@pytest.fixture
def session(rt: Runtime, docs: DocumentWorld) -> Iterator[Session]:
    """One unit of work, committed at the end."""
    with rt.db.session() as s:
        yield s


@dataclass(frozen=True)
class Word:
    """A word of a page as poppler finds it, with its box in points (origin top left)."""

    page: int  # 1-based
    x0: float
    y0: float
    x1: float
    y1: float
    text: str


_PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">')
_WORD = re.compile(r'<word xMin="([\d.-]+)" yMin="([\d.-]+)" xMax="([\d.-]+)" yMax="([\d.-]+)">'
                   r"(.*?)</word>")


class PdfText:
    """A PDF read back: its pages' text (whitespace removed, as CJK text has none), fonts, info,
    and the words with their boxes (:attr:`words`, :attr:`page_sizes`)."""

    def __init__(self, pdf: bytes, tmp: Path):
        path = tmp / "doc.pdf"
        path.write_bytes(pdf)
        self.path = path
        raw = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                             capture_output=True, text=True).stdout
        self.raw_pages = raw.split("\f")[:-1] if raw.endswith("\f") else raw.split("\f")
        self.pages = [re.sub(r"\s+", "", p) for p in self.raw_pages]
        # reading order (no -layout) keeps a table cell's wrapped lines together
        flow = subprocess.run(["pdftotext", str(path), "-"], check=True,
                              capture_output=True, text=True).stdout
        self.text = "".join(self.pages) + "\n" + re.sub(r"\s+", "", flow)
        self.fonts = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True,
                                    text=True).stdout
        info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True,
                              text=True).stdout
        self.info = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
        self.page_count = int(self.info["Pages"].strip())

    def has(self, *needles: str) -> list[str]:
        """The needles missing from the text (whitespace ignored)."""
        return [n for n in needles if re.sub(r"\s+", "", n) not in self.text]

    @cached_property
    def _bbox(self) -> tuple[list[tuple[float, float]], list[Word]]:
        out = subprocess.run(["pdftotext", "-bbox", str(self.path), "-"], check=True,
                             capture_output=True, text=True).stdout
        sizes: list[tuple[float, float]] = []
        words: list[Word] = []
        for chunk in out.split("<page ")[1:]:
            m = _PAGE.match("<page " + chunk)
            assert m, chunk[:100]
            sizes.append((float(m.group(1)), float(m.group(2))))
            for w in _WORD.finditer(chunk):
                words.append(Word(len(sizes), *(float(w.group(i)) for i in range(1, 5)),
                                  html.unescape(w.group(5))))
        return sizes, words

    @property
    def words(self) -> list[Word]:
        """Every word of every page with its box."""
        return self._bbox[1]

    @property
    def page_sizes(self) -> list[tuple[float, float]]:
        """Width and height of each page in points."""
        return self._bbox[0]

    def above(self, label: str, reach: float = 150) -> str:
        """The text printed right above the word ``label``, from its left edge and ``reach``
        points to the right (the figure over its caption)."""
        found = [w for w in self.words if w.text == label]
        assert found, f"no word {label!r}"
        lab = found[0]
        over = [w for w in self.words if w.page == lab.page and lab.y0 - 4 <= w.y1 <= lab.y0 + 1
                and lab.x0 - 1 <= w.x0 < lab.x0 + reach]
        return "".join(w.text for w in sorted(over, key=lambda w: w.x0))


@pytest.fixture
def read_pdf(tmp_path: Path):
    counter = iter(range(10_000))

    def read(pdf: bytes) -> PdfText:
        folder = tmp_path / f"pdf{next(counter)}"
        folder.mkdir()
        return PdfText(pdf, folder)

    return read
