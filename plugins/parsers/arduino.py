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
"""

from __future__ import annotations

from workbench.monitor.parse import Parser, Record

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
        unsure of indented lines (prediction blocks)."""
        data = labelled = indented = counted = 0
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
        if not data:
            return 0.0
        strength = 0.9 if labelled * 2 > data else 0.55
        if indented * 2 > data:
            strength = 0.4
        share = data / counted
        return strength * min(1.0, data / 3) * (0.6 + 0.4 * share)
