"""Turning the chunks a serial port delivers into lines of text.

A port hands over whatever has arrived: half a line, ten lines and a half, a CR now and its LF
in the next chunk. `LineSplitter` joins lines across chunks and ends a line at CR, LF or CRLF
(one ending even when the CRLF is split between two chunks). Text is UTF-8; bytes that are not
become U+FFFD, so garbage on the wire never stops the stream.

A line longer than MAX_LINE_BYTES (a board printing without line endings, or noise) is cut:
it is not returned, it is counted in `cut_lines` (the stream counts it as malformed), and the
rest of it, up to the next line ending, is skipped. Memory stays bounded whatever arrives.

Lines are handled a chunk at a time (one decode and one split per chunk, not per byte): this is
the hot path of the monitor.

`looks_cut(line, following)` tells whether a line looks like the tail of one shaped like the line
after it: what a port opened in the middle of a line gives first (see workbench/monitor/stream.py).
"""

from __future__ import annotations

import re

MAX_LINE_BYTES = 64 * 1024

_CR = 13
_LF = 10


class LineSplitter:
    """Bytes in, complete lines (str, without their endings) out; see the module docstring."""

    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self.max_line_bytes = max_line_bytes
        self.cut_lines = 0  # lines longer than max_line_bytes, dropped
        self._partial = b""  # the start of a line whose ending has not arrived
        self._after_cr = False  # the last chunk ended with CR: an LF starting the next one ends nothing
        self._skipping = False  # inside a cut line: skip to its ending

    def feed(self, data: bytes) -> list[str]:
        """The lines completed by `data`, in order (empty strings for empty lines)."""
        if not data:
            return []
        if self._after_cr:
            self._after_cr = False
            if data[0] == _LF:
                data = data[1:]
                if not data:
                    return []
        if self._skipping:
            data = self._skip(data)
            if not data:
                return []
        end = max(data.rfind(b"\n"), data.rfind(b"\r"))
        if end < 0:
            self._partial += data
            if len(self._partial) > self.max_line_bytes:
                self._cut()
            return []
        complete = self._partial + data[: end + 1] if self._partial else data[: end + 1]
        self._partial = data[end + 1 :]
        self._after_cr = data[end] == _CR and end == len(data) - 1
        lines = self._split(complete)
        if len(self._partial) > self.max_line_bytes:
            self._cut()
        return lines

    def flush(self) -> list[str]:
        """The line in progress (its ending never came), if any; the splitter starts afresh."""
        partial, skipping = self._partial, self._skipping
        self._partial, self._after_cr, self._skipping = b"", False, False
        if not partial or skipping:
            return []
        return [partial.decode("utf-8", "replace")]

    @property
    def pending_bytes(self) -> int:
        """Bytes of the line in progress."""
        return len(self._partial)

    def _split(self, complete: bytes) -> list[str]:
        """`complete` ends with a line ending: its lines, long ones cut."""
        # Only a chunk longer than the limit can hold a line longer than it.
        if len(complete) > self.max_line_bytes:
            pieces = complete.splitlines()  # bytes split at CR, LF and CRLF only
            if max(map(len, pieces)) > self.max_line_bytes:
                kept = [piece for piece in pieces if len(piece) <= self.max_line_bytes]
                self.cut_lines += len(pieces) - len(kept)
                return [piece.decode("utf-8", "replace") for piece in kept]
        text = complete.decode("utf-8", "replace")
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        lines.pop()  # the empty string after the final ending
        return lines

    def _cut(self) -> None:
        """The line in progress is too long: count it and skip to its ending."""
        self.cut_lines += 1
        self._partial = b""
        self._skipping = True

    def _skip(self, data: bytes) -> bytes:
        """`data` after the ending of the cut line (empty while the line goes on)."""
        ends = [i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0]
        if not ends:
            return b""
        end = min(ends)
        self._skipping = False
        if data[end] == _CR:
            if end + 1 == len(data):
                self._after_cr = True
            elif data[end + 1] == _LF:
                end += 1
        return data[end + 1 :]


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def shape(line: str) -> str:
    """A line with each number replaced by `0`: what lines of one format have in common."""
    return _NUMBER.sub("0", line.rstrip())


def looks_cut(line: str, following: str) -> bool:
    """Whether `line` looks like the tail of a line shaped like `following`: its shape is a
    shorter ending of the following line's (`le:0.5 wave:0.2` before `idle:0.4 wave:0.3`,
    `,1.5,2` before `0.5,1.5,2`). A line of the same shape is whole, whatever its numbers: a cut
    inside the first number (`34.5` of `1234.5`) cannot be seen."""
    cut, whole = shape(line), shape(following)
    return bool(cut) and len(cut) < len(whole) and whole.endswith(cut)
