"""The task token: progress that never runs backwards, spans for nested work, one cancellation."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from workbench.core.errors import Cancelled
from workbench.tasks import Task


def test_progress_never_goes_down_when_nested_steps_report_into_one_task() -> None:
    seen: list[float] = []
    task = Task(on_progress=lambda fraction, _status: seen.append(fraction))
    task.progress(0.5, "graph read")
    nested = task.span(0.5, 1.0)
    for fraction in (0.9, 0.1, 0.5, 1.0):  # a nested worker whose own steps go back and forth
        nested.progress(fraction)
    assert seen == sorted(seen)
    assert seen[1] == pytest.approx(0.95) and seen[-1] == pytest.approx(1.0)


def test_a_span_maps_its_whole_range_into_the_parents_slice() -> None:
    task = Task()
    inner = task.span(0.2, 0.6).span(0.5, 1.0)  # spans nest
    inner.progress(0.5, "half of the inner step")
    assert task.fraction == pytest.approx(0.2 + 0.4 * (0.5 + 0.5 * 0.5))
    assert task.status == "half of the inner step"


def test_a_quiet_task_reports_nothing_but_cancels_with_its_parent() -> None:
    seen: list[float] = []
    task = Task(on_progress=lambda fraction, _status: seen.append(fraction))
    quiet = task.quiet()
    quiet.progress(0.9)
    assert seen == [] and task.fraction == 0.0
    task.cancel()
    with pytest.raises(Cancelled):
        quiet.check()


def test_cancelling_kills_a_child_adopted_by_a_nested_span() -> None:
    task = Task()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    task.span(0.0, 0.5).adopt(child)
    assert task.children == (child,)
    task.cancel()
    assert child.wait(timeout=10) != 0
    with pytest.raises(Cancelled):
        task.progress(0.5)


def test_two_threads_reporting_into_one_task_keep_it_monotonic() -> None:
    seen: list[float] = []
    lock = threading.Lock()

    def record(fraction: float, _status: str) -> None:
        with lock:
            seen.append(fraction)

    task = Task(on_progress=record)

    def worker(offset: float) -> None:
        for step in range(200):
            task.progress(offset + step / 1000)

    threads = [threading.Thread(target=worker, args=(o,)) for o in (0.0, 0.3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert task.fraction == pytest.approx(0.3 + 199 / 1000)
    assert seen == sorted(seen) and seen[-1] == task.fraction
