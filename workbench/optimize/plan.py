"""Plan: what the user asked the Optimize step to do, and what cannot work with it.

The rules of which option applies to which quantization and model live here only: the command
line refuses a plan with `plan_problems`; the GUI, whose widgets keep options that do not apply
to the current choice, sends `normalize`d plans and shows its notes, so it never quietly runs
something other than what the person sees.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
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
# Options that apply to some quantization modes only.
OPTION_QUANTS = {"float_io": ("int8",), "per_tensor_dense": ("int8", "int16x8", "dynamic")}
OPTION_LABELS = {
    "float_io": "Keep float input and output",
    "per_tensor_dense": "Per-tensor quantization for dense layers",
}


def option_applies(option: str, quant: str) -> bool:
    """Whether an option (a key of OPTION_QUANTS) does anything with this quantization mode."""
    return quant in OPTION_QUANTS[option]


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

    def file_name(self, stem: str) -> str:
        """The one name of an optimized model of `stem`: 'digits_int8.tflite', 'digits_int8_pruned.tflite'."""
        return f"{stem}_{self.quant}{'_pruned' if self.sparsity else ''}.tflite"

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
    if plan.per_tensor_dense and not option_applies("per_tensor_dense", plan.quant):
        problems.append("per-tensor dense quantization only applies to int8, 16x8 or dynamic-range models")
    if plan.float_io and not option_applies("float_io", plan.quant):
        problems.append("float input/output is an int8 option")
    if plan.calibration_samples < 1:
        problems.append("at least one calibration sample is needed")
    return problems


def normalize(plan: Plan, model_format: str, has_training_data: bool) -> tuple[Plan, dict[str, str]]:
    """The plan with what cannot apply turned off, and a note for each setting turned off (by
    its Plan field name).

    For the GUI, whose widgets keep a choice that does not apply to the current quantization or
    model (so that it comes back when it applies again): the plan it converts is this one, and
    the notes say what is not used. The result never has `plan_problems` of these kinds.
    """
    changes: dict[str, Any] = {}
    notes = {}
    if model_format == "tflite" and plan.quant != "float32":
        changes["quant"] = "float32"
        notes["quant"] = "A .tflite file keeps its quantization (open the Keras model to re-quantize)."
    quant = changes.get("quant", plan.quant)
    if plan.sparsity and model_format not in ("keras", "h5"):
        changes["sparsity"] = 0.0
        notes["sparsity"] = "Pruning is not used: it needs a Keras model (.keras or .h5)."
    for option, label in OPTION_LABELS.items():
        if getattr(plan, option) and not option_applies(option, quant):
            changes[option] = False
            notes[option] = f"'{label}' is not used with {QUANT_LABELS[quant].split(' (')[0]}."
    sparsity = changes.get("sparsity", plan.sparsity)
    if plan.epochs and (not sparsity or not has_training_data):
        changes["epochs"] = 0
        why = "labelled training data (Fine-tune on)" if sparsity else "a sparsity above 0%"
        notes["epochs"] = f"Fine-tuning is not used: it needs {why}."
    return replace(plan, **changes), notes


def data_roles(plan: Plan) -> tuple[str, ...]:
    """The data a plan uses: calibration (int8, 16x8), evaluation, and training when it fine-tunes."""
    roles = ["calibration"] if plan.quant in NEEDS_CALIBRATION else []
    roles.append("evaluation")
    if plan.epochs:
        roles.append("train")
    return tuple(roles)


def calibration_warnings(plan: Plan, available: int | None) -> list[str]:
    """What limits the calibration of this plan with `available` samples (None: no data given)."""
    if plan.quant not in NEEDS_CALIBRATION:
        return []
    if available is None:
        return [
            "No calibration data: calibrated on random inputs over 0..1. Quantization ranges may not "
            "match real data, and accuracy cannot be judged without your own samples."
        ]
    if available < plan.calibration_samples:
        return [
            f"Calibrated on {available} samples, fewer than the {plan.calibration_samples} the setting "
            "asks for: ranges measured on few samples may miss what real data does."
        ]
    return []
