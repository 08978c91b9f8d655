"""The built-in parser plugins (plugins/parsers) on what real firmware prints.

Transcripts are in tests/monitor/transcripts (their sources in its README.md). Each transcript
test checks the parser detect() picks, the channels, the records (times are line numbers, so a
record says which line gave it) with values read from the transcript by hand, the events and the
malformed count.
"""

from __future__ import annotations

import math
import random
import warnings
from pathlib import Path

import numpy as np
import pytest

from workbench.monitor.lines import LineSplitter
from workbench.monitor.parse import DETECT_THRESHOLD, Batch, Columns, Parser, Record, detect
from workbench.plugins import PluginCatalog, discover

TRANSCRIPTS = Path(__file__).parent / "transcripts"
NAN = float("nan")


@pytest.fixture(scope="module")
def catalog() -> PluginCatalog:
    return discover(kinds=("parser",))


def transcript(name: str) -> list[str]:
    """The lines of a transcript, as the parsers see them."""
    return (TRANSCRIPTS / name).read_text(encoding="utf-8").split("\n")[:-1]


def feed_all(parser: Parser, lines: list[str]) -> list[Record]:
    """Every record of `lines`, each line arriving at its index in seconds."""
    return [record for time, line in enumerate(lines) for record in parser.feed(line, float(time))]


def read(catalog: PluginCatalog, name: str, expected_parser: str) -> tuple[Parser, list[Record]]:
    """Detect the parser of transcript `name` (it must be `expected_parser`) and read it whole."""
    lines = transcript(name)
    chosen = detect(lines, catalog.parsers())
    assert chosen is not None and chosen.name == expected_parser, (chosen and chosen.name, sniffs(catalog, lines))
    parser = catalog.parser(expected_parser)
    return parser, feed_all(parser, lines)


def sniffs(catalog: PluginCatalog, lines: list[str]) -> dict[str, float]:
    return {parser.name: round(parser.sniff(lines), 3) for parser in catalog.parsers()}


def channels(records: list[Record]) -> list[str]:
    """Channel names in the order they first appear."""
    return list(dict.fromkeys(name for record in records for name in record.values))


def same(actual: dict[str, float], expected: dict[str, float]) -> bool:
    """Equal values, NaN equal to NaN, floats to 1e-9."""
    return actual.keys() == expected.keys() and all(
        (math.isnan(actual[key]) and math.isnan(value)) or math.isclose(actual[key], value, abs_tol=1e-9)
        for key, value in expected.items()
    )


def assert_records(records: list[Record], expected: list[tuple[float, dict[str, float]]]) -> None:
    assert len(records) == len(expected), [(r.time, r.values) for r in records]
    for record, (time, values) in zip(records, expected, strict=True):
        assert record.time == time and same(record.values, values), (record, time, values)


# --- Arduino plotter --------------------------------------------------------------------------


def test_the_exported_sketch_on_an_esp32s3_with_a_reset_mid_line(catalog: PluginCatalog) -> None:
    """What the sketch Deploy exports prints, with the ESP32-S3 ROM's boot text after a reset that
    cut a line, garbage bytes and an `error: Invoke() failed` line: the cut line and the tail of the
    line begun before the port opened are malformed; boot text and the error line are not data;
    `nan` and Arduino's `ovf` are NaN."""
    parser, records = read(catalog, "exported_sketch_esp32s3.txt", "arduino")
    assert channels(records) == ["wave", "idle", "snake_left"]
    assert_records(
        records,
        [
            (1, {"wave": 0.00391, "idle": 0.98828, "snake_left": 0.00781}),
            (2, {"wave": 0.01172, "idle": 0.96875, "snake_left": 0.01953}),
            (3, {"wave": 0.91797, "idle": 0.03906, "snake_left": 0.04297}),
            (15, {"wave": 0.0, "idle": 0.99609, "snake_left": 0.00391}),
            (17, {"wave": 0.02734, "idle": 0.95703, "snake_left": 0.01563}),
            (18, {"wave": 0.5, "idle": 0.25, "snake_left": 0.25}),
            (19, {"wave": NAN, "idle": 0.0, "snake_left": NAN}),
        ],
    )
    assert all(record.events == () for record in records)
    assert parser.malformed == 2  # type: ignore[attr-defined]


def test_arduino_parser_reads_the_serial_plotter_protocol(catalog: PluginCatalog) -> None:
    """Separators (space, tab, comma), `label : value` and `label: value` (which the IDE 2 plotter
    drops), bare values named `value N`, a `label:` line naming positions, and text left out."""
    parser = catalog.parser("arduino")
    records = feed_all(
        parser,
        [
            "Booting sketch v2, 3 sensors",  # words and numbers: text, not data
            "temp:21.5,humidity:40",
            "x:1 y:-2.5\tz:3e2",
            "accel : 0.25",
            "Temperature: 23.64 Humidity: 40.1",
            "42",
            "ax:\tay:",  # names positions 1 and 2, once a line of two bare values follows
            "0.1\t0.2",
            "score:nan",
            "Error: sensor not found",
            "min:-inf max:inf",
        ],
    )
    assert_records(
        records,
        [
            (1, {"temp": 21.5, "humidity": 40.0}),
            (2, {"x": 1.0, "y": -2.5, "z": 300.0}),
            (3, {"accel": 0.25}),
            (4, {"Temperature": 23.64, "Humidity": 40.1}),
            (5, {"value 1": 42.0}),
            (7, {"ax": 0.1, "ay": 0.2}),
            (8, {"score": NAN}),
            (10, {"min": -math.inf, "max": math.inf}),
        ],
    )
    assert parser.malformed == 0  # type: ignore[attr-defined]


def test_arduino_parser_names_positions_only_when_a_matching_line_follows(catalog: PluginCatalog) -> None:
    """A header line names the bare values once a line of as many values follows; boot text
    (`Booting...`, the ESP32 ROM's `entry 0x403c98d4`) never names a channel."""
    parser = catalog.parser("arduino")
    records = feed_all(parser, ["Booting...", "7", "entry 0x403c98d4", "1 2", "pitch roll", "3 4", "5 6 7"])
    assert [r.values for r in records] == [
        {"value 1": 7.0},
        {"value 1": 1.0, "value 2": 2.0},
        {"pitch": 3.0, "roll": 4.0},
        {"pitch": 5.0, "roll": 6.0, "value 3": 7.0},
    ]


def test_arduino_parser_counts_lines_it_cannot_read_whole_as_malformed(catalog: PluginCatalog) -> None:
    """A value that is no number beside ones that are, and labelled values mixed with bare ones
    (a line's tail), are malformed; lines of text and the exported sketch's error lines are not."""
    parser = catalog.parser("arduino")
    lines = [
        "a:1 b:1.2.3",
        "5 class1:0.25",
        "error: Invoke() failed",
        "error: got 3 input values, the model takes 4",
        "rst:0x1 (POWERON),boot:0x8 (SPI_FAST_FLASH_BOOT)",
        "mode:DIO, clock div:1",
        "Build:Mar 27 2021",
    ]
    assert feed_all(parser, lines) == []
    assert parser.malformed == 2  # type: ignore[attr-defined]


def test_arduino_parser_reads_64_channels(catalog: PluginCatalog) -> None:
    """64 labelled outputs on one line (the exported sketch's `class0..class63` when a model has no
    labels), and 64 bare values."""
    parser = catalog.parser("arduino")
    labelled = " ".join(f"class{i}:{i / 100:.5f}" for i in range(64))
    bare = "\t".join(f"{-(i + 0.5)}" for i in range(64))
    records = feed_all(parser, [labelled, bare])
    assert len(records) == 2
    assert same(records[0].values, {f"class{i}": i / 100 for i in range(64)})
    assert same(records[1].values, {f"value {i + 1}": -i - 0.5 for i in range(64)})


# --- columns ----------------------------------------------------------------------------------


def test_imu_capture_csv_with_its_header_printed_again_after_a_reset(catalog: PluginCatalog) -> None:
    """IMU_Capture.ino's header and rows; a row cut by a reset has too few fields (malformed); the
    empty line after a gesture is nothing."""
    parser, records = read(catalog, "imu_capture_csv.txt", "csv")
    names = ["aX", "aY", "aZ", "gX", "gY", "gZ"]
    assert channels(records) == names
    rows = {
        1: [-0.012, 0.984, 0.138, 1.465, -2.014, 0.610],
        2: [0.117, 1.123, 0.201, 24.719, -12.268, 3.906],
        3: [0.502, 1.894, 0.411, 87.952, -40.039, 11.230],
        4: [1.238, 2.511, 0.095, 163.147, -70.801, 18.921],
        7: [0.004, 0.990, 0.131, 0.366, -0.122, -0.061],
        8: [0.227, 1.402, 0.329, 45.105, -22.034, 6.592],
        10: [NAN, 0.998, 0.127, 0.427, -0.244, NAN],
    }
    assert_records(records, [(time, dict(zip(names, row, strict=True))) for time, row in rows.items()])
    assert parser.malformed == 1  # type: ignore[attr-defined]


def test_the_edge_impulse_data_forwarder_sketch_tab_separated(catalog: PluginCatalog) -> None:
    """Tab-separated values without a header; `Started` names nothing."""
    parser, records = read(catalog, "data_forwarder_tabs.txt", "csv")
    names = ["column 1", "column 2", "column 3"]
    rows = {2: [-0.43, 0.16, 9.86], 3: [-0.45, 0.17, 9.84], 4: [-0.41, 0.18, 9.87], 5: [-3.71, 2.94, 11.62]}
    rows[6] = [-6.08, 4.51, 13.09]
    assert_records(records, [(time, dict(zip(names, row, strict=True))) for time, row in rows.items()])
    assert parser.malformed == 0  # type: ignore[attr-defined]


def test_csv_parser_reads_headers_separators_and_quotes(catalog: PluginCatalog) -> None:
    """Quoted and spaced header names, a separator after the last field, semicolons, a new header
    after a reset; rows of another width or mixing words are malformed, a line of words is not."""
    parser = catalog.parser("csv")
    assert feed_all(parser, ["1,2,3"]) == [Record(0.0, {"column 1": 1.0, "column 2": 2.0, "column 3": 3.0})]
    records = feed_all(
        parser,
        [
            '"ax", ay ,az',
            "0.5,-1,2e-3,",
            "1,2",  # wrong number of fields
            "1,two,3",  # words among numbers
            "Booting sketch v2",  # text
            "millis;score",  # printed again after a reset: new names
            "1000;0.9",
        ],
    )
    assert_records(records, [(1.0, {"ax": 0.5, "ay": -1.0, "az": 0.002}), (6.0, {"millis": 1000.0, "score": 0.9})])
    assert parser.malformed == 2  # type: ignore[attr-defined]


def test_csv_parser_reads_64_columns(catalog: PluginCatalog) -> None:
    parser = catalog.parser("csv")
    header = ",".join(f"ch{i}" for i in range(64))
    row = ",".join(f"{i * 0.25}" for i in range(64))
    records = feed_all(parser, [header, row])
    assert len(records) == 1 and same(records[0].values, {f"ch{i}": i * 0.25 for i in range(64)})


# --- JSON lines -------------------------------------------------------------------------------


def test_json_lines_from_arduinojson(catalog: PluginCatalog) -> None:
    """ArduinoJson's compact lines after ESP32 boot text: nested objects flattened with dots,
    arrays by index, booleans 1/0, null left out, `label` strings as events, other strings left
    out; pretty-printed JSON is not read; a line cut by a reset is malformed."""
    parser, records = read(catalog, "json_lines.txt", "json")
    assert_records(
        records,
        [
            (9, {"time": 1351824120.0, "data.0": 48.75608, "data.1": 2.302038}),
            (18, {"t": 1200.0, "scores.idle": 0.00391, "scores.wave": 0.99219, "moving": 1.0}),
            (19, {"t": 1400.0, "scores.idle": 0.98828, "scores.wave": 0.01172, "anomaly": -0.25, "moving": 0.0}),
            (
                21,
                {"t": 1800.0, "acc.x": -0.43, "acc.y": 0.16, "acc.z": 9.86, "scores.0": 0.5}
                | {"scores.1": 0.25, "scores.2": 0.25},
            ),
        ],
    )
    assert [record.events for record in records] == [(), ("wave",), ("idle",), ()]
    assert parser.malformed == 1  # type: ignore[attr-defined]


def test_json_events_nan_and_64_keys(catalog: PluginCatalog) -> None:
    """`event`/`label` strings at any depth and `events` lists are events; NaN and Infinity (which
    Python prints) are numbers; a log tag before the object is skipped; 64 keys are 64 channels."""
    parser = catalog.parser("json")
    wide = "{" + ",".join(f'"k{i}":{i}' for i in range(64)) + "}"
    lines = [
        '{"event":"yes","p":{"yes":0.9,"label":"loud"}}',
        '{"events":["tap","tap2"],"x":NaN,"y":-Infinity}',
        'I (1234) app: {"temp":21.5}',
        '{"name":"board"}',  # strings only: nothing
        "[1, 2]",
        wide,
    ]
    records = feed_all(parser, lines)
    assert [(r.time, r.events) for r in records] == [
        (0.0, ("yes", "loud")),
        (1.0, ("tap", "tap2")),
        (2.0, ()),
        (5.0, ()),
    ]
    assert records[0].values == {"p.yes": 0.9}
    assert math.isnan(records[1].values["x"]) and records[1].values["y"] == -math.inf
    assert records[2].values == {"temp": 21.5}
    assert records[3].values == {f"k{i}": float(i) for i in range(64)}
    assert parser.malformed == 0  # type: ignore[attr-defined]


# --- free text --------------------------------------------------------------------------------


def test_tflm_person_detection_after_esp_idf_boot_text(catalog: PluginCatalog) -> None:
    """`person score:-72 no person score 72` gives two channels; ROM and ESP-IDF log lines (with
    colour escapes) and `Image capture failed.` give none."""
    parser, records = read(catalog, "person_detection_tflm.txt", "text")
    assert channels(records) == ["person score", "no person score"]
    scores = {20: (-72, 72), 21: (-72, 72), 23: (61, -61), 24: (110, -110), 25: (-95, 95)}
    assert_records(records, [(time, {"person score": p, "no person score": n}) for time, (p, n) in scores.items()])
    assert parser.malformed == 0  # type: ignore[attr-defined]


def test_tflm_person_detection_arduino_percentages(catalog: PluginCatalog) -> None:
    """`Person score: 89.84% No person score: 10.15%`: the percentages as printed."""
    _, records = read(catalog, "person_detection_arduino.txt", "text")
    scores = {1: (89.84, 10.15), 2: (5.7, 94.92), 3: (99.60, 0.39), 4: (0.39, 99.60)}
    assert_records(records, [(time, {"Person score": p, "No person score": n}) for time, (p, n) in scores.items()])


def test_tflm_hello_world_floats_as_mantissa_times_a_power_of_two(catalog: PluginCatalog) -> None:
    """`x_value: 1.2566366*2^-2, y_value: ...` is read as 1.2566366 * 2**-2; the empty lines
    MicroPrintf adds and the tail of a cut line are nothing."""
    parser, records = read(catalog, "hello_world_tflm.txt", "text")
    assert channels(records) == ["x_value", "y_value"]
    xy = [
        (1.0 * 2**-127, 1.2799993 * 2**-7),
        (1.2566366 * 2**-2, 1.24309 * 2**-2),
        (1.2566366 * 2**-1, 1.1432093 * 2**-1),
        (1.8849551 * 2**-1, 1.5599911 * 2**-1),
        (1.2566366 * 2**0, 1.8497518 * 2**-1),
        (1.5707957 * 2**0, 1.9799991 * 2**-1),
        (1.8849551 * 2**0, 1.9144729 * 2**-1),
        (1.0995567 * 2**1, 1.6360757 * 2**-1),
    ]
    assert_records(records, [(2 + 2 * i, {"x_value": x, "y_value": y}) for i, (x, y) in enumerate(xy)])
    assert parser.malformed == 0  # type: ignore[attr-defined]


def test_text_parser_needs_a_label_for_every_number(catalog: PluginCatalog) -> None:
    """Units after numbers, `=` and parenthesised labels are read; boot text, hex, numbers inside
    words and sentences are not data."""
    parser = catalog.parser("text")
    lines = [
        "Temp = 23.5 C, Hum = 40 %",
        "Temp (C): 21, inference: 12ms",
        "Build:Mar 27 2021",
        "load:0x3fce3808,len:0x44c",
        "ESP-ROM:esp32s3-20210327",
        "I (31) boot: ESP-IDF v5.1.2 2nd stage bootloader",
        "Heard yes (201) @4800ms",
        "x: 1.2.3",
        "1,2,3",
        "The sensor on pin four reported a temperature of 25",
    ]
    records = feed_all(parser, lines)
    assert_records(records, [(0, {"Temp": 23.5, "Hum": 40.0}), (1, {"Temp (C)": 21.0, "inference": 12.0})])


# --- prediction blocks ------------------------------------------------------------------------

EI_CLASSES = ("idle", "snake", "updown", "wave")


def block(timings: tuple[float, float, float], scores: tuple[float, ...], anomaly: float) -> dict[str, float]:
    values = dict(zip(("dsp_ms", "classification_ms", "anomaly_ms"), timings, strict=True))
    return values | dict(zip(EI_CLASSES, scores, strict=True)) | {"anomaly": anomaly}


def test_edge_impulse_classic_static_buffer(catalog: PluginCatalog) -> None:
    """`Predictions (DSP: 16 ms., ...): `, the bracketed list (skipped), indented `label: value`
    lines and `    anomaly score:`, which ends each block; one record a block, timed by its header."""
    parser, records = read(catalog, "edge_impulse_static_buffer.txt", "blocks")
    assert channels(records) == ["dsp_ms", "classification_ms", "anomaly_ms", *EI_CLASSES, "anomaly"]
    assert_records(
        records,
        [
            (4, block((16, 1, 0), (0.0, 0.99609, 0.0, 0.00391), -0.272)),
            (13, block((16, 1, 0), (0.0, 0.99609, 0.0, 0.00391), -0.272)),
            (22, block((17, 2, 0), (0.01172, 0.0, 0.98828, 0.0), 0.104)),
        ],
    )
    assert all(record.events == () for record in records)
    assert parser.malformed == 0  # type: ignore[attr-defined]


def test_edge_impulse_firmware_blocks_between_other_lines(catalog: PluginCatalog) -> None:
    """The firmware's `#Classification results:` blocks with float timings (`0ms.` without a
    space too) and `Anomaly prediction:`, between the application's `92% idle` lines."""
    parser, records = read(catalog, "edge_impulse_firmware.txt", "blocks")
    assert_records(
        records,
        [
            (1, block((19, 0, 1), (0.996094, 0, 0, 0), -0.356135)),
            (10, block((18, 1, 0), (0.996094, 0, 0, 0), -0.352785)),
            (20, block((18, 1, 0), (0.003906, 0.996094, 0, 0), -0.268574)),
            (29, block((18, 1, 0), (0, 0.992188, 0.007812, 0), 0.010583)),
        ],
    )
    assert parser.malformed == 0  # type: ignore[attr-defined]


def test_edge_impulse_sdk_print_results_with_timings_in_us(catalog: PluginCatalog) -> None:
    """`Timing: DSP 2 ms, inference 640 us, anomaly 85 us` gives milliseconds (0.64, 0.085)."""
    _, records = read(catalog, "edge_impulse_sdk.txt", "blocks")
    assert_records(
        records,
        [
            (2, block((2, 0.64, 0.085), (0, 0.996094, 0, 0.003906), -0.272021)),
            (10, block((2, 0.652, 0), (0.988281, 0, 0.011719, 0), 0.041973)),
            (18, block((1.534, 1, 0.091), (0, 0, 0, 1.0), 0.73331)),
        ],
    )


def test_edge_impulse_object_detection_boxes(catalog: PluginCatalog) -> None:
    """Boxes give their label's highest score in the block; a block without boxes gives its
    timings alone."""
    parser, records = read(catalog, "edge_impulse_object_detection.txt", "blocks")
    timings = ("dsp_ms", "classification_ms", "anomaly_ms")
    assert_records(
        records,
        [
            (3, dict(zip(timings, (9, 127, 0), strict=True)) | {"person": 0.902344, "cup": 0.621094}),
            (10, dict(zip(timings, (9, 128, 0), strict=True))),
            (14, dict(zip(timings, (10, 127, 0), strict=True)) | {"cup": 0.878906}),
        ],
    )
    assert parser.malformed == 0  # type: ignore[attr-defined]


def test_tflm_micro_speech_test_category_predictions(catalog: PluginCatalog) -> None:
    """`MicroSpeech category predictions for <no>` then `  0.0547 unknown` lines: value before
    label; the expected label in the header is the test's, not an event."""
    _, records = read(catalog, "micro_speech_test.txt", "blocks")
    categories = ("silence", "unknown", "yes", "no")
    scores = {
        5: (0.0, 0.0547, 0.0, 0.9453),
        13: (0.0, 0.0, 0.9961, 0.0039),
        21: (0.9961, 0.0039, 0.0, 0.0),
        29: (0.9844, 0.0117, 0.0, 0.0039),
    }
    assert_records(records, [(time, dict(zip(categories, s, strict=True))) for time, s in scores.items()])
    assert all(record.events == () for record in records)


def test_a_block_is_given_as_soon_as_its_shape_is_known(catalog: PluginCatalog) -> None:
    """The first block waits for the line after it; once a block without an anomaly line has been
    seen, the next one is given at its last class line, not one inference later. `Predictions:`
    (newer static_buffer) is a sub-header; an unreadable class line is malformed."""
    parser = catalog.parser("blocks")
    lines = [
        "Timing: DSP 0 ms, inference 1 ms, anomaly 0 ms",
        "Predictions:",
        "  down: 0.12500",
        "  up: 0.87500",
        "run_classifier returned: 0",  # ends the first block: its record comes here
        "Timing: DSP 0 ms, inference 2 ms, anomaly 0 ms",
        "Predictions:",
        "  down: 0.25000",
        "  up: 0.75000",  # the shape is known: the record comes here
        "  up: 0.7?",
    ]
    given = [(index, parser.feed(line, float(index))) for index, line in enumerate(lines)]
    assert [(index, [r.time for r in records]) for index, records in given if records] == [(4, [0.0]), (8, [5.0])]
    assert given[8][1][0].values == {
        "dsp_ms": 0.0,
        "classification_ms": 2.0,
        "anomaly_ms": 0.0,
        "down": 0.25,
        "up": 0.75,
    }
    assert parser.malformed == 1  # type: ignore[attr-defined]


def test_prediction_blocks_of_64_classes(catalog: PluginCatalog) -> None:
    parser = catalog.parser("blocks")
    lines = ["Predictions (DSP: 3 ms., Classification: 40 ms.): "]
    lines += [f"    class{i}: {i / 64:.5f}" for i in range(64)]
    lines += ["Done"]
    records = feed_all(parser, lines)
    expected = {"dsp_ms": 3.0, "classification_ms": 40.0} | {f"class{i}": round(i / 64, 5) for i in range(64)}
    assert len(records) == 1 and same(records[0].values, expected)


# --- events -----------------------------------------------------------------------------------


def test_tflm_micro_speech_heard_lines_are_events(catalog: PluginCatalog) -> None:
    """`Heard yes (201) @4800ms`: the event `yes`, `score` 201, `device_time_ms` 4800; a cut line
    is malformed."""
    parser, records = read(catalog, "micro_speech_arduino.txt", "events")
    heard = {1: ("yes", 201, 4800), 2: ("unknown", 153, 7200), 3: ("no", 212, 10400), 5: ("silence", 220, 15264)}
    heard[6] = ("yes", 198, 18720)
    assert [(r.time, r.events) for r in records] == [(time, (word,)) for time, (word, _, _) in heard.items()]
    assert_records(records, [(time, {"score": s, "device_time_ms": t}) for time, (_, s, t) in heard.items()])
    assert parser.malformed == 1  # type: ignore[attr-defined]


def test_tflm_micro_speech_evaluate_frames_and_verdict(catalog: PluginCatalog) -> None:
    """evaluate.py: 49 `Frame #n: [...]` lines as class0..class3, then the verdict as an event."""
    _, records = read(catalog, "micro_speech_evaluate.txt", "events")
    assert len(records) == 50
    assert channels(records) == ["class0", "class1", "class2", "class3", "score"]
    frames = {
        0: (0.9961, 0.0039, 0.0, 0.0),
        18: (0.9227, 0.0273, 0.05, 0.0),
        21: (0.5727, 0.0273, 0.4, 0.0),
        48: (0.0, 0.0, 0.9961, 0.0039),
    }
    for time, scores in frames.items():
        record = records[time]
        assert record.time == time and record.events == ()
        assert same(record.values, {f"class{i}": score for i, score in enumerate(scores)})
    assert (records[49].time, records[49].values, records[49].events) == (49.0, {"score": 0.99}, ("yes",))


def test_tflm_magic_wand_found_lines_are_events(catalog: PluginCatalog) -> None:
    """`Found 3 (87.50%)` after the stroke's raster: the event `3`, `score` 87.5."""
    parser, records = read(catalog, "magic_wand.txt", "events")
    assert [(r.time, r.values, r.events) for r in records] == [
        (35.0, {"score": 87.5}, ("3",)),
        (69.0, {"score": 99.6}, ("7",)),
    ]
    assert parser.malformed == 0  # type: ignore[attr-defined]


def test_event_lines_of_ones_own(catalog: PluginCatalog) -> None:
    parser = catalog.parser("events")
    lines = [
        "Detected: person (0.92)",
        "Recognized go",
        "Prediction: wave (93%)",
        "Keyword <yes> @120ms",
        "Found 3 networks",
    ]
    records = feed_all(parser, lines)
    assert [(r.time, r.values, r.events) for r in records] == [
        (0.0, {"score": 0.92}, ("person",)),
        (1.0, {}, ("go",)),
        (2.0, {"score": 93.0}, ("wave",)),
        (3.0, {"device_time_ms": 120.0}, ("yes",)),
    ]


# --- detection --------------------------------------------------------------------------------

DETECTED = {
    "exported_sketch_esp32s3.txt": "arduino",
    "imu_capture_csv.txt": "csv",
    "data_forwarder_tabs.txt": "csv",
    "json_lines.txt": "json",
    "person_detection_tflm.txt": "text",
    "person_detection_arduino.txt": "text",
    "hello_world_tflm.txt": "text",
    "edge_impulse_static_buffer.txt": "blocks",
    "edge_impulse_firmware.txt": "blocks",
    "edge_impulse_sdk.txt": "blocks",
    "edge_impulse_object_detection.txt": "blocks",
    "micro_speech_test.txt": "blocks",
    "micro_speech_arduino.txt": "events",
    "micro_speech_evaluate.txt": "events",
    "magic_wand.txt": "events",
}


def test_every_transcript_has_a_detection_test() -> None:
    assert set(DETECTED) == {path.name for path in TRANSCRIPTS.glob("*.txt")}


@pytest.mark.parametrize("name", sorted(DETECTED))
def test_detect_picks_the_parser_of_each_transcript_behind_boot_text_and_garbage(
    catalog: PluginCatalog, name: str
) -> None:
    """detect() over the transcript, and over the same lines behind ESP32 boot text and garbage."""
    lines = transcript(name)
    boot = transcript("person_detection_tflm.txt")[:20] + ["\ufffd\ufffd\x00", "Booting...", "rst:0x1 (POWERON)"]
    for sample in (lines, boot + lines):
        chosen = detect(sample, catalog.parsers())
        assert chosen is not None and chosen.name == DETECTED[name], sniffs(catalog, sample)


def test_the_arduino_parser_does_not_claim_edge_impulse_or_person_detection_text(catalog: PluginCatalog) -> None:
    """Edge Impulse's indented `label: value` lines and TFLM's person scores are not plotter data to
    the Arduino parser's sniff."""
    arduino = catalog.parser("arduino")
    for name in ("edge_impulse_static_buffer.txt", "edge_impulse_firmware.txt", "edge_impulse_sdk.txt"):
        assert arduino.sniff(transcript(name)) < 0.5, name
    for name in ("person_detection_tflm.txt", "person_detection_arduino.txt", "micro_speech_test.txt"):
        assert arduino.sniff(transcript(name)) == 0.0, name


def test_boot_text_and_garbage_alone_are_no_format(catalog: PluginCatalog) -> None:
    boot = transcript("person_detection_tflm.txt")[:20] + ["\ufffd\ufffd\x00", "Booting...", "Hello from the board"]
    assert detect(boot, catalog.parsers()) is None, sniffs(catalog, boot)


def test_detect_on_the_first_lines_of_a_stream(catalog: PluginCatalog) -> None:
    """The first 20 non-empty lines (what the stream sniffs) are enough for each line format."""
    for name in ("exported_sketch_esp32s3.txt", "imu_capture_csv.txt", "hello_world_tflm.txt", "json_lines.txt"):
        first = [line for line in transcript(name) if line.strip()][:20]
        chosen = detect(first, catalog.parsers())
        assert chosen is not None and chosen.name == DETECTED[name], (name, sniffs(catalog, first))


# --- lines split across chunks ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["exported_sketch_esp32s3.txt", "edge_impulse_firmware.txt", "json_lines.txt"])
def test_a_line_split_across_two_chunks_is_read_whole(catalog: PluginCatalog, name: str) -> None:
    """The transcript's bytes (CRLF endings, as Serial.println sends) cut in two at every position:
    the line splitter joins the halves, so the records are those of the whole lines."""
    data = "\r\n".join(transcript(name)).encode() + b"\r\n"
    expected = feed_all(catalog.parser(DETECTED[name]), transcript(name))
    for cut in range(1, len(data), 7):
        splitter = LineSplitter()
        lines = splitter.feed(data[:cut]) + splitter.feed(data[cut:]) + splitter.flush()
        records = feed_all(catalog.parser(DETECTED[name]), lines)
        assert [(r.time, r.events) for r in records] == [(r.time, r.events) for r in expected], cut
        assert all(same(r.values, e.values) for r, e in zip(records, expected, strict=True)), cut


# --- many lines at once: feed_lines ---------------------------------------------------------

CSV_LINES = [
    "Booting sketch v2",
    *[f"{i}.5,-{i},1e-3" for i in range(12)],  # no header: column 1..3
    '"ax", ay ,az',
    *[f"{i}.25,{i},nan" for i in range(9)],
    "1,2",  # a width the header does not have: malformed
    *[f"{i},{-i}" for i in range(6)],  # a run of them: all malformed
    "",
    *[f"{i};{i}.5;inf;-inf" for i in range(5)],
    "millis,score",  # a new header (a reset)
    *[f"{i}00,0.{i}," for i in range(8)],  # a separator after the last field
    *[f"{i}\t{i + 1}" for i in range(7)],
    "1,two",
    *[f"{i},{i}" for i in range(3)],
    "",
    "",
    *[f"{i} ,  {i}" for i in range(5)],
    *[",".join(f"{c * i}" for c in range(64)) for i in range(5)],
    *[f"{i},ovf" for i in range(4)],
    *[f"{i},1_0" for i in range(4)],
]
ARDUINO_LINES = [
    "Booting...",
    *[f"a:{i} b:-{i}" for i in range(10)],
    *[f"a: {i} b : {i}.5" for i in range(5)],
    *[f"a:{i},b:{i}" for i in range(5)],
    *[f"b:{i} a:{i}" for i in range(5)],  # another order
    "a:1 a:2",
    *[f"a:{i} b:ovf" for i in range(4)],
    "5 class1:0.25",  # malformed
    *[f"{i} {i + 1} {i + 2}" for i in range(6)],  # bare: value 1..3
    "pitch roll yaw",
    *[f"{i}\t{i}.5,{i}" for i in range(6)],  # named by the header
    "",
    *[f"{i} {i}" for i in range(4)],  # narrower: pitch roll
    *[" ".join(f"class{c}:{c * i}" for c in range(64)) for i in range(5)],
    "error: Invoke() failed",
    *[f"x:{i}:1 y:2" for i in range(4)],
    *[f"x:{i} y:2 extra" for i in range(4)],
    *[f"a:{i} 5" for i in range(4)],
    *["a:nan b:-inf\t" for _ in range(4)],
]


def by_runs(parser: Parser, lines: list[str], size: int) -> tuple[list[Record], int]:
    """feed_lines over runs of `size` lines, each run at the time of its first line's index."""
    records: list[Record] = []
    malformed = 0
    for start in range(0, len(lines), size):
        batch = parser.feed_lines(lines[start : start + size], float(start))
        records += batch.records()
        malformed += batch.malformed
    return records, malformed


def one_by_one(parser: Parser, lines: list[str], size: int) -> tuple[list[Record], int]:
    """feed() line by line, each line at the time of its run's first line, as by_runs times them."""
    records = [record for index, line in enumerate(lines) for record in parser.feed(line, float(index // size * size))]
    return records, parser.malformed  # type: ignore[attr-defined]


@pytest.mark.parametrize(("name", "lines"), [("csv", CSV_LINES), ("arduino", ARDUINO_LINES)])
@pytest.mark.parametrize("size", [1, 3, 4, 5, 7, 10, 50, 1000])
def test_feed_lines_gives_what_feed_gives_line_by_line(
    catalog: PluginCatalog, name: str, lines: list[str], size: int
) -> None:
    """Runs of every size over lines of every kind the parser meets (headers, rows of other
    widths, blank lines, separators after the last field, nan and ovf, 64 channels, bare values
    named by a header, lines that only look alike): the same records, values, channel order and
    malformed count as feeding the lines one by one, and the parser's own count agrees."""
    expected, expected_malformed = one_by_one(catalog.parser(name), lines, size)
    parser = catalog.parser(name)
    records, malformed = by_runs(parser, lines, size)
    assert [(r.time, list(r.values), r.events) for r in records] == [
        (r.time, list(r.values), r.events) for r in expected
    ]
    assert all(same(r.values, e.values) for r, e in zip(records, expected, strict=True))
    assert malformed == expected_malformed == parser.malformed  # type: ignore[attr-defined]
    assert expected_malformed >= 3  # the lines above hold malformed ones


RUNS = {
    "csv": [
        ["1,2,3,"] * 3 + ["1,2,3"],  # a separator after the last field on some lines only
        ["1,2,3"] * 3 + ["4,5,6,"],
        ["1,2,3,,"] * 4,
        ["1,2,3"] * 3 + ["1;2;3"],  # another separator
        ["1;2;3"] * 3 + ["1,2;3"],
        ["1 2 3"] * 3 + ["1,2,3"],
        ["1,2,3"] * 3 + ["1,2"],  # another width
        ["1,2,3"] * 3 + ['"1",2,3'],  # quotes
        ["1,2,3"] * 3 + ["   "],
        ["1,2,3"] * 3 + ["1,2,3 # c"],
        ["1,2,3"] * 3 + ["\u0661,2,3"],  # a digit numpy does not read and Python does
        ["x,y,z"],  # a header: names the rows of its width only
        ["1,2"] * 4,
        ["1,2,3"] * 4,
        ["1,2"] * 4,  # now malformed: the header has 3 names
        ["p,q"],
        ["1,2,3"] * 4,  # the header waits for a row of 2
        ["4,5"] * 4,
    ],
    "arduino": [
        ["a:1 b:2"] * 4 + ["a:1 b:2 c:3"],  # a longer last line
        ["a:1 b:2 c:3"] + ["a:1 b:2"] * 4,
        ["a:1 b:2"] * 3 + ["a:1 c:2"],  # another label
        ["a:1 b:2"] * 3 + ["b:1 a:2"],  # another order
        ["a:1 b:2"] * 3 + ["a:1 b:x"],  # a value that is no number
        ["a:1 b:2"] * 3 + ["a:1:2 b:2"],
        ["a:1 b:2"] * 3 + ["a:1 b:2:3"],
        ["a:1 b:2"] * 3 + ["a 1 b 2"],  # no colons
        ["a:1 b:2"] * 3 + ["", "a:1 b:2"],
        ["a:1 b:2"] * 3 + ["a:1 b:2\x00"],
        ["a:1 b:2"] * 3 + ["a:1 b:2 5"],
        ["a:1 b:2"] * 3 + ["a:1 b:"],  # a value missing at the end
        ["a:1 b:2"] * 3 + ["a:1 b:2 c:"],
        ["a:1 a:2 b:3"] * 4,  # a label twice
        ["::1"] * 4,
        ["1 2"] * 3 + ["1 2 3"],
        ["1 2"] * 3 + ["1 x"],
        ["1 2"] * 3 + ["1 ovf"],
        ["1 2"] * 3 + ["1 a:2"],
        ["pitch roll"],  # names 2 bare values, once a line of 2 follows
        ["1 2 3"] * 4,  # 3: the names are dropped
        ["1 2"] * 4,
        ["pitch roll"],
        ["1 2"] * 4,
        ["1 2 3"] * 4,
        ["yaw yaw"],
        ["1 2"] * 4,  # a name twice
    ],
}


@pytest.mark.parametrize("name", sorted(RUNS))
def test_feed_lines_falls_back_for_a_run_with_a_line_unlike_the_others(catalog: PluginCatalog, name: str) -> None:
    """Runs that are of one shape but for one line, and runs whose names come from a header
    before them: the records and malformed counts of feeding the lines one by one."""
    parser, reference = catalog.parser(name), catalog.parser(name)
    for number, run in enumerate(RUNS[name]):
        before = reference.malformed  # type: ignore[attr-defined]
        batch = parser.feed_lines(run, float(number))
        expected = [record for line in run for record in reference.feed(line, float(number))]
        records = batch.records()
        assert [(r.time, list(r.values)) for r in records] == [(r.time, list(r.values)) for r in expected], run
        assert all(same(r.values, e.values) for r, e in zip(records, expected, strict=True)), run
        assert parser.malformed == reference.malformed  # type: ignore[attr-defined]
        assert batch.malformed == reference.malformed - before, run  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["csv", "arduino"])
def test_feed_lines_agrees_with_feed_on_lines_made_of_random_pieces(catalog: PluginCatalog, name: str) -> None:
    """Runs of lines that are alike but for a piece here and there, made of labels, colons,
    separators, numbers, nan, ovf, quotes and spaces (a seeded generator: the same runs every
    time): feed_lines gives feed()'s records and counts, leaves the parser in the same state,
    and numpy says nothing."""
    pieces = ["a", "b", "c", ":", ":", " ", " ", ",", ";", "\t", "1", "2.5", "-3", "nan", "ovf", "x", "1e3", '"', "  "]
    generator = random.Random(8)
    for _ in range(1500):
        base = "".join(generator.choice(pieces) for _ in range(generator.randint(1, 8)))
        run = []
        for _ in range(generator.randint(4, 8)):
            position = generator.randint(0, len(base))
            line = base if generator.random() < 0.7 else base[:position] + generator.choice(pieces) + base[position:]
            run.append(line.replace("1", str(generator.randint(0, 99))) if generator.random() < 0.2 else line)
        parser, reference = catalog.parser(name), catalog.parser(name)
        for line in generator.choice([[], ["a,b"], ["a b"], ["x y z"]]):
            parser.feed(line, 0.0)
            reference.feed(line, 0.0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            batch = parser.feed_lines(run, 1.0)
        expected = [record for line in run for record in reference.feed(line, 1.0)]
        records = batch.records()
        assert [(r.time, list(r.values)) for r in records] == [(r.time, list(r.values)) for r in expected], run
        assert all(same(r.values, e.values) for r, e in zip(records, expected, strict=True)), run
        assert batch.malformed == reference.malformed == parser.malformed, run  # type: ignore[attr-defined]
        assert vars(parser) == vars(reference), run


@pytest.mark.parametrize(
    ("name", "lines", "channels"),
    [
        ("csv", [f"{i}.5,-{i},nan,1e-3" for i in range(50)], ["column 1", "column 2", "column 3", "column 4"]),
        ("csv", [f"{i};{i}.5;" for i in range(50)], ["column 1", "column 2"]),
        ("csv", [f"{i}\t{i}" for i in range(50)], ["column 1", "column 2"]),
        ("arduino", [f"idle:0.{i} wave:-{i} x:inf" for i in range(50)], ["idle", "wave", "x"]),
        ("arduino", [f"a: {i}, b : {i}" for i in range(50)], ["a", "b"]),
        ("arduino", [f"{i} {i}.5" for i in range(50)], ["value 1", "value 2"]),
    ],
)
def test_a_run_of_lines_of_one_shape_is_read_in_columns(
    catalog: PluginCatalog, name: str, lines: list[str], channels: list[str]
) -> None:
    """The fast path is taken: one Columns part, float64 columns, the records feed() gives."""
    batch = catalog.parser(name).feed_lines(lines, 2.5)
    assert len(batch.parts) == 1 and isinstance(batch.parts[0], Columns)
    assert list(batch.parts[0].values) == channels
    assert all(column.dtype == np.float64 for column in batch.parts[0].values.values())
    expected = feed_all(catalog.parser(name), lines)
    assert len(batch) == len(expected) == 50 and batch.malformed == 0
    assert all(r.time == 2.5 and same(r.values, e.values) for r, e in zip(batch.records(), expected, strict=True))


class Fussy(Parser):
    """Counts `?` lines as malformed, fails on `!` lines, gives a record for the others."""

    name = "fussy"
    description = "a test parser"

    def __init__(self) -> None:
        self.malformed = 0

    def sniff(self, lines: list[str]) -> float:
        return 0.0

    def feed(self, line: str, time: float) -> list[Record]:
        if line == "!":
            raise RuntimeError("a bug in a plugin")
        if line == "?":
            self.malformed += 1
            return []
        return [Record(time, {"n": float(line)})]


def test_the_default_feed_lines_feeds_each_line_and_counts_what_the_parser_counts() -> None:
    """A parser without its own feed_lines: records in order, malformed = what its `malformed`
    grew by plus the lines it raised on; a flush() that holds nothing."""
    parser = Fussy()
    batch = parser.feed_lines(["1", "?", "2", "!", "3", "?"], 4.0)
    assert [(r.time, r.values) for r in batch.records()] == [(4.0, {"n": 1.0}), (4.0, {"n": 2.0}), (4.0, {"n": 3.0})]
    assert batch.malformed == 3 and parser.malformed == 2
    assert parser.flush() == []


def test_a_batch_makes_records_only_when_asked_and_joins_columns_of_the_same_channels() -> None:
    def columns(start: int, names: tuple[str, ...]) -> Columns:
        times = np.arange(start, start + 3, dtype=np.float64)
        return Columns(times, {name: times * (k + 1) for k, name in enumerate(names)})

    batch = Batch()
    batch.add_columns(columns(0, ("a", "b")))
    batch.add_columns(columns(3, ("a", "b")))
    batch.add([Record(6.0, {}, ("yes",))])
    batch.add([Record(7.0, {"c": 1.0})])
    batch.add_columns(columns(8, ("b", "a")))  # other order: another run
    assert len(batch) == 11 and len(batch.parts) == 4
    batch.compact()
    assert [len(part) for part in batch.parts] == [6, 2, 3]
    records = batch.records()
    assert [r.time for r in records] == [float(t) for t in range(11)]
    assert records[4] == Record(4.0, {"a": 4.0, "b": 8.0}) and records[6] == Record(6.0, {}, ("yes",))
    assert records[8] == Record(8.0, {"b": 8.0, "a": 16.0})
    assert batch.records(last=4) == records[-4:] and batch.records(last=0) == []
    assert batch.records(last=50) == records
    assert Batch.of_parts(batch.parts).records() == records


# --- detection of a slow board ----------------------------------------------------------------


def test_one_exported_sketch_line_is_enough_to_recognise_the_plotter_format(catalog: PluginCatalog) -> None:
    """A board printing once a second: its first `label:value label:value` line is recognised,
    behind boot text too; one line of a single label, or of bare numbers, is not enough."""
    line = "idle:0.98047 wave:0.01172 snake_left:0.00781"
    boot = transcript("person_detection_tflm.txt")[:20]
    for sample in ([line], [*boot, line]):
        chosen = detect(sample, catalog.parsers())
        assert chosen is not None and chosen.name == "arduino", sniffs(catalog, sample)
    assert catalog.parser("arduino").sniff(["temp:21.5"]) < DETECT_THRESHOLD
    assert catalog.parser("arduino").sniff(["1 2 3"]) < DETECT_THRESHOLD
    assert catalog.parser("arduino").sniff(["    idle: 0.5 wave: 0.5"]) < DETECT_THRESHOLD  # indented: a block


# --- flush ------------------------------------------------------------------------------------


def test_the_last_prediction_block_comes_with_flush(catalog: PluginCatalog) -> None:
    """The first block of a stream waits for the line after it; flush() (the board stopped)
    gives it; a second flush gives nothing."""
    parser = catalog.parser("blocks")
    lines = ["Predictions (DSP: 3 ms., Classification: 40 ms.): ", "    yes: 0.75", "    no: 0.25"]
    assert feed_all(parser, lines) == []
    assert parser.flush() == [Record(0.0, {"dsp_ms": 3.0, "classification_ms": 40.0, "yes": 0.75, "no": 0.25})]
    assert parser.flush() == []
