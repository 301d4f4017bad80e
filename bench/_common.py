"""Shared benchmark helpers: medians, a results table, the base-size random model."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from expense_cli.synthetic import build_model

__all__ = ["base_model", "bench_receipt_lines", "measure", "report"]

_MODELS: dict[str, Path] = {}


def base_model(**kwargs: object) -> Path:
    """A base-size (12 × 768) random LayoutLM: the real model's shape, so the same speed. Its
    vocabulary holds the benchmark receipt's words, so sequences are as long as with the real
    tokenizer (≈ 1.6 tokens a word, numbers in pieces) rather than spelled out letter by letter."""
    kwargs.setdefault("vocab_words", [w for line in bench_receipt_lines() for w in line.split()])
    key = repr(sorted(kwargs.items()))
    if key not in _MODELS:
        _MODELS[key] = build_model(
            Path(tempfile.mkdtemp(prefix="bench-model-")), size="base", **kwargs
        )  # type: ignore[arg-type]
    return _MODELS[key]


def bench_receipt_lines() -> list[str]:
    """A ~100-word receipt, about the size of a real supermarket receipt."""
    items = [
        ("Cappuccino", "3.80"), ("Croissant", "2.90"), ("Orange juice", "4.10"),
        ("Bagel cream cheese", "5.20"), ("Sparkling water", "2.50"), ("Banana bread", "3.60"),
        ("Flat white", "4.00"), ("Muesli bowl", "6.90"), ("Espresso double", "3.10"),
        ("Ham sandwich", "7.40"), ("Apple tart", "4.30"), ("Chai latte", "4.20"),
    ]  # fmt: skip
    return [
        "ACME COFFEE ROASTERS",
        "12 Market Street, Springfield 4021",
        "Tel 555-0142  VAT ID DE123456789",
        "Receipt No 004217   Table 7",
        "Date 03/01/2024  14:22  Server Anna",
        *(f"{name:<22}{price:>10}" for name, price in items),
        "Subtotal                  52.00",
        "VAT 19%                    8.30",
        "TOTAL EUR                 60.30",
        "Card payment  VISA **** 4242",
        "Thank you for your visit!",
    ]


def measure(fn: Callable[[], object], *, repeat: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn`` in seconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in rows)
    print(f"\n== {title}")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
