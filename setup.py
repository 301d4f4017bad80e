"""Build hook: the wheel ships ``terraform/``, ``handler/`` and ``container/`` inside the package.

Everything else about the package is declared in ``pyproject.toml``. ``build_py`` additionally
copies the deployment assets into ``expense_cli/_bundle/`` of the build, with the rules of
``expense_cli/_assets.py`` (loaded by path: nothing of the package is imported, so the build needs
no dependency), so that ``expense-cli deploy`` works from any directory after
``pip install "expense-cli[deploy]"``. Editable installs skip it: they find the assets in the
checkout. ``MANIFEST.in`` puts the same folders into the sdist.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

_ROOT = Path(__file__).resolve().parent


def _assets_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "_expense_assets", _ROOT / "expense_cli" / "_assets.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


class BuildWithAssets(build_py):
    """``build_py`` + the deployment assets under ``expense_cli/_bundle``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        written = _assets_module().copy_bundle(_ROOT, Path(self.build_lib) / "expense_cli")
        self.announce(f"bundled {len(written)} deployment assets into expense_cli/_bundle", 2)


setup(cmdclass={"build_py": BuildWithAssets})
