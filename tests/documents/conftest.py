"""Fixtures for the document tests: the committee of tests/documents/factories.py on the
suite's databases (every backend), a session to walk cases in, and helpers that read PDFs back
with poppler (pdftotext, pdffonts, pdfinfo)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
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


class PdfText:
    """A PDF read back: its pages' text (whitespace removed, as CJK text has none), fonts, info."""

    def __init__(self, pdf: bytes, tmp: Path):
        path = tmp / "doc.pdf"
        path.write_bytes(pdf)
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


@pytest.fixture
def read_pdf(tmp_path: Path):
    counter = iter(range(10_000))

    def read(pdf: bytes) -> PdfText:
        folder = tmp_path / f"pdf{next(counter)}"
        folder.mkdir()
        return PdfText(pdf, folder)

    return read
