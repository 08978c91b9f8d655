"""JSON lines: one JSON object a line, its numbers as channels.

- Nested objects are flattened with dots: `{"acc": {"x": 1}}` gives the channel `acc.x`.
- Arrays give one channel an element, by index: `{"p": [0.1, 0.9]}` gives `p.0` and `p.1`.
- Booleans are 1 and 0; `null` is left out; `NaN` and `Infinity` (which ArduinoJson and Python
  print, though JSON has no such words) are numbers.
- Strings are not values. A string under a key named `event` or `label` (at any depth; or a list
  of strings under `events` or `labels`) is an event of the record: `{"label": "yes", "score":
  0.93}` gives the channel `score` and the event `yes`. Other strings are left out.
- Values nested deeper than 32 levels are left out.
- Text before the object on the same line (a log tag: `I (1234) app: {...}`) is skipped.

A record is given for every object holding a number or an event. A line that starts with `{`, or
has text before a `{` and ends with `}`, but is not a valid object counts as malformed
(`malformed`): a line cut short by a reset. Other lines are not data: boot messages, and
pretty-printed JSON (one object over many lines), which this parser does not read.
"""

from __future__ import annotations

import json
from typing import Any

from workbench.monitor.parse import Parser, Record

EVENT_KEYS = frozenset({"event", "label"})
EVENT_LIST_KEYS = frozenset({"events", "labels"})
MAX_DEPTH = 32  # deeper values are left out
PRETTY_LINES = frozenset({"{", "}", "},", "{}"})  # the first and last lines of pretty-printed JSON


def _flatten(value: Any, name: str, values: dict[str, float], events: list[str], depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        return
    if isinstance(value, bool):
        values[name] = 1.0 if value else 0.0
    elif isinstance(value, (int, float)):
        values[name] = float(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            key = str(key)
            if isinstance(item, str):
                if key in EVENT_KEYS and item:
                    events.append(item)
            elif key in EVENT_LIST_KEYS and isinstance(item, list) and all(isinstance(i, str) for i in item):
                events.extend(i for i in item if i)
            else:
                _flatten(item, f"{name}.{key}" if name else key, values, events, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if not isinstance(item, str):
                _flatten(item, f"{name}.{index}" if name else str(index), values, events, depth + 1)


def _object(line: str) -> tuple[dict[str, Any] | None, bool]:
    """(the object on this line or None, whether the line looked like one)."""
    text = line.strip()
    if text in PRETTY_LINES:
        return None, False
    start = text.find("{")
    if start < 0 or not (start == 0 or text.endswith("}")):
        return None, False
    try:
        value = json.loads(text[start:])
    except (ValueError, RecursionError):  # RecursionError: nested thousands deep
        return None, True
    return (value, True) if isinstance(value, dict) else (None, True)


class JsonLinesParser(Parser):
    name = "json"
    description = "JSON lines: one object a line; nested objects flattened (acc.x), arrays by index, 'event' or 'label' strings as events"

    def __init__(self) -> None:
        self.malformed = 0

    def feed(self, line: str, time: float) -> list[Record]:
        found, looked = _object(line)
        if found is None:
            self.malformed += looked
            return []
        values: dict[str, float] = {}
        events: list[str] = []
        _flatten(found, "", values, events)
        if not values and not events:
            return []
        return [Record(time, values, tuple(events))]

    def sniff(self, lines: list[str]) -> float:
        """Sure with objects holding numbers or events, most of the lines from the first one on (boot
        text before it does not count); JSON is not mistaken for anything else."""
        data = counted = 0
        for line in lines:
            if not line.strip():
                continue
            found, _ = _object(line)
            if found:
                values: dict[str, float] = {}
                events: list[str] = []
                _flatten(found, "", values, events)
                data += bool(values or events)
            counted += bool(data)
        if not data:
            return 0.0
        return 0.95 * min(1.0, data / 2) * (0.6 + 0.4 * data / counted)
