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
"""

from __future__ import annotations

import csv

from workbench.monitor.parse import Parser, Record

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


class CsvParser(Parser):
    name = "csv"
    description = "Columns of numbers separated by commas, semicolons, tabs or spaces, with an optional header line"

    def __init__(self) -> None:
        self.columns: list[str] = []
        self.pending: list[str] = []  # a header waiting for a row of as many numbers
        self.malformed = 0

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
        names = columns or [f"column {i + 1}" for i in range(len(values))]
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
