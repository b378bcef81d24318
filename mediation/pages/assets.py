"""Browser assets from npm (package.json, installed by ``make`` into node_modules/, never
committed), served by the app itself: deployments sit on government intranets, no CDN.

htmx enhances the pages (every ``hx-*`` element keeps a real ``href``/``action``: the pages work
without JavaScript); axe-core is what the browser tests check the pages with.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, send_from_directory

from mediation.resources import data_dir

# name served under /static/vendor/ → its file inside node_modules/
VENDOR = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "axe.min.js": "axe-core/axe.min.js",
}


def vendor_path(name: str) -> Any:
    """The file of a vendored asset (it may be missing: ``make`` installs it)."""
    return data_dir("node_modules") / VENDOR[name]


def vendor(name: str) -> Any:
    """Serve a vendored asset; 404 for any other name."""
    if name not in VENDOR:
        abort(404)
    path = vendor_path(name)
    if not path.is_file():
        abort(404)
    return send_from_directory(path.parent, path.name, max_age=86400)


def register(app: Flask) -> None:
    """Serve the vendored assets under /static/vendor/."""
    app.add_url_rule("/static/vendor/<name>", "vendor", vendor)
