"""HTML → PDF bytes with WeasyPrint, safely and deterministically.

- One :class:`FontConfiguration` and one parsed copy of each print stylesheet per process.
- A URL fetcher that serves only the project's own assets (``asset:`` URLs under
  reports/assets/) and images given as ``data:``; it refuses ``file:``, ``http(s):``, every other
  scheme, other ``data:`` types and, having no network, redirects and attachments.
- Templates are Jinja2 with autoescaping: text typed by users is printed as text, never markup.
- The same HTML gives the same bytes: metadata dates come from the document's own data.
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import logging
import re
import threading
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from mediation.i18n import N_
from mediation.resources import data_dir
from mediation.text import clean_text

log = logging.getLogger(__name__)

ASSET_SCHEME = "asset:"
ASSET_TYPES = {".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml",
               ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
DATA_IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")
MAX_DATA_BYTES = 2_000_000
# Metadata date of a document whose data has no date of its own.
FIXED_DATE = "2000-01-01T00:00:00+08:00"
PRODUCER = "mediation"


class RefusedURL(ValueError):
    """A URL the documents may not fetch."""


def _make_fetcher_class() -> type:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class AssetFetcher(URLFetcher):
        """Serves ``asset:NAME`` from reports/assets/ and image ``data:`` URLs; refuses the rest.

        Every refused URL is kept in :attr:`refused` (tests read it).
        """

        def __init__(self, assets: Path):
            super().__init__(allow_redirects=False, timeout=1)
            self.assets = assets.resolve()
            self.refused: list[str] = []

        def _refuse(self, url: str, why: str) -> RefusedURL:
            self.refused.append(url)
            log.warning("document fetch refused (%s): %.200s", why, url)
            return RefusedURL(f"refused ({why}): {url[:200]}")

        def fetch(self, url: str, headers: Any = None) -> Any:
            lowered = url.strip().lower()
            if lowered.startswith(ASSET_SCHEME):
                name = unquote(url.strip()[len(ASSET_SCHEME):]).lstrip("/")
                path = (self.assets / name).resolve()
                if not path.is_relative_to(self.assets) or not path.is_file():
                    raise self._refuse(url, "not an asset")
                mime = ASSET_TYPES.get(path.suffix.lower())
                if mime is None:
                    raise self._refuse(url, "asset type")
                return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})
            if lowered.startswith("data:"):
                head, _, payload = url.partition(",")
                mime = head[5:].split(";")[0].strip().lower()
                if mime not in DATA_IMAGE_TYPES or len(payload) > MAX_DATA_BYTES:
                    raise self._refuse(url, "data that is not an image")
                if head.lower().endswith(";base64"):
                    try:
                        body = base64.b64decode(payload, validate=True)
                    except ValueError as exc:
                        raise self._refuse(url, "bad base64") from exc
                else:
                    body = unquote(payload).encode()
                return URLFetcherResponse(url, body, {"Content-Type": mime})
            raise self._refuse(url, "foreign URL")

    return AssetFetcher


SUBSETTING_MISSING = N_("未找到 HarfBuzz 字体子集库（libharfbuzz-subset0），PDF 生成将慢约40倍，请安装后重启")
CJK_FONT_MISSING = N_("未找到中文字体 Noto CJK（fonts-noto-cjk），PDF 中的中文将无法显示")
RARE_FONT_MISSING = N_("未找到生僻字字体（fonts-babelstone-han、fonts-hanazono），生僻字将印成方框")


def check_subsetting() -> str | None:
    """A warning if PDFs would be slow or wrong: no HarfBuzz subsetting (WeasyPrint falls back
    to fontTools, about 40× slower), no Noto CJK font, or no font for the rare characters of
    CJK Extension B and beyond. None when all is well."""
    problems = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from weasyprint.text.ffi import harfbuzz, harfbuzz_subset
        if harfbuzz_subset is None or not harfbuzz.hb_version_atleast(4, 1, 0):
            problems.append(SUBSETTING_MISSING)
    except (OSError, ImportError):
        name = ctypes.util.find_library("harfbuzz-subset")
        if name is None:
            problems.append(SUBSETTING_MISSING)
    if not _has_font("Noto Serif CJK SC", b"CJK"):
        problems.append(CJK_FONT_MISSING)
    if not (_has_font("BabelStone Han", b"BabelStone") or _has_font("HanaMinB", b"HanaMin")):
        problems.append(RARE_FONT_MISSING)
    if not problems:
        return None
    return " ".join(p.get() for p in problems)


def _has_font(family: str, expect: bytes) -> bool:
    """Whether fontconfig matches ``family`` with a font whose family name holds ``expect``."""
    name = ctypes.util.find_library("fontconfig")
    if name is None:
        return False
    try:
        fc = ctypes.CDLL(name)
        fc.FcNameParse.restype = ctypes.c_void_p
        fc.FcFontMatch.restype = ctypes.c_void_p
        fc.FcFontMatch.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]
        fc.FcConfigSubstitute.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
        fc.FcDefaultSubstitute.argtypes = [ctypes.c_void_p]
        fc.FcPatternGetString.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                          ctypes.POINTER(ctypes.c_char_p)]
        fc.FcPatternDestroy.argtypes = [ctypes.c_void_p]
        pattern = fc.FcNameParse(family.encode())
        fc.FcConfigSubstitute(None, pattern, 0)
        fc.FcDefaultSubstitute(pattern)
        result = ctypes.c_int()
        match = fc.FcFontMatch(None, pattern, ctypes.byref(result))
        matched = ctypes.c_char_p()
        ok = match and fc.FcPatternGetString(match, b"family", 0, ctypes.byref(matched)) == 0
        found = bool(ok and matched.value and expect in matched.value)
        fc.FcPatternDestroy(pattern)
        if match:
            fc.FcPatternDestroy(match)
        return found
    except (OSError, AttributeError):
        return False


# A date as documents print it: kept on one line.
_CN_DATE = re.compile(r"\d{4}年\d{1,2}月(?:\d{1,2}日)?")


def printable(value: Any) -> Any:
    """Every value a template prints: without bidi overrides and other invisible controls (text
    stored before input was cleaned must not print reordered either), and with each date in it
    kept whole on one line (no "12月4 / 日"). Markup built by the templates' own helpers is left
    alone."""
    if not isinstance(value, str) or isinstance(value, Markup):
        return value
    text = clean_text(value)
    if not _CN_DATE.search(text):
        return text
    out, last = [], 0
    for m in _CN_DATE.finditer(text):
        out.append(escape(text[last:m.start()]))
        out.append(Markup('<span class="date">%s</span>') % m.group())
        last = m.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def paragraphs(text: Any) -> list[str]:
    """User text split into paragraphs at line breaks (blank ones dropped)."""
    if text is None:
        return []
    return [line.strip() for line in str(text).splitlines() if line.strip()]


def yuan(amount: object) -> str:
    """An amount as printed on an agreement: ``2000.00`` → ``人民币2000.00元``; text that is
    not a bare number (``人民币6800元``) is printed as it was written."""
    text = str(amount).strip()
    return f"人民币{text}元" if re.fullmatch(r"\d+(\.\d{1,2})?", text) else text


def nbsp_fill(text: Any, width: int = 0) -> Markup:
    """Escaped text, or an underline space of ``width`` ems to write in by hand."""
    if text:
        return Markup(escape(clean_text(str(text))))
    return Markup(f'<span class="blank" style="width:{max(width, 4)}em"></span>')


# A signature block of a template (its id is given at render time).
SIGN_BLOCK = re.compile(r'<div class="sign-block"')


def bare_sign_blocks(document: Any) -> list[str]:
    """The ids of the signature blocks that start a page on which nothing of the document's
    text comes before them: a page that holds only signatures."""
    from weasyprint.formatting_structure import boxes

    def owners(box: Any, owner: str | None, out: list[str | None]) -> None:
        """The signature block (or None) of each piece of text or image, in page order."""
        if isinstance(box, boxes.MarginBox):
            return
        element = getattr(box, "element", None)
        if element is not None and box.element_tag == "div" and (
                element.get("id") or "").startswith("sign-"):
            owner = element.get("id")
        if isinstance(box, boxes.TextBox | boxes.ReplacedBox):
            out.append(owner)
        elif isinstance(box, boxes.ParentBox):
            for child in box.children:
                owners(child, owner, out)

    seen: set[str] = set()
    bare = []
    for number, page in enumerate(document.pages):
        found: list[str | None] = []
        owners(page._page_box, None, found)
        first = found[0] if found else None
        if number and first is not None and first not in seen:
            bare.append(first)
        seen.update(o for o in found if o is not None)
    return bare


class Renderer:
    """Jinja2 environment, font configuration, parsed stylesheets and the fetcher: built once
    per process and reused for every document (WeasyPrint is not thread-safe: renders are
    serialised by a lock)."""

    def __init__(self, root: Path | None = None):
        from weasyprint.text.fonts import FontConfiguration

        self.root = root or data_dir("reports")
        self.env = Environment(
            loader=FileSystemLoader(str(self.root / "templates")),
            autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
            auto_reload=False, finalize=printable)
        self.env.filters["paras"] = paragraphs
        self.env.filters["yuan"] = yuan
        self.env.filters["fill"] = nbsp_fill
        self.font_config = FontConfiguration()
        self.fetcher = _make_fetcher_class()(self.root / "assets")
        self._css: dict[str, Any] = {}
        self.lock = threading.RLock()

    def stylesheets(self, names: tuple[str, ...] | list[str]) -> list[Any]:
        """The parsed stylesheets ``names`` (from reports/css/), each parsed once."""
        from weasyprint import CSS

        sheets = []
        for name in names:
            if name not in self._css:
                text = (self.root / "css" / name).read_text(encoding="utf-8")
                self._css[name] = CSS(string=text, url_fetcher=self.fetcher,
                                      font_config=self.font_config, base_url=None)
            sheets.append(self._css[name])
        return sheets

    def html(self, template: str, context: dict[str, Any]) -> str:
        """The HTML of ``template`` with ``context`` (autoescaped)."""
        return self.env.get_template(template).render(**context)

    def pdf(self, html: str, css: tuple[str, ...] | list[str] = (),
            *, date: str | None = None, title: str = "") -> bytes:
        """PDF bytes of ``html`` with the stylesheets ``css``; deterministic for the same input.

        ``date`` (ISO 8601) becomes the PDF's creation and modification date.
        """
        return self.pdf_pages(html, css, date=date, title=title)[0]

    def pdf_pages(self, html: str, css: tuple[str, ...] | list[str] = (),
                  *, date: str | None = None, title: str = "") -> tuple[bytes, int]:
        """Like :meth:`pdf`, with the number of pages.

        A signature block (``<div class="sign-block">``) that starts a page holding nothing of
        the document's text gets its "（此页无正文）" line shown: the document is laid out once,
        and again with those lines when there are any.
        """
        from weasyprint import CSS, HTML

        counter = iter(range(1, 10_000))
        html = SIGN_BLOCK.sub(lambda m: f'{m.group()} id="sign-{next(counter)}"', html)
        with self.lock:
            sheets = self.stylesheets(css)
            document = HTML(string=html, base_url=None, url_fetcher=self.fetcher).render(
                font_config=self.font_config, stylesheets=sheets)
            bare = bare_sign_blocks(document)
            if bare:
                shown = CSS(string=", ".join(f"#{b} > .no-body" for b in bare)
                            + " { display: block; }", font_config=self.font_config)
                document = HTML(string=html, base_url=None, url_fetcher=self.fetcher).render(
                    font_config=self.font_config, stylesheets=[*sheets, shown])
            meta = document.metadata
            meta.created = meta.modified = date or FIXED_DATE
            meta.generator = PRODUCER
            if title:
                meta.title = title
            meta.attachments = []  # never embed files, whatever the HTML says
            pdf: bytes = document.write_pdf(pdf_identifier=False, attachments=None)
            return pdf, len(document.pages)

    def render(self, template: str, context: dict[str, Any], css: tuple[str, ...] | list[str],
               *, date: str | None = None, title: str = "") -> bytes:
        """Template → HTML → PDF bytes."""
        return self.pdf(self.html(template, context), css, date=date, title=title)


_renderer: Renderer | None = None
_renderer_lock = threading.Lock()


def renderer() -> Renderer:
    """The process's renderer (built on first use, never at import)."""
    global _renderer
    with _renderer_lock:
        if _renderer is None or _renderer.root != data_dir("reports"):
            _renderer = Renderer()
        return _renderer


def render_html(html: str, css: tuple[str, ...] | list[str] = ("base.css",),
                *, date: str | None = None) -> bytes:
    """PDF bytes of an HTML string with the project's stylesheets and safe fetcher."""
    return renderer().pdf(html, css, date=date)
