"""run_model(model, samples): the classic "load, quantize input, invoke, de-quantize" snippet."""

from __future__ import annotations

import csv
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.core.child import run_in_child
from workbench.core.errors import WorkbenchError
from workbench.core.model import Model
from workbench.core.tflite_file import NUMPY_DTYPES, Tensor
from workbench.tasks import Task, null_task


@dataclass
class Prediction:
    """One sample's outputs, de-quantized to float, and which interpreter produced them."""

    outputs: list[list[float]]
    runtime: str

    @property
    def top_class(self) -> int:
        return int(np.argmax(self.outputs[0]))


def parse_inputs(text_or_path: str) -> np.ndarray:
    """Samples as a 2-D float array (one row per sample) from "0.1,0.2", a .csv or a .npy file."""
    candidate = Path(text_or_path)
    try:
        is_file = candidate.suffix.lower() in (".csv", ".npy", ".txt") and candidate.exists()
    except OSError:
        is_file = False
    if is_file:
        if candidate.suffix.lower() == ".npy":
            try:
                array = np.load(candidate, allow_pickle=False)
            except (ValueError, OSError) as error:
                raise WorkbenchError(f"{candidate.name}: not a readable .npy file ({error})") from None
            array = np.asarray(array, dtype=np.float64)
            return array.reshape(1, -1) if array.ndim <= 1 else array
        text = candidate.read_text(encoding="utf-8", errors="replace")
        source = candidate.name
    else:
        text, source = text_or_path, "input"
    return number_table(text, source, header_allowed=is_file)


def number_table(text: str, source: str, header_allowed: bool = True) -> np.ndarray:
    """Comma- (or semicolon-) separated numbers as a 2-D float array, one row per line.

    A first line that is not numbers is taken as a header when `header_allowed`. Raises
    WorkbenchError naming `source` for a non-number, no numbers at all, or ragged rows.
    """
    rows: list[list[float]] = []
    for line_number, row in enumerate(csv.reader(io.StringIO(text.replace(";", ","))), start=1):
        cells = [c.strip() for c in row if c.strip()]
        if not cells:
            continue
        try:
            rows.append([float(c) for c in cells])
        except ValueError:
            if line_number == 1 and header_allowed:
                continue  # a header row
            bad = next(c for c in cells if not _is_number(c))
            raise WorkbenchError(f"{source}: '{bad}' on line {line_number} is not a number") from None
    if not rows:
        raise WorkbenchError(f"{source}: no numbers found")
    widths = {len(r) for r in rows}
    if len(widths) > 1:
        raise WorkbenchError(f"{source}: rows have different lengths ({', '.join(map(str, sorted(widths)))})")
    return np.array(rows, dtype=np.float64)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def quantize_for(tensor: Tensor, values: np.ndarray) -> np.ndarray:
    """Float values as the tensor expects them: quantized for int8/int16/uint8 inputs."""
    dtype = np.dtype(NUMPY_DTYPES.get(tensor.dtype, "float32"))
    shaped = values.reshape([max(d, 1) for d in tensor.shape])
    if dtype.kind in "iu" and tensor.quantization is not None:
        q = tensor.quantization
        info = np.iinfo(dtype)
        scaled = np.round(shaped / q.scales[0]) + q.zero_points[0]
        return np.clip(scaled, info.min, info.max).astype(dtype)
    return shaped.astype(dtype)


def dequantize_from(tensor: Tensor, values: np.ndarray) -> np.ndarray:
    if np.asarray(values).dtype.kind in "iu" and tensor.quantization is not None:
        q = tensor.quantization
        return (np.asarray(values, dtype=np.float64) - q.zero_points[0]) * q.scales[0]
    return np.asarray(values, dtype=np.float64)


def run_model(model: Model, samples: np.ndarray, task: Task | None = None) -> list[Prediction]:
    """Invoke the model once per row of `samples` (each row flattened to the input's size)."""
    task = task or null_task()
    graph = model.graph.main
    inputs = [graph.tensors[i] for i in graph.inputs]
    outputs = [graph.tensors[i] for i in graph.outputs]
    if len(inputs) != 1:
        raise WorkbenchError(f"{model.name}: has {len(inputs)} inputs; run supports one-input models")
    expected = inputs[0].elements
    samples = np.atleast_2d(np.asarray(samples, dtype=np.float64))
    if samples.shape[0] != 1 and samples.size == expected:
        samples = samples.reshape(1, -1)
    if samples.size % expected or samples[0].size != expected:
        raise WorkbenchError(
            f"the input has {samples[0].size} values per sample; {model.name} expects {expected} "
            f"(shape {tuple(inputs[0].shape)})"
        )
    if not np.all(np.isfinite(samples)):
        raise WorkbenchError("the input contains NaN or infinite values")
    with tempfile.TemporaryDirectory(prefix="workbench-run-") as tmp:
        model_path = Path(tmp) / "model.tflite"
        model_path.write_bytes(model.tflite)
        arrays = {f"s{s}_i0": quantize_for(inputs[0], row) for s, row in enumerate(samples)}
        inputs_path = Path(tmp) / "inputs.npz"
        np.savez(inputs_path, **arrays)  # type: ignore[arg-type]
        result = run_in_child(
            "workbench.core.inference_worker:run_job",
            {
                "model_path": str(model_path),
                "inputs_path": str(inputs_path),
                "samples": len(samples),
                "input_count": 1,
            },
            task,
            f"Running {model.name}",
            timeout_s=300,
        )
    predictions = []
    for sample in result["outputs"]:
        values = [
            dequantize_from(outputs[i], np.array(v, dtype=NUMPY_DTYPES.get(outputs[i].dtype, "float32")))
            .reshape(-1)
            .tolist()
            for i, v in enumerate(sample)
        ]
        predictions.append(Prediction(values, result["runtime"]))
    return predictions


def labels_for(model_path: Path) -> list[str]:
    """Class names from `<model>.labels.txt` or `labels.txt` beside the model, if present."""
    for candidate in (model_path.with_suffix(".labels.txt"), model_path.parent / "labels.txt"):
        if candidate.is_file():
            return [line.strip() for line in candidate.read_text().splitlines() if line.strip()]
    return []


def samples_for(model_path: Path) -> Path | None:
    """A CSV of sample inputs beside the model (`<stem>_samples.csv`, or `samples.csv`)."""
    stem = model_path.stem.split("_")[0]
    for candidate in (
        model_path.parent / f"{model_path.stem}_samples.csv",
        model_path.parent / f"{stem}_samples.csv",
        model_path.parent / "samples.csv",
    ):
        if candidate.is_file():
            return candidate
    return None
