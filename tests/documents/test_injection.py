"""Markup typed into any free-text field is printed as text: nothing fetched, nothing embedded.

A real HTTP server on 127.0.0.1 counts every request; ``/etc/passwd`` must not appear.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pypdf import PdfReader

from mediation.documents.catalogue import catalogue
from mediation.documents.monthly import monthly_report_pdf
from mediation.documents.render import RefusedURL, render_html, renderer
from mediation.documents.store import available_documents, render_case_document
from tests.documents import factories as f
from tests.documents.conftest import needs_poppler

pytestmark = needs_poppler


class Canary:
    def __init__(self) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                body = b"canary-body-SHOULD-NOT-BE-IN-PDF"
                self.send_response(200)
                self.send_header("Content-Type", "text/css")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def canary() -> Iterator[Canary]:
    c = Canary()
    yield c
    c.close()


def payload(port: int) -> str:
    base = f"http://127.0.0.1:{port}"
    return (f'<img src="file:///etc/passwd"><link rel=attachment href="file:///etc/passwd">'
            f'<link rel="attachment" href="{base}/canary-attachment">'
            f'<style>@import url("{base}/canary-import");</style>'
            f'@import url({base}/canary-css-text);'
            f'<img src="{base}/canary"><svg><image href="{base}/canary-svg"/></svg>'
            f'<a href="{base}/canary-link">链接</a>')


def assert_clean(pdf: bytes, canary: Canary) -> None:
    reader = PdfReader(io.BytesIO(pdf))
    assert dict(reader.attachments) == {}
    assert b"root:x:0:0" not in pdf and b"canary-body" not in pdf
    assert canary.hits == []


def test_markup_in_every_free_text_field_is_printed_as_text(rt, docs, session, canary,
                                                           read_pdf):
    text = payload(canary.port)
    cases = [f.resolved_case(docs, session, text=text, day=1),
             f.litigation_case(docs, session, text=text, day=2)]
    refused_before = len(renderer().fetcher.refused)
    for case in cases:
        for name in available_documents(session, case):
            pdf_bytes, _ = render_case_document(session, rt, case, name)
            assert_clean(pdf_bytes, canary)
            pdf = read_pdf(pdf_bytes)
            if name in ("registration", "agreement", "investigation", "session_record",
                        "termination_notice", "dossier"):
                assert '<imgsrc="file:///etc/passwd">' in pdf.text, name
                assert "@import" in pdf.text and "<linkrel=attachment" in pdf.text
    pdf_bytes = monthly_report_pdf(session, "S1", "2025-03")
    assert_clean(pdf_bytes, canary)
    # Escaped text never reaches the fetcher at all.
    assert len(renderer().fetcher.refused) == refused_before
    assert canary.hits == []


def test_the_fetcher_refuses_foreign_urls_even_in_raw_html(canary):
    text = payload(canary.port)
    html = (f"<html><head><style>@import url('http://127.0.0.1:{canary.port}/canary-head');"
            f"body {{ background: url('file:///etc/passwd') }}</style>"
            f"<link rel=stylesheet href='http://127.0.0.1:{canary.port}/canary-sheet'>"
            "<link rel=stylesheet href='file:///etc/passwd'></head><body>"
            f"{text}<img src='data:text/html;base64,PGgxPng8L2gxPg=='>"
            "<img src='asset:../catalogue.toml'><img src='asset:../../../etc/passwd'>"
            "<p>正文</p></body></html>")
    fetcher = renderer().fetcher
    before = len(fetcher.refused)
    pdf = render_html(html)
    assert_clean(pdf, canary)
    refused = fetcher.refused[before:]
    assert any(u.startswith("file:///etc/passwd") for u in refused)
    assert any("canary" in u for u in refused)
    assert any(u.startswith("data:text/html") for u in refused)
    assert any(u.startswith("asset:") for u in refused)
    for url in ("file:///etc/passwd", f"http://127.0.0.1:{canary.port}/x",
                "https://example.org/", "ftp://example.org/x", "data:text/css,body{}",
                "asset:../catalogue.toml", "javascript:alert(1)"):
        with pytest.raises(RefusedURL):
            fetcher.fetch(url)
    assert canary.hits == []


def test_only_image_data_urls_are_served():
    fetcher = renderer().fetcher
    png = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
           "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
    assert fetcher.fetch(png).read().startswith(b"\x89PNG")
    assert catalogue().root.is_dir()
