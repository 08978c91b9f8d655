"""The lines a monitor holds while no parser is chosen yet, and when and how to choose one.

The parser is detected from the first DETECT_LINES non-blank lines or DETECT_S seconds, whichever
comes first (`workbench.monitor.parse.detect`); the lines seen meanwhile are held, with their
times, and parsed once it is chosen. If no parser recognises them, detection is tried again as
lines arrive (at most every DETECT_RETRY_S, on the newest lines); at most HOLD_LINES lines wait,
the oldest going first (no parser recognised them: they are not data). Used by the stream's
processor thread only.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator, Sequence

from workbench.monitor.parse import Parser, detect

DETECT_LINES = 20
DETECT_S = 1.0
DETECT_RETRY_S = 0.25  # how often detection is tried again while no parser recognises the lines
HOLD_LINES = 5000  # lines held while no parser is chosen


def _nonblank(line: str) -> bool:
    return bool(line) and not line.isspace()


class HeldLines:
    """Lines waiting for a parser to be chosen; see the module docstring."""

    def __init__(self, parsers: Sequence[Parser]) -> None:
        self.parsers = list(parsers)
        self.tried = False  # whether the last choose() tried the parsers
        self.drop()

    def drop(self) -> None:
        """Forget the lines held (none will be parsed)."""
        self._held: deque[tuple[float, str]] = deque()
        self._since: float | None = None  # when the first non-blank held line arrived
        self._nonblank = 0
        self._tried_at: float | None = None

    def __len__(self) -> int:
        return len(self._held)

    def hold(self, lines: list[str], arrived: float) -> None:
        """Keep lines (with their time) until a parser is chosen; the oldest beyond HOLD_LINES go."""
        nonblank = sum(1 for line in lines if _nonblank(line))
        if nonblank and self._since is None:
            self._since = arrived
        self._nonblank += nonblank
        self._held.extend((arrived, line) for line in lines)
        while len(self._held) > HOLD_LINES:
            _, line = self._held.popleft()
            self._nonblank -= _nonblank(line)

    def choose(self, now: float, force: bool = False) -> Parser | None:
        """The parser, when it is time to choose (enough lines or time, or `force`: the text
        ended) and one recognises the lines; None otherwise (`tried` says whether it was tried)."""
        self.tried = False
        if not self._nonblank or self._since is None:
            return None
        if not force and self._nonblank < DETECT_LINES and now - self._since < DETECT_S:
            return None
        retry = self._tried_at is not None
        if retry and not force and now - (self._tried_at or 0.0) < DETECT_RETRY_S:
            return None
        self._tried_at = now
        self.tried = True
        return detect(self._sample(last=retry), self.parsers)

    def release(self) -> Iterator[tuple[float, list[str]]]:
        """The lines held, grouped by the time they arrived, oldest first; the hold is emptied."""
        held = self._held
        self.drop()
        for arrived, group in itertools.groupby(held, key=lambda item: item[0]):
            yield arrived, [line for _, line in group]

    def _sample(self, last: bool) -> list[str]:
        """The first (or last) DETECT_LINES non-blank held lines."""
        held = reversed(self._held) if last else iter(self._held)
        sample = list(itertools.islice((line for _, line in held if _nonblank(line)), DETECT_LINES))
        return sample[::-1] if last else sample
