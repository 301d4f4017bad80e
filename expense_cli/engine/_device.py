"""Where the model runs: ``EXPENSE_DEVICE`` (auto | cpu | cuda) and ``EXPENSE_FP16``.

``auto`` (the default) puts the model on the GPU when torch sees one, so a GPU endpoint (the
GPU base image picked for ``ml.g*``/``ml.p*`` instance types, see ``container/Dockerfile``) uses
it with no extra setting. OCR never moves: tesseract runs on CPU threads either way
(``expense_cli/engine/_ocr.py``). Impossible combinations are a :class:`ConfigError` at load time
rather than a silent fallback.
"""

from __future__ import annotations

import torch

from ..errors import ConfigError
from ._config import check_device

__all__ = ["describe", "resolve_device"]


def resolve_device(requested: str, *, fp16: bool = False, quantize: bool = False) -> torch.device:
    """The torch device for ``requested``; ``auto`` is CUDA when available (and not int8)."""
    check_device(requested)
    available = torch.cuda.is_available()
    if requested == "cuda" and not available:
        raise ConfigError("EXPENSE_DEVICE=cuda, but torch sees no CUDA device")
    if requested == "cuda" and quantize:
        raise ConfigError("EXPENSE_QUANTIZE (dynamic int8) runs on the CPU: unset it for cuda")
    # int8 dynamic quantisation is a CPU kernel: asking for it keeps `auto` on the CPU
    cuda = requested == "cuda" or (requested == "auto" and available and not quantize)
    if fp16 and not cuda:
        raise ConfigError("EXPENSE_FP16 needs a CUDA device; this model runs on the CPU")
    return torch.device("cuda", torch.cuda.current_device()) if cuda else torch.device("cpu")


def describe(device: torch.device) -> str:
    """``cpu`` or ``cuda:0 (NVIDIA H200)``: for the load log."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)
