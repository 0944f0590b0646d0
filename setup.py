"""Building the package builds the pages' front-end first (SPEC §2: one package with its data).

pyproject.toml holds the project's metadata; this file only adds the step setuptools cannot
express there: before the Python files are collected, ``npm ci`` (when node_modules is
missing) and ``npm run build`` write the modeler bundle and the pages' npm files into
``marshrut/ui/static/build/``, which the wheel then carries. Editable installs skip it
(``scripts/setup`` builds the bundle in place).
"""

import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLE = ROOT / "marshrut" / "ui" / "static" / "build" / "modeler.js"


class BuildWithFrontEnd(build_py):
    def run(self) -> None:
        if not getattr(self, "editable_mode", False) and (ROOT / "package.json").is_file():
            npm = shutil.which("npm")
            if npm:
                if not (ROOT / "node_modules").is_dir():
                    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT, check=True)
                subprocess.run([npm, "run", "--silent", "build"], cwd=ROOT, check=True)
            elif not BUNDLE.is_file():
                raise SystemExit("npm (Node.js) is needed to build the pages' front-end bundle")
        super().run()


setup(cmdclass={"build_py": BuildWithFrontEnd})
