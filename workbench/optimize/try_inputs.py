"""What Try it runs: samples typed, read from data files or pictures, or shipped beside a model.

Plain data and file reading, no widgets: the Try it panel shows what these functions return.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.core.errors import WorkbenchError
from workbench.core.inference import (
    IMAGE_SUFFIXES,
    image_input_shape,
    parse_inputs,
    pixel_range,
    read_image,
    read_labels_beside,
    samples_for,
)
from workbench.core.model import Model
from workbench.optimize.data import load_dataset
from workbench.tasks import Task


@dataclass
class Inputs:
    """Samples to run (one row each), what each should be when known, and where they came from."""

    samples: np.ndarray
    expected: list[int] | None
    source: str
    pictures: list[str] | None = None  # picture files, for a preview


def read_inputs(paths: list[str], model: Model, task: Task) -> Inputs:
    """Samples from data files (.csv, .npy, .npz: every row) or pictures (resized and converted to
    the model's input), as a job. Labels beside a CSV become the expected answers."""
    graph = model.graph.main
    input_shape = graph.tensors[graph.inputs[0]].shape
    outputs = graph.tensors[graph.outputs[0]].elements
    pictures = [p for p in paths if Path(p).suffix.lower() in IMAGE_SUFFIXES]
    if pictures:
        if len(pictures) != len(paths):
            raise WorkbenchError("open either pictures or one data file, not both")
        image_shape = image_input_shape(model) or input_shape
        white = pixel_range(model)
        rows = []
        for number, path in enumerate(pictures):
            task.progress(number / len(pictures), f"Reading {Path(path).name}")
            rows.append(read_image(path, image_shape, white).reshape(-1))
        _, height, width, channels = image_shape
        colour = "grey" if channels == 1 else "colour"
        names = ", ".join(Path(p).name for p in pictures[:3]) + ("…" if len(pictures) > 3 else "")
        return Inputs(np.stack(rows), None, f"{names} (resized to {width}×{height}, {colour})", pictures)
    if len(paths) != 1:
        raise WorkbenchError("open one data file at a time (or several pictures)")
    data_file = Path(paths[0])
    if data_file.suffix.lower() == ".npy":  # any shape whose rows match the input
        return Inputs(parse_inputs(str(data_file)), None, data_file.name)
    dataset = load_dataset(data_file, input_shape, outputs, task)
    expected = [int(v) for v in dataset.y] if dataset.y is not None and outputs > 1 else None
    return Inputs(dataset.x.reshape(len(dataset), -1).astype(np.float64), expected, data_file.name)


def shipped_inputs(model_path: Path) -> Inputs | None:
    """The samples shipped beside a model (`<stem>_samples.csv`), with the expected answers from
    the labels file beside them when it has one a sample; None when there are none or they are
    unreadable."""
    csv = samples_for(model_path)
    if csv is None:
        return None
    try:
        rows = parse_inputs(str(csv))
        labels = read_labels_beside(csv)
    except WorkbenchError:
        return None
    expected = [int(v) for v in labels] if labels is not None and len(labels) == len(rows) else None
    return Inputs(rows, expected, csv.name)
