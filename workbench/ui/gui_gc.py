"""Python's cycle collector runs in the GUI thread only.

Left automatic, the collector runs in whichever thread happens to allocate: a job's worker, the
monitor's reader. There it may destroy Qt objects of the screen (a closed window's menus) that hold
Qt's locks while they call back into Python, and the GUI thread, waiting for one of those locks
with the interpreter in hand, deadlocks with it. So automatic collection is turned off and a
GUI-thread timer collects instead (pyqtgraph's GarbageCollector: generation by generation, at the
thresholds Python would use).
"""

from __future__ import annotations

from typing import Any

INTERVAL_S = 0.5

_collector: Any = None


def collect_in_gui_thread() -> None:
    """Move the collector to the GUI thread, once a process (call it from the GUI thread)."""
    global _collector
    if _collector is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        _collector = GarbageCollector(interval=INTERVAL_S)
