"""The one process runner: real child processes that time out, crash, print progress and lines."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import child_fault
from workbench.core.child import ChildCrashed, run_in_child
from workbench.core.errors import Cancelled, ChildNotStarted, WorkbenchError
from workbench.core.process import PROGRESS_MARK, parse_progress, run_process
from workbench.tasks import Task


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_lines_reach_the_caller_split_on_carriage_returns_like_a_flashing_tool_prints() -> None:
    lines: list[str] = []
    code = "import sys\nsys.stdout.write('Writing 10%\\rWriting 50%\\rWriting 100%\\nDone\\n')\nsys.stderr.write('warn\\n')"
    result = run_process(_python(code), Task(), what="flash", on_line=lines.append)
    assert result.ok and result.returncode == 0
    assert lines == ["Writing 10%", "Writing 50%", "Writing 100%", "Done", "warn"]
    assert result.tail == lines


def test_progress_lines_move_the_task_and_a_malformed_one_is_ignored() -> None:
    seen: list[tuple[float, str]] = []
    task = Task(on_progress=lambda f, s: seen.append((f, s)))
    code = (
        "import sys\n"
        f"for line in ['{PROGRESS_MARK}0.250 Loading', '{PROGRESS_MARK}abc broken', '{PROGRESS_MARK}7 too far',"
        f" '{PROGRESS_MARK}0.750 Converting']:\n"
        "    print(line, file=sys.stderr, flush=True)\n"
    )
    result = run_process(_python(code), task, what="worker")
    assert result.ok
    assert seen == [(0.25, "Loading"), (0.75, "Converting")]
    assert result.tail == []  # progress lines, good or bad, are not output


def test_parse_progress_rejects_what_is_not_a_progress_line() -> None:
    assert parse_progress(f"{PROGRESS_MARK}0.5 Half way") == (0.5, "Half way")
    assert parse_progress("0.5 Half way") is None
    assert parse_progress(f"{PROGRESS_MARK}nan%") is None
    assert parse_progress(f"{PROGRESS_MARK}-1 back") is None


def test_a_crash_is_reported_with_its_signal_and_last_lines() -> None:
    code = "import os, signal, sys\nprint('about to fail', flush=True)\nos.kill(os.getpid(), signal.SIGSEGV)"
    result = run_process(_python(code), Task(), what="probe")
    assert result.crashed and result.returncode == -signal.SIGSEGV
    assert "crashed (SIGSEGV)" in result.reason
    assert result.tail == ["about to fail"]


def test_a_non_zero_exit_is_returned_not_raised() -> None:
    result = run_process(_python("import sys; sys.exit(3)"), Task(), what="tool")
    assert not result.ok and not result.crashed and result.reason == "exit code 3"


def test_a_timeout_stops_the_process_and_says_so() -> None:
    task = Task()
    with pytest.raises(WorkbenchError, match="took longer than 1 s"):
        run_process(_python("import time; time.sleep(60)"), task, what="Sleeping tool", timeout_s=1)
    assert task.children == ()


def test_cancel_kills_the_process_and_what_it_started() -> None:
    task = Task()
    code = (
        "import subprocess, sys, time\n"
        "grandchild = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(grandchild.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    pids: list[str] = []

    def on_line(line: str) -> None:
        pids.append(line)
        threading.Thread(target=task.cancel).start()

    with pytest.raises(Cancelled):
        run_process(_python(code), task, what="tool", on_line=on_line)
    grandchild = int(pids[0])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(grandchild):
        time.sleep(0.05)
    assert not _alive(grandchild)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_a_missing_program_is_one_plain_line() -> None:
    with pytest.raises(WorkbenchError, match="cannot start no-such-tool-xyz"):
        run_process(["no-such-tool-xyz", "--version"], Task(), what="Flashing")


def test_a_child_job_that_dies_on_the_work_raises_child_crashed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real child, killed by a signal after it started the job, before it writes a result."""
    child_fault(monkeypatch, "tflm_worker", "work-segv")
    with pytest.raises(ChildCrashed) as caught:
        run_in_child("workbench.core.tflm_worker:check_job", {}, Task(), "Probe", timeout_s=120)
    assert "crashed (SIGSEGV)" in caught.value.message
    assert caught.value.process.crashed
    assert "about to crash" in caught.value.details


def test_a_child_that_dies_before_it_starts_is_the_apps_failure_not_a_crash_on_the_work(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    child_fault(monkeypatch, "tflm_worker", "start-abort")
    with pytest.raises(ChildNotStarted) as caught:
        run_in_child("workbench.core.tflm_worker:check_job", {}, Task(), "Probe", timeout_s=120)
    assert not isinstance(caught.value, ChildCrashed)
    assert caught.value.message == "Probe: the app could not start its worker (it crashed (SIGABRT))"
    assert "installation" in caught.value.hint
    assert "about to crash (abort)" in caught.value.details
    assert "about to crash (abort)" in caplog.text  # the child's own lines are in the log


def test_a_job_whose_module_cannot_be_imported_is_the_apps_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in a bundle that left a worker module out: the import fails in the child."""
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['workbench.flash.pyocd_worker'] = None\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    with pytest.raises(
        ChildNotStarted, match=r"^the worker workbench.flash.pyocd_worker cannot be loaded \(ModuleNotFoundError"
    ):
        run_in_child("workbench.flash.pyocd_worker:flash_job", {}, Task(), "Flashing", timeout_s=120)


@pytest.mark.parametrize(
    "job", ["os:getcwd", "workbench.cli:main", "workbench.core.tflm_worker", "workbench.core.tflm_worker:nothing"]
)
def test_a_child_job_outside_the_listed_modules_is_refused(job: str) -> None:
    with pytest.raises(ChildNotStarted, match="not a workbench job|cannot be loaded"):
        run_in_child(job, {}, Task(), "Probe", timeout_s=120)


def test_a_child_job_that_runs_too_long_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "sitecustomize.py").write_text(
        "import sys, time\nif any('tflm_worker' in a for a in sys.argv):\n    time.sleep(60)\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    started = time.monotonic()
    with pytest.raises(WorkbenchError, match=r"^Probe took longer than 1 s and was stopped$"):
        run_in_child("workbench.core.tflm_worker:check_job", {}, Task(), "Probe", timeout_s=1)
    assert time.monotonic() - started < 50  # stopped, not slept out
