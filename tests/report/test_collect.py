from __future__ import annotations

from pathlib import Path

import pytest

from expense_cli.errors import BadRequest
from expense_cli.report import collect_documents
from tests.report._fake import ORDER, documents


def test_folder_recursive_sorted_by_magic_bytes(receipts: Path) -> None:
    found = collect_documents([receipts])
    assert [p.relative_to(receipts).as_posix() for p in found.documents] == ORDER
    # notes.txt and nested/fake.md (text); hidden: .hidden.png and .cache/thumb.png
    assert (found.skipped, found.hidden) == (2, 2)


def test_type_comes_from_content_or_a_document_name(tmp_path: Path) -> None:
    (tmp_path / "scan.dat").write_bytes(documents()["b.jpg"])
    (tmp_path / "invoice").write_bytes(documents()["nested/d.pdf"])
    (tmp_path / "photo.jpg").write_bytes(b"hello")  # kept: the run makes it an error row
    (tmp_path / "notes.txt").write_bytes(b"hello")
    found = collect_documents([tmp_path])
    assert [p.name for p in found.documents] == ["invoice", "photo.jpg", "scan.dat"]
    assert found.skipped == 1


def test_files_and_folders_in_argument_order_each_once(receipts: Path) -> None:
    pdf = receipts / "nested" / "d.pdf"
    found = collect_documents([pdf, receipts / "nested", receipts / "a.png", pdf])
    names = [p.relative_to(receipts).as_posix() for p in found.documents]
    assert names == ["nested/d.pdf", "nested/c.png", "nested/z_corrupt.png", "a.png"]
    assert found.skipped == 1  # nested/fake.md


def test_order_is_deterministic_whatever_the_creation_order(tmp_path: Path) -> None:
    data = documents()["a.png"]
    for name in ["b/2.png", "a/1.png", "B.png", "a.png", "c/z/0.png"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    found = collect_documents([tmp_path])
    names = [p.relative_to(tmp_path).as_posix() for p in found.documents]
    assert names == ["B.png", "a.png", "a/1.png", "b/2.png", "c/z/0.png"]


def test_missing_path_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match="no such file or folder"):
        collect_documents([tmp_path / "nope"])
    with pytest.raises(BadRequest):
        collect_documents([])


def test_linked_folders_are_followed_once_and_link_loops_end(tmp_path: Path) -> None:
    """A receipts folder that links to a scans share lists those scans; loops never repeat."""
    data = documents()["a.png"]
    share = tmp_path / "nas share"
    (share / "2024").mkdir(parents=True)
    (share / "2024" / "scan 😀.png").write_bytes(data)
    (share / "top.pdf").write_bytes(documents()["nested/d.pdf"])
    box = tmp_path / "box"
    (box / "sub").mkdir(parents=True)
    (box / "own.png").write_bytes(documents()["b.jpg"])
    (box / "scans").symlink_to(share)  # the folder this test is about
    (box / "scans again").symlink_to(share)  # a second link to it: listed once
    (box / "loop").symlink_to(".")
    (box / "sub" / "up").symlink_to("..")
    (box / "sub" / "root").symlink_to("/")
    (box / "sub" / "self").symlink_to(box / "sub")
    (share / "back").symlink_to(box)  # the share links back into the box
    found = collect_documents([box])
    names = [p.relative_to(box).as_posix() for p in found.documents]
    assert names == ["own.png", "scans/top.pdf", "scans/2024/scan 😀.png"]
    assert (found.skipped, found.hidden, found.unreadable_folders) == (0, 0, [])


def test_a_linked_folder_given_by_name_and_inside_a_folder_is_listed_once(tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    (share / "a.png").write_bytes(documents()["a.png"])
    box = tmp_path / "box"
    box.mkdir()
    (box / "link").symlink_to(share)
    found = collect_documents([box, share, box / "link"])
    assert [p.relative_to(tmp_path).as_posix() for p in found.documents] == ["box/link/a.png"]
