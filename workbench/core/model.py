"""Model: a loaded model as the workbench sees it - TFLite bytes plus where they came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.tflite_file import TfliteFile

FORMATS = ("tflite", "keras", "h5", "saved_model")


@dataclass
class Model:
    """What every later step works on.

    `tflite` is the model that would deploy: the file itself for `.tflite` inputs, or the
    float TFLite conversion (batch 1) of a Keras or SavedModel input. `layer_names` has,
    per operator, the Keras layer it came from ("" when unknown or for `.tflite` inputs).
    """

    path: Path
    format: str
    tflite: bytes
    graph: TfliteFile
    layer_names: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # derived figures

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def size_bytes(self) -> int:
        return len(self.tflite)
