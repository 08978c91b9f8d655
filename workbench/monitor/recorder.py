"""Recording what a board prints to CSV, and reading a recording back.

The file: a header `time,<channel>,...,events`, then one row per record: its time (seconds, as
the stream stamped it), its values (empty where the record had none; `nan` when the board printed
nan) and its events joined with `;` (empty when none). A disconnect is a row with the time, no
values and the event `disconnected` (GAP_EVENT).

Flushing: rows are handed to the operating system at least every FLUSH_INTERVAL_S (0.5 s) while
`write()` is called, by `gap()` at once, and by `close()`. `tick()` (or `write([])`) flushes when
a flush is due, so a stream calls it while the board is quiet: then a crash of the app or an
unplugged cable loses at most the last second of records. (A power cut may lose what the
operating system had not yet put on the disk.)

`write_batch()` takes a parser's Batch: its columnar parts are formatted a column block at a time
(`%r` of Python floats: the same text as row by row), so recording keeps up with a fast board.

Channels that appear late: the header is written at the first flush, FLUSH_INTERVAL_S after the
first record, so it names every channel seen in that first half second. A channel that appears after that starts a new file beside the
first, `<name>.part2.csv` (then part3, ...), whose header names every channel so far; earlier
parts are never rewritten. `read_recording(path)` reads the parts in order, as one recording.
Opening a recorder removes the parts an earlier recording at the same path left.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from itertools import pairwise, repeat
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import numpy as np

from workbench.core.errors import WorkbenchError
from workbench.monitor.parse import Batch, Columns, Part, Record

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 0.5
GAP_EVENT = "disconnected"
EVENT_SEPARATOR = ";"
TIME_COLUMN = "time"
EVENTS_COLUMN = "events"


def part_path(path: Path, number: int) -> Path:
    """The file holding part `number` of the recording at `path` (part 1 is `path` itself)."""
    if number == 1:
        return path
    return path.with_name(f"{path.stem}.part{number}{path.suffix}")


def recording_parts(path: Path) -> list[Path]:
    """The files of the recording at `path` that exist, in order."""
    parts: list[Path] = []
    while part_path(path, len(parts) + 1).exists():
        parts.append(part_path(path, len(parts) + 1))
    return parts


def _reason(error: OSError) -> str:
    return (error.strerror or str(error)).lower()


class CsvRecorder:
    """Writes records to a CSV recording; see the module docstring for the format and guarantees.

    Thread-safe: a processing thread writes while another may close. Writing after close() does
    nothing. Raises WorkbenchError (one sentence) when the file cannot be created or written.
    """

    def __init__(self, path: Path, channels: Sequence[str] = ()) -> None:
        """`channels`: named in the header first, in this order (others follow as they come)."""
        self.path = Path(path)
        self._lock = threading.Lock()
        self._pending: list[Part] = []
        self._channels: list[str] = []
        self._known: set[str] = set()
        self._parts: list[Path] = []
        self._file: IO[bytes] | None = None
        self._header_written = False
        self._closed = False
        self._rows = 0
        self._bytes_written = 0
        self._last_flush = time.monotonic()
        self._add_channels(channels)
        self._open_part()
        number = 2
        while part_path(self.path, number).exists():  # left by an earlier recording at this path
            part_path(self.path, number).unlink(missing_ok=True)
            number += 1

    # -- the public face ---------------------------------------------------------------------

    @property
    def rows(self) -> int:
        """Rows recorded so far (records and gaps, those waiting for the next flush included)."""
        with self._lock:
            return self._rows

    @property
    def bytes_written(self) -> int:
        """Bytes handed to the operating system so far, over all parts."""
        with self._lock:
            return self._bytes_written

    @property
    def parts(self) -> list[Path]:
        """The files of this recording so far: `path`, then any `.partN` files."""
        with self._lock:
            return list(self._parts)

    @property
    def channels(self) -> list[str]:
        """The channels the current part's header names (empty before the first flush)."""
        with self._lock:
            return list(self._channels)

    def write(self, records: Sequence[Record]) -> None:
        """Record these; flush when the last flush (before the first: the first record) is
        FLUSH_INTERVAL_S old. `write([])` flushes when that is due, too."""
        self._add([list(records)] if records else [], len(records))

    def write_batch(self, batch: Batch) -> None:
        """Record a parser's batch, as write() records its records."""
        self._add(list(batch.parts), len(batch))

    def tick(self) -> None:
        """Flush if a flush is due (what a stream calls while the board is quiet)."""
        self._add([], 0)

    def _add(self, parts: list[Part], rows: int) -> None:
        with self._lock:
            if self._closed:
                return
            if rows and not self._pending and not self._header_written:
                self._last_flush = time.monotonic()  # the header waits for this long of records
            self._pending.extend(parts)
            self._rows += rows
            if self._pending and time.monotonic() - self._last_flush >= FLUSH_INTERVAL_S:
                self._flush()

    def gap(self, time_s: float) -> None:
        """A disconnect at `time_s`: a row with no values and the event `disconnected`, flushed now."""
        with self._lock:
            if self._closed:
                return
            self._pending.append([Record(time_s, {}, (GAP_EVENT,))])
            self._rows += 1
            self._flush()

    def close(self) -> None:
        """Write what is pending and close the file; the header is written even with no rows."""
        with self._lock:
            if self._closed:
                return
            try:
                self._flush()
            finally:
                self._closed = True
                if self._file is not None:
                    self._file.close()
                    self._file = None

    def close_quietly(self) -> None:
        """close(), a failure logged rather than raised (the stream goes on without the recording)."""
        try:
            self.close()
        except (OSError, WorkbenchError):
            log.warning("closing the recording %s failed", self.path, exc_info=True)

    def __enter__(self) -> CsvRecorder:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    # -- inside the lock ---------------------------------------------------------------------

    def _open_part(self) -> None:
        path = part_path(self.path, len(self._parts) + 1)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("wb")
        except OSError as error:
            raise WorkbenchError(
                f"Cannot write the recording {path}: {_reason(error)}.",
                hint="Choose a file in a folder you can write to.",
                details=str(error),
            ) from error
        self._parts.append(path)

    def _flush(self) -> None:
        """Write the pending records (the header first, a new part for new channels) and flush."""
        pending, self._pending = self._pending, []
        self._last_flush = time.monotonic()
        try:
            if not self._header_written:
                for part in pending:
                    if isinstance(part, Columns):
                        self._add_channels(part.values)
                        continue
                    for record in part:
                        if not self._known.issuperset(record.values):
                            self._add_channels(record.values)
                self._emit(self._header())
                self._header_written = True
            for part in pending:
                if isinstance(part, Columns):
                    if not self._known.issuperset(part.values):
                        self._next_part(part.values)
                    self._emit(self._format_columns(part))
                    continue
                start = 0
                for index, record in enumerate(part):
                    if not self._known.issuperset(record.values):
                        self._emit(self._format(part[start:index]))
                        start = index
                        self._next_part(record.values)
                self._emit(self._format(part[start:]))
            if self._file is not None:
                self._file.flush()
        except OSError as error:
            self._closed = True
            if self._file is not None:
                with contextlib.suppress(OSError):  # its buffer cannot be written either
                    self._file.close()
                self._file = None
            raise WorkbenchError(
                f"Could not write the recording {self._parts[-1]}: {_reason(error)}.",
                hint="Check the free space and that the drive is still there; the rows before this are saved.",
                details=str(error),
            ) from error

    def _next_part(self, names: Iterable[str]) -> None:
        """Close this part and start the next, whose header adds the channels in `names`."""
        if self._file is not None:
            self._file.flush()
            self._file.close()
            self._file = None
        self._add_channels(names)
        self._open_part()
        log.info("channel(s) appeared mid-recording: continuing in %s", self._parts[-1])
        self._emit(self._header())

    def _add_channels(self, names: Iterable[str]) -> None:
        for name in names:
            if name not in self._known:
                self._known.add(name)
                self._channels.append(name)

    def _header(self) -> str:
        return self._csv([[TIME_COLUMN, *self._channels, EVENTS_COLUMN]])

    def _format(self, records: Sequence[Record]) -> str:
        channels = self._channels
        return self._csv(
            [
                [record.time, *map(record.values.get, channels, repeat("")), EVENT_SEPARATOR.join(record.events)]
                for record in records
            ]
        )

    def _format_columns(self, part: Columns) -> str:
        """A columnar part's rows: the same text `_format` gives its records, a block at a time.
        Its channels are all in the header (a float's `%r` is what the csv module writes)."""
        values = part.values
        row = ",".join(["%r" if name in values else "" for name in self._channels]) + ",\n"
        block = np.column_stack([values[name] for name in self._channels if name in values])
        times = part.times
        bounds = [0, *(np.flatnonzero(np.diff(times)) + 1).tolist(), len(times)]
        texts = []
        for start, stop in pairwise(bounds):  # rows of one time share its text
            line = f"{float(times[start])!r},{row}"
            texts.append((line * (stop - start)) % tuple(block[start:stop].ravel().tolist()))
        return "".join(texts)

    @staticmethod
    def _csv(rows: list[list[object]]) -> str:
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(rows)
        return text.getvalue()

    def _emit(self, text: str) -> None:
        if not text or self._file is None:
            return
        data = text.encode("utf-8")
        self._file.write(data)
        self._bytes_written += len(data)


def write_view(path: Path, times: np.ndarray, values: dict[str, np.ndarray]) -> int:
    """Write samples (a plot's view: `values[name][i]` at `times[i]`, NaN where a channel has
    none) as a recording in the one format above, which read_recording reads back; returns the
    rows written. The file appears whole or not at all. Raises WorkbenchError, one sentence."""
    path = Path(path)
    writing = path.with_name(f".{path.stem}.writing{path.suffix}")
    names = list(values)
    columns = [np.asarray(values[name], dtype=np.float64) for name in names]
    records = [
        Record(
            float(moment),
            {name: float(column[row]) for name, column in zip(names, columns, strict=True) if np.isfinite(column[row])},
        )
        for row, moment in enumerate(np.asarray(times, dtype=np.float64))
    ]
    try:
        with CsvRecorder(writing, channels=names) as recorder:
            recorder.write(records)
        writing.replace(path)
    except OSError as error:
        raise WorkbenchError(f"Cannot write {path}: {_reason(error)}.", details=str(error)) from error
    except WorkbenchError as error:  # said of the file being written: say it of the one asked for
        raise WorkbenchError(f"Cannot write {path}.", error.hint, error.message) from error
    finally:
        writing.unlink(missing_ok=True)
    return len(records)


def read_recording(path: Path) -> list[Record]:
    """The records of a recording (all its parts, in order); gaps come back as records with no
    values and the event `disconnected`. Raises WorkbenchError (one sentence) for a file that is
    missing or is not a recording."""
    return list(iter_recording(path))


def iter_recording(path: Path) -> Iterator[Record]:
    """The records of a recording one by one, as `read_recording` gives them, without holding
    the whole file in memory. A last row cut short (a crash mid-write) is left out."""
    path = Path(path)
    if not path.is_file():
        raise WorkbenchError(f"Cannot read the recording {path}: there is no such file.")
    for part in recording_parts(path):
        yield from _read_part(part)


def _read_part(path: Path) -> Iterator[Record]:
    try:
        handle = path.open(newline="", encoding="utf-8", errors="replace")
    except OSError as error:
        raise WorkbenchError(f"Cannot read the recording {path}: {_reason(error)}.", details=str(error)) from error
    with handle:
        try:
            yield from _parse_part(path, csv.reader(handle))
        except csv.Error as error:
            raise WorkbenchError(f"{path} is not a readable CSV recording: {error}.", details=str(error)) from error


def _parse_part(path: Path, rows: Any) -> Iterator[Record]:
    """Records from the csv rows of one part (`rows` is a csv reader: it knows its line number)."""
    header = next(rows, None)
    if not header or header[0].strip() != TIME_COLUMN:
        raise WorkbenchError(
            f"{path} is not a recording: its first line should start with the column '{TIME_COLUMN}'.",
            hint="Recordings are the CSV files the Monitor writes (`monitor --record`).",
        )
    has_events = len(header) > 1 and header[-1].strip() == EVENTS_COLUMN
    channels = header[1 : len(header) - 1] if has_events else header[1:]
    previous: tuple[int, list[str]] | None = None
    for row in rows:
        if previous is not None:
            yield _record(path, *previous, channels, has_events, len(header))
        previous = (rows.line_num, row) if row else None
    if previous is not None and len(previous[1]) == len(header):
        yield _record(path, *previous, channels, has_events, len(header))


def _number(path: Path, line: int, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise WorkbenchError(f"{path}, line {line}: {text!r} is not a number.") from None


def _record(path: Path, line: int, row: list[str], channels: list[str], has_events: bool, width: int) -> Record:
    if len(row) != width:
        raise WorkbenchError(f"{path}, line {line}: {len(row)} fields where the header has {width}.")
    values = {name: _number(path, line, text) for name, text in zip(channels, row[1:], strict=False) if text != ""}
    events = tuple(row[-1].split(EVENT_SEPARATOR)) if has_events and row[-1] else ()
    return Record(_number(path, line, row[0]), values, events)
