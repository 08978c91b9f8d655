"""Events: a line saying the board heard or found something, one record an event.

Formats, from the firmware that prints them:

- `Heard yes (201) @4800ms` - TFLM micro_speech, `RespondToCommand()` in command_responder.cc and
  the Arduino example's arduino_command_responder.cpp (`"Heard %s (%d) @%dms"`): the event `yes`,
  `score` 201 (0..255, the averaged score) and `device_time_ms` 4800 (the board's clock).
- `Found 3 (87.50%)` - TFLM magic_wand.ino (`"Found %s (%d.%d%%)"`): the event `3`, `score` 87.5
  (as printed: that sketch prints the hundredths with %d, so 87.05% comes out as `87.5%`).
- `Model predicts the audio sample as <yes> with probability 0.99` - TFLM micro_speech
  evaluate.py: the event `yes`, `score` 0.99.
- `Frame #12: [0.0000, 0.0000, 0.9961, 0.0000]` - micro_speech evaluate.py's scores of each frame:
  no event, the channels `class0`, `class1`, ... (evaluate.py prints no names; the exported
  sketch also calls unnamed outputs `class0`...).
- The same shape with other verbs and optional parts, for sketches of one's own:
  `Detected: person (0.92)`, `Recognized go`, `Prediction: wave (93%)`, `Keyword yes @120ms`
  (verbs: Heard, Found, Detected, Recognized/Recognised, Predicted, Prediction, Keyword, Command,
  Gesture; the label may be in <angle brackets>).

So a record carries `events=(label,)` - the label exactly as printed - and the values the line
gave (`score`, `device_time_ms`), or none. A line that begins like the TFLM formats (`Heard `,
`Model predicts `, `Frame #`) but does not read whole counts as malformed (`malformed`); any other
line is not data.
"""

from __future__ import annotations

import re

from workbench.monitor.parse import Parser, Record

_N = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_EVENT = re.compile(
    r"(?:Heard|Found|Detected|Recognized|Recognised|Predicted|Prediction|Keyword|Command|Gesture)"
    r"\s*:?\s+<?(?P<label>[^\s()<>@:]+)>?"
    rf"(?:\s*\(\s*(?P<score>{_N})\s*%?\s*\))?"
    r"(?:\s*@\s*(?P<at>\d+)\s*ms)?\s*"
)
_PREDICTS = re.compile(rf"Model predicts the audio sample as <(?P<label>[^<>]+)> with probability (?P<score>{_N})\s*")
_FRAME = re.compile(rf"Frame #\d+:\s*\[\s*((?:{_N})(?:\s*,\s*{_N})*)\s*\]\s*")
_TFLM_STARTS = ("Heard ", "Model predicts ", "Frame #")


def read_event(line: str) -> Record | None:
    """The record of one event line at time 0, or None when the line is no event."""
    text = line.strip()
    match = _EVENT.fullmatch(text) or _PREDICTS.fullmatch(text)
    if match:
        values: dict[str, float] = {}
        if match["score"] is not None:
            values["score"] = float(match["score"])
        if "at" in match.groupdict() and match["at"] is not None:
            values["device_time_ms"] = float(match["at"])
        return Record(0.0, values, (match["label"],))
    match = _FRAME.fullmatch(text)
    if match:
        scores = [float(score) for score in match[1].split(",")]
        return Record(0.0, {f"class{index}": score for index, score in enumerate(scores)})
    return None


class EventsParser(Parser):
    name = "events"
    description = "Events on a line of their own: TFLM micro_speech 'Heard yes (201) @4800ms', magic_wand 'Found 3 (87.50%)', 'Detected: person (0.92)'"

    def __init__(self) -> None:
        self.malformed = 0

    def feed(self, line: str, time: float) -> list[Record]:
        found = read_event(line)
        if found is None:
            self.malformed += line.lstrip().startswith(_TFLM_STARTS)
            return []
        return [Record(time, found.values, found.events)]

    def sniff(self, lines: list[str]) -> float:
        """Sure with two event lines, fairly sure with one: boards print events seldom, between
        lines of other text, and the formats are specific."""
        found = sum(read_event(line) is not None for line in lines if line.strip())
        return 0.0 if not found else 0.9 if found >= 2 else 0.75
