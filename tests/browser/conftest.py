"""Browser tests: real headless Chromium (Debian's /usr/bin/chromium driven by Playwright's
Python package) against a real server (waitress) on a free port, with the in-process jobs
running (notices arrive as they do in production).

Every page a walk visits is checked (:class:`Pages`): axe-core (WCAG 2.0/2.1/2.2 A and AA), our
own checks of UX.md §5 (labels, target sizes, font sizes, no horizontal scroll at 320 px and at
200 % text, one h1, the error summary focused), the English rendering without untranslated
text, and a screenshot at phone and desk size. Screenshots go to ``$MEDIATION_SCREENSHOTS``
(``make screenshots`` writes docs/screenshots/), else to a temporary folder.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mediation.db import Base
from mediation.runtime import Runtime
from tests.conftest import make_config
from tests.factories import World, password_of

CHROMIUM = Path(os.environ.get("MEDIATION_CHROMIUM", "/usr/bin/chromium"))
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PHONE = {"width": 390, "height": 844}
NARROW = {"width": 320, "height": 640}
DESK = {"width": 1280, "height": 800}
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

pytestmark = pytest.mark.browser

# What the page checks measure in the browser (UX.md §5).
OWN_CHECKS = """
(phone) => {
  const problems = [];
  const visible = (el) => {
    const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none';
  };
  const name = (el) => (el.id ? '#' + el.id : el.tagName.toLowerCase()) +
      ' "' + (el.textContent || el.value || '').trim().slice(0, 30) + '"';
  // one h1
  const h1 = document.querySelectorAll('h1');
  if (h1.length !== 1) problems.push('h1 count ' + h1.length);
  // a visible label tied to every control
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden') continue;
    const labels = Array.from(el.labels || []).filter(visible);
    if (!labels.length) problems.push('no visible label: ' + name(el));
  }
  // targets: 48 px on phone pages, 44 on desk pages; a radio or check box by its label
  const floor = phone ? 48 : 44;
  for (const el of document.querySelectorAll('a[href], button, select, textarea, summary, input')) {
    if (el.type === 'hidden' || el.classList.contains('skip')) continue;
    let target = el;
    if (el.type === 'radio' || el.type === 'checkbox' || el.classList.contains('file-input'))
      target = el.closest('label') || (el.labels && el.labels[0]) || el;
    if (!visible(target)) continue;
    const r = target.getBoundingClientRect();
    if (r.height < floor - 0.5 || r.width < floor - 0.5)
      problems.push('small target ' + Math.round(r.width) + 'x' + Math.round(r.height) + ': ' +
                    name(el));
  }
  // the primary button of a volunteer page: 60 px
  for (const el of document.querySelectorAll('.btn-big')) {
    if (visible(el) && el.getBoundingClientRect().height < 60) problems.push('small primary: ' + name(el));
  }
  // no text below 16 px
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.textContent.trim()) continue;
    const el = node.parentElement;
    if (!el || !visible(el) || el.closest('.visually-hidden, .skip, script, style')) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size < 16) problems.push('font ' + size + 'px: ' + name(el));
  }
  // the error summary takes the focus; the title says there is an error
  const summary = document.querySelector('.error-summary');
  if (summary) {
    if (document.activeElement !== summary) problems.push('error summary not focused');
    if (!/^(错误|Error)/.test(document.title)) problems.push('title without error: ' + document.title);
  }
  return problems;
}
"""


# The element reaching furthest right (what makes a page scroll sideways).
WIDEST = """() => {
  let worst = null, right = innerWidth;
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.right > right + 0.5) { right = r.right; worst = el; }
  }
  return worst ? worst.tagName + '.' + worst.className + ' ' + Math.round(right) + 'px: ' +
    (worst.textContent || '').trim().slice(0, 40) : '';
}"""


@dataclass
class Live:
    """The running server, its runtime and the factories' world."""

    base: str
    rt: Runtime
    world: World
    shots: Path
    checked: set[str] = field(default_factory=set)

    def user_data(self) -> set[str]:
        """Every text the users typed or the data names (kept as typed on English pages)."""
        from mediation.auth.models import User
        from mediation.cases.models import Case, Party
        from mediation.files.models import Attachment
        from mediation.orgs.models import OrgUnit
        from mediation.workflow.models import Event

        out: set[str] = set()
        with self.rt.db.session() as s:
            for c in s.scalars(select(Case)):
                out |= {c.title, c.description, c.report_no, c.case_no or ""}
            for p in s.scalars(select(Party)):
                out |= {p.name, p.address, p.occupation}
            for u in s.scalars(select(User)):
                out |= {u.full_name, u.username}
            for o in s.scalars(select(OrgUnit)):
                out |= {o.name, o.short_name}
            for a in s.scalars(select(Attachment)):
                out.add(a.filename)
            for e in s.scalars(select(Event)):
                stack: list[Any] = [e.data]
                while stack:
                    value = stack.pop()
                    if isinstance(value, str):
                        out.add(value)
                    elif isinstance(value, dict):
                        stack.extend(v for k, v in value.items() if k != "en")
                    elif isinstance(value, list):
                        stack.extend(value)
        return {t for t in out if t}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """``mediation serve`` in its own process (the embedded setup: jobs and sweeps in-process),
    on a free port, over an SQLite file holding the world's org tree and users; the tests read
    and prepare data through a runtime of their own on the same file."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make system` installs Debian's chromium")
    from mediation import models  # noqa: F401
    from mediation.db import make_engine

    folder = tmp_path_factory.mktemp("live")
    instance = folder / "instance"
    url = f"sqlite:///{folder / 'live.sqlite3'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    rt = Runtime(make_config(url, instance))
    world = World(rt).build()
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "MEDIATION_INSTANCE": str(instance),
           "SECRET_KEY": rt.config.secret_key, "MEDIATION_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    env.pop("CELERY_BROKER_URL", None)
    exe = Path(sys.executable).with_name("mediation")
    log = (folder / "serve.log").open("wb")
    server = subprocess.Popen([str(exe), "serve", "--port", str(port)], env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start: "
                                   + (folder / "serve.log").read_text()[-2000:])
            time.sleep(0.2)
        shots = Path(os.environ.get("MEDIATION_SCREENSHOTS") or folder / "screenshots")
        shots.mkdir(parents=True, exist_ok=True)
        yield Live(base, rt, world, shots)
    finally:
        server.terminate()
        server.wait(20)
        log.close()
        rt.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM))
        yield browser
        browser.close()


class Pages:
    """One person's browser: signs in, and checks every page it is shown."""

    def __init__(self, live: Live, chromium: Any, username: str, *, phone: bool):
        self.live = live
        self.username = username
        self.phone = phone
        self.context = chromium.new_context(
            viewport=PHONE if phone else DESK, device_scale_factor=2 if phone else 1,
            is_mobile=phone, has_touch=phone, locale="zh-CN")
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.page.on("dialog", self._dialog)
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error"
                     and "status of 4" not in m.text else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def close(self) -> None:
        assert not self.dialogs, f"dialogs fired: {self.dialogs}"
        assert not self.errors, f"script errors: {self.errors}"
        self.context.close()

    def go(self, path: str) -> Any:
        response = self.page.goto(self.live.base + path)
        return response

    def login(self) -> Pages:
        self.go("/login")
        self.page.fill("#username", self.username)
        self.page.fill("#password", password_of(self.username))
        self.page.click("button[type=submit]")
        self.page.wait_for_url(self.live.base + "/")
        return self

    def url_path(self) -> str:
        return self.page.url.removeprefix(self.live.base)

    def check(self, name: str, *, english: bool = True) -> None:
        """Check the page now shown (axe, our checks, 320 px and 200 % text, English) and save
        it at phone and desk size as ``<name>-phone.png`` and ``<name>-desk.png``."""
        page = self.page
        problems = axe(page) + page.evaluate(OWN_CHECKS, self.phone)
        size = page.viewport_size
        page.set_viewport_size(NARROW)
        if page.evaluate("document.documentElement.scrollWidth > innerWidth"):
            problems.append("horizontal scroll at 320 px")
        page.evaluate("document.documentElement.style.fontSize = '225%'")  # 200 % of 112.5 %
        if page.evaluate("document.documentElement.scrollWidth > innerWidth"):
            problems.append("horizontal scroll at 320 px with 200 % text: " + page.evaluate(
                WIDEST))
        page.evaluate("document.documentElement.style.fontSize = ''")
        for label, viewport in (("phone", PHONE), ("desk", DESK)):
            page.set_viewport_size(viewport)
            shot = self.live.shots / f"{name}-{label}.png"
            page.screenshot(path=str(shot), full_page=True, scale="css")
            small(shot)
        page.set_viewport_size(size)
        assert not problems, f"{name} ({self.url_path()}):\n" + "\n".join(problems)
        if english:  # pages drawn for a POST (a confirmation, errors) cannot be asked again
            self.check_english(name)
        self.live.checked.add(name)

    def untranslated(self, typed: tuple[str, ...] = ()) -> list[str]:
        """The lines of the page shown that are still in Chinese, but for what users typed and
        the switch back to Chinese (in Chinese on purpose: lang="zh-CN")."""
        body = self.page.evaluate("""() => {
            for (const el of document.querySelectorAll('[lang^="zh"]')) el.style.display = 'none';
            return document.body.innerText; }""")
        for known in sorted({*self.live.user_data(), *typed}, key=len, reverse=True):
            body = body.replace(known, "")
        return sorted({line.strip() for line in body.splitlines() if CJK.search(line)})

    def check_english(self, name: str) -> None:
        """The same page in English: nothing left in Chinese but what users typed."""
        path = self.url_path()
        separator = "&" if "?" in path else "?"
        self.go(path + separator + "lang=en")
        left = self.untranslated()
        lang = self.page.get_attribute("html", "lang")
        self.go(path + separator + "lang=zh")
        assert lang == "en", name
        assert not left, f"{name} in English still says:\n" + "\n".join(left)


def small(path: Path) -> None:
    """Keep a screenshot small enough to commit: 128 colours are plenty for pages."""
    from PIL import Image

    with Image.open(path) as image:
        reduced = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    reduced.save(path, optimize=True)


def axe(page: Any) -> list[str]:
    """axe-core's violations on the page (served by the app, as the CSP allows)."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(url="/static/vendor/axe.min.js")
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        AXE_TAGS)
    return [f"axe {v['id']}: {v['help']} — " + "; ".join(n["target"][0] for n in v["nodes"][:3])
            for v in result["violations"]]


@pytest.fixture
def person(live: Live, chromium: Any) -> Iterator[Any]:
    """``person("v1", phone=True)``: a signed-in browser; closed (and checked) at the end."""
    opened: list[Pages] = []

    def make(username: str, *, phone: bool = True) -> Pages:
        pages = Pages(live, chromium, username, phone=phone).login()
        opened.append(pages)
        return pages

    yield make
    for pages in opened:
        pages.close()


def clean_shots(folder: Path) -> None:
    """Empty a screenshots folder before a run writes it."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
