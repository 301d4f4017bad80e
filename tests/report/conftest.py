"""Fixtures for report tests: a folder of receipts and a fake target that knows their answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.report._fake import FakeTarget, folder_answers, make_folder


@pytest.fixture
def receipts(tmp_path: Path) -> Path:
    """A folder: 3 rendered receipts (PNG, JPEG), a 2-page PDF, a corrupt PNG, plus hidden files
    and non-documents that must be skipped."""
    return make_folder(tmp_path / "receipts")


@pytest.fixture
def fake() -> FakeTarget:
    """Sequential fake target (concurrency 1, like the local engine)."""
    return FakeTarget(folder_answers())
