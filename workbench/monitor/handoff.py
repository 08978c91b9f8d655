"""Record batches handed from a stream's processing thread to a reader on another thread."""

from __future__ import annotations

import threading
from collections import deque

from workbench.monitor.parse import Record


class Handoff:
    """Record batches from the processor to run_monitor's caller: bounded while running, so a
    slow caller slows the stream down (and never loses a record); unbounded once stopping."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._batches: deque[list[Record]] = deque()
        self._changed = threading.Condition()
        self._bounded = True

    def put(self, batch: list[Record]) -> None:
        with self._changed:
            while self._bounded and len(self._batches) >= self.limit:
                self._changed.wait()
            self._batches.append(batch)
            self._changed.notify_all()

    def get(self, timeout: float) -> list[Record]:
        """The oldest batch, or [] when none came within `timeout` seconds."""
        with self._changed:
            if not self._batches:
                self._changed.wait(timeout)
            if not self._batches:
                return []
            batch = self._batches.popleft()
            self._changed.notify_all()
            return batch

    def unbind(self) -> None:
        with self._changed:
            self._bounded = False
            self._changed.notify_all()

    def empty(self) -> bool:
        with self._changed:
            return not self._batches
