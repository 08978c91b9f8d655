"""What a monitor stream says of itself: counters, rates and state, one snapshot at a time."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class StreamStats:
    """A snapshot of a stream, safe to read from any thread."""

    lines: int = 0
    records: int = 0
    malformed: int = 0
    reconnects: int = 0
    bytes: int = 0
    lines_per_s: float = 0.0
    records_per_s: float = 0.0
    parser: str = ""  # the parser in use; "" while detecting
    channels: list[str] = field(default_factory=list)
    connected: bool = False
    port: str = ""
    message: str = ""  # "reconnecting to /dev/ttyACM0…", "detecting the format…"
    recording: str = ""  # the recording's path; "" when not recording
    recording_bytes: int = 0
    duration_s: float = 0.0
    dropped_partial: int = 0  # first lines after (re)opening the port that were the tail of a line
    unreadable: int = 0  # lines that are not data (see the module docstring)
    wrong_baud: bool = False  # most recent lines are garbled: the baud rate is probably wrong

    def to_json(self) -> dict[str, Any]:
        """Every field, as the `monitor --json` summary prints them."""
        return asdict(self)
