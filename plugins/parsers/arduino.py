"""Arduino Serial Plotter lines: `label:value` pairs and bare values, one record a line.

The protocol of the Arduino IDE's plotter (IDE 1: build/shared/ArduinoSerialPlotterProtocol.md in
arduino/Arduino; IDE 2: src/msgAggregatorWorker.ts in arduino/arduino-serial-plotter-webapp):
parts separated by spaces, tabs or commas; a part is `label:value` or a bare value. Bare values
are called `value 1`, `value 2`, ... by their position, as IDE 2 calls them.

What this parser reads beyond the IDE 2 plotter:

- `label: value` and `label : value` (a space around the colon) are one part: IDE 2 drops
  `Temperature: 23.64`, which sketches print all the time.
- A line naming positions - two or more bare words each starting with a letter or `_` (`pitch
  roll`, a CSV-style header) or `label:` parts (`ax:\tay:`, IDE 1) - names the bare values from
  then on, but only once a line of as many bare values follows: boot text such as `Booting...` or
  the ESP32 ROM's `entry 0x403c98d4` never names a channel.
- `nan`, `inf` and `ovf` (what Arduino's Print prints for a float too large) are values; `ovf`
  reads as NaN.

A line is not data, and gives no record, when it mixes words and numbers (`Booting sketch v2, 3
sensors`), or when a `label:` part is followed by words: the exported sketch's
`error: Invoke() failed` lines. A line counts as malformed (`malformed`, a count) when it has
values yet cannot be read whole: a `label:value` part whose value is not a number next to ones
that are (`a:1 b:1.2.3`), or labelled and bare values in one line (the tail of a line the board
began before the port opened: `5 class1:0.25`).

`feed_lines` reads a run of lines of one shape at once with numpy: lines of the same labels in the
same order (`a:1 b:2`, what the exported sketch prints), or lines of the same count of bare values.
Anything else in the run sends it through `feed`, line by line, so the records are the same.
"""

from __future__ import annotations

import numpy as np

from workbench.monitor.parse import Batch, Columns, Parser, Record, feed_each

FAST_MIN_LINES = 4  # shorter runs are fed line by line: numpy's set-up would cost more than it saves
_LINE_BREAK = "\x00"  # between the lines of a run while it is read at once (a line holding it is not)

_NAN = float("nan")


def _value(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return _NAN if text == "ovf" else None


def _parts(line: str) -> list[str]:
    """The parts of a line; `label : value` and `label: value` become one part `label:value`."""
    parts: list[str] = []
    for token in line.replace(",", " ").split():
        if parts and (token[0] == ":" or (parts[-1][-1] == ":" and _value(token) is not None)):
            parts[-1] += token
        else:
            parts.append(token)
    return parts


NOT_DATA, NAMES, VALUES, MALFORMED = "text", "names", "values", "malformed"


def _header(words: list[str]) -> bool:
    """Whether bare words name positions: two or more, each starting with a letter or `_` (not
    `Booting...` alone, nor the ESP32 ROM's `entry 0x403c98d4`)."""
    return len(words) >= 2 and all(word[0].isalpha() or word[0] == "_" for word in words)


def _read(parts: list[str]) -> tuple[str, list[str], dict[str, float], list[float]]:
    """(kind, names, labelled values, bare values) of a line's parts."""
    names: list[str] = []
    labelled: dict[str, float] = {}
    bare: list[float] = []
    words = label_only = broken = 0
    for part in parts:
        label, colon, text = part.rpartition(":")
        if colon:
            if not label:
                broken += 1
            elif not text:
                label_only += 1
                names.append(label)
            else:
                value = _value(text)
                if value is None:
                    broken += 1
                else:
                    labelled[label] = value
            continue
        value = _value(part)
        if value is None:
            words += 1
            names.append(part)
        else:
            bare.append(value)
    if labelled or bare:
        if words or (label_only and bare):
            return NOT_DATA, [], {}, []
        if labelled and (broken or bare):
            return MALFORMED, [], {}, []
        if broken:
            return NOT_DATA, [], {}, []
        return VALUES, [], labelled, bare
    if names and not broken and not (words and label_only) and (label_only or _header(names)):
        return NAMES, names, {}, []
    return NOT_DATA, [], {}, []


def _labelled(lines: list[str], time: float) -> Columns | None:
    """The records of `lines` when every one holds the first line's labels, in its order, each
    `label:value` (or `label: value`) with a number, and nothing else; else None."""
    width = len(lines[0].replace(",", " ").replace(":", " : ").split()) // 3
    if not width:
        return None
    text = f" {_LINE_BREAK} ".join(lines)
    if text.count(_LINE_BREAK) != len(lines) - 1:
        return None
    tokens = text.replace(",", " ").replace(":", " : ").split()
    count, stride = len(lines), 3 * width + 1
    if len(tokens) != count * stride - 1 or tokens[3 * width :: stride] != [_LINE_BREAK] * (count - 1):
        return None
    colons = [":"] * count
    values: dict[str, np.ndarray] = {}  # a label given twice: its last value at its first place, as feed()
    for index in range(width):
        start = 3 * index
        label = tokens[start]
        if tokens[start::stride] != [label] * count or tokens[start + 1 :: stride] != colons:
            return None
        try:
            values[label] = np.array(tokens[start + 2 :: stride], dtype=np.float64)
        except ValueError:
            return None
    return Columns(np.full(count, time), values)


def _bare(lines: list[str]) -> np.ndarray | None:
    """`lines` as a (rows, values) array when every one that is not blank is bare numbers, as
    many on each, separated by spaces, tabs or commas; else None."""
    lines = [line.replace(",", " ") for line in lines]
    if not "".join(lines).strip():
        return None  # no values at all (numpy would warn)
    try:
        return np.loadtxt(lines, comments=None, dtype=np.float64, ndmin=2, quotechar=None)
    except ValueError:
        return None


class ArduinoPlotterParser(Parser):
    name = "arduino"
    description = (
        "Arduino Serial Plotter: label:value pairs (also 'label: value') or plain values, "
        "separated by spaces, tabs or commas; what the sketches Deploy exports print"
    )

    def __init__(self) -> None:
        self.names: list[str] = []  # names of the bare values, by position
        self.pending: list[str] = []  # a naming line waiting for a line of as many bare values
        self.malformed = 0

    def feed_lines(self, lines: list[str], time: float) -> Batch:
        """The records of `lines` at once when they are all of one shape, else line by line."""
        if len(lines) >= FAST_MIN_LINES and lines[0]:
            if ":" in lines[0]:
                columns = _labelled(lines, time)
                if columns is not None:
                    batch = Batch()
                    batch.add_columns(columns)
                    return batch
            else:
                block = _bare(lines)
                if block is not None:
                    return self._bare_rows(block, time)
        return feed_each(self, lines, time)

    def _bare_rows(self, block: np.ndarray, time: float) -> Batch:
        """Records of lines of bare values, one width (what `_feed_slow` does to each, at once)."""
        count, width = block.shape
        if not count:
            return Batch()
        if self.pending and len(self.pending) == width:
            self.names = self.pending
        self.pending = []
        names = [self.names[i] if i < len(self.names) else f"value {i + 1}" for i in range(width)]
        # A name given twice keeps its later value at its first place, as feed() does.
        return Batch.of_columns(np.full(count, time), {name: block[:, i] for i, name in enumerate(names)})

    def feed(self, line: str, time: float) -> list[Record]:
        # Fast path: every part is `label:value` (the exported sketch's lines).
        parts = line.replace(",", " ").split()
        if not parts:
            return []
        values: dict[str, float] = {}
        try:
            for part in parts:
                label, _, text = part.rpartition(":")
                if not label:
                    raise ValueError(part)
                values[label] = float(text)
        except ValueError:
            return self._feed_slow(line, time)
        return [Record(time, values)]

    def _feed_slow(self, line: str, time: float) -> list[Record]:
        kind, names, labelled, bare = _read(_parts(line))
        if kind == NAMES:
            self.pending = names
            return []
        if kind == MALFORMED:
            self.malformed += 1
            return []
        if kind != VALUES:
            return []
        if bare:
            if self.pending and len(self.pending) == len(bare):
                self.names = self.pending
            self.pending = []
            for position, value in enumerate(bare):
                name = self.names[position] if position < len(self.names) else f"value {position + 1}"
                labelled[name] = value
        return [Record(time, labelled)]

    def sniff(self, lines: list[str]) -> float:
        """Sure with `label:value` lines that are most of the lines from the first one on (boot text
        before it does not count); half as sure with bare numbers (many formats are numbers);
        unsure of indented lines (prediction blocks).

        Three data lines make it sure, or a single line of two or more `label:value` parts and
        nothing else (`idle:0.98 wave:0.02`, what the exported sketch prints): a board printing
        once a second is recognised by its first line, and no boot text looks like that."""
        data = labelled = indented = counted = plotter_lines = 0
        for line in lines:
            if not line.strip():
                continue
            kind, _, values, bare = _read(_parts(line))
            if kind == NAMES:
                continue
            counted += bool(data) or kind == VALUES
            if kind == VALUES:
                data += 1
                labelled += bool(values)
                indented += line[0] in " \t"
                plotter_lines += len(values) >= 2 and not bare and line[0] not in " \t"
        if not data:
            return 0.0
        strength = 0.9 if labelled * 2 > data else 0.55
        if indented * 2 > data:
            strength = 0.4
        share = data / counted
        return strength * min(1.0, (data + 2 * plotter_lines) / 3) * (0.6 + 0.4 * share)
