"""Build hook: ship pipelines/, ilm/ and index_templates/ inside the package.

They stay at the top of the source tree (where operators and tests read them);
a built wheel carries copies under ``logpipe/_shipped/``, which
:mod:`logpipe.shipped` finds through importlib.resources, so an installed
logpipe works from any directory. Everything else is in pyproject.toml.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("pipelines", "ilm", "index_templates")


class BuildWithShippedFiles(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads them from the checkout itself
        here = Path(__file__).resolve().parent
        for name in SHIPPED:
            source = here / name
            if source.is_dir():
                shutil.copytree(source, Path(self.build_lib) / "logpipe" / "_shipped" / name,
                                dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildWithShippedFiles})
