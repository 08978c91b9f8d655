"""Task: the token long work receives, to report progress and notice cancellation.

Engine functions take a Task and never know whether a thread, a child process or the
command line drives them. The GUI connects `on_progress`; the CLI leaves it empty.
Nested work gets a span of its parent's progress (`task.span(0.5, 1.0)`), so progress
never runs backwards; work running beside the main thread gets a `quiet()` task that
shares cancellation but reports nothing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable

from workbench.core.errors import Cancelled

ProgressCallback = Callable[[float, str], None]
LogCallback = Callable[[str], None]


class Task:
    """Progress reporting and cancellation for one piece of long work."""

    def __init__(self, on_progress: ProgressCallback | None = None, on_log: LogCallback | None = None) -> None:
        self._on_progress = on_progress
        self._on_log = on_log
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._children: list[subprocess.Popen[bytes]] = []
        self._delivery_lock = threading.Lock()
        self._delivered = 0.0
        self.fraction = 0.0
        self.status = ""

    def progress(self, fraction: float, status: str = "") -> None:
        """Report progress (0..1) with a short status line; raises Cancelled if cancelled.

        Progress never goes down: a smaller fraction keeps the one already reached.
        """
        self.check()
        with self._lock:
            self.fraction = max(self.fraction, min(1.0, fraction))
            self.status = status or self.status
            fraction, status = self.fraction, self.status
        if self._on_progress is not None:
            with self._delivery_lock:  # two threads must not deliver out of order
                if fraction >= self._delivered:
                    self._delivered = fraction
                    self._on_progress(fraction, status)

    def log(self, line: str) -> None:
        """A line of the work's own log (a flashing tool's output, say): the GUI shows it live,
        the CLI prints it on stderr. Never raises, even when cancelled."""
        if self._on_log is not None:
            self._on_log(line)

    def span(self, start: float, end: float) -> Task:
        """A task for nested work whose 0..1 fills [start, end] of this one; cancels with it."""
        return _SubTask(self, start, end)

    def quiet(self) -> Task:
        """A task for work beside the main line: it shares cancellation and reports nothing."""
        return _SubTask(self, 0.0, 0.0, silent=True)

    def cancel(self) -> None:
        """Ask the work to stop; child processes it started are ended at once."""
        self._cancelled.set()
        with self._lock:
            children = list(self._children)
        for child in children:
            kill_tree(child)

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def check(self) -> None:
        if self._cancelled.is_set():
            raise Cancelled()

    def adopt(self, child: subprocess.Popen[bytes]) -> None:
        """Register a child process so that cancel() ends it."""
        with self._lock:
            self._children.append(child)
        if self._cancelled.is_set():
            kill_tree(child)

    @property
    def children(self) -> tuple[subprocess.Popen[bytes], ...]:
        """Child processes this task is running now."""
        with self._lock:
            return tuple(self._children)

    def release(self, child: subprocess.Popen[bytes]) -> None:
        with self._lock:
            if child in self._children:
                self._children.remove(child)


class _SubTask(Task):
    """A view of a parent task: its own progress maps into a span of the parent's."""

    def __init__(self, parent: Task, start: float, end: float, silent: bool = False) -> None:
        super().__init__()
        self._parent = parent
        self._start = start
        self._end = end
        self._silent = silent
        self._cancelled = parent._cancelled  # one cancellation for the whole tree

    def progress(self, fraction: float, status: str = "") -> None:
        self.check()
        self.fraction = max(self.fraction, min(1.0, fraction))
        self.status = status or self.status
        if not self._silent:
            self._parent.progress(self._start + (self._end - self._start) * self.fraction, status)

    def log(self, line: str) -> None:
        if not self._silent:
            self._parent.log(line)

    def cancel(self) -> None:
        self._parent.cancel()

    def adopt(self, child: subprocess.Popen[bytes]) -> None:
        self._parent.adopt(child)

    def release(self, child: subprocess.Popen[bytes]) -> None:
        self._parent.release(child)

    @property
    def children(self) -> tuple[subprocess.Popen[bytes], ...]:
        return self._parent.children


def kill_tree(child: subprocess.Popen[bytes]) -> None:
    """End a child process and, where it leads its own session, everything it started."""
    if child.poll() is not None:
        return
    if os.name == "posix":
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getpgid(child.pid) == child.pid:
                os.killpg(child.pid, signal.SIGKILL)
                return
    with contextlib.suppress(ProcessLookupError):
        child.kill()


def null_task() -> Task:
    """A task nobody watches: for callers that need no progress and never cancel."""
    return Task()
