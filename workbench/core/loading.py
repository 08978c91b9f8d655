"""load_model(path): open a .tflite, .keras, .h5 or SavedModel folder without running its code."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

from workbench.core import conversion_cache
from workbench.core.child import run_in_child
from workbench.core.errors import WorkbenchError
from workbench.core.flatbuffer import FlatBufferError
from workbench.core.keras_config import check_h5_model
from workbench.core.model import Model
from workbench.core.tflite_file import parse_tflite
from workbench.core.tflm_ops import KNOWN_CUSTOM_OPS
from workbench.tasks import Task, null_task

log = logging.getLogger(__name__)

MODEL_SUFFIXES = (".tflite", ".keras", ".h5", ".hdf5")
CONVERT_TIMEOUT_S = 1800.0  # TensorFlow converting a large Keras model to TFLite

_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"\x89HDF": "an HDF5 (Keras .h5) file",
    b"PK\x03\x04": "a zip archive",
}


def detect_format(path: Path) -> str:
    """tflite, keras, h5 or saved_model, from the path and the first bytes."""
    if path.is_dir():
        if (path / "saved_model.pb").exists() or (path / "saved_model.pbtxt").exists():
            return "saved_model"
        raise WorkbenchError(
            f"{path.name}: this folder is not a SavedModel (it has no saved_model.pb)",
            "Choose a .tflite, .keras or .h5 file, or a SavedModel folder.",
        )
    head = _head(path)
    if head[4:8] == b"TFL3":
        return "tflite"
    if head.startswith(b"\x89HDF"):
        return "h5"
    if head.startswith(b"PK\x03\x04") and path.suffix.lower() == ".keras":
        return "keras"
    suffix = path.suffix.lower()
    if suffix == ".tflite":
        return "tflite"
    if suffix == ".keras":
        raise WorkbenchError(
            f"{path.name}: not a Keras model file (a .keras file is a zip archive; this one is {_describe(head)})"
        )
    if suffix in (".h5", ".hdf5"):
        raise WorkbenchError(f"{path.name}: not an HDF5 file (this one is {_describe(head)})")
    raise WorkbenchError(
        f"{path.name}: unknown model type ({_describe(head)})",
        "Open a .tflite, .keras or .h5 file, or a SavedModel folder.",
    )


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(16)
    except OSError as error:
        raise WorkbenchError(f"{path.name}: cannot be read ({error.strerror or error})") from None


def _describe(head: bytes) -> str:
    if not head:
        return "empty"
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            return what
    try:
        head.decode("utf-8")
        return "a text file"
    except UnicodeDecodeError:
        return "unrecognized binary data"


def load_model(path: str | Path, *, allow_unsafe: bool = False, task: Task | None = None) -> Model:
    """Load a model file or SavedModel folder. Raises WorkbenchError with a one-line reason.

    Keras and SavedModel inputs are converted (in a child process) to float TFLite with a
    batch size of 1, so that every figure describes what would deploy. Keras files are
    opened in safe mode: Lambda layers and unregistered custom objects are refused unless
    `allow_unsafe` is set for that file.
    """
    task = task or null_task()
    path = Path(path).expanduser()
    if not path.exists():
        raise WorkbenchError(f"{path}: no such file or folder")
    if path.is_file() and path.stat().st_size == 0:
        raise WorkbenchError(f"{path.name}: the file is empty")
    fmt = detect_format(path)
    task.progress(0.05, f"Reading {path.name}")
    if fmt == "tflite":
        return _from_tflite(path, _read(path), fmt, [], [])
    if fmt == "keras" and not zipfile.is_zipfile(path):
        raise WorkbenchError(f"{path.name}: the .keras archive is damaged or truncated")
    if fmt == "h5":
        check_h5_model(path)
    notes = [f"Converted from {fmt} to float TFLite with batch size 1 for analysis."]
    key = conversion_cache.content_key(path, fmt)
    cached = conversion_cache.lookup(key)
    # A conversion made with code allowed is reused only when code is allowed again: otherwise
    # the child converts and decides, as the first time, whether the file holds code.
    if cached is not None and (allow_unsafe or not cached[1].get("code_allowed")):
        tflite, facts = cached
        task.progress(1.0, f"Opened {path.name} (converted before)")
        return _from_tflite(path, tflite, fmt, facts.get("layer_names", []), notes)
    task.progress(0.06, f"Converting {path.name}: starting TensorFlow (the first time takes a while)")
    result = run_in_child(
        "workbench.core.keras_convert:convert_job",
        {"path": str(path.resolve()), "format": fmt, "allow_unsafe": allow_unsafe},
        task.span(0.06, 1.0),
        f"Converting {path.name}",
        timeout_s=CONVERT_TIMEOUT_S,
    )
    tflite = result["_files"]["tflite"]
    model = _from_tflite(path, tflite, fmt, result.get("layer_names", []), notes)
    conversion_cache.store(key, tflite, {"layer_names": model.layer_names, "code_allowed": allow_unsafe})
    return model


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise WorkbenchError(f"{path.name}: cannot be read ({error.strerror or error})") from None


def _from_tflite(path: Path, data: bytes, fmt: str, layer_names: list[str], notes: list[str]) -> Model:
    try:
        graph = parse_tflite(data)
    except FlatBufferError as error:
        raise WorkbenchError(
            f"{path.name}: not a valid TFLite model ({error})", "The file may be truncated or corrupt; export it again."
        ) from None
    unknown = sorted(
        {
            op.custom_code or ""
            for sg in graph.subgraphs
            for op in sg.operators
            if op.custom_code is not None and op.custom_code not in KNOWN_CUSTOM_OPS
        }
    )
    if unknown:
        raise WorkbenchError(
            f"{path.name}: uses custom operator{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(unknown)} that no runtime here registers",
            "Convert the model with builtin operators only, or register the kernel in your firmware.",
        )
    return Model(path=path, format=fmt, tflite=data, graph=graph, layer_names=layer_names, notes=notes)
