"""Read what a Keras file says about itself (config, Keras version, input and output shapes), without TensorFlow."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any


def read_keras_config(path: Path, fmt: str) -> dict[str, Any] | None:
    """The model config stored in a .keras zip or a Keras .h5 file (None if unreadable), not deserialized."""
    try:
        if fmt == "keras":
            with zipfile.ZipFile(path) as archive:
                return json.loads(archive.read("config.json"))  # type: ignore[no-any-return]
        import h5py

        with h5py.File(path, "r") as handle:
            raw = handle.attrs.get("model_config")
        if raw is None:
            return None
        return json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)  # type: ignore[no-any-return]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


def keras_version(path: Path, fmt: str) -> str | None:
    """The version of Keras that wrote the file ("2.15.0", "3.6.0"), None when it does not say.

    Keras 2 (TensorFlow 2.x, tf.keras) writes it as an attribute of a .h5 file's root and in
    the metadata.json of a .keras archive; Keras 3 does the same with its own version.
    """
    try:
        if fmt == "keras":
            with zipfile.ZipFile(path) as archive:
                value = json.loads(archive.read("metadata.json")).get("keras_version")
        else:
            import h5py

            with h5py.File(path, "r") as handle:
                value = handle.attrs.get("keras_version")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value) if value else None


def written_by_keras2(path: Path, fmt: str) -> bool:
    """Whether the file says Keras 2 wrote it (TensorFlow 2.x's tf.keras, tf_keras, standalone Keras 2)."""
    return (keras_version(path, fmt) or "").startswith("2.")


def keras_io_shapes(path: Path, fmt: str) -> tuple[list[int], int] | None:
    """([1, *input shape], number of outputs) for single-input Functional/Sequential models.

    None when the config does not say (subclassed models, several inputs): the caller then
    loads the model with TensorFlow instead.
    """
    config = read_keras_config(path, fmt)
    if not config:
        return None
    layers = config.get("config", {}).get("layers", [])
    inputs = [layer for layer in layers if layer.get("class_name") == "InputLayer"]
    if len(inputs) != 1:
        return None
    inner = inputs[0].get("config", {})
    shape = inner.get("batch_shape") or inner.get("batch_input_shape")
    if not shape or any(d is None for d in shape[1:]):
        return None
    # The output size: the units of the last Dense layer, when only shape-keeping layers follow it.
    for layer in reversed(layers):
        units = layer.get("config", {}).get("units")
        if isinstance(units, int):
            return [1, *[int(d) for d in shape[1:]]], units
        if layer.get("class_name") not in ("Activation", "Softmax", "Dropout", "ReLU"):
            return None
    return None
