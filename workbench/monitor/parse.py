"""The Parser contract: turning the lines a board prints into Records, and choosing a parser.

A parser plugin is a subclass of `Parser` in a file under a plugin folder's `parsers/`, or named
by an entry point (see workbench/plugins.py). It declares `name` and `description`, and implements:

- `sniff(lines)`: how sure it is, 0..1, that these lines (a sample of what the board printed) are
  its format; `detect()` picks the surest parser;
- `feed(line, time)`: the Records in one line (none for a line that is not data, such as a boot
  message). `time` is when the line arrived, in seconds, given by the reader so that parsing
  stays free of clocks.

and may offer:

- `feed_lines(lines, time) -> Batch`: the records of many lines that arrived together. The default
  feeds them one by one; a parser reads a run of lines of one shape faster at once (numpy), which
  is what lets the monitor keep up with a board printing hundreds of thousands of lines a second.
  It must give exactly the records `feed()` would, in order, and count what `feed()` would count.
- `flush() -> list[Record]`: the records of lines it is still holding (a prediction block waits
  for the line after it); the stream calls it when the board stops (stop, unplug).
- `malformed`: an int attribute, the lines of its own format it could not read (a row with a
  field missing, a cut JSON object). The stream's malformed count is built on it: lines that are
  simply not this format (boot text, `error: ...` lines, a prediction block's other lines) are
  not data and not malformed. A parser without the attribute counts none.
- `multiline`: a class attribute, True when a record takes several lines (a prediction block):
  then a line that gives no record is not taken for one the board garbled.

A parser may keep state between lines (column names from a header); each stream gets a fresh one.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from workbench.core.names import unknown_name

log = logging.getLogger(__name__)

DETECT_THRESHOLD = 0.5


@dataclass(frozen=True)
class Record:
    """Named values a board printed at one time (seconds), and the events it reported then
    (a keyword heard: "yes"); a record may carry only events."""

    time: float
    values: dict[str, float]
    events: tuple[str, ...] = ()


class Columns:
    """Records in columnar form: record i is at `times[i]` with `values[name][i]` for every name
    (float64 arrays of one length; every record has every channel, NaN only where the board
    printed nan) and no events. What a fast `feed_lines` gives for lines of one shape."""

    __slots__ = ("times", "values")

    def __init__(self, times: np.ndarray, values: dict[str, np.ndarray]) -> None:
        self.times = times
        self.values = values

    def __len__(self) -> int:
        return len(self.times)

    def records(self, start: int = 0) -> list[Record]:
        """The records from the `start`-th on, as Record objects."""
        names = list(self.values)
        times = self.times[start:].tolist()
        if not names:
            return [Record(time, {}) for time in times]
        rows = np.column_stack([self.values[name][start:] for name in names]).tolist()
        return [Record(time, dict(zip(names, row, strict=True))) for time, row in zip(times, rows, strict=True)]


Part = Columns | list[Record]


class Batch:
    """The records of a run of lines, in order, as parts: `Columns` (the fast, columnar form) or
    lists of `Record`s; and `malformed`, how many of the lines were of the parser's format but
    could not be read. Record objects are made only when asked for (`records()`)."""

    def __init__(self, records: Sequence[Record] = (), *, malformed: int = 0) -> None:
        self.parts: list[Part] = [list(records)] if records else []
        self.malformed = malformed
        self._count = len(records)

    @classmethod
    def of_parts(cls, parts: Sequence[Part]) -> Batch:
        batch = cls()
        for part in parts:
            if isinstance(part, Columns):
                batch.add_columns(part)
            else:
                batch.add(part)
        return batch

    @classmethod
    def of_columns(cls, times: np.ndarray, values: dict[str, np.ndarray], *, malformed: int = 0) -> Batch:
        batch = cls(malformed=malformed)
        batch.add_columns(Columns(times, values))
        return batch

    def __len__(self) -> int:
        """How many records."""
        return self._count

    def add(self, records: Sequence[Record]) -> None:
        if not records:
            return
        last = self.parts[-1] if self.parts else None
        if isinstance(last, list):
            last.extend(records)
        else:
            self.parts.append(list(records))
        self._count += len(records)

    def add_columns(self, columns: Columns) -> None:
        if len(columns):
            self.parts.append(columns)
            self._count += len(columns)

    def extend(self, other: Batch) -> None:
        """Add `other`'s records after these, and its malformed count."""
        for part in other.parts:
            if isinstance(part, Columns):
                self.add_columns(part)
            else:
                self.add(part)
        self.malformed += other.malformed

    def compact(self) -> None:
        """Join neighbouring Columns parts of the same channels into one (fewer, larger writes)."""
        if sum(isinstance(part, Columns) for part in self.parts) < 2:
            return
        parts: list[Part] = []
        run: list[Columns] = []
        for part in [*self.parts, []]:
            if run and not (isinstance(part, Columns) and list(part.values) == list(run[0].values)):
                parts.append(_join(run))
                run = []
            if isinstance(part, Columns):
                run.append(part)
            elif part:
                parts.append(part)
        self.parts = parts

    def records(self, last: int | None = None) -> list[Record]:
        """The records (the last `last` of them when given), oldest first, as Record objects."""
        wanted = self._count if last is None else max(0, min(last, self._count))
        out: list[list[Record]] = []
        for part in reversed(self.parts):
            if wanted <= 0:
                break
            size = len(part)
            start = max(0, size - wanted)
            out.append(part.records(start) if isinstance(part, Columns) else part[start:])
            wanted -= size - start
        return [record for chunk in reversed(out) for record in chunk]


def _join(run: list[Columns]) -> Columns:
    if len(run) == 1:
        return run[0]
    return Columns(
        np.concatenate([part.times for part in run]),
        {name: np.concatenate([part.values[name] for part in run]) for name in run[0].values},
    )


class Parser(ABC):
    """Base of every parser plugin; see the module docstring for the contract."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    multiline: ClassVar[bool] = False

    @abstractmethod
    def sniff(self, lines: list[str]) -> float:
        """Confidence 0..1 that `lines` are in this parser's format."""

    @abstractmethod
    def feed(self, line: str, time: float) -> list[Record]:
        """The Records in one line of text (without its line ending); [] when it holds none."""

    def feed_lines(self, lines: list[str], time: float) -> Batch:
        """The records of `lines` (all arrived at `time`) and how many of them were malformed.

        This default feeds them one at a time; the malformed count is what `self.malformed`
        grew by, plus the lines `feed()` raised on (logged; they give nothing)."""
        return feed_each(self, lines, time)

    def flush(self) -> list[Record]:
        """The records of lines still held (the board stopped); none by default."""
        return []


def malformed_count(parser: Parser) -> int:
    """The parser's own count of malformed lines (0 for a parser that keeps none)."""
    try:
        return int(getattr(parser, "malformed", 0))
    except (TypeError, ValueError):
        return 0


def feed_each(parser: Parser, lines: list[str], time: float) -> Batch:
    """`lines` fed to `parser.feed` one at a time, as a Batch (see Parser.feed_lines)."""
    before = malformed_count(parser)
    records: list[Record] = []
    failed = 0
    feed = parser.feed
    for line in lines:
        try:
            found = feed(line, time)
        except Exception:  # noqa: BLE001 - plugin code: one bad line must not stop the stream
            log.debug("parser %r failed on %r", parser.name, line, exc_info=True)
            failed += 1
            continue
        if found:
            records += found
    return Batch(records, malformed=failed + max(0, malformed_count(parser) - before))


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


def feed_safely(parser: Parser, lines: list[str], time: float) -> Batch:
    """The parser's batch for `lines` (all arrived at `time`). A `feed_lines` that fails, or gives
    something other than a Batch, is replaced by feeding the lines one by one."""
    try:
        batch = parser.feed_lines(lines, time)
    except Exception:  # noqa: BLE001 - plugin code: fall back to one line at a time
        log.warning("parser %r failed on a batch of lines", parser.name, exc_info=True)
    else:
        if isinstance(batch, Batch):
            return batch
        log.warning("parser %r: feed_lines gave %s, not a Batch", parser.name, type(batch).__name__)
    return feed_each(parser, lines, time)


def parser_named(parsers: Sequence[Parser], name: str) -> Parser:
    """The parser called `name`; WorkbenchError naming the closest and the known ones for none."""
    for parser in parsers:
        if parser.name == name:
            return parser
    raise unknown_name("parser", name, [parser.name for parser in parsers])
