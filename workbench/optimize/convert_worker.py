"""Child-process side of Optimize: prune, fine-tune, convert, strip and evaluate with TensorFlow.

Imported only inside `workbench.core.child_main`; TensorFlow is imported here and nowhere
in the app's own process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from workbench.core.child import report_progress
from workbench.core.errors import WorkbenchError
from workbench.core.keras_convert import (
    batch_one_converter,
    model_operator_names,
    run_converter,
    saved_model_function,
)
from workbench.core.keras_loading import keras_module_of, load_keras
from workbench.optimize.evaluate import compare_outputs, outputs_for, per_layer_snr
from workbench.optimize.plan import Plan
from workbench.optimize.strip import strip_model

PRUNABLE = ("kernel", "depthwise_kernel")
FINE_TUNE_SEED = 0  # fine-tuning shuffles the same way every time


def _prunable_weights(model: Any) -> list[Any]:
    """The conv and dense kernels of a Keras model (biases and normalisation are left alone)."""
    found = []
    for layer in model._flatten_layers(include_self=False) if hasattr(model, "_flatten_layers") else model.layers:
        for name in PRUNABLE:
            weight = getattr(layer, name, None)
            if weight is not None and hasattr(weight, "assign"):
                found.append(weight)
    return found


def prune(model: Any, sparsity: float) -> list[np.ndarray]:
    """Zero the smallest-magnitude `sparsity` fraction of each kernel; returns the keep-masks."""
    masks = []
    for weight in _prunable_weights(model):
        values = np.asarray(weight.numpy())
        count = int(round(values.size * sparsity))
        mask = np.ones(values.shape, dtype=bool)
        if count:
            order = np.argsort(np.abs(values), axis=None, kind="stable")[:count]
            mask.reshape(-1)[order] = False
        weight.assign(values * mask)
        masks.append(mask)
    return masks


def achieved_sparsity(model: Any) -> float:
    weights = [np.asarray(w.numpy()) for w in _prunable_weights(model)]
    total = sum(w.size for w in weights)
    return float(sum(int(np.sum(w == 0)) for w in weights) / total) if total else 0.0


def fine_tune(model: Any, masks: list[np.ndarray], x: np.ndarray, y: np.ndarray, epochs: int) -> None:
    """Train with the pruned weights held at zero, so accuracy recovers without regrowing them.

    Losses, optimizer and callback come from the model's own Keras (Keras 3 or tf_keras). The
    shuffling is seeded (FINE_TUNE_SEED): the same settings on the same data give the same variant.
    """
    keras = keras_module_of(model)
    keras.utils.set_random_seed(FINE_TUNE_SEED)
    weights = _prunable_weights(model)
    outputs = int(np.prod(model.outputs[0].shape[1:]))
    classifier = outputs > 1 and np.issubdtype(y.dtype, np.integer)
    last = model.layers[-1]
    softmax_out = getattr(getattr(last, "activation", None), "__name__", "") == "softmax"
    loss = (
        keras.losses.SparseCategoricalCrossentropy(from_logits=not softmax_out)
        if classifier
        else keras.losses.MeanSquaredError()
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss)

    callback_base: Any = keras.callbacks.Callback

    class KeepPruned(callback_base):  # type: ignore[misc, valid-type]
        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            for weight, mask in zip(weights, masks, strict=True):
                weight.assign(weight.numpy() * mask)

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            report_progress(0.1 + 0.4 * (epoch + 1) / epochs, f"Fine-tuning: epoch {epoch + 1} of {epochs}")

    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, callbacks=[KeepPruned()])


def _converter(source: Path, fmt: str, allow_unsafe: bool) -> tuple[Any, Any, Any]:
    """(Keras model or None, converter factory, object to keep alive) for the source model."""
    import tensorflow as tf

    if fmt == "saved_model":
        function, keep = saved_model_function(source)
        return None, lambda: tf.lite.TFLiteConverter.from_concrete_functions([function], keep), keep
    model = load_keras(source, fmt, allow_unsafe)
    _, single = batch_one_converter(model, source.name, allow_unsafe)
    if single is model:  # a subclassed model: traced again each time
        return model, lambda: batch_one_converter(model, source.name, allow_unsafe)[0], model

    def fresh() -> Any:
        # The batch-1 copy is cloned once; it takes the (possibly pruned) weights when converted.
        single.set_weights(model.get_weights())
        return tf.lite.TFLiteConverter.from_keras_model(single)

    return model, fresh, model


def configure(converter: Any, plan: Plan, calibration: np.ndarray | None) -> None:
    """Set the converter up for the plan's quantization mode."""
    import tensorflow as tf

    if plan.quant == "float32":
        return
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if plan.quant == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if plan.quant in ("int8", "int16x8"):
        assert calibration is not None
        samples = calibration[: plan.calibration_samples]
        converter.representative_dataset = lambda: ([sample[None]] for sample in samples)
    if plan.quant == "int8":
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if not plan.float_io:
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
    if plan.quant == "int16x8":
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        ]
        converter.inference_input_type = tf.int16
        converter.inference_output_type = tf.int16
    if plan.per_tensor_dense:
        converter._experimental_disable_per_channel_quantization_for_dense_layers = True


def optimize_job(request: dict[str, Any]) -> dict[str, Any]:
    """Carry out a Plan on a Keras/SavedModel source. Returns the output files and figures."""
    plan = Plan(**request["plan"])
    source = Path(request["source"])
    workdir = Path(request["workdir"])
    calibration = np.load(request["calibration"])["x"] if request.get("calibration") else None
    report_progress(0.02, "Starting TensorFlow")
    model, make_converter, _keep = _converter(source, request["format"], bool(request.get("allow_unsafe")))
    files: dict[str, str] = {}
    result: dict[str, Any] = {"sparsity": 0.0}
    evaluation = request.get("evaluation")
    if evaluation or request.get("want_float"):
        report_progress(0.05, "Converting the float baseline")
        float_model = run_converter(make_converter(), f"{source.name}: the float32 conversion")
        (workdir / "float.tflite").write_bytes(float_model)
        files["float"] = str(workdir / "float.tflite")
        if model is not None:
            result["layer_names"] = model_operator_names(float_model, model)
    if plan.sparsity:
        if model is None:
            raise WorkbenchError("pruning needs a Keras model")
        report_progress(0.1, f"Pruning {plan.sparsity:.0%} of the conv and dense weights")
        masks = prune(model, plan.sparsity)
        if plan.epochs and request.get("train"):
            with np.load(request["train"]) as train:
                fine_tune(model, masks, train["x"], train["y"], plan.epochs)
        result["sparsity"] = achieved_sparsity(model)
    report_progress(0.55, f"Converting ({plan.describe()})")
    converter = make_converter()
    configure(converter, plan, calibration)
    optimized = run_converter(converter, f"{source.name}: the {plan.quant} conversion")
    if evaluation:
        report_progress(0.8, "Measuring accuracy")
        with np.load(evaluation) as data:
            x, y = data["x"], data["y"] if "y" in data else None
        result["evaluation"] = compare_outputs(
            outputs_for(float_model, x), outputs_for(optimized, x), y, request.get("task_kind", "auto")
        )
        result["per_layer"] = per_layer_snr(float_model, optimized, x[: min(len(x), 16)])
    if plan.strip:
        optimized = strip_model(optimized)
    (workdir / "optimized.tflite").write_bytes(optimized)
    files["optimized"] = str(workdir / "optimized.tflite")
    report_progress(1.0, "Converted")
    result["files"] = files
    return result
