"""The Parser contract: turning the lines a board prints into Records, and choosing a parser.

A parser plugin is a subclass of `Parser` in a file under a plugin folder's `parsers/`, or named
by an entry point (see workbench/plugins.py). It declares `name` and `description`, and implements:

- `sniff(lines)`: how sure it is, 0..1, that these lines (a sample of what the board printed) are
  its format; `detect()` picks the surest parser;
- `feed(line, time)`: the Records in one line (none for a line that is not data, such as a boot
  message). `time` is when the line arrived, in seconds, given by the reader so that parsing
  stays free of clocks.

A parser may keep state between lines (column names from a header); each stream gets a fresh one.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

log = logging.getLogger(__name__)

DETECT_THRESHOLD = 0.5


@dataclass(frozen=True)
class Record:
    """Named values a board printed at one time (seconds), and the events it reported then
    (a keyword heard: "yes"); a record may carry only events."""

    time: float
    values: dict[str, float]
    events: tuple[str, ...] = ()


class Parser(ABC):
    """Base of every parser plugin; see the module docstring for the contract."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    @abstractmethod
    def sniff(self, lines: list[str]) -> float:
        """Confidence 0..1 that `lines` are in this parser's format."""

    @abstractmethod
    def feed(self, line: str, time: float) -> list[Record]:
        """The Records in one line of text (without its line ending); [] when it holds none."""


def number(text: str) -> float | None:
    """`text` as a float (nan and inf included: Arduino prints them), or None when it is not a number."""
    try:
        return float(text)
    except ValueError:
        return None


def detect(lines: list[str], parsers: Sequence[Parser], threshold: float = DETECT_THRESHOLD) -> Parser | None:
    """The parser surest about `lines` (the first on a tie), or None when none reaches `threshold`.

    A parser whose sniff() fails is left out (and logged): one broken plugin must not stop the monitor.
    """
    best: Parser | None = None
    best_score = threshold
    for parser in parsers:
        try:
            score = float(parser.sniff(lines))
        except Exception:  # noqa: BLE001 - plugin code: any failure means "not this parser"
            log.warning("parser %r failed to sniff", parser.name, exc_info=True)
            continue
        if score > best_score or (best is None and score >= best_score):
            best, best_score = parser, score
    return best
