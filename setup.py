"""Build hook: the wheel carries workflows/, templates/ and reports/ as mediation/_data/.

In a checkout (and an editable install) those folders stay where they are, beside the package;
``mediation.resources`` looks in both places.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATA_DIRS = ("workflows", "templates", "reports")
# Browser assets from npm (make assets) that the app serves (mediation.pages.assets.VENDOR).
VENDORED = ("htmx.org/dist/htmx.min.js", "axe-core/axe.min.js")


class BuildWithData(build_py):
    """Copy the data folders into the built package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        root = Path(__file__).parent
        target = Path(self.build_lib) / "mediation" / "_data"
        for name in DATA_DIRS:
            src = root / name
            if src.is_dir():
                shutil.copytree(src, target / name, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__"))
        for asset in VENDORED:
            src = root / "node_modules" / asset
            if src.is_file():
                (target / "node_modules" / asset).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, target / "node_modules" / asset)


setup(cmdclass={"build_py": BuildWithData})
