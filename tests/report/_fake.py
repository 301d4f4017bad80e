"""A fake target for report tests: canned results keyed by the document's content hash."""

from __future__ import annotations

import copy
import functools
import hashlib
import io
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from expense_cli.engine import sniff_type
from expense_cli.errors import UnreadableDocument


@dataclass(frozen=True)
class Spec:
    """What a receipt "says" (what the fake target answers for it)."""

    merchant: str
    total: str | None
    currency: str | None
    date: str | None  # ISO 8601
    tax: str | None = None
    subtotal: str | None = None
    receipt_number: str | None = None
    score: float = 0.9
    total_score: float | None = None
    page: int = 1
    pages: int = 1


def result_for(spec: Spec) -> dict[str, Any]:
    """The JSON result of the contract (docs/architecture.md) for ``spec``."""

    def amount(value: str | None, score: float) -> dict[str, Any]:
        if value is None:
            return {"answer": "", "score": 0.0, "page": None}
        text = f"{value} {spec.currency}" if spec.currency else value
        out: dict[str, Any] = {"answer": text, "score": score, "page": spec.page, "value": value}
        if spec.currency:
            out["currency"] = spec.currency
        return out

    total_score = spec.score if spec.total_score is None else spec.total_score
    fields: dict[str, Any] = {
        "merchant": {"answer": spec.merchant, "score": spec.score, "page": 1},
        "merchant_address": {"answer": "", "score": 0.0, "page": None},
        "date": {"answer": spec.date or "", "score": spec.score, "page": 1},
        "total": amount(spec.total, total_score),
        "subtotal": amount(spec.subtotal, spec.score),
        "tax": amount(spec.tax, spec.score),
        "receipt_number": {"answer": spec.receipt_number or "", "score": spec.score, "page": 1},
    }
    if spec.date:
        fields["date"]["value"] = spec.date
    return {"fields": fields, "answers": [], "pages": spec.pages}


Answer = dict[str, Any] | BaseException


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FakeTarget:
    """Implements the Target protocol; answers by content hash, records every call.

    ``interrupt_on=n`` raises KeyboardInterrupt on the n-th call (like Ctrl-C mid-run);
    ``hook(n)`` runs before answering the n-th call (for concurrency/back-pressure tests).
    """

    def __init__(
        self,
        answers: Mapping[str, Answer | list[Answer]],
        *,
        concurrency: int = 1,
        name: str = "fake",
        interrupt_on: int | None = None,
        hook: Callable[[int], None] | None = None,
        max_bytes: int = 20_000_000,
    ) -> None:
        self.name = name
        self.max_bytes = max_bytes
        self.concurrency = concurrency
        self.answers = dict(answers)
        self.interrupt_on = interrupt_on
        self.hook = hook
        self.calls: list[str] = []
        self.content_types: list[str | None] = []
        self._lock = threading.Lock()
        self._failures: dict[str, int] = {}

    def extract(
        self,
        data: bytes,
        *,
        content_type: str | None = None,
        questions: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        digest = sha256(data)
        assert content_type == sniff_type(data)
        assert questions is None  # reports ask for the default fields
        with self._lock:
            self.calls.append(digest)
            self.content_types.append(content_type)
            n = len(self.calls)
            answer = self.answers[digest]
            if isinstance(answer, list):  # one item per call; the last one repeats
                i = self._failures.get(digest, 0)
                self._failures[digest] = i + 1
                answer = answer[i] if i < len(answer) else answer[-1]
        if self.interrupt_on == n:
            raise KeyboardInterrupt
        if self.hook is not None:
            self.hook(n)
        if isinstance(answer, BaseException):
            raise answer
        return copy.deepcopy(answer)


# -- a folder of receipts -------------------------------------------------------------------------
SPECS: dict[str, Spec] = {
    "a.png": Spec(
        "ACME COFFEE ROASTERS",
        "17.37",
        "EUR",
        "2024-01-03",
        tax="2.77",
        subtotal="14.60",
        receipt_number="004217",
    ),
    "b.jpg": Spec("CITY BOOKS", "12.00", "USD", "2024-02-10", tax="0.96"),
    "nested/c.png": Spec("TAXI BERLIN", "23.80", "EUR", "2024-01-15", total_score=0.3),
    "nested/d.pdf": Spec("HOTEL AM SEE", "100.10", "EUR", "2024-02-01", pages=2, page=2),
}
CORRUPT = "nested/z_corrupt.png"
# In input order: root files sorted, then each sub-folder (sorted).
ORDER = ["a.png", "b.jpg", "nested/c.png", "nested/d.pdf", CORRUPT]


@functools.cache
def documents() -> dict[str, bytes]:
    """The bytes of every document in the folder (small rendered receipts, a 2-page PDF)."""
    from expense_cli.synthetic import receipt_pdf, render_receipt

    def image(spec: Spec) -> Image.Image:
        lines = [spec.merchant, f"Date {spec.date}", f"TOTAL {spec.currency} {spec.total}"]
        return render_receipt(lines, width=420, height=220, font_size=20, margin=20)

    def encode(img: Image.Image, fmt: str) -> bytes:
        buffer = io.BytesIO()
        img.save(buffer, format=fmt)
        return buffer.getvalue()

    out = {
        "a.png": encode(image(SPECS["a.png"]), "PNG"),
        "b.jpg": encode(image(SPECS["b.jpg"]), "JPEG"),
        "nested/c.png": encode(image(SPECS["nested/c.png"]), "PNG"),
        "nested/d.pdf": receipt_pdf(
            [image(SPECS["nested/d.pdf"]), render_receipt(["page two"], width=420, height=220)]
        ),
        CORRUPT: b"\x89PNG\r\n\x1a\n" + b"\x00garbage, not an image" * 8,
    }
    assert len({sha256(v) for v in out.values()}) == len(out)
    return out


def make_folder(root: Path) -> Path:
    """``root`` with the documents + files that must be skipped (hidden, not documents)."""
    for name, data in documents().items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    (root / "notes.txt").write_text("lunch with client\n")
    (root / "nested" / "fake.md").write_text("%PNG not really a png\n")  # no document name
    (root / ".hidden.png").write_bytes(documents()["a.png"][:-1] + b"\x00")
    (root / ".cache").mkdir()
    (root / ".cache" / "thumb.png").write_bytes(documents()["b.jpg"])
    return root


def folder_answers() -> dict[str, Answer | list[Answer]]:
    """What the fake target answers for each document of ``make_folder``."""
    docs = documents()
    answers: dict[str, Answer | list[Answer]] = {
        sha256(docs[name]): result_for(spec) for name, spec in SPECS.items()
    }
    answers[sha256(docs[CORRUPT])] = UnreadableDocument("image file is truncated or corrupt")
    return answers


def refuse_listing(monkeypatch: Any, folder_name: str) -> None:
    """Make every folder called ``folder_name`` unreadable to os.walk (chmod 000 does not stop
    root, who runs these tests in CI containers)."""
    import os

    real = os.scandir

    def scandir(path: Any = ".") -> Any:
        if os.path.basename(os.fsdecode(path)) == folder_name:
            raise PermissionError(13, "Permission denied", os.fsdecode(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def likely_duplicates(folder: Path) -> tuple[Path, FakeTarget]:
    """``folder`` with a scan, a photo of the same receipt (other bytes; the merchant read with
    OCR noise) and a byte-identical copy of the scan; a fake target that answers for them."""
    folder.mkdir()
    scan, photo = documents()["a.png"], documents()["b.jpg"]
    (folder / "1-scan.png").write_bytes(scan)
    (folder / "2-photo 📷.jpg").write_bytes(photo)
    (folder / "3-copy.png").write_bytes(scan)
    spec = Spec("ACME COFFEE ROASTERS", "17.37", "EUR", "2024-01-03")
    noisy = Spec("ACME C0FFEE R0ASTERS", "17.37", "EUR", "2024-01-03")
    answers: dict[str, Answer | list[Answer]] = {
        sha256(scan): result_for(spec),
        sha256(photo): result_for(noisy),
    }
    return folder, FakeTarget(answers)
