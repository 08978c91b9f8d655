"""How much an optimization costs: accuracy or MAE against labels, fidelity against the float
model, and the signal-to-noise ratio of every quantized layer output.

`evaluate_outputs` builds the typed `Evaluation` (workbench/optimize/evaluation.py); the
interpreter helpers run only in the child process (they import TensorFlow).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.optimize.evaluation import AccuracyChange, ErrorChange, Evaluation, Fidelity
from workbench.optimize.intervals import mean_interval, wilson_interval


def snr_db(reference: np.ndarray, test: np.ndarray) -> float:
    """Signal-to-noise ratio of `test` against `reference`, in dB (inf when identical)."""
    reference = np.asarray(reference, dtype=np.float64).reshape(-1)
    noise = np.asarray(test, dtype=np.float64).reshape(-1) - reference
    noise_power = float(np.mean(noise**2))
    signal_power = float(np.mean(reference**2))
    if noise_power == 0.0:
        return float("inf")
    if signal_power == 0.0:
        return float("-inf")
    return 10.0 * float(np.log10(signal_power / noise_power))


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, classes: int) -> list[list[int]]:
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (labels.astype(np.int64), predicted.astype(np.int64)), 1)
    return matrix.tolist()  # type: ignore[no-any-return]


def evaluate_outputs(
    float_out: np.ndarray, optimized_out: np.ndarray, labels: np.ndarray | None, kind: str = "auto"
) -> Evaluation:
    """Compare the two models' outputs (one row per sample) against labels, or with each other
    when there are none. `kind`: "classification", "regression" or "auto" (by the output size)."""
    float_out = np.asarray(float_out, dtype=np.float64).reshape(len(float_out), -1)
    optimized_out = np.asarray(optimized_out, dtype=np.float64).reshape(len(optimized_out), -1)
    samples, classes = float_out.shape
    if kind == "auto":
        kind = "classification" if classes > 1 else "regression"
    top_float, top_opt = np.argmax(float_out, axis=1), np.argmax(optimized_out, axis=1)
    snr = _finite(snr_db(float_out, optimized_out))
    if kind == "classification":
        agreeing = int(np.sum(top_float == top_opt))
        fidelity = Fidelity(snr, agreeing / samples, wilson_interval(agreeing, samples))
    else:
        fidelity = Fidelity(snr)
    if labels is None:
        return Evaluation(kind, samples, fidelity)
    if kind == "classification":
        truth = np.asarray(labels).astype(np.int64).reshape(-1)
        hit_float, hit_opt = top_float == truth, top_opt == truth
        accuracy = AccuracyChange(
            samples,
            int(np.sum(hit_float)),
            int(np.sum(hit_opt)),
            int(np.sum(hit_float & ~hit_opt)),
            int(np.sum(hit_opt & ~hit_float)),
        )
        confusion = {
            "float": confusion_matrix(truth, top_float, classes),
            "optimized": confusion_matrix(truth, top_opt, classes),
        }
        return Evaluation(kind, samples, fidelity, accuracy=accuracy, confusion=confusion)
    targets = np.asarray(labels, dtype=np.float64).reshape(samples, -1)
    error_float = np.mean(np.abs(float_out - targets), axis=1)
    error_opt = np.mean(np.abs(optimized_out - targets), axis=1)
    mae = ErrorChange(float(np.mean(error_float)), float(np.mean(error_opt)), mean_interval(error_opt - error_float))
    return Evaluation(kind, samples, fidelity, mae=mae)


def compare_outputs(
    float_out: np.ndarray, optimized_out: np.ndarray, labels: np.ndarray | None, kind: str = "auto"
) -> dict[str, Any]:
    """`evaluate_outputs` as JSON, for the child process to hand back (see `Evaluation.to_json`)."""
    return evaluate_outputs(float_out, optimized_out, labels, kind).to_json()


def _finite(value: float) -> float | None:
    """JSON has no infinity: an exact match is reported as None with the meaning 'no error'."""
    return None if not np.isfinite(value) else round(value, 2)


def reference_interpreter(model: bytes, preserve_all_tensors: bool = False) -> Any:
    """TensorFlow Lite's interpreter on its reference kernels (as TFLM runs them; no delegate,
    which would also hide intermediate tensors). Child processes only: imports TensorFlow."""
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(
        model_content=model,
        experimental_preserve_all_tensors=preserve_all_tensors,
        experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    interpreter.allocate_tensors()
    return interpreter


def set_float_input(interpreter: Any, detail: dict[str, Any], sample: np.ndarray) -> None:
    """Feed one float sample, quantized when the input tensor is integer."""
    value = sample[None].astype(np.float32)
    scale, zero = detail["quantization"]
    if detail["dtype"] != np.float32 and scale:
        info = np.iinfo(detail["dtype"])
        value = np.clip(np.round(value / scale + zero), info.min, info.max)
    interpreter.set_tensor(detail["index"], value.astype(detail["dtype"]))


def _dequantized(tensor: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    scale, zero = detail["quantization"]
    if detail["dtype"] not in (np.float32, np.float16) and scale:
        return (tensor - zero) * scale
    return tensor


def outputs_for(model: bytes, x: np.ndarray) -> np.ndarray:
    """The first output of the model for every sample, de-quantized to float."""
    interpreter = reference_interpreter(model)
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]
    outputs = []
    for sample in x:
        set_float_input(interpreter, inp, sample)
        interpreter.invoke()
        outputs.append(_dequantized(interpreter.get_tensor(out["index"]).astype(np.float64), out).reshape(-1))
    return np.stack(outputs)


def per_layer_snr(float_model: bytes, optimized: bytes, x: np.ndarray) -> list[dict[str, Any]]:
    """SNR (dB) of each optimized operator output against the float model's same tensor.

    Runs in the child process (TensorFlow Lite's interpreter keeps every tensor). Tensors
    are matched by name; operators the converter added (QUANTIZE at the edges) are skipped.
    """

    def run(model: bytes) -> tuple[Any, dict[str, list[np.ndarray]]]:
        interpreter = reference_interpreter(model, preserve_all_tensors=True)
        inp = interpreter.get_input_details()[0]
        details = {d["name"]: d for d in interpreter.get_tensor_details()}
        values: dict[str, list[np.ndarray]] = {name: [] for name in details}
        for sample in x:
            set_float_input(interpreter, inp, sample)
            interpreter.invoke()
            for name, detail in details.items():
                try:
                    tensor = interpreter.get_tensor(detail["index"]).astype(np.float64)
                except ValueError:
                    continue
                values[name].append(_dequantized(tensor, detail))
        return interpreter, values

    float_interp, float_values = run(float_model)
    opt_interp, opt_values = run(optimized)
    ops = opt_interp._get_ops_details()
    layers = []
    for op in ops:
        for output in op["outputs"]:
            name = opt_interp.get_tensor_details()[output]["name"] if output >= 0 else ""
            if not name or name not in float_values or not opt_values.get(name) or not float_values[name]:
                continue
            if op["op_name"] in ("QUANTIZE", "DEQUANTIZE", "DELEGATE"):
                continue
            reference = np.stack(float_values[name])
            test = np.stack(opt_values[name])
            if reference.shape != test.shape:
                continue
            layers.append(
                {
                    "index": int(op["index"]),
                    "op": op["op_name"],
                    "tensor": name,
                    "snr_db": _finite(snr_db(reference, test)),
                }
            )
    del float_interp
    return layers
