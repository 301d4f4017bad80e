"""``SubprocessRunner`` and Ctrl-C (``expense_cli/aws/_runner.py``).

A Terraform killed mid-apply forgets the resources it was creating: they exist in AWS (and bill)
without being in the state, and the next ``deploy`` fails with "already exists" (seen with
``deploy`` against moto: a Ctrl-C during the apply left the Lambda function outside the state).
Terraform stops cleanly on *one* SIGINT and at once on a second. The stand-in program below
behaves the same way: on SIGINT it "saves its state" (a file) after a short while.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from expense_cli.aws import SubprocessRunner

# A stand-in for terraform: prints its process group, then "ready", then runs until SIGINT; on
# the first SIGINT it writes its state after 0.3 s and exits 1 (as terraform does after a graceful
# stop); a second SIGINT makes it exit at once without writing anything.
_PROGRAM = r"""
import os, signal, sys, time
state, interrupts = sys.argv[1], []
def on_int(signum, frame):
    interrupts.append(1)
    if len(interrupts) > 1:
        os._exit(2)
signal.signal(signal.SIGINT, on_int)
print("pgid", os.getpgrp(), flush=True)
print("ready", flush=True)
deadline = time.monotonic() + 20
while not interrupts and time.monotonic() < deadline:
    time.sleep(0.01)
time.sleep(0.3)
print("saving", flush=True)
with open(state, "w") as f:
    f.write(f"interrupts={len(interrupts)}")
sys.exit(1)
"""

# Never stops on SIGINT (a stuck program): only a second Ctrl-C, which kills it, ends it before
# it writes "survived" a minute later.
_STUCK = r"""
import os, signal, sys, time
signal.signal(signal.SIGINT, lambda *_: print("ignored", flush=True))
print("pid", os.getpid(), flush=True)
print("ready", flush=True)
time.sleep(60)
open(sys.argv[1], "w").write("survived")
"""


def _script(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "program.py"
    path.write_text(text)
    return path


def _interrupt_on(marker: str) -> object:
    """An ``on_line`` that raises KeyboardInterrupt (a Ctrl-C) when ``marker`` is printed."""

    def on_line(line: str) -> None:
        if line == marker:
            raise KeyboardInterrupt

    return on_line


def test_ctrl_c_lets_the_program_stop_cleanly(tmp_path: Path) -> None:
    state = tmp_path / "state"
    program = _script(tmp_path, _PROGRAM)
    with pytest.raises(KeyboardInterrupt):
        SubprocessRunner()(
            [sys.executable, str(program), str(state)],
            on_line=_interrupt_on("ready"),  # type: ignore[arg-type]
        )
    # Waited for it, and it got exactly one SIGINT: the graceful stop, not the immediate one.
    assert state.read_text() == "interrupts=1"


def test_the_program_runs_in_its_own_process_group(tmp_path: Path) -> None:
    """A terminal's Ctrl-C goes to the foreground process group: the program must not be in
    ours, or it would get the terminal's SIGINT *and* the one forwarded to it (two: a hard stop)."""
    state = tmp_path / "state"
    program = _script(tmp_path, _PROGRAM)
    groups: list[int] = []

    def on_line(line: str) -> None:
        if line.startswith("pgid "):
            groups.append(int(line.split()[1]))
        if line == "ready":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        SubprocessRunner()([sys.executable, str(program), str(state)], on_line=on_line)
    assert groups and groups[0] != os.getpgrp()
    assert state.read_text() == "interrupts=1"


def test_a_second_ctrl_c_kills_a_program_that_does_not_stop(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    survived = tmp_path / "survived"
    program = _script(tmp_path, _STUCK)
    pids: list[int] = []
    main = threading.main_thread().ident
    assert main is not None and threading.get_ident() == main

    def second_ctrl_c() -> None:
        time.sleep(0.5)  # the runner is waiting for the program by then
        signal.pthread_kill(main, signal.SIGINT)

    timer = threading.Thread(target=second_ctrl_c, daemon=True)

    def on_line(line: str) -> None:
        if line.startswith("pid "):
            pids.append(int(line.split()[1]))
        if line == "ready":
            timer.start()
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        SubprocessRunner()([sys.executable, str(program), str(survived)], on_line=on_line)
    timer.join()
    assert not survived.exists()  # killed, not waited out
    with pytest.raises(ProcessLookupError):
        os.kill(pids[0], 0)  # and reaped
    err = capfd.readouterr().err
    assert "press Ctrl-C again to kill it" in err


def test_other_failures_still_kill_the_program(tmp_path: Path) -> None:
    """A time limit (an exception from ``on_line``, tests/aws/test_image.py) kills at once."""
    state = tmp_path / "state"
    program = _script(tmp_path, _PROGRAM)

    def on_line(line: str) -> None:
        if line == "ready":
            raise RuntimeError("past the deadline")

    with pytest.raises(RuntimeError):
        SubprocessRunner()([sys.executable, str(program), str(state)], on_line=on_line)
    assert not state.exists()
