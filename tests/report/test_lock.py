"""Two report runs on the same output: the second fails at once, no row is ever lost
(expense_cli/report/_lock.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from expense_cli.errors import ConfigError
from expense_cli.report import build_report, lock_output, lock_path, read_report
from tests.report._fake import ORDER, FakeTarget, folder_answers

FORMATS = ["csv", "json", "xlsx"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_second_run_during_the_first_fails_and_no_row_is_lost(
    receipts: Path, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / f"report.{fmt}"
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"other run")
    errors: list[BaseException] = []

    def second_run(n: int) -> None:
        if n == 2:  # while the first run is extracting its second document
            try:
                build_report([other], out, FakeTarget({}))
            except ConfigError as exc:
                errors.append(exc)

    first = build_report([receipts], out, FakeTarget(folder_answers(), hook=second_run))
    assert len(errors) == 1
    message = str(errors[0])
    assert f"another report run (pid {os.getpid()} on " in message
    assert f"is writing {out}: wait for it to finish, or choose another --out" in message
    assert "\n" not in message
    assert [Path(r.file).relative_to(receipts).as_posix() for r in read_report(out)] == ORDER
    assert read_report(out) == first.rows
    assert not lock_path(out).exists()  # removed by its holder


def test_the_lock_is_held_across_processes(receipts: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from expense_cli.report import lock_output\n"
            "with lock_output(Path(sys.argv[1])):\n"
            "    print('locked', flush=True); sys.stdin.read()",
            str(out),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        target = FakeTarget(folder_answers())
        with pytest.raises(ConfigError, match=rf"another report run \(pid {holder.pid} on "):
            build_report([receipts], out, target)
        assert target.calls == [] and not out.exists()
    finally:
        holder.communicate("", timeout=60)
    assert holder.returncode == 0
    build_report([receipts], out, FakeTarget(folder_answers()))  # free again
    assert len(read_report(out)) == 5


def test_a_stale_lock_file_of_a_killed_run_does_not_block(receipts: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.csv"
    lock_path(out).write_text("pid 1 on elsewhere, started long ago")  # nobody holds it
    result = build_report([receipts], out, FakeTarget(folder_answers()))
    assert len(result.rows) == 5 and not lock_path(out).exists()


def test_a_symlink_at_the_lock_name_is_not_followed(receipts: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    lock_path(out).symlink_to(victim)
    with pytest.raises(ConfigError, match="cannot create the lock file"):
        build_report([receipts], out, FakeTarget(folder_answers()))
    assert victim.read_text() == "keep me"


def test_runs_on_different_outputs_do_not_block_each_other(tmp_path: Path) -> None:
    with lock_output(tmp_path / "a.json"), lock_output(tmp_path / "b.json"):
        assert lock_path(tmp_path / "a.json").exists()
    with (
        pytest.raises(ConfigError, match="another report run"),
        lock_output(tmp_path / "a.json"),
        lock_output(tmp_path / "a.json"),
    ):
        pass  # pragma: no cover


def test_many_runs_at_once_exactly_one_wins(receipts: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    start = threading.Barrier(6, timeout=30)  # a failure guard, not a timing assert
    outcomes: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        start.wait()
        try:
            with lock_output(out):
                start_holding.wait()
                with lock:
                    outcomes.append("won")
        except ConfigError:
            with lock:
                outcomes.append("refused")
            start_holding.wait()

    start_holding = threading.Barrier(6, timeout=30)
    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["refused"] * 5 + ["won"]
    assert not lock_path(out).exists()


def test_a_file_system_without_locks_is_a_clear_error(
    receipts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import fcntl

    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with pytest.raises(ConfigError, match=r"cannot lock .*No locks available.*local folder"):
        build_report([receipts], tmp_path / "r.json", FakeTarget(folder_answers()))
    assert not (tmp_path / "r.json").exists()
