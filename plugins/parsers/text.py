"""Free text with labelled numbers, as firmware prints them for people: one record a line.

Every number on the line needs a label: the words just before it, up to the previous number or a
`,` `;` `|`, with an optional `:` or `=` after them. So TFLM's person detection line
`person score:-72 no person score 72` gives the channels `person score` and `no person score`,
its Arduino variant `Person score: 87.50% No person score: 12.50%` gives `Person score` and
`No person score`, and `Temp = 23.5 C, Hum = 40 %` gives `Temp` and `Hum`.

- Numbers: decimal or exponent notation, `nan` and `inf` (any case), and TFLM's own float format
  `1.0053087*2^-5` (mantissa times a power of two: what MicroPrintf's `%f` prints where TFLM
  formats floats itself - hello_world's `x_value: 1.0*2^-127, y_value: ...`).
- A unit may follow a number, attached or after a space: `%`, `ms`, `us`, `s`, `Hz`, `kHz`, `C`,
  `°C`, `F`, `V`, `mV`, `mA`, `dB`, `g`; it is not part of the channel name.
- A label starts with a letter or `_`, holds letters, digits, `_`, `-`, `.`, `/` and spaces (at
  most six words), and may end in a parenthesised part: `Temp (C): 21`.

A line with a number that has no such label is not data: boot text (`Build:Mar 27 2021`,
`mode:DIO, clock div:1`, `I (31) boot: ...`), hex (`0x3fce3808`), numbers inside words
(`esp32s3`), and sentences (`Heard yes (201) @4800ms`, which the events parser reads). Nothing
is counted as malformed: text that does not fit is just text.
"""

from __future__ import annotations

import re

from workbench.monitor.parse import Parser, Record

_UNIT = r"(?:%|ms|us|µs|s|Hz|kHz|°C|C|°F|F|V|mV|mA|dB|g)(?![\w°])"
_NUMBER = re.compile(
    r"(?<![\w.+\-*^])"
    r"([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?:\*2\^[-+]?\d+)?|[-+]?(?i:nan|inf))"
    rf"(?:{_UNIT})?"
    r"(?![\w.])"
)
_LABEL = r"(?P<label>[A-Za-z_][\w .\-/]*?(?:\s*\([^()]*\))?)"
_FIRST = re.compile(rf"\s*{_LABEL}\s*[:=]?\s*")
_BETWEEN = re.compile(rf"\s*(?:{_UNIT})?\s*[,;|]?\s*{_LABEL}\s*[:=]?\s*")
_TAIL = re.compile(rf"\s*(?:{_UNIT})?\s*[,;.]?\s*")
MAX_LABEL_WORDS = 6


def _number(text: str) -> float:
    mantissa, power, exponent = text.partition("*2^")
    if power:
        return float(mantissa) * 2.0 ** int(exponent)
    return float(text)


def read_line(line: str) -> dict[str, float] | None:
    """The labelled numbers of a line, or None when it is not such a line."""
    values: dict[str, float] = {}
    position = 0
    for index, match in enumerate(_NUMBER.finditer(line)):
        segment = (_BETWEEN if index else _FIRST).fullmatch(line, position, match.start())
        if segment is None:
            return None
        words = segment["label"].split()
        if len(words) > MAX_LABEL_WORDS:
            return None
        values[" ".join(words)] = _number(match[1])
        position = match.end()
    if not values or _TAIL.fullmatch(line, position) is None:
        return None
    return values


class TextParser(Parser):
    name = "text"
    description = "Free text with labelled numbers: 'person score:-72 no person score 72', 'Temp = 23.5 C, Hum = 40 %'"

    def __init__(self) -> None:
        self.malformed = 0

    def feed(self, line: str, time: float) -> list[Record]:
        values = read_line(line)
        return [Record(time, values)] if values else []

    def sniff(self, lines: list[str]) -> float:
        """Sure when lines with the same labels come again and again, most of the lines from the
        first one on (boot text before it does not count); less sure than the formats made for
        machines (Arduino plotter lines are labelled numbers too)."""
        templates: dict[tuple[str, ...], int] = {}
        counted = 0
        for line in lines:
            if not line.strip():
                continue
            values = read_line(line)
            if values:
                key = tuple(values)
                templates[key] = templates.get(key, 0) + 1
            counted += bool(templates)
        if not templates:
            return 0.0
        repeated = max(templates.values())
        data = sum(templates.values())
        return 0.8 * min(1.0, repeated / 3) * (0.6 + 0.4 * data / counted)
