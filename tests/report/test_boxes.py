"""The answers' boxes (issue 14) in the JSON report: per row, field → page + boxes; resume keeps
them; CSV and XLSX have no boxes column."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from expense_cli.report import COLUMNS, FieldBoxes, build_report, read_report, row_from_result
from tests.report._fake import SPECS, FakeTarget, documents, folder_answers, result_for, sha256


def _with_boxes(result: dict[str, Any], page: int = 1) -> dict[str, Any]:
    for n, item in enumerate(result["fields"].values()):
        item["boxes"] = (
            [[10 * n, 20, 10 * n + 90, 60], [0, 0, 1000, 1000]] if item["answer"] else []
        )
        item["page"] = page if item["answer"] else None
    return result


def test_row_keeps_the_boxes_of_answered_fields() -> None:
    row = row_from_result("a.png", "a" * 64, _with_boxes(result_for(SPECS["nested/d.pdf"]), 2))
    assert row.boxes["total"] == FieldBoxes(2, ((30, 20, 120, 60), (0, 0, 1000, 1000)))
    assert set(row.boxes) == {"merchant", "date", "total"}  # unanswered fields have none


@pytest.mark.parametrize(
    "boxes",
    [
        None,
        "0,0,1,1",
        [[0, 0, 1]],
        [[0, 0, 1, 1001]],
        [[-1, 0, 1, 1]],
        [[0.5, 0, 1, 1]],
        [[True, 0, 1, 1]],
        [["0", "0", "1", "1"]],
        [],
    ],
)
def test_bad_boxes_are_dropped_not_raised(boxes: object) -> None:
    result = result_for(SPECS["a.png"])
    result["fields"]["total"]["boxes"] = boxes
    assert "total" not in row_from_result("a.png", "a", result).boxes


def test_json_report_carries_boxes_and_a_rerun_reads_them_back(
    receipts: Path, tmp_path: Path
) -> None:
    answers = folder_answers()
    for name in SPECS:
        answer = answers[sha256(documents()[name])]
        assert isinstance(answer, dict)
        _with_boxes(answer, page=SPECS[name].page)
    out = tmp_path / "r.json"
    build_report([receipts], out, FakeTarget(answers))
    document = json.loads(out.read_text(encoding="utf-8"))
    by_file = {Path(row["file"]).name: row for row in document["rows"]}
    assert by_file["d.pdf"]["boxes"]["total"] == {
        "page": 2,
        "boxes": [[30, 20, 120, 60], [0, 0, 1000, 1000]],
    }
    assert by_file["z_corrupt.png"]["boxes"] == {}
    first = read_report(out)
    assert first[0].boxes["merchant"].boxes[0] == (0, 20, 90, 60)

    rerun = FakeTarget(answers)
    result = build_report([receipts], out, rerun)
    assert len(rerun.calls) == 1  # only the corrupt one is retried
    assert [r.boxes for r in result.rows] == [r.boxes for r in first]
    assert json.loads(out.read_text(encoding="utf-8"))["rows"] == document["rows"]


def test_boxes_only_in_json(tmp_path: Path) -> None:
    assert "boxes" not in COLUMNS


def test_a_json_report_without_boxes_still_resumes(receipts: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    build_report([receipts], out, FakeTarget(folder_answers()))
    document = json.loads(out.read_text(encoding="utf-8"))
    for row in document["rows"]:
        del row["boxes"]
        del row["possible_duplicate_of"]  # a report written before this column
    out.write_text(json.dumps(document), encoding="utf-8")
    rerun = FakeTarget(folder_answers())
    build_report([receipts], out, rerun)
    assert len(rerun.calls) == 1
