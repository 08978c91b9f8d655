"""Run any command line under a Task: cancel kills it, a timeout stops it, lines reach the caller.

One supervisor for every child process the app starts: the TensorFlow and TFLM workers,
and the flashing tools (esptool, arduino-cli, PlatformIO, dfu-util, OpenOCD...). Output is
read as it comes, split on newlines and carriage returns (tools redraw progress with `\\r`),
progress lines of our own workers move the task, and the last lines are kept so that a
crash can be explained.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from workbench.core.errors import Cancelled, WorkbenchError
from workbench.core.launcher import external_env, outside_dlls
from workbench.tasks import Task, kill_tree

log = logging.getLogger(__name__)

PROGRESS_MARK = "\x1eprogress "
TAIL_LINES = 40

LineCallback = Callable[[str], None]


@dataclass
class ProcessResult:
    """How a command ended: its exit code and the last lines it printed (progress lines left out)."""

    argv: list[str]
    returncode: int
    tail: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def crashed(self) -> bool:
        """Ended by a signal (a segfault, an abort) rather than by exiting."""
        return self.returncode < 0

    @property
    def reason(self) -> str:
        """'exit code 3' or 'the runtime crashed (SIGSEGV)', for messages."""
        return exit_reason(self.returncode)


def exit_reason(code: int) -> str:
    """Plain words for a process's return code."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        if name in ("SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT"):
            return f"it crashed ({name})"
        return f"it was ended by {name}"
    return f"exit code {code}"


def parse_progress(line: str) -> tuple[float, str] | None:
    """A worker's progress line as (fraction, status); None for any other or a malformed line."""
    if not line.startswith(PROGRESS_MARK):
        return None
    fraction, _, status = line[len(PROGRESS_MARK) :].partition(" ")
    try:
        value = float(fraction)
    except ValueError:
        return None
    if not 0.0 <= value <= 1.0:
        return None
    return value, status


def run_process(
    argv: Sequence[str],
    task: Task,
    *,
    what: str,
    on_line: LineCallback | None = None,
    timeout_s: float | None = None,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
) -> ProcessResult:
    """Run `argv` to its end and return how it ended; never raises for a non-zero exit.

    Standard output and error are read together, line by line; each line that is not one of
    our progress lines goes to `on_line` (from a reader thread). Raises Cancelled when the task
    is cancelled (the process, and any it started, are killed), and WorkbenchError naming `what`
    when the command cannot start or runs past `timeout_s`.
    """
    task.check()
    try:
        with outside_dlls(list(argv)):
            child = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=external_env(list(argv), env),
                cwd=cwd,
                start_new_session=os.name == "posix",  # so that cancel ends the tools it starts too
                creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),  # Windows: no console window flashes up
            )
    except OSError as error:
        raise WorkbenchError(
            f"{what}: cannot start {Path(argv[0]).name} ({error.strerror or error})",
            "Check that the program is installed and on the PATH.",
        ) from None
    task.adopt(child)
    tail: list[str] = []
    reader = threading.Thread(target=_read_lines, args=(child, task, tail, on_line), daemon=True)
    reader.start()
    try:
        child.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        kill_tree(child)
        child.wait()
        raise WorkbenchError(f"{what} took longer than {timeout_s:.0f} s and was stopped") from None
    except BaseException:  # Ctrl+C in the CLI, or a bug: the child never outlives its caller
        kill_tree(child)
        child.wait()
        raise
    finally:
        task.release(child)
        _end_session(child)
        reader.join(timeout=5)
    if task.cancelled:
        raise Cancelled()
    return ProcessResult(list(argv), child.returncode, tail)


def _end_session(child: subprocess.Popen[bytes]) -> None:
    """End whatever the command left running in its session (a tool's helper process holding
    the output pipe open, say): nothing it started outlives it."""
    if os.name == "posix":
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)


def _read_lines(child: subprocess.Popen[bytes], task: Task, tail: list[str], on_line: LineCallback | None) -> None:
    assert child.stdout is not None
    pending = b""
    while chunk := child.stdout.read1(65536) if hasattr(child.stdout, "read1") else child.stdout.read(4096):
        pending += chunk
        *complete, pending = pending.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        for raw in complete:
            _handle(raw.decode("utf-8", errors="replace").rstrip(), task, tail, on_line)
    if pending:
        _handle(pending.decode("utf-8", errors="replace").rstrip(), task, tail, on_line)


def _handle(line: str, task: Task, tail: list[str], on_line: LineCallback | None) -> None:
    progress = parse_progress(line)
    if progress is not None:
        with contextlib.suppress(Cancelled):
            task.progress(*progress)
        return
    if line.startswith(PROGRESS_MARK):
        log.warning("ignored a malformed progress line: %r", line)
        return
    if not line:
        return
    tail.append(line)
    del tail[:-TAIL_LINES]
    if on_line is not None:
        try:
            on_line(line)
        except Exception:  # noqa: BLE001 - a caller's bug must not stop the reader and hang the child
            log.exception("line handler failed on %r", line)
