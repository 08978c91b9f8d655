"""run_model(model, samples): the classic "load, quantize input, invoke, de-quantize" snippet.

`run_models` runs several models (the original and its optimized variant) on the same samples in
one child process; `read_image` turns a picture into an image model's input.
"""

from __future__ import annotations

import csv
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.core.array_files import read_npy
from workbench.core.child import run_in_child
from workbench.core.errors import WorkbenchError
from workbench.core.model import Model
from workbench.core.probabilities import is_distribution
from workbench.core.tflite_file import NUMPY_DTYPES, Tensor
from workbench.tasks import Task, null_task

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".ppm", ".webp", ".tif", ".tiff")


@dataclass
class Prediction:
    """One sample's outputs, de-quantized to float, and which interpreter produced them."""

    outputs: list[list[float]]
    runtime: str

    @property
    def top_class(self) -> int:
        return int(np.argmax(self.outputs[0]))

    @property
    def is_distribution(self) -> bool:
        """The first output reads as class probabilities: several values in 0..1 summing to ~1."""
        return is_distribution(self.outputs[0])


def parse_inputs(text_or_path: str) -> np.ndarray:
    """Samples as a 2-D float array (one row per sample) from "0.1,0.2", a .csv or a .npy file."""
    candidate = Path(text_or_path)
    try:
        is_file = candidate.suffix.lower() in (".csv", ".npy", ".txt") and candidate.exists()
    except OSError:
        is_file = False
    if is_file:
        if candidate.suffix.lower() == ".npy":
            array = np.asarray(read_npy(candidate), dtype=np.float64)
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


def check_samples(model: Model, samples: np.ndarray) -> np.ndarray:
    """Samples as rows of the model's input size; raises WorkbenchError naming what is wrong."""
    graph = model.graph.main
    inputs = [graph.tensors[i] for i in graph.inputs]
    if len(inputs) != 1:
        raise WorkbenchError(f"{model.name}: has {len(inputs)} inputs; run supports one-input models")
    expected = inputs[0].elements
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim > 2 and samples.size % expected == 0 and samples[0].size == expected:
        samples = samples.reshape(len(samples), -1)  # e.g. pictures (N, H, W, C)
    samples = np.atleast_2d(samples)
    if samples.shape[0] != 1 and samples.size == expected:
        samples = samples.reshape(1, -1)
    if samples.size % expected or samples[0].size != expected:
        raise WorkbenchError(
            f"the input has {samples[0].size} values per sample; {model.name} expects {expected} "
            f"(shape {tuple(inputs[0].shape)})"
        )
    if not np.all(np.isfinite(samples)):
        raise WorkbenchError("the input contains NaN or infinite values")
    return samples


def run_model(model: Model, samples: np.ndarray, task: Task | None = None) -> list[Prediction]:
    """Invoke the model once per row of `samples` (each row flattened to the input's size)."""
    return run_models([model], samples, task)[0]


def run_models(models: list[Model], samples: np.ndarray, task: Task | None = None) -> list[list[Prediction]]:
    """Invoke each model once per row of `samples`, all in one child process (TensorFlow and TFLM
    start once). Returns one list of predictions per model, in order."""
    task = task or null_task()
    checked = [check_samples(model, samples) for model in models]
    request_models = []
    with tempfile.TemporaryDirectory(prefix="workbench-run-") as tmp:
        arrays = {}
        for m, (model, rows) in enumerate(zip(models, checked, strict=True)):
            model_path = Path(tmp) / f"model{m}.tflite"
            model_path.write_bytes(model.tflite)
            request_models.append(str(model_path))
            graph = model.graph.main
            for s, row in enumerate(rows):
                arrays[f"m{m}_s{s}_i0"] = quantize_for(graph.tensors[graph.inputs[0]], row)
        inputs_path = Path(tmp) / "inputs.npz"
        np.savez(inputs_path, **arrays)  # type: ignore[arg-type]
        names = " and ".join(dict.fromkeys(model.name for model in models))
        result = run_in_child(
            "workbench.core.inference_worker:run_job",
            {
                "model_paths": request_models,
                "inputs_path": str(inputs_path),
                "samples": len(checked[0]),
                "input_count": 1,
            },
            task,
            f"Running {names}",
            timeout_s=300,
        )
    runs = []
    for model, run in zip(models, result["models"], strict=True):
        graph = model.graph.main
        outputs = [graph.tensors[i] for i in graph.outputs]
        predictions = []
        for sample in run["outputs"]:
            values = [
                dequantize_from(outputs[i], np.array(v, dtype=NUMPY_DTYPES.get(outputs[i].dtype, "float32")))
                .reshape(-1)
                .tolist()
                for i, v in enumerate(sample)
            ]
            predictions.append(Prediction(values, run["runtime"]))
        runs.append(predictions)
    return runs


def image_input_shape(model: Model) -> list[int] | None:
    """The input shape (N, H, W, C) when the model takes a picture (1 or 3 channels), else None."""
    tensor = model.graph.main.tensors[model.graph.main.inputs[0]]
    dims = list(tensor.shape)
    return dims if len(dims) == 4 and dims[3] in (1, 3) and dims[1] > 1 and dims[2] > 1 else None


def pixel_range(model: Model) -> float:
    """The float value of a white pixel for this model: 255 when its integer input's range is
    that wide (raw pixels), else 1 (pixels scaled to 0..1, as images are usually trained)."""
    tensor = model.graph.main.tensors[model.graph.main.inputs[0]]
    dtype = np.dtype(NUMPY_DTYPES.get(tensor.dtype, "float32"))
    if dtype.kind in "iu" and tensor.quantization is not None and tensor.quantization.scales:
        span = tensor.quantization.scales[0] * (np.iinfo(dtype).max - np.iinfo(dtype).min)
        return 255.0 if span > 16 else 1.0
    return 1.0


def read_image(path: str | Path, input_shape: list[int], white: float = 1.0) -> np.ndarray:
    """A picture as an image model's input (H, W, C): resized to its height and width, made grey
    or RGB to match its channels, pixels scaled to 0..`white`. Raises WorkbenchError if the
    file is not a readable picture or the input is not an image."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if len(input_shape) != 4 or input_shape[3] not in (1, 3):
        raise WorkbenchError(
            f"{path.name}: a picture needs a model with an image input (height, width, 1 or 3 channels); "
            f"this one takes {tuple(input_shape)}"
        )
    _, height, width, channels = input_shape
    try:
        with Image.open(path) as image:
            resized = image.convert("L" if channels == 1 else "RGB").resize((width, height))
            pixels = np.asarray(resized, dtype=np.float32)
    except (UnidentifiedImageError, OSError):
        raise WorkbenchError(f"{path.name}: is not a readable image") from None
    return pixels.reshape(height, width, channels) * (white / 255.0)


def labels_beside(data_path: str | Path) -> Path | None:
    """A file of per-sample labels beside a data file: `<stem>_labels.txt` or `<stem>.labels.txt`."""
    data_path = Path(data_path)
    for candidate in (
        data_path.with_name(f"{data_path.stem}_labels.txt"),
        data_path.with_name(f"{data_path.stem}.labels.txt"),
    ):
        if candidate.is_file():
            return candidate
    return None


def read_labels_beside(data_path: str | Path) -> np.ndarray | None:
    """The per-sample labels in the file beside a data file (see `labels_beside`), one a line;
    None when there is no such file."""
    labels = labels_beside(data_path)
    if labels is None:
        return None
    column = number_table(labels.read_text(encoding="utf-8", errors="replace"), labels.name, header_allowed=False)
    if column.shape[1] != 1:
        raise WorkbenchError(f"{labels.name}: needs one label a line (found {column.shape[1]} values on a line)")
    return column[:, 0]


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
