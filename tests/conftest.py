"""Shared fixtures: synthetic receipts and tiny LayoutLM checkpoints built offline."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from expense_cli.engine import Engine, EngineConfig
from expense_cli.synthetic import RECEIPT_LINES, Plant, build_model, render_receipt

# The planted model answers "ACME ... ROASTERS" (the merchant line) to every question.
MERCHANT_PLANT = Plant("acme", "roasters")


def png_bytes(image: Image.Image, fmt: str = "PNG", **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def receipt_image() -> Image.Image:
    return render_receipt(RECEIPT_LINES)


@pytest.fixture(scope="session")
def receipt_png(receipt_image: Image.Image) -> bytes:
    return png_bytes(receipt_image)


@pytest.fixture(scope="session")
def model_factory(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``model_factory(tokenizer="wordpiece", token_head=False, plant=None)`` → a saved checkpoint
    directory, built once per distinct argument set in the session."""
    cache: dict[tuple[object, ...], Path] = {}

    def make(**kwargs: object) -> Path:
        key = tuple(sorted(kwargs.items()))
        if key not in cache:
            out = tmp_path_factory.mktemp("model")
            cache[key] = build_model(out, **kwargs)  # type: ignore[arg-type]
        return cache[key]

    return make


@pytest.fixture(scope="session")
def tiny_model_dir(model_factory: Callable[..., Path]) -> Path:
    """A tiny WordPiece LayoutLM that answers the merchant line (see MERCHANT_PLANT)."""
    return model_factory(tokenizer="wordpiece", plant=MERCHANT_PLANT)


@pytest.fixture(scope="session")
def engine(tiny_model_dir: Path) -> Engine:
    """One loaded engine (tiny planted model + real tesseract) shared by the session."""
    return Engine(EngineConfig(model=str(tiny_model_dir)))
