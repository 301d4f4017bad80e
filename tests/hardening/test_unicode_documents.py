"""PDFs whose text layer holds characters outside the BMP, lone UTF-16 surrogate halves and control
characters (issue 12, items 2 and 3), end to end: the real server answers 200 with valid JSON,
``expense-cli ask --local`` prints them, and a report in every format keeps them.

The PDFs carry a real ``/ToUnicode`` CMap (tests/hardening/unicode_pdf.py); pdfium hands each
surrogate half over as its own text unit, which expense_cli/engine/_documents.py combines
(pairs) or replaces with U+FFFD (lone halves). The tiny planted model answers the span from
"ACME" to "ROASTERS", so the answer holds whatever the text layer put in between.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from expense_cli.cli import app
from expense_cli.engine import Engine
from expense_cli.serving import Settings, create_app
from expense_cli.synthetic import RECEIPT_LINES
from tests._servers import running_server
from tests.hardening.unicode_pdf import unicode_pdf

pytestmark = [pytest.mark.model]

LONE = ["\ud83d", "\udfff"]

# (merchant line as the PDF maps it, the merchant answer the user must get)
MERCHANTS = [
    ("ACME 😀 COFFEE ROASTERS", "ACME 😀 COFFEE ROASTERS"),
    ("ACME 𠀀𪚲 ☕🍩 ROASTERS", "ACME 𠀀𪚲 ☕🍩 ROASTERS"),
    ("ACME 𝐂𝐎𝐅𝐅𝐄𝐄 ROASTERS", "ACME 𝐂𝐎𝐅𝐅𝐄𝐄 ROASTERS"),
    ("ACME 👩‍👩‍👧\U0001f3fd ROASTERS", "ACME 👩‍👩‍👧\U0001f3fd ROASTERS"),
    ("ACME C\ud83dOFFEE ROASTERS", "ACME C\ufffdOFFEE ROASTERS"),
    # a word of U+FFFD only has no tokens (BERT's tokenizer drops U+FFFD): not in any answer
    ("ACME \udfff\ud83d ROASTERS", "ACME ROASTERS"),
    ("ACME\x01COFFEE\x1fROASTERS", "ACME COFFEE ROASTERS"),
    ("ACME\x7fCOF\u202eFEE\x85ROASTERS", "ACME COFFEE ROASTERS"),
]


def _receipt(merchant: str) -> bytes:
    """A real-size receipt (two pages) whose first line is ``merchant``."""
    lines = [merchant, *RECEIPT_LINES[1:]]
    return unicode_pdf([lines, ["Page 2 😀 𝟏𝟕.𝟑𝟕 EUR", "Thank you 🙏"]], units=LONE)


def _clean(text: str) -> None:
    text.encode("utf-8")  # no surrogate
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text)


@pytest.fixture(scope="module")
def server_url(engine: Engine) -> Iterator[str]:
    with running_server(create_app(Settings(), engine=engine)) as url:
        yield url


@pytest.mark.server
@pytest.mark.parametrize(("merchant", "answer"), MERCHANTS)
def test_server_answers_200_with_valid_json(server_url: str, merchant: str, answer: str) -> None:
    with httpx.Client(base_url=server_url, timeout=60) as client:
        response = client.post(
            "/invocations",
            content=_receipt(merchant),
            headers={"content-type": "application/pdf"},
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        payload = json.loads(response.content.decode("utf-8", "strict"))
        assert payload["fields"]["merchant"]["answer"] == answer
        assert payload["pages"] == 2
        _clean(response.content.decode("utf-8"))
        assert client.get("/ping").status_code == 200


@pytest.mark.parametrize(("merchant", "answer"), MERCHANTS[::2] + MERCHANTS[1::4])
def test_ask_local_prints_the_characters(
    tmp_path: Path, tiny_model_dir: Path, merchant: str, answer: str
) -> None:
    path = tmp_path / "reçu 😀.pdf"
    path.write_bytes(_receipt(merchant))
    runner = CliRunner()
    args = ["ask", "--local", "--model", str(tiny_model_dir), str(path)]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["fields"]["merchant"]["answer"] == answer
    table = runner.invoke(app, args)
    assert table.exit_code == 0, table.output
    assert answer.split()[1] in table.stdout


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_report_keeps_the_fields(tmp_path: Path, tiny_model_dir: Path, fmt: str) -> None:
    folder = tmp_path / "receipts"
    folder.mkdir()
    for i, (merchant, _) in enumerate(MERCHANTS):
        (folder / f"r{i}.pdf").write_bytes(_receipt(merchant))
    out = tmp_path / f"report.{fmt}"
    result = CliRunner().invoke(
        app, ["report", str(folder), "--local", "--model", str(tiny_model_dir), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.exists()
    if fmt == "xlsx":
        import openpyxl

        book = openpyxl.load_workbook(out)
        header, *records = list(book["Receipts"].iter_rows(values_only=True))
        merchants = sorted(str(dict(zip(header, r, strict=True))["merchant"]) for r in records)
    elif fmt == "json":
        rows = json.loads(out.read_text("utf-8"))["rows"]
        merchants = sorted(str(r["merchant"]) for r in rows)
    else:
        import csv
        import io

        rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8"))))
        merchants = sorted(r["merchant"] for r in rows)
    assert merchants == sorted(answer for _, answer in MERCHANTS)
