"""Telling text a board printed from what a serial port gives at the wrong baud rate, and finding
the rate a board prints at.

At the wrong rate a UART samples the bits at the wrong times: bytes come out with the high bit set
(not UTF-8: they decode as U+FFFD), as NULs (framing errors), or as other control characters, and
line breaks fall at random. A line holding any of these is *garbled*. `find_baud` listens at each
common rate in turn and takes the first at which the board's lines read as text.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from workbench.core.errors import WorkbenchError
from workbench.monitor.lines import LineSplitter
from workbench.tasks import Task

if TYPE_CHECKING:
    import serial

log = logging.getLogger(__name__)

# The rates boards print at, the most common first (Serial.begin() in sketches, ESP-IDF, Pico SDK).
COMMON_RATES = (115200, 9600, 57600, 230400, 460800, 921600, 38400, 19200, 1000000, 2000000, 250000, 500000, 74880)
MOSTLY_GARBLED = 0.25  # share of characters that are not text above which the rate is probably wrong
MIN_CHARS = 200  # characters needed before the share is judged (a slow wrong rate gives few lines)
READABLE_ENOUGH = 0.9  # share of text lines that makes a rate the board's
LISTEN_S = 1.0  # how long find_baud listens at each rate

# What no board prints as text: a replacement character (bytes that are not UTF-8) or a control
# character other than a tab and the line breaks (which lines never hold: they are split at them).
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
_CONTROL_BYTES = re.compile(b"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK_LINE = re.compile(r"^\s+$", re.MULTILINE)


def garbled(line: str) -> bool:
    """Whether `line` (decoded with U+FFFD for bytes that are not UTF-8) holds what no board
    prints as text."""
    return _NOT_TEXT.search(line) is not None


@dataclass(frozen=True)
class Garble:
    """What a run of lines holds: non-blank lines, and garbled ones among them."""

    nonblank: int
    lines: int


def count_garbled(lines: Sequence[str]) -> Garble:
    """The Garble of `lines`: fast (a regex over the whole run) when, as usual, all is text."""
    text = "\n".join(lines)
    nonblank = len(lines) - lines.count("")
    if _BLANK_LINE.search(text) is not None:
        nonblank = sum(1 for line in lines if line and not line.isspace())
    if _NOT_TEXT.search(text) is None:
        return Garble(nonblank, 0)
    return Garble(nonblank, sum(1 for line in lines if _NOT_TEXT.search(line) is not None))


def rates_to_try(current: int) -> list[int]:
    """The common rates other than `current`, the most common first."""
    return [rate for rate in COMMON_RATES if rate != current]


def wrong_rate_message(baud: int) -> str:
    """What the monitor says when most of the stream is garbled at `baud`."""
    rates = ", ".join(str(rate) for rate in rates_to_try(baud)[:5])
    return (
        f"most of what arrives is unreadable: the baud rate ({baud}) is probably not the board's; "
        f"try {rates} (the rate in the sketch's Serial.begin()), or let the monitor find it"
    )


class GarbledShare:
    """The share of characters that are not text over about the last `window` characters."""

    def __init__(self, window: int = 4000) -> None:
        self.window = window
        self.chars = 0.0
        self.bad_chars = 0.0

    def add(self, data: bytes) -> None:
        """Count the characters of `data`, bytes as they came (line breaks are not counted). ASCII,
        what boards print nearly always, is judged without decoding it."""
        breaks = data.count(b"\n") + data.count(b"\r")
        if data.isascii():
            self.chars += len(data) - breaks
            if _CONTROL_BYTES.search(data) is not None:
                self.bad_chars += len(_CONTROL_BYTES.findall(data))
        else:
            text = data.decode("utf-8", errors="replace")
            self.chars += len(text) - breaks
            self.bad_chars += len(_NOT_TEXT.findall(text))
        if self.chars > self.window:  # older characters weigh less and less
            scale = self.window / self.chars
            self.chars *= scale
            self.bad_chars *= scale

    def reset(self) -> None:
        self.chars = self.bad_chars = 0.0

    @property
    def mostly_garbled(self) -> bool:
        return self.chars >= MIN_CHARS and self.bad_chars > MOSTLY_GARBLED * self.chars


@dataclass
class BaudSearch:
    """What find_baud heard: the rate found (None: none read as text) and, per rate tried, the
    share of its non-blank lines that were text (None: no line came)."""

    baud: int | None
    readable: dict[int, float | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {"baud": self.baud, "readable": {str(rate): share for rate, share in self.readable.items()}}


def readable_share(data: bytes) -> float | None:
    """The share of non-blank lines in `data` that are text (the whole ones; the text as it is when
    no line ended, as at a much slower wrong rate), or None when it holds none."""
    splitter = LineSplitter()
    garble = count_garbled(splitter.feed(data) or splitter.flush())
    return None if garble.nonblank == 0 else (garble.nonblank - garble.lines) / garble.nonblank


def find_baud(port: str, task: Task, rates: Sequence[int] = COMMON_RATES, listen_s: float = LISTEN_S) -> BaudSearch:
    """Listen to `port` at each rate in turn for `listen_s` and return the first at which the board's
    lines read as text (READABLE_ENOUGH of them); raises WorkbenchError when the port cannot be opened."""
    from workbench.monitor.reader import open_port

    search = BaudSearch(None)
    for index, rate in enumerate(rates):
        task.progress(index / len(rates), f"Listening at {rate} baud")
        task.check()
        handle = open_port(port, rate)
        try:
            data = _listen(handle, listen_s, task)
        finally:
            handle.close()
        share = readable_share(data)
        search.readable[rate] = share
        log.info("%s at %d baud: %s of the lines are text", port, rate, "none" if share is None else f"{share:.0%}")
        if share is not None and share >= READABLE_ENOUGH:
            search.baud = rate
            break
    task.progress(1.0, "Done")
    return search


def _listen(handle: serial.SerialBase, listen_s: float, task: Task) -> bytes:
    import serial

    data = bytearray()
    end = time.monotonic() + listen_s
    try:
        handle.reset_input_buffer()  # what came before this rate was set is not at this rate
        while time.monotonic() < end:
            task.check()
            data += handle.read(max(1, handle.in_waiting or 1))
    except (serial.SerialException, OSError) as error:
        raise WorkbenchError(f"{handle.port} stopped answering while its baud rate was sought", str(error)) from error
    return bytes(data)
