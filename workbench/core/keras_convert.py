"""Child-process side of loading Keras and SavedModel inputs: float TFLite with batch size 1,
and the Keras layer each converted operator came from.

Imported only inside `workbench.core.child_main`; this is where TensorFlow is imported.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from workbench.core.child import report_progress
from workbench.core.converter_messages import converter_error
from workbench.core.errors import WorkbenchError
from workbench.core.keras_loading import keras_module_of, load_keras, safe_mode_scope
from workbench.core.native_output import captured_native_output


def batch_one_converter(model: Any, file_name: str = "the model", allow_unsafe: bool = False) -> tuple[Any, Any]:
    """(TFLite converter, batch-1 model) for a Keras 3 or tf_keras model: batch size 1 on every input.

    With a dynamic batch, Keras 3's Flatten turns into SHAPE/STRIDED_SLICE/PACK/RESHAPE:
    extra operators and arena for nothing on a board that infers one sample at a time.
    The copy is made with the model's own Keras (a tf_keras model converts as TensorFlow 2.x did);
    copying rebuilds the layers from their configs, so a Lambda layer the person allowed is
    allowed again.
    """
    import tensorflow as tf

    keras = keras_module_of(model)
    for tensor in model.inputs:
        if any(d is None for d in tensor.shape[1:]):
            raise WorkbenchError(
                f"{file_name}: input '{tensor.name}' has an unknown dimension {tuple(tensor.shape)}",
                "Give the model a fixed input shape (besides the batch) before deploying it.",
            )
    try:
        inputs = [
            keras.Input(shape=tuple(t.shape[1:]), batch_size=1, dtype=t.dtype, name=t.name.split(":")[0])
            for t in model.inputs
        ]
        # A Keras 2 config keeps even a single input in a list; the copy's inputs take the same structure.
        structure = inputs if len(inputs) > 1 or isinstance(model.input, list) else inputs[0]
        with safe_mode_scope(keras, not allow_unsafe):
            single = keras.models.clone_model(model, input_tensors=structure)
        single.set_weights(model.get_weights())
        return tf.lite.TFLiteConverter.from_keras_model(single), single
    except (ValueError, TypeError, AttributeError):
        return traced_converter(model), model


def traced_converter(model: Any) -> Any:
    """A TFLite converter for a Keras model that cannot be cloned (subclassed), traced with batch 1.

    The converter is not given the model to track: with it, the variables would stay resource
    variables (VAR_HANDLE / READ_VARIABLE operators that TFLM and the calibrator cannot run);
    without it, they are frozen into constants. The caller keeps the model alive.
    """
    import tensorflow as tf

    specs = [tf.TensorSpec([1, *t.shape[1:]], t.dtype) for t in model.inputs]
    single_input = len(specs) == 1
    function = tf.function(lambda *xs: model(xs[0] if single_input else list(xs), training=False))
    return tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function(*specs)])


def saved_model_function(path: Path) -> tuple[Any, Any]:
    """(batch-1 concrete function of the serving signature, object to keep alive) of a SavedModel folder."""
    import tensorflow as tf

    try:
        loaded = tf.saved_model.load(str(path))
    except Exception as error:  # noqa: BLE001 - TensorFlow raises many untyped errors here
        raise WorkbenchError(
            f"{path.name}: TensorFlow cannot load the SavedModel (its graph or variables are missing or damaged)",
            "Export the SavedModel again, or open a .keras, .h5 or .tflite file instead.",
            f"{type(error).__name__}: {error}",
        ) from None
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


def layer_candidates(tensor_name: str, layer_names: list[str], exact: bool = False) -> list[int]:
    """Indexes of the Keras layers a converted tensor's name may come from.

    The converter names tensors by TensorFlow scopes. Keras 3 adds `_1`, `_2`... to a layer's
    scope when it is called again (as the batch-1 copy does): scope `conv2d_1` is layer
    `conv2d_1` or the second call of layer `conv2d`. tf_keras scopes are the layer names
    themselves (`exact`).
    """
    index = {name: i for i, name in enumerate(layer_names)}
    found = set()
    for part in re.split(r"[/;:]", tensor_name):
        if part in index:
            found.add(index[part])
        stripped = re.sub(r"_\d+$", "", part)
        if not exact and stripped != part and stripped in index:
            found.add(index[stripped])
    return sorted(found)


def model_operator_names(tflite: bytes, model: Any) -> list[str]:
    """Per operator of `tflite` (converted from the Keras `model`), the layer it came from.

    Normalization layers have weights but never an operator with weights of their own: the
    converter folds them into the conv or dense before them.
    """
    weighted = {layer.name for layer in model.layers if layer.weights and "Normalization" not in type(layer).__name__}
    exact = keras_module_of(model).__name__ == "tf_keras"
    return operator_layer_names(tflite, [layer.name for layer in model.layers], weighted, exact_scopes=exact)


def operator_layer_names(
    tflite: bytes, keras_layers: list[str], weighted: set[str] | None = None, exact_scopes: bool = False
) -> list[str]:
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
        candidates = (
            layer_candidates(graph.tensors[op.outputs[0]].name, keras_layers, exact_scopes) if op.outputs else []
        )
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
    report_progress(0.05, "Starting TensorFlow")
    model = None
    if fmt == "saved_model":
        import tensorflow as tf

        report_progress(0.3, "Loading the model")
        function, keep = saved_model_function(path)
        converter = tf.lite.TFLiteConverter.from_concrete_functions([function], keep)
    else:
        report_progress(0.1, "Loading the model")
        model = load_keras(path, fmt, bool(request.get("allow_unsafe")))
        converter, keep = batch_one_converter(model, path.name, bool(request.get("allow_unsafe")))
    report_progress(0.6, "Converting to TFLite (float32, batch 1)")
    tflite = run_converter(converter, f"{path.name}: the conversion to TFLite")
    out = Path(request["workdir"]) / "model.tflite"
    out.write_bytes(tflite)
    names = model_operator_names(tflite, model) if model is not None else []
    keras_layers = [layer.name for layer in model.layers] if model is not None else []
    report_progress(1.0, "Converted")
    return {"files": {"tflite": str(out)}, "layer_names": names, "keras_layers": keras_layers}


def run_converter(converter: Any, what: str) -> bytes:
    """converter.convert(), with a failure turned into one plain line and the converter's log as details."""
    failure: Exception | None = None
    tflite = b""
    with captured_native_output(fds=(2,), echo=True) as log:
        try:
            tflite = bytes(converter.convert())
        except Exception as error:  # noqa: BLE001 - converter errors are many and untyped
            failure = error
    if failure is not None:
        raise converter_error(what, failure, "\n".join(log)) from None
    return tflite
