"""The virtual board (simulator.py) and the sketch's line format (sketch_format.py).

The board runs in a thread of the test process on the bundled sample (TFLM's interpreter; no
TensorFlow), serves a real pseudo-terminal (or a socket), and the test reads it with pyserial as the
Monitor would. What it should print is computed independently: `run_model` runs the same rows in
TFLM in a child process.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import serial

from tests.conftest import ROOT, SAMPLES
from workbench.core.errors import WorkbenchError
from workbench.core.inference import dequantize_from, parse_inputs, quantize_for, run_model
from workbench.core.loading import load_model
from workbench.core.tflite_file import Quantization, Tensor
from workbench.monitor.simulator import SimulatorStats, describe_ready, simulate, synthetic_rows
from workbench.monitor.sketch_format import sketch_dequantize, sketch_float, sketch_label, sketch_line, sketch_quantize
from workbench.tasks import Task

DEADLINE_S = 10.0  # generous: the machine is shared; tests wait for conditions, not for durations
SAMPLE_MODEL = SAMPLES / "digits_int8.tflite"
SAMPLE_ROWS = SAMPLES / "digits_samples.csv"
SAMPLE_LABELS = (SAMPLES / "labels.txt").read_text().split()
NUMBER = r"-?\d+\.\d{5}"


# ---- The line format ------------------------------------------------------------------------------


def test_labels_are_printed_as_print_label_prints_them() -> None:
    """Separators become '_', non-ASCII is kept, a NUL ends the C string, a missing or empty label
    prints class<index>."""
    labels = ["dog house", "a,b:c\td", "café", "x\0y", "", "\0hidden"]
    printed = [sketch_label(labels, i) for i in range(7)]
    assert printed == ["dog_house", "a_b_c_d", "café", "x", "class4", "class5", "class6"]
    assert sketch_label([], 3) == "class3"


def test_floats_are_printed_as_arduino_serial_print_prints_them() -> None:
    """Serial.print(value, 5): nan/inf/ovf words, no sign on -0.0, halves rounded up (printf rounds
    0.015625 to even, 0.01562; the board prints 0.01563)."""
    assert [sketch_float(v) for v in (float("nan"), float("inf"), float("-inf"), 5e9, -5e9)] == [
        "nan",
        "inf",
        "inf",
        "ovf",
        "ovf",
    ]
    assert sketch_float(-0.0) == "0.00000" and f"{-0.0:.5f}" == "-0.00000"
    assert sketch_float(0.015625) == "0.01563" and f"{0.015625:.5f}" == "0.01562"
    assert sketch_float(-0.25) == "-0.25000"
    assert sketch_float(1.999999) == "2.00000"
    assert sketch_float(4294967040.0) == "4294967040.00000"


def test_ordinary_floats_print_as_correctly_rounded_decimals() -> None:
    """Away from exact halves (and the words), Arduino's digit-by-digit printing gives the correctly
    rounded 5-decimal text that Python computes its own way, for float32 values of every size."""
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.uniform(-1, 1, 3000), rng.uniform(-1e6, 1e6, 1000), rng.uniform(0, 1e-4, 500)]).astype(
        np.float32
    )
    compared = 0
    for value in map(float, values):
        if (Fraction(value) * 10**5).denominator == 2:
            continue  # an exact half: the board rounds up, Python to even
        assert sketch_float(value) == f"{value:.5f}", value
        compared += 1
    assert compared > 4000


def test_a_line_is_label_colon_value_pairs_separated_by_spaces() -> None:
    values = np.array([0.25, 0.75, 1 / 3], dtype=np.float32)
    assert sketch_line(values, ["cat", "dog house"]) == "cat:0.25000 dog_house:0.75000 class2:0.33333"


def _int8_tensor(scale: float, zero_point: int) -> Tensor:
    return Tensor(0, "x", [1, 64], [1, 64], "INT8", 0, Quantization([scale], [zero_point], 0), None)


def test_inputs_are_quantized_as_the_sketch_quantizes_them() -> None:
    """set_input(): the workbench's own quantization except at exact halves, which go away from
    zero (numpy rounds them to even), and values beyond the range are held at its ends."""
    scale, zero_point = float(np.float32(1 / 255)), -128
    rng = np.random.default_rng(3)
    values = rng.uniform(-0.2, 1.2, 64)
    board = sketch_quantize(values, "INT8", scale, zero_point)
    assert board.dtype == np.int8
    assert np.array_equal(board.reshape(-1), quantize_for(_int8_tensor(scale, zero_point), values).reshape(-1))
    halves = sketch_quantize(np.array([2.5, -2.5, 0.5, 1000.0, -1000.0]), "INT8", 1.0, 0)
    assert halves.tolist() == [3, -3, 1, 127, -128]
    assert np.round([2.5, -2.5, 0.5]).tolist() == [2.0, -2.0, 0.0]


def test_outputs_are_dequantized_as_output_value_does() -> None:
    """output_value(): (q - zero_point) * scale as a float32, the workbench's value rounded to float32."""
    q = np.arange(-128, 128, dtype=np.int8)
    tensor = _int8_tensor(float(np.float32(0.00390625)), -128)
    values = sketch_dequantize(q, 0.00390625, -128)
    assert values.dtype == np.float32
    assert np.array_equal(values, dequantize_from(tensor, q).astype(np.float32))


# ---- The board --------------------------------------------------------------------------------------


@dataclass
class Running:
    port: str
    task: Task
    thread: threading.Thread
    outcome: dict[str, Any] = field(default_factory=dict)

    def stop(self) -> SimulatorStats:
        """Cancel, and the stats once the board has ended."""
        self.task.cancel()
        self.thread.join(DEADLINE_S)
        assert not self.thread.is_alive(), "the board did not stop when cancelled"
        stats: SimulatorStats = self.outcome["stats"]
        return stats


@contextlib.contextmanager
def running_board(model: Path, **options: Any) -> Iterator[Running]:
    """simulate() in a thread until the test ends; raises what it raised before its port opened."""
    task = Task()
    ready: queue.Queue[str | None] = queue.Queue()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["stats"] = simulate(model, task=task, on_ready=ready.put, **options)
        except BaseException as error:  # noqa: BLE001 - handed to the test thread
            outcome["error"] = error
            ready.put(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    port = ready.get(timeout=DEADLINE_S * 3)
    if port is None:
        raise outcome["error"]
    running = Running(port, task, thread, outcome)
    try:
        yield running
    finally:
        task.cancel()
        thread.join(DEADLINE_S)


@pytest.fixture(scope="module")
def expected_sample_lines() -> list[str]:
    """Per sample row, the line a board prints: TFLM (in a child process, through run_model) on the
    row as the board's input holds it."""
    model = load_model(SAMPLE_MODEL)
    graph = model.graph.main
    quantization = graph.tensors[graph.inputs[0]].quantization
    assert quantization is not None
    scale, zero_point = quantization.scales[0], quantization.zero_points[0]
    rows = parse_inputs(str(SAMPLE_ROWS))
    as_board = (sketch_quantize(rows, "INT8", scale, zero_point).astype(np.float64) - zero_point) * scale
    return [sketch_line(p.outputs[0], SAMPLE_LABELS) + "\n" for p in run_model(model, as_board)]


def _read_lines(reader: serial.SerialBase, count: int) -> list[str]:
    lines = []
    for _ in range(count):
        line = reader.readline().decode()
        assert line.endswith("\n"), f"no whole line within {DEADLINE_S} s: {line!r}"
        lines.append(line)
    return lines


def _follows_cyclically(lines: list[str], expected: list[str]) -> bool:
    n = len(expected)
    return any(all(line == expected[(k + i) % n] for i, line in enumerate(lines)) for k in range(n))


def _values(line: str) -> dict[str, float]:
    pairs = line.rstrip("\n").split(" ")
    assert all(re.fullmatch(rf"[^\s:,]+:{NUMBER}", pair) for pair in pairs), line
    return {label: float(value) for label, value in (pair.split(":") for pair in pairs)}


def test_sample_board_prints_tflm_predictions_of_the_sample_rows_in_turn(
    tmp_path: Path, expected_sample_lines: list[str]
) -> None:
    """The bundled sample out of the box: a pty linked where asked, lines of the sample's 10 labels
    with scores in 0..1 summing to ~1, exactly TFLM's predictions of the sample rows in order, so the
    predicted digit changes from line to line."""
    link = tmp_path / "board"
    with running_board(SAMPLE_MODEL, rate_hz=50, link=link) as board:
        assert os.readlink(link) == board.port and board.port.startswith("/dev/")
        with serial.Serial(str(link), 115200, timeout=DEADLINE_S) as reader:
            lines = _read_lines(reader, 15)
        stats = board.stop()
    for line in lines:
        values = _values(line)
        assert list(values) == SAMPLE_LABELS
        assert all(0 <= v <= 1 for v in values.values()) and sum(values.values()) == pytest.approx(1, abs=0.03)
    assert _follows_cyclically(lines, expected_sample_lines)
    tops = [max(_values(line).items(), key=lambda item: item[1])[0] for line in lines[:10]]
    assert len(set(tops)) >= 8
    assert stats.inputs.startswith("digits_samples.csv") and stats.lines_sent >= 15
    assert not link.is_symlink()


def test_rate_sets_how_many_lines_a_second(tmp_path: Path) -> None:
    """Roughly rate_hz lines a second (loose bounds: the machine is shared)."""
    with running_board(SAMPLE_MODEL, rate_hz=25, link=tmp_path / "board") as board:
        with serial.Serial(str(tmp_path / "board"), 115200, timeout=DEADLINE_S) as reader:
            reader.readline()
            start = time.monotonic()
            count = 0
            while time.monotonic() - start < 1.2:
                assert reader.readline().endswith(b"\n")
                count += 1
        board.stop()
    assert 12 <= count <= 40, count


def test_socket_board_is_read_with_serial_for_url(expected_sample_lines: list[str]) -> None:
    with running_board(SAMPLE_MODEL, rate_hz=50, transport="socket") as board:
        assert board.port.startswith("socket://127.0.0.1:")
        reader = serial.serial_for_url(board.port, timeout=DEADLINE_S)
        try:
            lines = _read_lines(reader, 12)
        finally:
            reader.close()
        board.stop()
    assert _follows_cyclically(lines, expected_sample_lines)


def test_input_file_rows_are_cycled(tmp_path: Path, expected_sample_lines: list[str]) -> None:
    """--input FILE (.npy): its rows, in turn, over and over."""
    rows = parse_inputs(str(SAMPLE_ROWS))[[2, 5, 8]]
    np.save(tmp_path / "three.npy", rows)
    with running_board(SAMPLE_MODEL, rate_hz=50, input_path=tmp_path / "three.npy", link=tmp_path / "b") as board:
        with serial.Serial(str(tmp_path / "b"), 115200, timeout=DEADLINE_S) as reader:
            lines = _read_lines(reader, 7)
        assert board.stop().inputs == "three.npy (3 rows, cycled)"
    assert _follows_cyclically(lines, [expected_sample_lines[i] for i in (2, 5, 8)])


def test_a_one_value_model_takes_a_flat_npy_as_one_value_per_inference(tmp_path: Path, reference_models: Path) -> None:
    """hello_world takes one value: a 1-D .npy of three values is three inferences, cycled, each the
    line TFLM's prediction (run_model, in a child process) gives."""
    model_path = reference_models / "hello_world_int8.tflite"
    np.save(tmp_path / "x.npy", np.array([0.5, 1.6, 4.7]))
    model = load_model(model_path)
    quantization = model.graph.main.tensors[model.graph.main.inputs[0]].quantization
    assert quantization is not None
    scale, zero_point = quantization.scales[0], quantization.zero_points[0]
    board_rows = sketch_quantize(np.array([[0.5], [1.6], [4.7]]), "INT8", scale, zero_point)
    as_board = (board_rows.astype(np.float64) - zero_point) * scale
    expected = [sketch_line(p.outputs[0]) + "\n" for p in run_model(model, as_board)]
    assert len(set(expected)) == 3
    with running_board(model_path, rate_hz=50, input_path=tmp_path / "x.npy", link=tmp_path / "b") as board:
        with serial.Serial(str(tmp_path / "b"), 115200, timeout=DEADLINE_S) as reader:
            lines = _read_lines(reader, 6)
        board.stop()
    assert _follows_cyclically(lines, expected)


def test_model_without_samples_gets_a_slowly_changing_synthetic_input(tmp_path: Path, reference_models: Path) -> None:
    """hello_world (one value in, sin(x) out, no labels, no samples): class0 lines whose value moves."""
    with running_board(reference_models / "hello_world_int8.tflite", rate_hz=100, link=tmp_path / "b") as board:
        with serial.Serial(str(tmp_path / "b"), 115200, timeout=DEADLINE_S) as reader:
            lines = _read_lines(reader, 30)
        assert board.stop().inputs.startswith("a synthetic sweep")
    values = [_values(line)["class0"] for line in lines]
    assert all(set(_values(line)) == {"class0"} for line in lines)
    assert all(-1.2 <= v <= 1.2 for v in values) and len(set(values)) >= 5


def test_synthetic_rows_stay_in_range_move_slowly_and_sweep_most_of_it() -> None:
    rows = np.array([row for row, _ in zip(synthetic_rows(4, -2.0, 6.0, period_steps=100), range(200), strict=False)])
    assert rows.shape == (200, 4)
    assert rows.min() >= -2.0 and rows.max() <= 6.0
    assert np.abs(np.diff(rows, axis=0)).max() < 0.1 * 8.0
    assert (rows.max(axis=0) - rows.min(axis=0)).min() > 0.6 * 8.0
    assert not np.allclose(rows[:, 0], rows[:, 1])  # neighbours differ


def test_a_file_where_the_link_goes_fails_before_the_board_is_up_and_is_kept(tmp_path: Path) -> None:
    """(The port's own tests show a stale link replaced: test_virtual_port.py.)"""
    taken = tmp_path / "notes.txt"
    taken.write_text("keep me")
    with pytest.raises(WorkbenchError, match="not a link"), running_board(SAMPLE_MODEL, link=taken):
        pass
    assert taken.read_text() == "keep me"


def test_a_file_that_is_not_a_model_fails_in_one_sentence_before_any_port_opens(tmp_path: Path) -> None:
    fake = tmp_path / "notes.tflite"
    fake.write_text("these are my notes, not a model\n")
    called: list[str] = []
    with pytest.raises(WorkbenchError) as raised:
        simulate(fake, link=tmp_path / "board", on_ready=called.append)
    assert "notes.tflite" in raised.value.message and "\n" not in raised.value.message
    assert called == [] and not (tmp_path / "board").is_symlink()


def test_bad_rate_and_bad_inputs_fail_before_any_port_opens(tmp_path: Path) -> None:
    called: list[str] = []
    with pytest.raises(WorkbenchError, match="rate"):
        simulate(SAMPLE_MODEL, rate_hz=0, on_ready=called.append)
    (tmp_path / "short.csv").write_text("0.1,0.2,0.3\n")
    with pytest.raises(WorkbenchError, match=r"short\.csv: its rows have 3 values; digits_int8\.tflite takes 64"):
        simulate(SAMPLE_MODEL, input_path=tmp_path / "short.csv", on_ready=called.append)
    with pytest.raises(WorkbenchError, match="socket"):
        simulate(SAMPLE_MODEL, transport="socket", link=tmp_path / "b", on_ready=called.append)
    assert called == []


def test_describe_ready_says_where_to_connect() -> None:
    text = describe_ready("/dev/pts/5", "digits_int8.tflite", 10.0, Path("/tmp/board"))
    assert text == (
        "Virtual board on /dev/pts/5 (linked at /tmp/board): digits_int8.tflite, 10 predictions/s. "
        "Connect the Monitor to it; Ctrl+C stops."
    )


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "terminate"])
def test_the_simulate_process_removes_its_link_when_stopped(tmp_path: Path, stop_signal: int) -> None:
    """Ctrl+C (KeyboardInterrupt) and SIGTERM (how a parent ends it) both close the port and
    remove the link before the process exits."""
    link = tmp_path / "board"
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from workbench.monitor.simulator import simulate\n"
        f"simulate(Path({str(SAMPLE_MODEL)!r}), link=Path({str(link)!r}), "
        "on_ready=lambda port: print('ready', port, flush=True))\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        first = child.stdout.readline()
        assert first.startswith("ready /dev/"), child.stderr.read() if child.stderr else first
        assert link.is_symlink()
        child.send_signal(stop_signal)
        child.wait(DEADLINE_S)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert not link.is_symlink()
    # SIGTERM ends the loop like a cancel; Ctrl+C's KeyboardInterrupt goes on up, and Python then
    # ends the process by SIGINT, as a shell expects.
    assert child.returncode == (0 if stop_signal == signal.SIGTERM else -signal.SIGINT)
