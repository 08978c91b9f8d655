"""simulate(model): a virtual board that runs the model here and prints what the exported sketch prints.

`tinyml-workbench simulate MODEL` serves a serial port - a pseudo-terminal, or on Windows (which has
none) a `socket://127.0.0.1:PORT` that pyserial and the Monitor open like a port - and prints one
prediction line at the chosen rate, in the exported sketch's format (sketch_format.py). The model
runs in TFLM's interpreter, created once, on rows cycled from `--input`, else from the samples CSV
beside the model (`<stem>_samples.csv`: the bundled sample's digits), else on a synthetic stream that
sweeps slowly over the input's range. The command is its own process (the GUI starts
`python -m workbench simulate ...` as a child), so TFLM is imported here, in `simulate`.

A board keeps running when nobody listens, and so does this one: while no reader has the port
open, lines are dropped (and counted) rather than written, so a reader that connects gets current
lines, not a backlog; a reader that is connected but not reading fills the port's buffer, and the
lines that do not fit are dropped too. Writes never block (virtual_port.py).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import numpy as np

from workbench.core.errors import WorkbenchError
from workbench.core.inference import labels_for, parse_inputs, samples_for
from workbench.core.loading import load_model
from workbench.core.model import Model
from workbench.core.native_output import captured_native_output
from workbench.core.tflite_file import NUMPY_DTYPES, Tensor
from workbench.core.tflm import arena_upper
from workbench.monitor.sketch_format import (
    INTEGER_LIMITS,
    LINE_END,
    SKETCH_INPUT_TYPES,
    SKETCH_OUTPUT_TYPES,
    sketch_dequantize,
    sketch_line,
    sketch_quantize,
)
from workbench.monitor.virtual_port import NO_READER, SENT, VirtualPort, open_port
from workbench.tasks import Task, null_task

log = logging.getLogger(__name__)

MAX_RATE_HZ = 1000.0
WAIT_SLICE_S = 0.1  # the longest the loop sleeps before it looks at cancellation again
RESYNC_S = 1.0  # later than this: the schedule starts again from now instead of catching up in a burst
SWEEP_PERIOD_S = 10.0  # one cycle of the synthetic stream's sweep
INPUT_SUFFIXES = (".csv", ".npy", ".txt")


@dataclass
class SimulatorStats:
    """What a simulation did: predictions made, lines a reader got, lines dropped and why."""

    predictions: int = 0
    lines_sent: int = 0
    dropped_no_reader: int = 0  # nobody had the port open
    dropped_full: int = 0  # a reader had it open but was not reading: its buffer was full
    inputs: str = ""  # where the input rows came from


# ---- The model, run as the exported sketch runs it -------------------------------------------


class SketchModel:
    """TFLM's interpreter, fed and read as the exported sketch does: input 0 quantized by
    `set_input()`, output 0 de-quantized by `output_value()`, printed by `run_inference()`."""

    def __init__(self, model: Model) -> None:
        graph = model.graph.main
        self.name = model.name
        self.input: Tensor = graph.tensors[graph.inputs[0]]
        self.output: Tensor = graph.tensors[graph.outputs[0]]
        for what, tensor, handled in (
            ("input", self.input, SKETCH_INPUT_TYPES),
            ("output", self.output, SKETCH_OUTPUT_TYPES),
        ):
            if tensor.dtype not in handled:
                raise WorkbenchError(
                    f"{model.name}: its {what} is {tensor.dtype.lower()}; the exported program (and so the "
                    "simulator) handles float32, int8, uint8 and int16",
                )
        self.labels = labels_for(model.path)
        self.shape = [max(d, 1) for d in self.input.shape]
        self.elements = self.input.elements
        from tflite_micro.python.tflite_micro import runtime  # its own process: see the module docstring

        try:
            with captured_native_output() as said:
                self._interpreter = runtime.Interpreter.from_bytes(
                    model.tflite, arena_size=arena_upper(len(model.tflite))
                )
        except (RuntimeError, ValueError, IndexError) as error:
            raise WorkbenchError(
                f"{model.name}: TFLM cannot prepare this model, so it cannot run on a board as it is",
                "The TFLM check on the Analyze page (tinyml-workbench analyze) says which operator fails and why.",
                details="\n".join([*said, f"{type(error).__name__}: {error}"]),
            ) from None
        for index in range(1, len(graph.inputs)):  # the sketch fills input 0 only; the rest stay zero
            tensor = graph.tensors[graph.inputs[index]]
            zeros = np.zeros([max(d, 1) for d in tensor.shape], dtype=NUMPY_DTYPES.get(tensor.dtype, "float32"))
            try:
                self._interpreter.set_input(zeros, index)
            except (RuntimeError, ValueError) as error:
                raise WorkbenchError(
                    f"{model.name}: TFLM refuses zeros for its input {index} ({error})",
                    "The exported program fills input 0 only; give the model one input.",
                ) from None

    def _quantization(self, tensor: Tensor) -> tuple[float, int]:
        q = tensor.quantization
        if q is None or not q.scales or tensor.dtype == "FLOAT32":
            return 0.0, 0
        return float(q.scales[0]), int(q.zero_points[0]) if q.zero_points else 0

    def input_range(self) -> tuple[float, float]:
        """The float values input 0 can hold (0..1 for a float input, as the sketch's sweep)."""
        scale, zero_point = self._quantization(self.input)
        if scale <= 0:
            return 0.0, 1.0
        low, high = INTEGER_LIMITS[self.input.dtype]
        return (low - zero_point) * scale, (high - zero_point) * scale

    def outputs(self, row: np.ndarray) -> np.ndarray:
        """Output 0, as float32 values, for one input row (model float units)."""
        scale, zero_point = self._quantization(self.input)
        stored = sketch_quantize(np.asarray(row).reshape(self.shape), self.input.dtype, scale, zero_point)
        self._interpreter.set_input(stored, 0)
        self._interpreter.invoke()
        out_scale, out_zero_point = self._quantization(self.output)
        return sketch_dequantize(np.asarray(self._interpreter.get_output(0)), out_scale, out_zero_point).reshape(-1)

    def line(self, row: np.ndarray) -> str:
        """The line the sketch prints for one input row, with its line ending."""
        try:
            values = self.outputs(row)
        except (RuntimeError, ValueError) as error:
            log.warning("%s: TFLM's Invoke() failed: %s", self.name, error)
            return "error: Invoke() failed" + LINE_END
        return sketch_line(values, self.labels) + LINE_END


# ---- Where the inputs come from ----------------------------------------------------------------


def synthetic_rows(count: int, low: float, high: float, period_steps: int, seed: int = 0) -> Iterator[np.ndarray]:
    """An endless, slowly changing input of `count` values within [low, high]: each value follows a
    sine sweep over most of the range (one cycle in `period_steps` rows), its phase shifted along the
    input so that neighbours differ, plus a small random walk so that no two cycles are the same."""
    rng = np.random.default_rng(seed)
    phases = 2 * np.pi * np.arange(count) / max(count, 1)
    walk = np.zeros(count)
    for step in itertools.count():
        sweep = 0.5 + 0.4 * np.sin(2 * np.pi * step / max(period_steps, 1) + phases)
        walk = np.clip(walk + rng.normal(0.0, 0.01, count), -0.1, 0.1)
        yield low + (high - low) * np.clip(sweep + walk, 0.0, 1.0)


def _table_rows(rows: np.ndarray, elements: int, source: str, model_name: str) -> np.ndarray:
    """`rows` as a 2-D array of `elements` values a row; WorkbenchError naming `source` if they do not fit."""
    rows = np.asarray(rows, dtype=np.float64)
    if rows.ndim > 2:
        rows = rows.reshape(len(rows), -1)
    rows = np.atleast_2d(rows)
    if rows.shape[0] != 1 and rows.size == elements:
        rows = rows.reshape(1, -1)
    elif elements == 1 and rows.shape[0] == 1:
        rows = rows.reshape(-1, 1)  # one value per inference, given as one line (or a 1-D .npy)
    if rows.shape[1] != elements:
        raise WorkbenchError(f"{source}: its rows have {rows.shape[1]} values; {model_name} takes {elements}")
    if not np.all(np.isfinite(rows)):
        raise WorkbenchError(f"{source}: holds NaN or infinite values")
    return rows


def input_rows(
    board: SketchModel, model_path: Path, input_path: Path | None, rate_hz: float
) -> tuple[Iterator[np.ndarray], str]:
    """The endless input stream and a few words saying where it comes from.

    `input_path` (.csv or .npy, one row per inference) cycled; else the samples CSV beside the model
    cycled; else `synthetic_rows` over the input's range, one sweep every SWEEP_PERIOD_S seconds.
    """
    if input_path is not None:
        if not input_path.is_file():
            raise WorkbenchError(f"{input_path}: no such file")
        if input_path.suffix.lower() not in INPUT_SUFFIXES:
            raise WorkbenchError(f"{input_path.name}: inputs are read from a .csv or .npy file, one row per inference")
        rows = _table_rows(parse_inputs(str(input_path)), board.elements, input_path.name, board.name)
        return itertools.cycle(list(rows)), f"{input_path.name} ({len(rows)} rows, cycled)"
    samples = samples_for(model_path)
    if samples is not None:
        try:
            rows = _table_rows(parse_inputs(str(samples)), board.elements, samples.name, board.name)
            return itertools.cycle(list(rows)), f"{samples.name} ({len(rows)} rows, cycled)"
        except WorkbenchError as error:
            log.warning("not using the samples beside the model: %s", error.message)
    low, high = board.input_range()
    period = max(2, round(SWEEP_PERIOD_S * rate_hz))
    return synthetic_rows(board.elements, low, high, period), f"a synthetic sweep over {low:g}..{high:g}"


# ---- The loop -------------------------------------------------------------------------------------


def describe_ready(port: str, model_name: str, rate_hz: float, link: Path | None = None) -> str:
    """What the command says once the board is up: where to connect, which model, how fast."""
    linked = f" (linked at {link})" if link is not None else ""
    return (
        f"Virtual board on {port}{linked}: {model_name}, {rate_hz:g} predictions/s. "
        "Connect the Monitor to it; Ctrl+C stops."
    )


@dataclass
class _StopRequest:
    """Set by a signal handler, read by the serving loop. A plain flag: a handler runs between two
    bytecodes of the main thread and may run again inside itself (SIGHUP right after SIGTERM), so
    it must not take a lock, as threading.Event.set does."""

    requested: bool = False


@contextlib.contextmanager
def _stop_on_terminate(stop: _StopRequest) -> Iterator[None]:
    """In the main thread, SIGTERM (and SIGHUP) end the loop like a cancel, so the port and its link
    are cleaned up; elsewhere signals cannot be caught and nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = ("SIGTERM", "SIGHUP") if sys.platform != "win32" else ("SIGTERM",)
    signals = [getattr(signal, name) for name in names if hasattr(signal, name)]

    def ask_stop(signum: int, frame: FrameType | None) -> None:
        stop.requested = True

    previous = {sig: signal.signal(sig, ask_stop) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def simulate(
    model: Path,
    *,
    rate_hz: float = 10.0,
    input_path: Path | None = None,
    link: Path | None = None,
    task: Task | None = None,
    on_ready: Callable[[str], None] | None = None,
    transport: str = "pty",
    port: int = 0,
) -> SimulatorStats:
    """Serve a virtual board that runs `model` and prints its predictions `rate_hz` times a second.

    Everything that can fail (the model, the inputs, TFLM preparing the model, a first inference,
    the link) fails with a WorkbenchError before the port opens. `on_ready(port)` is then called
    once with the device path or socket:// URL. Runs until `task` is cancelled, SIGTERM, or
    KeyboardInterrupt (re-raised once the port is closed); the link is removed at the end. Returns
    what it did. Predictions follow a monotonic clock, row k at start + k / rate_hz; a board that
    falls more than RESYNC_S behind starts its schedule again rather than catching up in a burst.
    """
    task = task or null_task()
    if not (math.isfinite(rate_hz) and 0 < rate_hz <= MAX_RATE_HZ):
        raise WorkbenchError(f"the rate must be above 0 and at most {MAX_RATE_HZ:g} predictions/s (got {rate_hz:g})")
    model_path = Path(model).expanduser()
    loaded = load_model(model_path, task=task.quiet())
    board = SketchModel(loaded)
    rows, source = input_rows(board, model_path, input_path.expanduser() if input_path else None, rate_hz)
    first = next(rows)
    try:
        board.outputs(first)
    except (RuntimeError, ValueError) as error:
        raise WorkbenchError(
            f"{loaded.name}: TFLM could not run it ({error})",
            "The TFLM check on the Analyze page says which operator fails and why.",
        ) from None
    stats = SimulatorStats(inputs=source)
    stop = _StopRequest()
    served = open_port(transport, link, port)
    log.info("virtual board on %s: %s on %s, %g predictions/s", served.name, loaded.name, source, rate_hz)
    try:
        with _stop_on_terminate(stop):  # before anyone is told the board is up and may end it
            if on_ready is not None:
                on_ready(served.name)
            _serve(board, itertools.chain([first], rows), served, rate_hz, task, stop, stats)
    finally:
        served.close()
        log.info(
            "virtual board stopped: %d predictions, %d lines read, %d dropped with no reader, %d dropped unread",
            stats.predictions,
            stats.lines_sent,
            stats.dropped_no_reader,
            stats.dropped_full,
        )
    return stats


def _serve(
    board: SketchModel,
    rows: Iterator[np.ndarray],
    port: VirtualPort,
    rate_hz: float,
    task: Task,
    stop: _StopRequest,
    stats: SimulatorStats,
) -> None:
    period_s = 1.0 / rate_hz
    start = time.monotonic()
    tick = 0
    warned = False
    while not (task.cancelled or stop.requested):
        due = start + tick * period_s
        now = time.monotonic()
        if now < due:
            port.wait(min(due - now, WAIT_SLICE_S))
            continue
        if now - due > max(RESYNC_S, 2 * period_s):
            if not warned:
                log.warning("the virtual board fell behind its %g predictions/s; it goes on from now", rate_hz)
                warned = True
            start, tick = now, 0
        outcome = port.send(board.line(next(rows)).encode("utf-8"))
        stats.predictions += 1
        if outcome == SENT:
            stats.lines_sent += 1
        elif outcome == NO_READER:
            stats.dropped_no_reader += 1
        else:
            stats.dropped_full += 1
        tick += 1
