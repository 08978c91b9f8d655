"""Arduino Serial Plotter lines: `label:value` pairs, bare values, and label-only lines.

The protocol of the Arduino IDE's plotter (build/shared/ArduinoSerialPlotterProtocol.md in
arduino/Arduino): parts separated by spaces, tabs or commas; a part is `label:value`, `label:`
(names the value at that position from then on) or a bare value. A line of bare words names the
positions too (the "CSV header" style). Unnamed values are called `value 1`, `value 2`, ...
A line mixing words and numbers is text the sketch printed (a boot message), not data.
"""

from __future__ import annotations

import re

from workbench.monitor.parse import Parser, Record, number

_SEPARATORS = re.compile(r"[ \t,]+")


class ArduinoPlotterParser(Parser):
    name = "arduino"
    description = "Arduino Serial Plotter: label:value pairs or plain values, separated by spaces, tabs or commas"

    def __init__(self) -> None:
        self.labels: dict[int, str] = {}

    def _parts(self, line: str) -> list[str]:
        """The parts of a line; `label : value` and `label: value` are one part, as `label:value`."""
        parts: list[str] = []
        for token in _SEPARATORS.split(line.strip()):
            if not token:
                continue
            if parts and (token.startswith(":") or (parts[-1].endswith(":") and number(token) is not None)):
                parts[-1] += token
            else:
                parts.append(token)
        return parts

    def _read(self, line: str) -> tuple[dict[str, float], dict[int, str], bool] | None:
        """(values, labels set, whether any part was labelled) or None when the line is not plotter data."""
        parts = self._parts(line)
        values: dict[str, float] = {}
        labels: dict[int, str] = {}
        labelled = False
        words = 0
        for position, part in enumerate(parts):
            label, colon, text = part.rpartition(":")
            if colon:
                labelled = True
                if not label:
                    return None
                if not text:
                    labels[position] = label
                    continue
                value = number(text)
                if value is None:
                    return None
                values[label] = value
                continue
            value = number(part)
            if value is None:
                labels[position] = part
                words += 1
            else:
                values[self.labels.get(position, f"value {position + 1}")] = value
        if not parts or (words and values):
            return None
        return values, labels, labelled

    def feed(self, line: str, time: float) -> list[Record]:
        read = self._read(line)
        if read is None:
            return []
        values, labels, _ = read
        self.labels.update(labels)
        return [Record(time, values)] if values else []

    def sniff(self, lines: list[str]) -> float:
        """Share of lines holding values (lines naming positions left out); full confidence only
        with `label:value` parts, since bare numbers fit many formats."""
        probe = ArduinoPlotterParser()
        counted = data = labelled = 0
        for line in lines:
            if not line.strip():
                continue
            read = probe._read(line)
            if read is not None and not read[0]:
                probe.labels.update(read[1])
                labelled += read[2]
                continue
            counted += 1
            if read is not None:
                data += 1
                labelled += read[2]
        if not data:
            return 0.0
        return data / counted * (1.0 if labelled else 0.5)
