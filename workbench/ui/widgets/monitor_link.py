"""The Monitor page's link to a board: the stream it reads (opened and stopped as jobs, off the
GUI thread), the status line that describes it, and the port, baud rate and format remembered
from one connection to the next (in the settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from workbench.core.errors import WorkbenchError
from workbench.plugins import registry
from workbench.tasks import Task
from workbench.ui.settings import settings
from workbench.ui.widgets.monitor_controls import DEFAULT_BAUD
from workbench.units import kb

LAST_PORT_KEY = "monitor/last_port"
BAUDS_KEY = "monitor/bauds"  # "port=baud" pairs: the baud rate is remembered for each port
FORMAT_KEY = "monitor/format"


class Stream(Protocol):
    """What the page uses of a MonitorStream (see workbench/monitor/stream.py)."""

    buffer: Any

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def stats(self) -> Any: ...
    def start_recording(self, path: Path) -> None: ...
    def stop_recording(self) -> None: ...
    def clear(self) -> None: ...


def open_stream(port: str, baud: int, parser: str) -> Stream:
    """A MonitorStream on `port` (not started)."""
    from workbench.monitor.stream import MonitorStream

    return MonitorStream(port, baud, parsers=registry().parsers(), parser=parser)


def start_stream(stream: Stream, task: Task) -> Stream:
    """Open the port and start reading (a job: opening can take seconds)."""
    stream.start()
    return stream


def stop_stream(stream: Stream, task: Task) -> WorkbenchError | None:
    """Stop reading and finish the recording (a job: joining the reader can take a moment); what
    went wrong is returned, to be shown once the last records are drawn."""
    try:
        stream.stop()
    except WorkbenchError as error:
        return error
    return None


def default_recordings_folder() -> Path:
    return Path.home() / "TinyML Workbench recordings"


def status_text(stats: Any, shown_port: str) -> str:
    """The status line: connection, rates, malformed lines, reconnects, the recording and its size."""
    if stats.connected:
        state = f"Connected to {shown_port}"
    elif stats.message:
        state = stats.message
    else:
        state = f"Disconnected from {shown_port}"
    parts = [state]
    if stats.connected and stats.message:
        parts.append(stats.message)
    parts.append(f"format {stats.parser or 'detecting…'}")
    parts.append(f"{stats.lines_per_s:.1f} lines/s")
    parts.append(f"{stats.records_per_s:.1f} records/s")
    parts.append(f"{stats.malformed} malformed")
    if stats.unreadable:
        parts.append(f"{stats.unreadable} unreadable")
    parts.append(f"{stats.reconnects} reconnect{'s' if stats.reconnects != 1 else ''}")
    if stats.recording:
        parts.append(f"recording {stats.recording} ({kb(stats.recording_bytes)})")
    return "  ·  ".join(parts)


def _bauds() -> dict[str, int]:
    text = str(settings().value(BAUDS_KEY, "") or "")
    pairs = (item.rpartition("=") for item in text.split("\n") if "=" in item)
    return {port: int(baud) for port, _, baud in pairs if baud.isdigit()}


def baud_for(port: str) -> int:
    """The baud rate last used on `port` (the default for a port never used)."""
    return _bauds().get(port, DEFAULT_BAUD)


def remember(port: str, baud: int, parser: str) -> None:
    """A connection was asked for: remember its port (the last one), its baud rate and format."""
    bauds = _bauds()
    bauds[port] = baud
    stored = settings()
    stored.setValue(BAUDS_KEY, "\n".join(f"{p}={b}" for p, b in bauds.items()))
    stored.setValue(LAST_PORT_KEY, port)
    stored.setValue(FORMAT_KEY, parser)


def last_port() -> str:
    return str(settings().value(LAST_PORT_KEY, "") or "")
