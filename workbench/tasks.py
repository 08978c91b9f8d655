"""Task: the token long work receives, to report progress and notice cancellation.

Engine functions take a Task and never know whether a thread, a child process or the
command line drives them. The GUI connects `on_progress`; the CLI leaves it empty.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable

from workbench.core.errors import Cancelled

ProgressCallback = Callable[[float, str], None]


class Task:
    """Progress reporting and cancellation for one piece of long work."""

    def __init__(self, on_progress: ProgressCallback | None = None) -> None:
        self._on_progress = on_progress
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._children: list[subprocess.Popen[bytes]] = []
        self.fraction = 0.0
        self.status = ""

    def progress(self, fraction: float, status: str = "") -> None:
        """Report progress (0..1) with a short status line; raises Cancelled if cancelled."""
        self.check()
        self.fraction = max(0.0, min(1.0, fraction))
        self.status = status or self.status
        if self._on_progress is not None:
            self._on_progress(self.fraction, self.status)

    def cancel(self) -> None:
        """Ask the work to stop; child processes it started are ended at once."""
        self._cancelled.set()
        with self._lock:
            for child in self._children:
                if child.poll() is None:
                    child.kill()

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
                child.kill()

    @property
    def children(self) -> tuple[subprocess.Popen[bytes], ...]:
        """Child processes this task is running now."""
        with self._lock:
            return tuple(self._children)

    def release(self, child: subprocess.Popen[bytes]) -> None:
        with self._lock:
            if child in self._children:
                self._children.remove(child)


def null_task() -> Task:
    """A task nobody watches: for callers that need no progress and never cancel."""
    return Task()
