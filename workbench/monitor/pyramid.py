"""A min/max pyramid over the sample buffer's rows, so a plot of any stretch costs O(pixels).

Rows are numbered from 0 in the order they were stored (the buffer's `rows`); row `n` lives at
storage index `n % allocated`. Level 1 holds, per channel, the minimum and the maximum of every
aligned block of FACTOR rows (block `k` covers rows `k*FACTOR ... k*FACTOR + FACTOR - 1`), level 2
of every block of FACTOR**2 rows (from level 1's blocks), and so on while a block fits in the
capacity. Each level is a ring of `capacity // size + 2` blocks, enough for every block whose rows
are all held. `catch_up()` summarises the blocks completed since it last ran, so keeping the
pyramid costs O(1) a row, amortised, on the thread that writes; `reduce()` answers a row range
with at most `buckets + 2` stretches, each as its minimum and its maximum (`interleave`), reading at most
FACTOR * buckets blocks of one level plus the raw rows at its two ends.

NaN is passed over (np.fmin / np.fmax): a stretch with no value at all stays NaN, so a gap still
breaks a line drawn with connect="finite".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FACTOR = 16


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


class Groups:
    """Groups of `per` entries from entry `start` to `stop - 1` of a ring of `ring` entries (entry
    `n` at index `n % ring`; the last group may be shorter): the index arrays are made once and
    serve every channel."""

    def __init__(self, ring: int, start: int, stop: int, per: int) -> None:
        entries = np.arange(start, stop) % ring
        whole = (stop - start) // per * per
        self.whole = entries[:whole].reshape(-1, per) if whole else None
        self.rest = entries[whole:] if whole < stop - start else None

    def extremes(self, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The minimum and the maximum of each group: `low` and `high` hold the entries' minima
        and maxima (the same array for plain samples)."""
        lows, highs = [], []
        if self.whole is not None:
            lows.append(np.fmin.reduce(low[self.whole], axis=1))
            highs.append(np.fmax.reduce(high[self.whole], axis=1))
        if self.rest is not None:
            lows.append(np.fmin.reduce(low[self.rest], keepdims=True))
            highs.append(np.fmax.reduce(high[self.rest], keepdims=True))
        if len(lows) == 1:
            return lows[0], highs[0]
        return np.concatenate(lows), np.concatenate(highs)


def interleave(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Each stretch as two points, its minimum and its maximum: low[0], high[0], then high[1],
    low[1], then low[2], high[2]... Alternating the order makes the line from one stretch to the
    next run along the edge of the band the samples fill (maximum to maximum, minimum to
    minimum) instead of across it, which draws the same band with about half the ink."""
    pairs = np.column_stack((low, high))
    pairs[1::2] = pairs[1::2, ::-1]
    return pairs.ravel()


def peak_decimate(x: np.ndarray, columns: Sequence[np.ndarray], buckets: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """`x` and `columns` reduced to `buckets` stretches of equal count, each drawn at its first x
    as its minimum and its maximum (`interleave`); unchanged when there are fewer than two samples
    a stretch."""
    size = x.size
    per = _ceil_div(size, max(buckets, 1))
    if per < 2:
        return x, list(columns)
    groups = Groups(size, 0, size, per)
    reduced = [interleave(*groups.extremes(column, column)) for column in columns]
    return np.repeat(x[::per], 2), reduced


class MinMaxPyramid:
    """The levels of block minima and maxima over a ring buffer's channels; see the module docstring."""

    def __init__(self, capacity: int, dtype: type) -> None:
        self.dtype = dtype
        self.sizes: list[int] = []  # rows a block holds, level by level (level 1 first)
        size = FACTOR
        while size <= capacity:
            self.sizes.append(size)
            size *= FACTOR
        self.slots = [capacity // size + 2 for size in self.sizes]
        self.reset()

    def reset(self) -> None:
        self._low: list[dict[str, np.ndarray]] = [{} for _ in self.sizes]
        self._high: list[dict[str, np.ndarray]] = [{} for _ in self.sizes]
        self._done = [0 for _ in self.sizes]  # blocks summarised so far, level by level

    def add_channel(self, name: str) -> None:
        """A channel the buffer has just begun to hold: NaN in every block so far."""
        for level, slots in enumerate(self.slots):
            self._low[level][name] = np.full(slots, np.nan, dtype=self.dtype)
            self._high[level][name] = np.full(slots, np.nan, dtype=self.dtype)

    def catch_up(self, values: dict[str, np.ndarray], allocated: int, first: int, end: int) -> None:
        """Summarise the blocks completed since the last call: `values` is the buffer's storage
        (`allocated` rows a channel), holding rows `first` to `end - 1` now."""
        if not self.sizes or end // FACTOR <= self._done[0]:
            return
        for level, size in enumerate(self.sizes):
            start = max(self._done[level], _ceil_div(first, size))
            stop = end // size
            if stop <= start:
                self._done[level] = max(self._done[level], stop)
                continue
            low, high = self._low[level], self._high[level]
            targets = np.arange(start, stop) % self.slots[level]
            if level == 0:  # from the rows themselves
                groups = Groups(allocated, start * size, stop * size, size)
                for name, column in values.items():
                    low[name][targets], high[name][targets] = groups.extremes(column, column)
            else:  # from the FACTOR blocks of the level below
                groups = Groups(self.slots[level - 1], start * FACTOR, stop * FACTOR, FACTOR)
                below_low, below_high = self._low[level - 1], self._high[level - 1]
                for name in values:
                    low[name][targets], high[name][targets] = groups.extremes(below_low[name], below_high[name])
            self._done[level] = stop

    def reduce(
        self,
        times: np.ndarray,
        values: dict[str, np.ndarray],
        names: list[str],
        allocated: int,
        first: int,
        end: int,
        buckets: int,
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Rows `first` to `end - 1` in at most `buckets + 2` stretches: for each, its first row's
        time twice, and per channel its minimum and its maximum, `interleave`d (`names` must all be in
        `values`). The stretches are whole blocks of the coarsest level that has at least
        `buckets` of them in the range, grouped evenly, plus the rows before the first whole
        block and after the last one, if any."""
        buckets = max(buckets, 1)
        level, size, start, stop = -1, 1, first, end  # level -1: the rows, blocks of one row
        for index, block in enumerate(self.sizes):
            whole_from, whole_to = _ceil_div(first, block), min(end // block, self._done[index])
            if whole_to - whole_from >= buckets:
                level, size, start, stop = index, block, whole_from, whole_to
        per = _ceil_div(stop - start, buckets)
        # The stretches: the rows before the first whole block, groups of `per` blocks, the rows after.
        head = Groups(allocated, first, start * size, start * size - first) if start * size > first else None
        middle = Groups(allocated if level < 0 else self.slots[level], start, stop, per)
        tail = Groups(allocated, stop * size, end, end - stop * size) if end > stop * size else None
        row_starts = np.arange(start * size, stop * size, per * size, dtype=np.int64)
        if head is not None:
            row_starts = np.concatenate(([first], row_starts))
        if tail is not None:
            row_starts = np.concatenate((row_starts, [stop * size]))
        out: dict[str, np.ndarray] = {}
        for name in names:
            column = values[name]
            parts = [] if head is None else [head.extremes(column, column)]
            if level < 0:
                parts.append(middle.extremes(column, column))
            else:
                parts.append(middle.extremes(self._low[level][name], self._high[level][name]))
            if tail is not None:
                parts.append(tail.extremes(column, column))
            if len(parts) == 1:
                out[name] = interleave(*parts[0])
            else:
                out[name] = interleave(
                    np.concatenate([low for low, _ in parts]), np.concatenate([high for _, high in parts])
                )
        return np.repeat(times[row_starts % allocated], 2), out
