"""Child-process side of loading Keras and SavedModel inputs: safe load, float TFLite, batch 1.

Imported only inside `workbench.core.child_main`; this is where TensorFlow is imported.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from workbench.core.child import report_progress
from workbench.core.errors import UnsafeModelError, WorkbenchError
from workbench.optimize.keras_config import read_keras_config

_UNRECOGNIZED = re.compile(r"Unrecognized keyword arguments? passed to (\w+): \{([^}]*)\}")


def unsafe_parts(config: Any) -> list[str]:
    """Layers whose loading would run code from the file: Lambda layers and custom objects."""
    import keras

    found: list[str] = []

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            name = node.get("class_name")
            inner = node.get("config")
            if isinstance(name, str) and isinstance(inner, dict):
                layer = inner.get("name", "")
                where = f" (layer '{layer}')" if layer else ""
                registered = str(node.get("registered_name") or "")
                if name == "Lambda":
                    found.append(f"Lambda layer '{layer}' (it stores Python code)")
                elif ">" in registered or not _is_builtin(keras, name):
                    found.append(f"custom object '{registered or name}'{where}")
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(config)
    return found


def _is_builtin(keras: Any, class_name: str) -> bool:
    for namespace in (
        keras.layers,
        keras.models,
        keras.initializers,
        keras.regularizers,
        keras.constraints,
        keras.activations,
        keras.losses,
        keras.optimizers,
        keras.metrics,
        keras.saving,
        keras,
    ):
        if hasattr(namespace, class_name):
            return True
    return class_name in {
        "Functional",
        "Sequential",
        "Model",
        "InputLayer",
        "DTypePolicy",
        "FloatDTypePolicy",
        "Policy",
        "__tensor__",
        "__keras_tensor__",
        "__numpy__",
        "__lambda__",
        "__typespec__",
        "function",
        "TensorShape",
    }


def _lenient(keras: Any, class_name: str, dropped: set[str]) -> type:
    """A subclass of a builtin layer that ignores keywords older Keras versions wrote."""
    base = getattr(keras.layers, class_name)

    class Lenient(base):  # type: ignore[misc, valid-type]
        @classmethod
        def from_config(cls, config: dict[str, Any]) -> Any:
            return base.from_config({k: v for k, v in config.items() if k not in dropped})

    Lenient.__name__ = class_name
    return Lenient


def load_keras(path: Path, allow_unsafe: bool) -> Any:
    """Load a .keras or .h5 model in safe mode, tolerating legacy Keras 2 arguments."""
    import keras

    custom: dict[str, Any] = {}
    dropped: dict[str, set[str]] = {}
    for _ in range(12):
        try:
            return keras.models.load_model(path, compile=False, safe_mode=not allow_unsafe, custom_objects=custom)
        except (TypeError, ValueError) as error:
            text = str(error)
            match = _UNRECOGNIZED.search(text)
            if match and hasattr(keras.layers, match.group(1)):
                keys = set(re.findall(r"'(\w+)'", match.group(2)))
                dropped.setdefault(match.group(1), set()).update(keys)
                custom[match.group(1)] = _lenient(keras, match.group(1), dropped[match.group(1)])
                continue
            if "safe_mode" in text or "Lambda" in text:
                raise UnsafeModelError(
                    f"{path.name}: refused to load a layer that would run code from the file",
                    "Open it again and allow code from this file only if you trust where it came from.",
                ) from None
            if "could not be deserialized" in text or "Could not locate" in text:
                raise WorkbenchError(
                    f"{path.name}: Keras cannot load it: it needs the Python code of a custom layer or "
                    "object that is not installed here",
                    "Install the package that defines it, or export the model as .tflite where it was trained.",
                ) from None
            raise WorkbenchError(f"{path.name}: Keras cannot load it ({text.splitlines()[0][:200]})") from None
    raise WorkbenchError(f"{path.name}: Keras cannot load it (too many legacy arguments)")


def _batch_one_converter(model: Any) -> Any:
    """A TFLite converter for the Keras model with batch size 1 on every input.

    With a dynamic batch, Keras 3's Flatten turns into SHAPE/STRIDED_SLICE/PACK/RESHAPE:
    extra operators and arena for nothing on a board that infers one sample at a time.
    """
    import keras
    import tensorflow as tf

    for tensor in model.inputs:
        if any(d is None for d in tensor.shape[1:]):
            raise WorkbenchError(
                f"input '{tensor.name}' has an unknown dimension {tuple(tensor.shape)}",
                "Give the model a fixed input shape (besides the batch) before deploying it.",
            )
    try:
        inputs = [
            keras.Input(shape=tuple(t.shape[1:]), batch_size=1, dtype=t.dtype, name=t.name.split(":")[0])
            for t in model.inputs
        ]
        single = keras.models.clone_model(model, input_tensors=inputs if len(inputs) > 1 else inputs[0])
        single.set_weights(model.get_weights())
        return tf.lite.TFLiteConverter.from_keras_model(single), single
    except (ValueError, TypeError, AttributeError):
        # Subclassed models cannot be cloned: trace them with a batch-1 signature instead.
        specs = [tf.TensorSpec([1, *t.shape[1:]], t.dtype) for t in model.inputs]
        single_input = len(specs) == 1
        function = tf.function(lambda *xs: model(xs[0] if single_input else list(xs), training=False))
        concrete = function.get_concrete_function(*specs)
        return tf.lite.TFLiteConverter.from_concrete_functions([concrete], model), model


def _saved_model_function(path: Path) -> tuple[Any, Any]:
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    signatures = getattr(loaded, "signatures", {})
    if not signatures:
        raise WorkbenchError(f"{path.name}: the SavedModel has no serving signature")
    key = "serving_default" if "serving_default" in signatures else next(iter(signatures))
    signature = signatures[key]
    _, kwargs = signature.structured_input_signature
    specs = {}
    for name, spec in kwargs.items():
        shape = list(spec.shape)
        if shape and shape[0] is None:
            shape[0] = 1
        if any(d is None for d in shape):
            raise WorkbenchError(f"{path.name}: input '{name}' has an unknown dimension {tuple(spec.shape)}")
        specs[name] = tf.TensorSpec(shape, spec.dtype, name=name)
    function = tf.function(lambda **kw: signature(**kw))
    return function.get_concrete_function(**specs), loaded


def layer_candidates(tensor_name: str, layer_names: list[str]) -> list[int]:
    """Indexes of the Keras layers a converted tensor's name may come from.

    The converter names tensors by TensorFlow scopes, which add `_1`, `_2`... to a layer's name
    when it is called again (as the batch-1 copy does): scope `conv2d_1` is layer `conv2d_1`
    or the second call of layer `conv2d`.
    """
    index = {name: i for i, name in enumerate(layer_names)}
    found = set()
    for part in re.split(r"[/;:]", tensor_name):
        if part in index:
            found.add(index[part])
        stripped = re.sub(r"_\d+$", "", part)
        if stripped != part and stripped in index:
            found.add(index[stripped])
    return sorted(found)


def operator_layer_names(tflite: bytes, keras_layers: list[str], weighted: set[str] | None = None) -> list[str]:
    """Per operator of the converted model, the Keras layer it came from ("" when unknown).

    Layers run in order, so each operator takes a candidate not before the previous operator's
    layer. An operator with weights takes the first candidate layer that has weights (a fused
    pad/conv/batch-norm/relu chain is named after its conv); other operators the last candidate
    (the end of a fused chain). An output tensor the converter renamed takes the next layer with
    weights when the operator has weights.
    """
    from workbench.core.tflite_file import BIAS_INPUT, parse_tflite

    weighted = weighted or set()
    graph = parse_tflite(tflite).main
    names = []
    last = 0
    for op in graph.operators:
        candidates = layer_candidates(graph.tensors[op.outputs[0]].name, keras_layers) if op.outputs else []
        later = [c for c in candidates if c >= last] or candidates
        has_weights = op.op in BIAS_INPUT
        choice: int | None = None
        if has_weights:
            heavy = [c for c in later if keras_layers[c] in weighted]
            choice = heavy[0] if heavy else (later[0] if later else None)
            if choice is None:
                following = [i for i, name in enumerate(keras_layers) if name in weighted and i > last]
                choice = following[0] if following else None
        elif later:
            choice = later[-1]
        if choice is not None:
            last = choice
        names.append(keras_layers[choice] if choice is not None else "")
    # An op the converter split off a layer (a softmax activation, say) keeps that layer's name.
    producer = {out: op.index for op in graph.operators for out in op.outputs}
    for op in graph.operators:
        if not names[op.index]:
            sources = [producer[i] for i in op.inputs if i in producer and names[producer[i]]]
            if sources:
                names[op.index] = f"{names[sources[0]]} ({op.op.lower()})"
    return names


def convert_job(request: dict[str, Any]) -> dict[str, Any]:
    """Load a Keras/SavedModel input and convert it to float TFLite with batch size 1.

    Returns {"files": {"tflite": path}, "layer_names": [per operator], "keras_layers": [...]}.
    """
    path = Path(request["path"])
    fmt = request["format"]
    allow_unsafe = bool(request.get("allow_unsafe"))
    report_progress(0.05, "Starting TensorFlow")
    if fmt in ("keras", "h5"):
        config = read_keras_config(path, fmt)
        report_progress(0.2, "Checking the model for code")
        if config is not None and not allow_unsafe:
            unsafe = unsafe_parts(config)
            if unsafe:
                raise UnsafeModelError(
                    f"{path.name}: refused to open: it contains {unsafe[0]}"
                    + (f" and {len(unsafe) - 1} more" if len(unsafe) > 1 else "")
                    + "; loading it would run code from the file",
                    "Allow code from this file only if you trust where it came from.",
                )
    import tensorflow as tf

    report_progress(0.3, "Loading the model")
    keras_layers: list[str] = []
    weighted: set[str] = set()
    if fmt == "saved_model":
        function, keep = _saved_model_function(path)
        converter = tf.lite.TFLiteConverter.from_concrete_functions([function], keep)
    else:
        model = load_keras(path, allow_unsafe)
        keras_layers = [layer.name for layer in model.layers]
        weighted = {layer.name for layer in model.layers if layer.weights}
        converter, keep = _batch_one_converter(model)
    report_progress(0.6, "Converting to TFLite (float32, batch 1)")
    try:
        tflite = converter.convert()
    except Exception as error:  # noqa: BLE001 - converter errors are many and untyped
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise WorkbenchError(f"{path.name}: the TFLite converter failed ({first[:200]})") from None
    out = Path(request["workdir"]) / "model.tflite"
    out.write_bytes(tflite)
    names = operator_layer_names(tflite, keras_layers, weighted)
    report_progress(1.0, "Converted")
    return {"files": {"tflite": str(out)}, "layer_names": names, "keras_layers": keras_layers}
