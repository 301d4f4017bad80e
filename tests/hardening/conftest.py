"""Fixtures for the hardening tests: a small receipt that OCRs fast, and hypothesis settings."""

from __future__ import annotations

import base64

import pytest
from hypothesis import HealthCheck, Phase, settings
from PIL import Image

from expense_cli.synthetic import render_receipt
from tests.conftest import png_bytes

MERCHANT = "ACME COFFEE ROASTERS"

# Reproducible in CI: the same examples on every run (derandomize), bounded in number and with no
# per-example deadline (OCR and the tiny model run inside some examples).
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    # no "explain" phase: it writes patch files and imports modules that warn on import
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.fixture(scope="session")
def tiny_receipt_png() -> bytes:
    """The merchant line and a total on a small page: OCRs in a few tens of milliseconds."""
    image: Image.Image = render_receipt(
        ["ACME COFFEE ROASTERS", "TOTAL EUR 17.37"], width=420, height=140, font_size=24, margin=20
    )
    return png_bytes(image)
