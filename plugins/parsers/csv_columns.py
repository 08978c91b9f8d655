"""Comma-separated columns: an optional header line of names, then rows of numbers.

A line of names (quoted or not) sets the column names, again whenever the board prints it (after
a reset); without one, columns are called `column 1`, `column 2`, ... A row whose field count
differs from the header's, or that mixes words and numbers, is not data and gives no record.
"""

from __future__ import annotations

import csv

from workbench.monitor.parse import Parser, Record, number

HEADER, ROW = "header", "row"


def _fields(line: str) -> list[str]:
    return [field.strip() for field in next(csv.reader([line]), [])]


def _classify(fields: list[str]) -> str | None:
    """HEADER for a line of names, ROW for a line of numbers, None for anything else."""
    if not fields or not all(fields):
        return None
    numbers = [number(field) for field in fields]
    if all(value is not None for value in numbers):
        return ROW
    if all(value is None for value in numbers):
        return HEADER
    return None


class CsvParser(Parser):
    name = "csv"
    description = "Comma-separated numbers, with an optional header line naming the columns"

    def __init__(self) -> None:
        self.columns: list[str] = []

    def feed(self, line: str, time: float) -> list[Record]:
        fields = _fields(line)
        kind = _classify(fields)
        if kind == HEADER:
            self.columns = fields
            return []
        if kind != ROW or (self.columns and len(fields) != len(self.columns)):
            return []
        names = self.columns or [f"column {i + 1}" for i in range(len(fields))]
        return [Record(time, {name: float(field) for name, field in zip(names, fields, strict=True)})]

    def sniff(self, lines: list[str]) -> float:
        """Share of lines that are rows of two or more columns (or a header); surer with a header."""
        lines = [line for line in lines if line.strip()]
        kinds = [(_classify(fields), len(fields)) for fields in map(_fields, lines)]
        rows = [count for kind, count in kinds if kind == ROW and count >= 2]
        if not rows:
            return 0.0
        headers = [count for kind, count in kinds if kind == HEADER and count >= 2]
        matching = sum(1 for count in rows if not headers or count == headers[-1])
        share = (matching + len(headers)) / len(lines)
        consistent = len(set(rows)) == 1
        return share * (0.9 if headers else 0.6) * (1.0 if consistent else 0.5)
