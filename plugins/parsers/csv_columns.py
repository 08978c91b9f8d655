"""Columns of numbers: comma-, semicolon-, tab- or space-separated, with an optional header line.

A line's separator is a comma when it has one, else a semicolon, else any run of spaces and tabs;
fields may be quoted (`"ax","ay"`); a separator after the last field is dropped (`1,2,3,`). A line of two or more names, each starting with a letter or `_` and without a colon, sets the column
names once a row of as many numbers follows it (so boot text never names the columns), and again whenever the
board prints a header after a reset; without one, columns are called `column 1`, `column 2`, ...
`nan`, `inf` and Arduino's `ovf` (NaN) are numbers.

A line of words, or words and numbers mixed with words the majority (`Booting sketch v2, 3
sensors`), is not data. A line counts as malformed (`malformed`, a count) when it is mostly
numbers but not all (`1,two,3`, `0.5,,2`), or is a row of numbers whose count differs from the
header's.

`feed_lines` reads a run of rows of one shape (same separator, same count of fields, unquoted)
at once with numpy's C reader; anything else in the run (a header, a word, a row of another
width, a number numpy spells differently from Python) sends the run through `feed`, line by line.
"""

from __future__ import annotations

import csv

import numpy as np

from workbench.monitor.parse import Batch, Parser, Record, feed_each

FAST_MIN_LINES = 4  # shorter runs are fed line by line: numpy's set-up would cost more than it saves

_NAN = float("nan")
HEADER, ROW, MALFORMED, TEXT = "header", "row", "malformed", "text"


def _fields(line: str) -> list[str]:
    """The fields of a line, stripped, split at its separator (see the module docstring)."""
    separator = "," if "," in line else ";" if ";" in line else None
    if '"' in line:
        rows = list(csv.reader([line], delimiter=separator or " ", skipinitialspace=True))
        fields = rows[0] if rows else []
        if separator is None:
            fields = [field for field in fields if field]
        return [field.strip() for field in fields]
    if separator is None:
        return line.split()
    fields = [field.strip() for field in line.split(separator)]
    if len(fields) > 1 and not fields[-1]:
        fields.pop()  # a separator after the last field, as sketches printing `x,` in a loop leave
    return fields


def _header(fields: list[str]) -> bool:
    """Whether a line of names is a header: two or more names, each starting with a letter or `_`
    and without a colon (not `Booting...` alone, nor the ESP32 ROM's `entry 0x403c98d4` or
    `load:0x3fce3808,len:0x44c`)."""
    return len(fields) >= 2 and all((field[0].isalpha() or field[0] == "_") and ":" not in field for field in fields)


def _value(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return _NAN if text == "ovf" else None


def _classify(fields: list[str]) -> tuple[str, list[float]]:
    """(HEADER, []) for a line of names, (ROW, values) for a line of numbers, else MALFORMED or TEXT."""
    if not fields:
        return TEXT, []
    values = [_value(field) for field in fields]
    numbers = [value for value in values if value is not None]
    if len(numbers) == len(fields):
        return ROW, numbers
    if not numbers:
        return (HEADER if all(fields) else TEXT), []
    return (MALFORMED if len(numbers) * 2 > len(fields) else TEXT), []


def _numbers(lines: list[str]) -> np.ndarray | None:
    """`lines` as a (rows, fields) array when every one that is not blank is a row of unquoted
    numbers with the first line's separator and field count (a separator after the last field
    on every line is dropped, as `feed` drops it); None otherwise. Blank lines give no row."""
    first = lines[0]
    separator = "," if "," in first else ";" if ";" in first else None
    if separator is not None and first.endswith(separator):  # as feed() drops it, from each line that has it
        lines = ("\n".join(lines) + "\n").replace(separator + "\n", "\n").split("\n")
        lines.pop()
    if not "".join(lines).strip():
        return None  # no fields at all (numpy would warn)
    try:
        # numpy's reader: C speed; it refuses a field that is not a number, a change in the count
        # of fields, and everything Python's float() refuses (the rows are read as feed() reads them).
        block = np.loadtxt(lines, delimiter=separator, comments=None, dtype=np.float64, ndmin=2, quotechar=None)
    except ValueError:
        return None
    return block


class CsvParser(Parser):
    name = "csv"
    description = "Columns of numbers separated by commas, semicolons, tabs or spaces, with an optional header line"

    def __init__(self) -> None:
        self.columns: list[str] = []
        self.pending: list[str] = []  # a header waiting for a row of as many numbers
        self.malformed = 0
        self._default_names: dict[int, list[str]] = {}

    def feed_lines(self, lines: list[str], time: float) -> Batch:
        """The rows of `lines` at once when they are all rows of one shape, else line by line."""
        if len(lines) >= FAST_MIN_LINES and lines[0]:
            block = _numbers(lines)
            if block is not None:
                return self._rows(block, time)
        return feed_each(self, lines, time)

    def _rows(self, block: np.ndarray, time: float) -> Batch:
        """Records of rows of numbers of one width (what `_row` does to each, at once)."""
        count, width = block.shape
        if not count:
            return Batch()
        if self.pending and len(self.pending) == width:
            self.columns, self.pending = self.pending, []
        if self.columns and width != len(self.columns):
            self.malformed += count
            return Batch(malformed=count)
        names = self.columns or self._defaults(width)
        values = {name: block[:, index] for index, name in enumerate(names)}
        return Batch.of_columns(np.full(count, time), values)

    def _defaults(self, width: int) -> list[str]:
        names = self._default_names.get(width)
        if names is None:
            names = self._default_names[width] = [f"column {i + 1}" for i in range(width)]
        return names

    def feed(self, line: str, time: float) -> list[Record]:
        if '"' not in line:
            # Fast path: a row of unquoted numbers.
            fields = line.split(",") if "," in line else line.split(";") if ";" in line else line.split()
            if len(fields) > 1 and not fields[-1].strip():
                fields.pop()
            try:
                values = [float(field) for field in fields]
            except ValueError:
                pass
            else:
                if values:
                    return self._row(values, time)
                return []
        kind, values = _classify(_fields(line))
        if kind == ROW:
            return self._row(values, time)
        if kind == HEADER:
            fields = _fields(line)
            if _header(fields):
                self.pending = fields
        elif kind == MALFORMED:
            self.malformed += 1
        return []

    def _row(self, values: list[float], time: float) -> list[Record]:
        if self.pending and len(self.pending) == len(values):
            self.columns, self.pending = self.pending, []
        columns = self.columns
        if columns and len(values) != len(columns):
            self.malformed += 1
            return []
        names = columns or self._defaults(len(values))
        return [Record(time, dict(zip(names, values, strict=True)))]

    def sniff(self, lines: list[str]) -> float:
        """Sure with rows of two or more numbers, all of one count (and a header of that count),
        most of the lines from the first header or row on (boot text before it does not count);
        less without a header, since plain numbers fit many formats."""
        counts: dict[int, int] = {}
        headers: list[int] = []
        counted = 0
        for line in lines:
            if not line.strip():
                continue
            fields = _fields(line)
            kind, _ = _classify(fields)
            if kind == ROW and len(fields) >= 2:
                counts[len(fields)] = counts.get(len(fields), 0) + 1
            elif kind == HEADER and _header(fields):
                headers.append(len(fields))
            counted += bool(counts or headers)
        if not counts:
            return 0.0
        width, rows = max(counts.items(), key=lambda item: item[1])
        headed = width in headers
        strength = (0.85 if headed else 0.65) * rows / sum(counts.values())  # rows of other widths: less sure
        share = (rows + headed) / counted
        return strength * min(1.0, rows / 3) * (0.6 + 0.4 * share)
