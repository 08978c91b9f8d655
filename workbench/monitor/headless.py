"""run_monitor: the monitor without a screen (the `monitor` command), on a MonitorStream."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from workbench.monitor.handoff import Handoff
from workbench.monitor.parse import Parser, Record
from workbench.monitor.stream import AUTO, MonitorStream, StreamStats
from workbench.tasks import Task

log = logging.getLogger(__name__)

SINK_BATCHES = 256  # record batches waiting for run_monitor's caller before the processor waits for it


def run_monitor(
    port: str,
    baud: int = 115200,
    *,
    parsers: Sequence[Parser],
    parser: str = AUTO,
    record: Path | None = None,
    duration_s: float | None = None,
    on_record: Callable[[Record], None] | None = None,
    task: Task | None = None,
) -> StreamStats:
    """Monitor `port` without a screen until `duration_s`, `task` is cancelled, or Ctrl+C; the summary.

    Prints nothing: `on_record` gets every record, in order, on the calling thread; a change of
    state (reconnecting, recording stopped) goes to `task.log`. Raises WorkbenchError (one
    sentence) when the port or the recording cannot be opened.
    """
    sink = Handoff(SINK_BATCHES) if on_record is not None else None
    stream = MonitorStream(port, baud, parsers=parsers, parser=parser, record=record, sink=sink)
    stream.start()
    said, looked = "", 0.0
    try:
        while stream.running or (sink is not None and not sink.empty()):
            if task is not None and task.cancelled:
                break
            if duration_s is not None and stream.clock() >= duration_s:
                break
            if sink is not None and on_record is not None:
                for record_ in sink.get(timeout=0.05):
                    on_record(record_)
            else:
                time.sleep(0.05)
            if task is not None and stream.clock() >= looked + 0.25:
                looked = stream.clock()
                message = stream.stats().message
                if message and message != said:
                    task.log(message)
                said = message
    except KeyboardInterrupt:
        log.info("monitor of %s interrupted", port)
    finally:
        stream.stop()
    if sink is not None and on_record is not None:
        with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl+C: the summary without the rest
            while not sink.empty():
                for record_ in sink.get(timeout=0):
                    on_record(record_)
    return stream.stats()
