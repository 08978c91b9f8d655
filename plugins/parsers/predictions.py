"""Prediction blocks: a header line, then one line a class; one record a block.

The blocks Edge Impulse's firmware and SDK print (sources: edgeimpulse/inferencing-sdk-cpp
classifier/ei_print_results.h; the Arduino library's examples/static_buffer/static_buffer.ino,
old and new; Edge Impulse's firmware ei_run_impulse.cpp), and TFLM micro_speech's test:

    Predictions (DSP: 12 ms., Classification: 3 ms., Anomaly: 0 ms.):      classic Arduino examples
    [0.00000, 0.99609, 0.00391, 0.001]                                    (static_buffer only; skipped)
        idle: 0.00000
        snake: 0.99609
        anomaly score: 0.001

    Predictions (DSP: 19.000000 ms., Classification: 0 ms., Anomaly: 1.000000ms.):   firmware
    #Classification results:
        idle: 0.996094
    Anomaly prediction: -0.356135

    Timing: DSP 4 ms, inference 3 ms, anomaly 850 us                       SDK ei_print_results
    Classification predictions:               (or `Predictions:`, `#Regression results:`, ...)
      idle: 0.12500
    Anomaly prediction: 0.123

    MicroSpeech category predictions for <yes>                            TFLM micro_speech_test.cc
      0.0000 silence
      0.9961 yes

Channels: one a class (its label as printed), `anomaly` (the anomaly score), the timings in
milliseconds `dsp_ms`, `classification_ms` and `anomaly_ms` (`us` values divided by 1000),
`regression` (`Regression prediction: v`), `visual_anomaly_mean` and `visual_anomaly_max`. An
object detection's boxes (`  label (0.87) [ x: 8, y: 16, width: 8, height: 8 ]`) give their
label's highest score in the block; `No objects found` gives nothing. No events: a block is a
set of scores, printed on every inference. Numbers may be in TFLM's own float format too
(`1.9921875*2^-1`, what MicroPrintf's `%f` prints where TFLM formats floats itself).

When a block is complete, its record is given, timed by its header line:
- at its anomaly line (`    anomaly score: v`, `Anomaly prediction: v`, visual anomaly values),
  which ends a block;
- at its last class line, once an earlier block has shown which classes a block holds and that
  no anomaly line follows them - so the record comes as the board prints it, not one inference
  later;
- otherwise (the first block, an object detection's) at the next line that is not indented, or
  the next header, or `flush()` (the board stopped: the monitor stopped or the port went away).
  A block of timings alone (no boxes found) gives a record of its timings.
A block's lines are indented except the headers, `Anomaly prediction:`, `Regression prediction:`
and visual anomaly lines. An indented line in a block that is none of the above counts as
malformed (`malformed`); lines outside blocks (`run_classifier returned: 0`, `Sampling...`) are
not data.
"""

from __future__ import annotations

import re

from workbench.monitor.parse import Parser, Record

_N = r"([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?:\*2\^[-+]?\d+)?|[-+]?(?i:nan|inf))"
_CLASSIC = re.compile(
    rf"Predictions\s*\(DSP:\s*{_N}\s*ms\.?,\s*Classification:\s*{_N}\s*ms\.?(?:,\s*Anomaly:\s*{_N}\s*ms\.?)?\)\s*:?\s*"
)
_TIMING = re.compile(
    rf"Timing:\s*DSP\s+{_N}\s*(ms|us),\s*inference\s+{_N}\s*(ms|us)(?:,\s*anomaly\s+{_N}\s*(ms|us))?\s*"
)
_CATEGORIES = re.compile(r".*\bcategory predictions for <[^<>]*>\s*")
_SUBHEADER = re.compile(r"#?[A-Za-z ]*(?:predictions|results|boxes|anomalies)\s*:\s*", re.IGNORECASE)
_ARRAY = re.compile(rf"\[\s*{_N}(?:\s*,\s*{_N})*\s*,?\s*\]\s*")
_LABEL_VALUE = re.compile(rf"[ \t]+(\S.*?)\s*:[ \t]*{_N}[ \t]*")
_VALUE_LABEL = re.compile(rf"[ \t]+{_N}[ \t]+(\S.*?)\s*")
_BOX = re.compile(rf"[ \t]+(\S.*?)\s+\({_N}\)\s*\[\s*x:.*\]\s*")
_IGNORED = re.compile(r"[ \t]+(?:No objects found|\S.*\(ID \d+\)\s*\[.*\])\s*")
_ANOMALY = re.compile(rf"Anomaly (?:prediction|score):\s*{_N}\s*", re.IGNORECASE)
_REGRESSION = re.compile(rf"Regression prediction:\s*{_N}\s*")
_VISUAL = re.compile(rf"Visual anomaly (?:mean:|values: Mean)\s*{_N},?\s*(?:max:|Max)\s*{_N}\s*", re.IGNORECASE)
ANOMALY_LABELS = frozenset({"anomaly score", "anomaly"})


def _number(text: str) -> float:
    """A number as printed; `1.5*2^-1` is TFLM's own float format (mantissa times a power of two)."""
    mantissa, power, exponent = text.partition("*2^")
    return float(mantissa) * 2.0 ** int(exponent) if power else float(text)


def _ms(value: str, unit: str) -> float:
    return _number(value) / 1000.0 if unit == "us" else _number(value)


class _Block:
    """The block being read: its time, values, class labels, and whether its record was given."""

    def __init__(self, time: float, values: dict[str, float]) -> None:
        self.time = time
        self.values = values
        self.labels: list[str] = []
        self.given = False


class PredictionsParser(Parser):
    name = "blocks"  # as `monitor --format blocks` names prediction blocks
    description = (
        "Prediction blocks, one record a block: Edge Impulse's results (Predictions (DSP: ...) or "
        "Timing: ..., then 'label: value' lines) and TFLM micro_speech's category predictions"
    )
    multiline = True  # a record takes a block of lines

    def __init__(self) -> None:
        self.block: _Block | None = None
        self.shape: tuple[tuple[str, ...], bool] | None = None  # last block's labels; ended by an anomaly line?
        self.malformed = 0

    def _end(self, anomaly_line: bool = False) -> list[Record]:
        """The open block's record (if not given yet and it holds values); the block is closed."""
        block, self.block = self.block, None
        if block is None or block.given or not block.values:
            return []
        self.shape = (tuple(block.labels), anomaly_line)
        return [Record(block.time, block.values)]

    def _header(self, line: str, time: float) -> dict[str, float] | None:
        """The timings of a header line (an empty dict for a header without), or None."""
        stripped = line.strip()
        match = _CLASSIC.fullmatch(stripped)
        if match:
            timings = {"dsp_ms": _number(match[1]), "classification_ms": _number(match[2])}
            if match[3] is not None:
                timings["anomaly_ms"] = _number(match[3])
            return timings
        match = _TIMING.fullmatch(stripped)
        if match:
            timings = {"dsp_ms": _ms(match[1], match[2]), "classification_ms": _ms(match[3], match[4])}
            if match[5] is not None:
                timings["anomaly_ms"] = _ms(match[5], match[6])
            return timings
        if _CATEGORIES.fullmatch(stripped):
            return {}
        return None

    def feed(self, line: str, time: float) -> list[Record]:
        if not line.strip():
            return []
        timings = self._header(line, time)
        if timings is not None:
            records = self._end()
            self.block = _Block(time, timings)
            return records
        if line[0] not in " \t":
            return self._unindented(line, time)
        block = self.block
        if block is None:
            return []
        match = _LABEL_VALUE.fullmatch(line)
        if match:
            label, value = match[1], _number(match[2])
            if label.lower() in ANOMALY_LABELS:
                block.values["anomaly"] = value
                return self._end(anomaly_line=True)
            return self._class(block, label, value)
        match = _VALUE_LABEL.fullmatch(line)
        if match:
            return self._class(block, match[2], _number(match[1]))
        match = _BOX.fullmatch(line)
        if match:
            label, value = match[1], _number(match[2])
            if label not in block.labels:
                block.labels.append(label)
            block.values[label] = max(value, block.values.get(label, value))
            return []
        if not _IGNORED.fullmatch(line):
            self.malformed += 1
        return []

    def flush(self) -> list[Record]:
        """The record of the block being read, if not given yet: the board stopped after it."""
        return self._end()

    def _class(self, block: _Block, label: str, value: float) -> list[Record]:
        if block.given:
            self.malformed += 1  # more classes than the block it was taken for
            return []
        block.values[label] = value
        if label not in block.labels:
            block.labels.append(label)
        if self.shape == (tuple(block.labels), False):
            block.given = True
            return [Record(block.time, block.values)]
        return []

    def _unindented(self, line: str, time: float) -> list[Record]:
        stripped = line.strip()
        block = self.block
        if _SUBHEADER.fullmatch(stripped):
            if block is None:
                self.block = _Block(time, {})
            return []
        if block is not None:
            if _ARRAY.fullmatch(stripped):
                return []
            match = _ANOMALY.fullmatch(stripped)
            if match:
                block.values["anomaly"] = _number(match[1])
                return self._end(anomaly_line=True)
            match = _VISUAL.fullmatch(stripped)
            if match:
                block.values["visual_anomaly_mean"] = _number(match[1])
                block.values["visual_anomaly_max"] = _number(match[2])
                return self._end(anomaly_line=True)
            match = _REGRESSION.fullmatch(stripped)
            if match:
                return self._class(block, "regression", _number(match[1]))
        return self._end()

    def sniff(self, lines: list[str]) -> float:
        """Sure once a header is followed by class lines; surer with two such blocks."""
        probe = PredictionsParser()
        blocks = 0
        for time, line in enumerate(lines):
            blocks += len(probe.feed(line, float(time)))
        if probe.block is not None and probe.block.labels and not probe.block.given:  # the last block
            blocks += 1
        if not blocks:
            return 0.0
        return 0.95 if blocks >= 2 else 0.8
