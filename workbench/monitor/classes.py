"""Which monitored channels are class probabilities, the top-1 class, and its runs over time.

Channels count as class probabilities when there are at least two, every value they hold is in
[0, 1], and they look like classes: named as the open model's labels are printed by an exported
sketch (`sketch_format.printed_label`: separators turned into `_`), named `class0`, `class1`...,
or, whatever their names, summing to about 1 (a softmax, `core.probabilities.sums_to_one`).
The Monitor page's class view (big label, bars, timeline) draws what these decide.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from workbench.core.probabilities import sums_to_one
from workbench.monitor.sketch_format import printed_label

_CLASS_NAME = re.compile(r"^class(\d+)$")
CHECK_ROWS = 1000  # the newest rows that decide whether channels are class probabilities
TIMELINE_ROWS = 20_000  # the newest rows the label timeline covers (at 10 Hz: over half an hour)


def _all_probabilities(values: np.ndarray) -> bool:
    tail = values[-CHECK_ROWS:]
    finite = tail[np.isfinite(tail)]
    return finite.size > 0 and float(finite.min()) >= 0.0 and float(finite.max()) <= 1.0


def class_channels(channels: Sequence[str], values: dict[str, np.ndarray], labels: Sequence[str] = ()) -> list[str]:
    """The channels that are class probabilities (see the module docstring; judged on the newest
    CHECK_ROWS rows), in class order: the model's label order, else by class number, else as the
    board printed them; [] for none."""
    in_range = [c for c in channels if c in values and _all_probabilities(values[c])]
    printed = {printed_label(label): index for index, label in enumerate(labels)}
    named = [c for c in in_range if c in printed]
    if len(named) >= 2:
        return sorted(named, key=lambda c: printed[c])
    numbered = [c for c in in_range if _CLASS_NAME.match(c)]
    if len(numbered) >= 2:
        return sorted(numbered, key=lambda c: int(_CLASS_NAME.match(c).group(1)))  # type: ignore[union-attr]
    if len(in_range) >= 2:
        last = _last_row(in_range, values)
        if last is not None and sums_to_one(last):
            return list(in_range)
    return []


def _last_row(classes: Sequence[str], values: dict[str, np.ndarray]) -> np.ndarray | None:
    """The newest row where every class has a value (among the newest CHECK_ROWS), or None."""
    if not classes:
        return None
    matrix = np.vstack([values[c][-CHECK_ROWS:] for c in classes])
    complete = np.flatnonzero(np.all(np.isfinite(matrix), axis=0))
    return None if complete.size == 0 else matrix[:, complete[-1]]


def latest_probabilities(classes: Sequence[str], values: dict[str, np.ndarray]) -> np.ndarray | None:
    """The class probabilities of the newest record that has them all (None when there is none)."""
    return _last_row(classes, values)


def top_runs(
    times: np.ndarray, classes: Sequence[str], values: dict[str, np.ndarray], threshold: float
) -> list[tuple[float, float, int]]:
    """(start, end, class index) for each stretch where one class was top-1 at or above `threshold`;
    a stretch ends where another class takes over, confidence drops, or the data has a gap (a row
    with no value at all). Rows of other records (an event's score) are passed over. Only the
    newest TIMELINE_ROWS rows count, so the cost does not grow with the history."""
    if not classes or times.size == 0:
        return []
    times = times[-TIMELINE_ROWS:]
    matrix = np.vstack([values[c][-TIMELINE_ROWS:] for c in classes])
    anything = np.any(np.vstack([np.isfinite(column[-TIMELINE_ROWS:]) for column in values.values()]), axis=0)
    keep = np.any(np.isfinite(matrix), axis=0) | ~anything
    times, matrix = times[keep], matrix[:, keep]
    if times.size == 0:
        return []
    complete = np.all(np.isfinite(matrix), axis=0)
    top = np.where(complete, np.argmax(np.where(np.isfinite(matrix), matrix, -1.0), axis=0), -1)
    confident = complete & (np.max(np.where(np.isfinite(matrix), matrix, -1.0), axis=0) >= threshold)
    top = np.where(confident, top, -1)
    changes = np.flatnonzero(np.diff(top)) + 1
    starts = np.concatenate(([0], changes))
    ends = np.concatenate((changes, [top.size]))
    runs = []
    for start, end in zip(starts, ends, strict=True):
        if top[start] >= 0:
            # A run lasts until the next record (the end of the data for the newest run).
            stop = times[end] if end < times.size else times[end - 1]
            runs.append((float(times[start]), float(stop), int(top[start])))
    return runs
