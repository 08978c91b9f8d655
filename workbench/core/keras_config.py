"""Read what a Keras file says about itself (config, Keras version, input and output shapes), without TensorFlow."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from workbench.core.errors import WorkbenchError


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


def check_h5_model(path: Path) -> None:
    """Refuse, in one line, a .h5 that HDF5 cannot read or that holds weights but no model."""
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            has_config = "model_config" in handle.attrs
            # Keras 2's save_weights writes layer_names at the root; Keras 3's .weights.h5 a layers group.
            weights_only = "layer_names" in handle.attrs or "layers" in handle or "vars" in handle
    except OSError as error:
        raise WorkbenchError(
            f"{path.name}: the .h5 file is damaged or truncated (HDF5 cannot read its structure)",
            "Copy or download the file again; if it was written by a training run that stopped, save the model again.",
            details=f"h5py: {error}",
        ) from None
    if has_config:
        return
    if not weights_only:
        raise WorkbenchError(
            f"{path.name}: not a Keras model (the HDF5 file has no model configuration)",
            "Open the .h5 file Keras wrote with model.save, or a .tflite or .keras file.",
        )
    raise WorkbenchError(
        f"{path.name}: the .h5 file holds only weights, not the model's layers",
        "Rebuild the model in its training code, load these weights and save the whole model "
        "(model.save), or export a .tflite there.",
    )
