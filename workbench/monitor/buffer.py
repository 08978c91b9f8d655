"""The ring buffer the Monitor page plots from: the newest samples of every channel, in numpy.

One row per record that has values: a time (float64 seconds) and one value per channel
(float32: a plot needs no more, and the recording keeps what the board printed). A channel
missing from a record is NaN in that row, so a channel that appears later is NaN before it;
`mark_gap()` adds a row that is NaN everywhere, so a plot drawing finite points only breaks its
line at a disconnect. Records that carry only events add no row; their events, and those of
every record, go to a bounded list for the label timeline.

Storage grows in doubling blocks up to `capacity` rows and then wraps, dropping the oldest
rows; `append()` builds one column array per batch, so the cost per record is a few dict
look-ups, and `append_batch()` takes a parser's columns as they are (numpy copies, no Record
objects): the stream's path. One lock guards everything: a processing thread appends while the screen's timer
calls `view()`, which hands out copies. Times are expected not to go backwards (the reader's
clock); `last_s` windows count back from the newest time seen.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Sequence
from itertools import repeat
from operator import itemgetter

import numpy as np

from workbench.monitor.parse import Batch, Columns, Record
from workbench.monitor.pyramid import MinMaxPyramid

DEFAULT_CAPACITY = 1_000_000
EVENTS_CAPACITY = 10_000
FIRST_BLOCK_ROWS = 4096
REDUCE_ABOVE = 4  # overview(): samples a bucket beyond which they are reduced to minimum and maximum
VALUE_DTYPE = np.float32

_NAN = math.nan


def _columns(records: Sequence[Record]) -> tuple[list[str], np.ndarray]:
    """The channel names in a batch (first seen first) and its values, one row per record.

    The common case, every record naming the same channels, takes one C-level look-up per
    record; otherwise each missing value is NaN.
    """
    keys = records[0].values.keys()
    if all(record.values.keys() == keys for record in records):
        names = list(keys)
        if len(names) == 1:
            name = names[0]
            return names, np.array([record.values[name] for record in records], dtype=np.float64).reshape(-1, 1)
        get = itemgetter(*names)
        return names, np.array([get(record.values) for record in records], dtype=np.float64)
    names = list(dict.fromkeys(name for record in records for name in record.values))
    rows = [tuple(map(record.values.get, names, repeat(_NAN))) for record in records]
    return names, np.array(rows, dtype=np.float64).reshape(len(records), len(names))


class SampleBuffer:
    """Thread-safe ring buffer of samples per channel; see the module docstring."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, *, events_capacity: int = EVENTS_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, not {capacity}")
        self.capacity = capacity
        self._lock = threading.Lock()
        self._events: deque[tuple[float, str]] = deque(maxlen=events_capacity)
        self._total = 0
        self._pyramid = MinMaxPyramid(capacity, VALUE_DTYPE)
        self._reset()

    def _reset(self) -> None:
        self._allocated = min(self.capacity, FIRST_BLOCK_ROWS)
        self._times = np.empty(self._allocated, dtype=np.float64)
        self._values: dict[str, np.ndarray] = {}
        self._start = 0  # storage index of the oldest row
        self._size = 0
        self._rows = 0  # rows stored since the reset: row n is at storage index n % allocated
        self._pyramid.reset()
        self._latest = -math.inf
        self._events.clear()

    # -- writing ---------------------------------------------------------------------------

    def append(self, records: Sequence[Record]) -> None:
        """Add records: a row for each with values (NaN for channels it lacks), their events to
        the timeline. A channel seen for the first time is NaN in every earlier row."""
        if not records:
            return
        with self._lock:
            self._append(records)
            self._catch_up()

    def append_batch(self, batch: Batch) -> None:
        """Add a parser's batch of records, in order, as `append()` adds records: its columnar
        parts are copied in column by column."""
        if not len(batch):
            return
        with self._lock:
            for part in batch.parts:
                if isinstance(part, Columns):
                    self._total += len(part)
                    self._write(part.times, part.values)
                else:
                    self._append(part)
            self._catch_up()

    def _append(self, records: Sequence[Record]) -> None:
        """append() with the lock held."""
        with_values = [record for record in records if record.values]
        self._total += len(records)
        if len(with_values) == 1:
            self._write_one(with_values[0])
        elif with_values:
            times = np.fromiter((record.time for record in with_values), np.float64, len(with_values))
            names, block = _columns(with_values)
            self._write(times, dict(zip(names, block.T, strict=True)))
        events = [(record.time, event) for record in records for event in record.events]
        if events:
            self._events.extend(events)
            self._latest = max(self._latest, max(time for time, _ in events))

    def mark_gap(self, time: float) -> None:
        """A disconnect at `time`: a row that is NaN in every channel, so plots break their lines."""
        with self._lock:
            self._total += 1
            self._write(np.array([time], dtype=np.float64), {})
            self._catch_up()

    def clear(self) -> None:
        """Forget every row, channel and event (`total` goes on counting)."""
        with self._lock:
            self._reset()

    def _write(self, times: np.ndarray, columns: dict[str, np.ndarray]) -> None:
        """Store rows (lock held): `columns[name]` holds that channel's values, one per time;
        other channels get NaN."""
        count = len(times)
        self._latest = max(self._latest, float(times[-1]) if count == 1 else float(times.max()))
        if count > self.capacity:  # only the newest rows of a huge batch can stay
            keep = self.capacity
            times, count = times[-keep:], keep
            columns = {name: column[-keep:] for name, column in columns.items()}
        self._reserve(self._size + count)
        for name in columns:
            if name not in self._values:
                self._add_channel(name)
        end = (self._start + self._size) % self._allocated
        first = min(count, self._allocated - end)
        for target, source in (
            (slice(end, end + first), slice(0, first)),
            (slice(0, count - first), slice(first, count)),
        ):
            if target.stop <= target.start:
                continue
            self._times[target] = times[source]
            for name, stored in self._values.items():
                column = columns.get(name)
                stored[target] = _NAN if column is None else column[source]
        self._rows += count
        overflow = self._size + count - self._allocated
        if overflow > 0:
            self._start = (self._start + overflow) % self._allocated
            self._size = self._allocated
        else:
            self._size += count

    def _write_one(self, record: Record) -> None:
        """Store one record's row (lock held): scalar stores, cheaper than a block of one."""
        self._latest = max(self._latest, record.time)
        self._reserve(self._size + 1)
        for name in record.values:
            if name not in self._values:
                self._add_channel(name)
        position = (self._start + self._size) % self._allocated
        self._times[position] = record.time
        get = record.values.get
        for name, stored in self._values.items():
            stored[position] = get(name, _NAN)
        self._rows += 1
        if self._size == self._allocated:
            self._start = (self._start + 1) % self._allocated
        else:
            self._size += 1

    def _add_channel(self, name: str) -> None:
        self._values[name] = np.full(self._allocated, _NAN, dtype=VALUE_DTYPE)
        self._pyramid.add_channel(name)

    def _catch_up(self) -> None:
        """Bring the min/max pyramid up to the newest row (lock held; O(1) a row, amortised)."""
        self._pyramid.catch_up(self._values, self._allocated, self._rows - self._size, self._rows)

    def _reserve(self, rows: int) -> None:
        """Grow the storage (doubling, up to capacity) so that `rows` rows fit, if they can."""
        if rows <= self._allocated or self._allocated == self.capacity:
            return
        # Storage only wraps once it has reached capacity, so here the rows start at index 0.
        size = min(self.capacity, max(rows, 2 * self._allocated))
        times = np.empty(size, dtype=np.float64)
        times[: self._size] = self._times[: self._size]
        self._times = times
        for name, stored in self._values.items():
            grown = np.full(size, _NAN, dtype=VALUE_DTYPE)
            grown[: self._size] = stored[: self._size]
            self._values[name] = grown
        self._allocated = size

    # -- reading ---------------------------------------------------------------------------

    @property
    def channels(self) -> list[str]:
        """Channel names, in the order they first appeared."""
        with self._lock:
            return list(self._values)

    @property
    def total(self) -> int:
        """Records ever appended (those with only events too) plus gaps marked; clear() does not
        reset it, so a screen can redraw only when it changed."""
        with self._lock:
            return self._total

    @property
    def size(self) -> int:
        """Rows held now (at most `capacity`)."""
        with self._lock:
            return self._size

    def view(
        self,
        channels: Sequence[str] | None = None,
        last_s: float | None = None,
        *,
        between: tuple[float, float] | None = None,
        last_rows: int | None = None,
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Copies of the rows held, oldest first: the times, and each channel's values (NaN where
        it had none; all NaN for a channel the buffer does not know). `channels` None means all;
        `last_s` keeps the rows no older than that many seconds before the newest time seen,
        `between` (first, last) the rows timed from first to last, and `last_rows` the newest
        that many of those."""
        with self._lock:
            names = self._names(channels)
            first, end = self._range(last_s, between)
            if last_rows is not None:
                first = max(first, end - max(last_rows, 0))
            return self._copy(first, end, names)

    def overview(
        self,
        buckets: int,
        channels: Sequence[str] | None = None,
        last_s: float | None = None,
        *,
        between: tuple[float, float] | None = None,
    ) -> tuple[np.ndarray, dict[str, np.ndarray], bool]:
        """The rows `view()` would give (`between` with one more row on each side, so that lines
        reach the edges), for a plot `buckets` pixels wide: as they are while they are at most
        REDUCE_ABOVE a bucket, else reduced by the min/max pyramid to at most `buckets + 2`
        stretches, each drawn at its first row's time as its minimum then its maximum. The cost
        is O(buckets) whatever the rows held. The third value says whether it was reduced."""
        with self._lock:
            names = self._names(channels)
            first, end = self._range(last_s, between)
            if between is not None:
                first, end = max(first - 1, 0), min(end + 1, self._size)
            if end - first <= REDUCE_ABOVE * max(buckets, 1):
                return *self._copy(first, end, names), False
            held = [name for name in names if name in self._values]
            oldest = self._rows - self._size
            times, values = self._pyramid.reduce(
                self._times, self._values, held, self._allocated, oldest + first, oldest + end, buckets
            )
        nothing = np.full(len(times), _NAN, dtype=VALUE_DTYPE)
        return times, {name: values.get(name, nothing) for name in names}, True

    def row_near(self, time: float) -> tuple[float, dict[str, float]] | None:
        """The row held whose time is nearest `time` (the earlier one on a tie): its time and
        its finite values; None when the buffer holds no row."""
        with self._lock:
            if not self._size:
                return None
            after = self._count_before(time, "left")
            if after == self._size or after > 0 and time - self._time_at(after - 1) <= self._time_at(after) - time:
                after -= 1
            index = (self._start + after) % self._allocated
            values = {
                name: float(column[index]) for name, column in self._values.items() if math.isfinite(column[index])
            }
            return float(self._times[index]), values

    def events(self, last_s: float | None = None) -> list[tuple[float, str]]:
        """(time, label) of the events held (the newest `events_capacity`), oldest first;
        `last_s` keeps those no older than that many seconds before the newest time seen."""
        with self._lock:
            if last_s is None:
                return list(self._events)
            cutoff = self._latest - last_s
            recent: list[tuple[float, str]] = []
            for event in reversed(self._events):
                if event[0] < cutoff:
                    break
                recent.append(event)
        recent.reverse()
        return recent

    def _names(self, channels: Sequence[str] | None) -> list[str]:
        return list(self._values) if channels is None else list(channels)

    def _range(self, last_s: float | None, between: tuple[float, float] | None) -> tuple[int, int]:
        """The rows (counted from the oldest held) that `last_s` and `between` keep: first, end."""
        first, end = 0, self._size
        if last_s is not None:
            first = self._count_before(self._latest - last_s, "left")
        if between is not None:
            first = max(first, self._count_before(between[0], "left"))
            end = max(min(end, self._count_before(between[1], "right")), first)
        return first, end

    def _copy(self, first: int, end: int, names: list[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Copies of the rows from the `first`-th oldest to the one before the `end`-th: their
        times and each named channel's values (all NaN for a channel the buffer does not know)."""
        parts = self._segments(first, end)
        times = self._gather(self._times, parts)
        values = {
            name: self._gather(self._values[name], parts)
            if name in self._values
            else np.full(len(times), _NAN, dtype=VALUE_DTYPE)
            for name in names
        }
        return times, values

    def _time_at(self, row: int) -> float:
        return float(self._times[(self._start + row) % self._allocated])

    def _segments(self, first: int, end: int) -> list[slice]:
        """Storage slices holding the rows from the `first`-th oldest to the one before the
        `end`-th, in order."""
        begin = self._start + first
        end = self._start + end
        if end <= self._allocated:
            return [slice(begin, end)]
        if begin >= self._allocated:
            return [slice(begin - self._allocated, end - self._allocated)]
        return [slice(begin, self._allocated), slice(0, end - self._allocated)]

    @staticmethod
    def _gather(array: np.ndarray, parts: list[slice]) -> np.ndarray:
        if len(parts) == 1:
            return array[parts[0]].copy()
        return np.concatenate([array[part] for part in parts])

    def _count_before(self, cutoff: float, side: str) -> int:
        """How many of the oldest rows are timed before `cutoff` (side "left") or at or before it
        ("right"); times are in order, in at most two storage segments."""
        position = 0
        for part in self._segments(0, self._size):
            segment = self._times[part]
            found = int(np.searchsorted(segment, cutoff, side=side))  # type: ignore[call-overload]
            position += found
            if found < len(segment):
                break
        return position
