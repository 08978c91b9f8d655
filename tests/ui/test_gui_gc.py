"""Python's cycle collector runs in the GUI thread only (workbench/ui/gui_gc.py): garbage made
while a job allocates in its worker thread is collected by the GUI thread's timer, never in the
worker, where destroying Qt objects can deadlock with the GUI thread."""

from __future__ import annotations

import gc
import threading
from typing import Any

from workbench.tasks import Task
from workbench.ui.workers import JobRunner


class Cycle:
    """An object in a reference cycle that writes down which thread collected it."""

    collected_in: list[str] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        Cycle.collected_in.append(threading.current_thread().name)


def _allocate(count: int, task: Task) -> int:
    """A job that leaves cycles behind and allocates far past the collector's thresholds."""
    for _ in range(count):
        Cycle()
    junk = [[index] for index in range(200_000)]  # many allocations: an automatic collector would run here
    return len(junk)


def test_cycles_left_by_a_job_are_collected_in_the_gui_thread(qtbot: Any) -> None:
    runner = JobRunner()
    assert not gc.isenabled(), "automatic collection is off once jobs can run"
    Cycle.collected_in.clear()
    done: list[int] = []
    runner.start("allocate", _allocate, 50, on_success=done.append, on_error=lambda error: None)
    qtbot.waitUntil(lambda: bool(done), timeout=30000)
    # The collector runs when objects made outnumber those freed (Python's own rule): make some.
    kept = [[index] for index in range(5 * gc.get_threshold()[0])]
    qtbot.waitUntil(lambda: len(Cycle.collected_in) == 50, timeout=10000)  # the GUI thread's timer
    assert set(Cycle.collected_in) == {threading.main_thread().name} and kept
