"""A parser for what the (made-up) Example Sense firmware prints: `SENSE|t=1200|temp=21.5|hum=40.2`."""

from __future__ import annotations

from workbench.monitor.parse import Parser, Record, number

PREFIX = "SENSE|"


class ExampleSenseParser(Parser):
    name = "example-sense"
    description = "Example Sense firmware: SENSE|t=MS|name=value|..."

    def __init__(self) -> None:
        self.malformed = 0  # lines of this format that could not be read (the Monitor shows the count)

    def sniff(self, lines: list[str]) -> float:
        """The share of the lines that start as this firmware's do."""
        if not lines:
            return 0.0
        return sum(line.startswith(PREFIX) for line in lines) / len(lines)

    def feed(self, line: str, time: float) -> list[Record]:
        if not line.startswith(PREFIX):
            return []  # boot text and other lines are not this format: not malformed either
        values: dict[str, float] = {}
        for field in line[len(PREFIX) :].split("|"):
            key, _, text = field.partition("=")
            value = number(text)
            if not key or value is None:
                self.malformed += 1
                return []
            values["device_ms" if key == "t" else key] = value
        return [Record(time, values)]
