"""replay(recording): serve a recording as a serial port, at its own pace or faster.

The port (virtual_port.py) is a pseudo-terminal (its path, and a symlink at `link` when given,
replacing an earlier link), or - with transport="socket", and always on Windows, which has no
ptys - a TCP server on 127.0.0.1 that pyserial and the Monitor open as `socket://127.0.0.1:PORT`
(a link is then not made). `on_ready` gets the name to open (the CLI prints it).

What it prints, in the Arduino plotter format (plugins/parsers/arduino.py reads it):
- a record's values as one line `name:value name:value` (spaces, tabs and commas in a name become
  `_`, as the exported sketch prints labels; values in full precision, `nan`/`inf` as Python
  spells them);
- each event as its own line in TFLM micro_speech's format, `Heard yes (201) @4800ms`, which
  plugins/parsers/events.py reads: the score and the board's time in ms are the record's `score`
  and `device_time_ms` values (the names that parser gives them), left out when it has none, so
  a recording of a micro_speech board replays as it printed; a label's spaces, parentheses,
  `<>`, `@` and `:` become `_`;
- nothing for a gap (a `disconnected` row): the silence until the next record is the gap.

Playing starts once a reader has the port open, so it gets the whole recording (after SETTLE_S:
pyserial flushes its input when it opens a port), and runs at the recorded times divided by
`speed` (0 or inf: as fast as the reader takes it), until the end or until `task` is cancelled
(Cancelled is raised). Lines due together go out in writes of about CHUNK_BYTES.

Writes never wait long: a reader that takes nothing for WRITE_WAIT_S is stalled, and the lines
that do not fit in the port's buffer are dropped (never cut in the middle) until it reads again.
A reader that closes the port misses what is printed until it opens it again. At the end the
replay waits while the reader keeps taking what is queued (DRAIN_STALL_S without progress ends
the wait), lingers LINGER_S so a read under way returns its bytes, then closes the port and
removes the link.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import re
import time
from collections.abc import Callable, Iterator
from itertools import chain
from pathlib import Path

from workbench.core.errors import WorkbenchError
from workbench.monitor.parse import Record
from workbench.monitor.recorder import GAP_EVENT, iter_recording
from workbench.monitor.sketch_format import printed_label
from workbench.monitor.virtual_port import SOCKET, VirtualPort, has_ptys, open_port
from workbench.tasks import Task, null_task

log = logging.getLogger(__name__)

SETTLE_S = 0.2  # after a reader opens the port, before the first line: pyserial flushes input on open
WRITE_WAIT_S = 1.0  # a full port waits this long for the reader before lines are dropped
DRAIN_STALL_S = 1.0  # at the end: a reader that takes nothing for this long is not waited for
LINGER_S = 0.1  # at the end, once the reader has it all: its read call returns before the port closes
CHECK_EVERY = 256  # records between cancellation checks when playing as fast as possible
CHUNK_BYTES = 4096  # lines that are due together go out in writes of about this size

_EVENT_LABEL_BREAKS = re.compile(r"[\s()<>@:]")  # what ends a label in an event line
SCORE, DEVICE_TIME_MS = "score", "device_time_ms"  # the values an event line carries


@functools.lru_cache(maxsize=4096)
def plotter_label(name: str) -> str:
    """A channel name as a plotter label: as the exported sketch prints labels (`printed_label`)."""
    return printed_label(name) or "_"


def event_line(label: str, score: float | None = None, device_time_ms: float | None = None) -> str:
    """An event as TFLM's micro_speech prints a command it heard, `Heard yes (201) @4800ms`, with
    the score and the board's time when known (plugins/parsers/events.py reads them back)."""
    line = f"Heard {_EVENT_LABEL_BREAKS.sub('_', label) or '_'}"
    if score is not None:
        line += f" ({score!r})"
    if device_time_ms is not None:
        line += f" @{int(device_time_ms)}ms"
    return line


def _event_values(values: dict[str, float]) -> tuple[float | None, float | None]:
    """The score and board time an event line can carry exactly (the events parser's names)."""
    score = values.get(SCORE)
    device_time_ms = values.get(DEVICE_TIME_MS)
    if score is not None and not math.isfinite(score):
        score = None
    if device_time_ms is not None and not (device_time_ms >= 0 and float(device_time_ms).is_integer()):
        device_time_ms = None
    return score, device_time_ms


def record_lines(record: Record) -> str:
    """The text a record is replayed as (lines ended by "\\n"); "" for a gap. Its first event's
    line carries `score` and `device_time_ms` (as the events parser names what it reads), and the
    other values go on a plotter line before it."""
    if not record.values and record.events == (GAP_EVENT,):
        return ""
    values = record.values
    score = device_time_ms = None
    if record.events:
        score, device_time_ms = _event_values(values)
        if score is not None or device_time_ms is not None:
            carried = {SCORE} if score is not None else set()
            carried |= {DEVICE_TIME_MS} if device_time_ms is not None else set()
            values = {name: value for name, value in values.items() if name not in carried}
    lines = []
    if values:
        lines.append(" ".join([f"{plotter_label(name)}:{float(value)!r}" for name, value in values.items()]))
    for index, event in enumerate(record.events):
        lines.append(event_line(event, score, device_time_ms) if index == 0 else event_line(event))
    return "".join(line + "\n" for line in lines)


# ---- Playing ------------------------------------------------------------------------------------


def replay(
    recording: Path,
    *,
    speed: float = 1.0,
    link: Path | None = None,
    task: Task | None = None,
    transport: str | None = None,
    port: int = 0,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve `recording` as a serial port until its end (see the module docstring).

    `speed`: 1 plays at the recorded pace, 2 twice as fast, 0 (or inf) as fast as the reader
    takes it. `on_ready` gets the port's name once it can be opened (None: it is printed).
    Raises WorkbenchError (one sentence) for a recording that cannot be read or a port that
    cannot be made, and Cancelled when `task` is cancelled.
    """
    task = task or null_task()
    if math.isnan(speed) or speed < 0:
        raise WorkbenchError(f"The replay speed must be 0 (as fast as possible) or more, not {speed:g}.")
    paced = 0 < speed < math.inf
    records = iter_recording(recording)
    first = next(records, None)  # a file that is not a recording fails here, before any port
    if link is not None and (transport == SOCKET or not has_ptys()):
        log.warning("a socket has no path to link: %s is not made", link)
        link = None
    with contextlib.closing(open_port(transport, link, port)) as served:
        name = str(served.link or served.name)
        if on_ready is not None:
            on_ready(name)
        else:
            print(f"Replaying {recording} on {name}", flush=True)
        served.wait_for_reader(task)
        served.pause(SETTLE_S, task)
        if first is not None:
            _play(served, chain([first], records), first.time, speed if paced else 0.0, task)
        served.drain(task, DRAIN_STALL_S, LINGER_S)
        if served.dropped_bytes:
            log.info("replay of %s: %d bytes dropped (no reader, or one not reading)", recording, served.dropped_bytes)


def _play(served: VirtualPort, records: Iterator[Record], start_time: float, speed: float, task: Task) -> None:
    """Write each record when it is due: (its time - start_time) / speed after the start; with
    speed 0, at once. Lines already due go out together, up to CHUNK_BYTES a write."""
    started = time.monotonic()
    chunk: list[str] = []
    size = 0

    def write() -> None:
        nonlocal chunk, size
        if chunk:
            served.send("".join(chunk).encode("utf-8"), WRITE_WAIT_S, task)
            chunk, size = [], 0

    for index, record in enumerate(records):
        if speed:
            due = started + (record.time - start_time) / speed
            if due > time.monotonic():
                write()
                served.pause(due - time.monotonic(), task)
        elif index % CHECK_EVERY == 0:
            task.check()
        text = record_lines(record)
        chunk.append(text)
        size += len(text)
        if size >= CHUNK_BYTES:
            write()
    write()
