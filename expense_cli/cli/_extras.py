"""Optional dependencies: which extra provides a module, and one-line hints when one is missing.

The extras are declared in ``pyproject.toml`` (``[project.optional-dependencies]``). A command
that needs one calls :func:`require_extra` before doing anything; any other missing module that
surfaces later is turned into the same kind of hint by :func:`missing_module_hint` (used by the
error printer in ``expense_cli/cli/__init__.py``), so a missing package is never a traceback.
"""

from __future__ import annotations

from importlib.util import find_spec

from ..errors import ConfigError

__all__ = ["EXTRAS", "missing_module_hint", "require_extra"]

# extra name (pyproject.toml) → the top-level modules it installs that the code imports
EXTRAS: dict[str, tuple[str, ...]] = {
    "serve": ("starlette", "uvicorn"),
    "deploy": ("boto3",),
    "report": ("openpyxl",),
    "fast": ("tesserocr",),
    "onnx": ("onnx", "onnxruntime"),
}
# Modules of the base install (pyproject.toml ``dependencies``) that a trimmed environment may
# lack: torch above all, which pip users install on their own (README: CPU-only wheels).
_BASE_MODULES = (
    "torch",
    "transformers",
    "numpy",
    "PIL",
    "pypdfium2",
    "huggingface_hub",
    "httpx",
)
_TORCH_CPU = "pip install torch --index-url https://download.pytorch.org/whl/cpu"


def _installed(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):  # a broken or half-installed package
        return False


def _extra_hint(extra: str, what: str) -> str:
    return f"{what} needs the {extra} extra: pip install 'expense-cli[{extra}]'"


def require_extra(extra: str, command: str) -> None:
    """Raise ConfigError with the install line when a module of ``extra`` is not installed."""
    missing = [m for m in EXTRAS[extra] if not _installed(m)]
    if missing:
        raise ConfigError(
            _extra_hint(extra, f"`expense-cli {command}`") + f" ({', '.join(missing)} missing)"
        )


def missing_module_hint(exc: ModuleNotFoundError) -> str | None:
    """The install hint for a missing dependency of this package, or None for anything else."""
    top = (exc.name or "").split(".")[0]
    for extra, modules in EXTRAS.items():
        if top in modules:
            return _extra_hint(extra, f"this command ({top} is not installed)")
    if top in _BASE_MODULES:
        hint = f"this command needs {top}, which is not installed: "
        if top == "torch":
            return hint + f"{_TORCH_CPU} (CPU-only), then pip install expense-cli"
        return hint + "pip install expense-cli (with its dependencies)"
    return None
