"""Where the deployment assets are: ``terraform/``, ``handler/``, ``container/``.

One answer for both ways this package runs:

* **installed from a wheel** (``pip install "expense-cli[deploy]"``): the assets are inside the
  package, in ``expense_cli/_bundle/`` (with ``pyproject.toml`` and ``README.md``, which the
  container build context needs). ``setup.py`` puts them there at build time with
  :func:`copy_bundle`, the same rules as here.
* **from a checkout** (``pip install -e .`` or ``PYTHONPATH=.``): the repository root, the folder
  above ``expense_cli/``.

Used by ``expense_cli/aws/_terraform.py`` (find_terraform_source), ``expense_cli/aws/_image.py``
(find_source_root, assemble_context) and ``expense_cli/aws/_package.py`` (the handler sources).
Standard library only and no imports from this package: ``setup.py`` loads this file by path.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ASSETS",
    "BUNDLE_DIR",
    "PROJECT_FILES",
    "asset_root",
    "bundle_files",
    "copy_bundle",
    "package_dir",
]

BUNDLE_DIR = "_bundle"


@dataclass(frozen=True)
class _Rule:
    files: tuple[str, ...]  # file-name patterns that are shipped
    skip: tuple[str, ...] = ()  # folders (at any depth) that are not


# asset folder → what of it is shipped. Never local state, providers, tests or model weights.
ASSETS: dict[str, _Rule] = {
    "terraform": _Rule(
        ("*.tf", "*.md", ".terraform.lock.hcl"), ("tests", "examples", ".terraform")
    ),
    "handler": _Rule(("*.py",), ("__pycache__", "tests")),
    "container": _Rule(("Dockerfile*", "*.sh", "*.py"), ("model", "__pycache__")),
}
PROJECT_FILES = ("pyproject.toml", "README.md")
_MARKERS = ("terraform/main.tf", "handler/app.py", "container/Dockerfile")


def package_dir() -> Path:
    """The ``expense_cli`` package folder this code runs from."""
    return Path(__file__).resolve().parent


def _complete(root: Path) -> bool:
    return all((root / marker).is_file() for marker in _MARKERS)


def asset_root() -> Path:
    """The folder holding ``terraform/``, ``handler/``, ``container/``, ``pyproject.toml``.

    The wheel's bundle when it is there, else the checkout root. Callers check for the files
    they need and say what is missing: when neither is complete this is the checkout root.
    """
    bundled = package_dir() / BUNDLE_DIR
    if _complete(bundled):
        return bundled
    return package_dir().parent


def bundle_files(source_root: Path) -> list[str]:
    """The shipped files under ``source_root`` (a checkout), as sorted relative paths."""
    found: set[str] = {name for name in PROJECT_FILES if (source_root / name).is_file()}
    for folder, rule in ASSETS.items():
        for directory, subdirs, files in os.walk(source_root / folder):
            subdirs[:] = [d for d in subdirs if d not in rule.skip]
            for name in files:
                if any(fnmatch.fnmatchcase(name, pattern) for pattern in rule.files):
                    found.add((Path(directory) / name).relative_to(source_root).as_posix())
    return sorted(found)


def copy_bundle(source_root: Path, package_build_dir: Path) -> list[Path]:
    """Copy the shipped files into ``<package_build_dir>/_bundle``; the paths written.

    Raises FileNotFoundError when ``source_root`` lacks one of the assets (a wheel without the
    Terraform stack would only fail later, at ``expense-cli deploy``).
    """
    missing = [marker for marker in _MARKERS if not (source_root / marker).is_file()]
    if missing:
        raise FileNotFoundError(f"{source_root} lacks {', '.join(missing)}: not a source tree")
    target = package_build_dir / BUNDLE_DIR
    if target.exists():
        shutil.rmtree(target)
    written = []
    for relative in bundle_files(source_root):
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source_root / relative, destination)
        written.append(destination)
    return written
