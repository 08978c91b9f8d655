"""Plan: what the user asked the Optimize step to do, and what cannot work with it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

QUANT_MODES = ("float32", "float16", "dynamic", "int8", "int16x8")

QUANT_LABELS = {
    "float32": "Float32 (no quantization)",
    "float16": "Float16 weights",
    "dynamic": "Dynamic range (int8 weights)",
    "int8": "Full integer (int8)",
    "int16x8": "16x8 (int16 activations)",
}

QUANT_EXPLAINED = {
    "float32": "The model as trained: 4 bytes a weight. Runs everywhere, largest and slowest.",
    "float16": "Weights stored in half precision (2 bytes) and expanded at run time. "
    "Runs on TensorFlow Lite, NOT on TFLM (microcontrollers).",
    "dynamic": "Weights in int8 (1 byte), activations stay float. Runs on TensorFlow Lite, "
    "NOT on TFLM: it has no hybrid kernels.",
    "int8": "Weights and activations in int8: about 4x smaller and faster, runs on TFLM and on "
    "accelerators. Needs a few sample inputs to calibrate.",
    "int16x8": "Activations in int16 and weights in int8: more precise than int8 for sensitive "
    "models (audio), twice the activation memory. Runs on TFLM.",
}

# Which modes TFLM can run (the rest need TensorFlow Lite's full interpreter).
RUNS_ON_TFLM = {"float32": True, "float16": False, "dynamic": False, "int8": True, "int16x8": True}
NEEDS_CALIBRATION = {"int8", "int16x8"}


@dataclass(frozen=True)
class Plan:
    """One set of Optimize settings; a Variant is the result of carrying it out."""

    quant: str = "int8"
    float_io: bool = False  # int8 models: keep float input/output (quantize inside the model)
    sparsity: float = 0.0  # fraction of conv/dense weights set to zero, 0..0.95
    per_tensor_dense: bool = False
    strip: bool = False
    calibration_samples: int = 200
    epochs: int = 0  # fine-tuning epochs after pruning (needs labelled training data)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self, source_format: str = "keras") -> str:
        """A short label such as 'int8, 50% pruned, stripped'."""
        parts = ["as converted" if source_format == "tflite" else self.quant]
        if self.quant == "int8" and self.float_io:
            parts.append("float I/O")
        if self.sparsity:
            parts.append(f"{self.sparsity:.0%} pruned" + (f" + {self.epochs} ep" if self.epochs else ""))
        if self.per_tensor_dense:
            parts.append("per-tensor dense")
        if self.strip:
            parts.append("stripped")
        return ", ".join(parts)


def plan_problems(plan: Plan, model_format: str) -> list[str]:
    """Why this plan cannot be carried out for a model of this format (empty when it can)."""
    problems = []
    if plan.quant not in QUANT_MODES:
        problems.append(f"unknown quantization '{plan.quant}'; choose one of {', '.join(QUANT_MODES)}")
    if not 0.0 <= plan.sparsity <= 0.95:
        problems.append(f"sparsity must be between 0 and 0.95 (got {plan.sparsity:g})")
    if model_format == "tflite":
        if plan.sparsity:
            problems.append(
                "pruning needs the Keras model: a .tflite file is already converted, its weights "
                "cannot be pruned and fine-tuned any more"
            )
        if plan.quant != "float32" or plan.per_tensor_dense:
            problems.append(
                "quantization needs the Keras or SavedModel source: the converter cannot re-quantize "
                "a .tflite file (only --strip applies to it)"
            )
    if model_format == "saved_model" and plan.sparsity:
        problems.append("pruning needs a Keras model (.keras or .h5); a SavedModel holds no Keras layers")
    if plan.epochs and not plan.sparsity:
        problems.append("fine-tuning epochs only apply after pruning (set a sparsity above 0)")
    if plan.per_tensor_dense and plan.quant not in ("int8", "int16x8", "dynamic"):
        problems.append("per-tensor dense quantization only applies to int8, 16x8 or dynamic-range models")
    if plan.float_io and plan.quant != "int8":
        problems.append("float input/output is an int8 option")
    if plan.calibration_samples < 1:
        problems.append("at least one calibration sample is needed")
    return problems
