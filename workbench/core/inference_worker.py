"""Child-process side of `run`: invoke a model on prepared input tensors.

TFLM's interpreter runs what a board would run; models TFLM cannot prepare (float16,
dynamic range) fall back to TensorFlow Lite's interpreter, and the result says which ran.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.core.errors import WorkbenchError
from workbench.core.native_output import captured_native_output


def _run_tflm(model: bytes, samples: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
    from tflite_micro.python.tflite_micro import runtime

    with captured_native_output():
        interpreter = runtime.Interpreter.from_bytes(model, arena_size=max(1 << 21, len(model) * 4))
    outputs = []
    for sample in samples:
        for index, tensor in enumerate(sample):
            interpreter.set_input(tensor, index)
        with captured_native_output():
            interpreter.invoke()
        count = 0
        result = []
        while True:
            try:
                result.append(np.array(interpreter.get_output(count)))
            except (RuntimeError, ValueError, IndexError):
                break
            count += 1
        outputs.append(result)
    return outputs


def _run_tflite(model: bytes, samples: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_content=model)
    interpreter.allocate_tensors()
    inputs = interpreter.get_input_details()
    outs = interpreter.get_output_details()
    results = []
    for sample in samples:
        for detail, tensor in zip(inputs, sample, strict=True):
            interpreter.set_tensor(detail["index"], tensor)
        interpreter.invoke()
        results.append([interpreter.get_tensor(d["index"]) for d in outs])
    return results


def _run(model: bytes, samples: list[list[np.ndarray]]) -> tuple[list[list[np.ndarray]], str]:
    try:
        return _run_tflm(model, samples), "tflm"
    except (RuntimeError, ValueError):
        try:
            return _run_tflite(model, samples), "tflite"
        except Exception as error:  # noqa: BLE001 - the runtimes' errors are many and untyped
            raise WorkbenchError(
                "neither TFLM nor TensorFlow Lite could run the model on these inputs",
                "Check that the inputs match what the model expects; the runtime's own words are in the details.",
                details=f"{type(error).__name__}: {error}",
            ) from None


def run_job(request: dict[str, Any]) -> dict[str, Any]:
    """Runs every model in `model_paths` on its prepared inputs (`m<model>_s<sample>_i<input>`).

    Returns {"models": [{"runtime": "tflm"|"tflite", "outputs": [[tensor as nested list, ...]
    per sample]} per model]}.
    """
    data = np.load(request["inputs_path"])
    count = int(request["input_count"])
    results = []
    for m, path in enumerate(request["model_paths"]):
        with open(path, "rb") as handle:
            model = handle.read()
        samples = [[data[f"m{m}_s{s}_i{i}"] for i in range(count)] for s in range(int(request["samples"]))]
        outputs, runtime = _run(model, samples)
        results.append({"runtime": runtime, "outputs": [[o.tolist() for o in sample] for sample in outputs]})
    return {"models": results}
