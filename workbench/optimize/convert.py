"""optimize_model(model, plan, ...) -> Variant: the verified conversion, run in a child process."""

from __future__ import annotations

import contextlib
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench.core.analysis import Analysis, analyze
from workbench.core.child import run_in_child
from workbench.core.errors import WorkbenchError
from workbench.core.model import Model
from workbench.core.tflite_file import parse_tflite
from workbench.optimize.data import Dataset, synthetic_dataset
from workbench.optimize.estimate import Estimate, estimate
from workbench.optimize.plan import NEEDS_CALIBRATION, Plan, plan_problems
from workbench.tasks import Task, null_task


def compressed_bytes(data: bytes) -> int:
    """What a zip, an OTA update or a compressed flash image would carry (zlib, level 9)."""
    return len(zlib.compress(data, 9))


@dataclass
class Figures:
    flash_bytes: int
    arena_bytes: int | None
    compressed_bytes: int

    def to_json(self) -> dict[str, Any]:
        return {
            "flash_bytes": self.flash_bytes,
            "arena_bytes": self.arena_bytes,
            "compressed_bytes": self.compressed_bytes,
        }


@dataclass
class Variant:
    """One optimized model: the plan, the .tflite bytes, what was estimated and what was measured."""

    plan: Plan
    tflite: bytes
    analysis: Analysis
    estimate: Estimate
    actual: Figures
    sparsity: float
    evaluation: dict[str, Any] | None = None
    per_layer: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def flash_error_pct(self) -> float:
        """How far the instant estimate was from the verified flash size, in percent."""
        return round(100.0 * (self.estimate.flash_bytes - self.actual.flash_bytes) / self.actual.flash_bytes, 2)

    def save(self, path: str | Path) -> Path:
        """Write the .tflite atomically: a failed write leaves no half-written file behind."""
        target = Path(path).expanduser()
        if target.suffix.lower() != ".tflite":
            target = target.with_suffix(".tflite")
        partial = target.with_name(target.name + ".partial")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(self.tflite)
            partial.replace(target)
        except OSError as error:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
            raise WorkbenchError(f"{target}: cannot be written ({error.strerror or error})") from None
        return target

    def to_json(self) -> dict[str, Any]:
        tflm = self.analysis.tflm
        data: dict[str, Any] = {
            "plan": self.plan.to_json(),
            "estimate": self.estimate.to_json(),
            "actual": self.actual.to_json(),
            "estimate_error_pct": self.flash_error_pct,
            "sparsity": round(self.sparsity, 4),
            "tflm": {"compatible": tflm.compatible, "problems": [p.__dict__ for p in tflm.problems]} if tflm else None,
            "warnings": self.warnings,
        }
        if self.evaluation is not None:
            for key in ("accuracy", "mae", "fidelity", "confusion", "kind", "samples"):
                if key in self.evaluation:
                    data[key] = self.evaluation[key]
            data["per_layer"] = self.per_layer
        return data


def _save_npz(folder: Path, name: str, data: Dataset | None) -> str | None:
    if data is None:
        return None
    path = folder / f"{name}.npz"
    if data.y is None:
        np.savez(path, x=data.x)
    else:
        np.savez(path, x=data.x, y=data.y)
    return str(path)


def optimize_model(
    model: Model,
    analysis: Analysis,
    plan: Plan,
    *,
    calibration: Dataset | None = None,
    evaluation: Dataset | None = None,
    train: Dataset | None = None,
    allow_unsafe: bool = False,
    task: Task | None = None,
) -> Variant:
    """Carry out `plan` on the model, then measure the result with TFLM.

    `analysis` is the float model's analysis (for the estimate). Raises WorkbenchError when
    the plan cannot apply to this model or the converter fails; Cancelled when cancelled.
    """
    task = task or null_task()
    problems = plan_problems(plan, model.format)
    if problems:
        raise WorkbenchError(problems[0], "; ".join(problems[1:]))
    warnings = []
    instant = estimate(model, analysis, plan)
    if model.format == "tflite":
        task.progress(0.3, "Stripping names and metadata")
        from workbench.optimize.strip import strip_model

        tflite, result = (strip_model(model.tflite) if plan.strip else model.tflite), {"sparsity": 0.0}
    else:
        input_shape = model.graph.main.tensors[model.graph.main.inputs[0]].shape
        if plan.quant in NEEDS_CALIBRATION and calibration is None:
            calibration = synthetic_dataset(input_shape, plan.calibration_samples)
            warnings.append(
                "No calibration data: calibrated on random inputs over 0..1. Quantization ranges may not "
                "match real data, and accuracy cannot be judged without your own samples."
            )
        if plan.epochs and (train is None or not train.labelled):
            raise WorkbenchError("fine-tuning needs labelled training data (--train with x and y)")
        with tempfile.TemporaryDirectory(prefix="workbench-optimize-") as tmp:
            folder = Path(tmp)
            request = {
                "source": str(model.path.resolve()),
                "format": model.format,
                "allow_unsafe": allow_unsafe,
                "plan": plan.to_json(),
                "calibration": _save_npz(folder, "calibration", calibration),
                "evaluation": _save_npz(folder, "evaluation", evaluation),
                "train": _save_npz(folder, "train", train),
            }
            result = run_in_child("optimize", request, task, f"Optimizing {model.name}")
        tflite = result["_files"]["optimized"]
    task.progress(0.9, "Measuring the result in TFLM")
    optimized_model = Model(
        path=model.path.with_name(f"{model.path.stem}_{plan.quant}.tflite"),
        format="tflite",
        tflite=tflite,
        graph=parse_tflite(tflite),
        layer_names=[],
        notes=[f"Optimized: {plan.describe()}"],
    )
    measured = analyze(optimized_model, task)
    actual = Figures(len(tflite), measured.arena_bytes, compressed_bytes(tflite))
    return Variant(
        plan=plan,
        tflite=tflite,
        analysis=measured,
        estimate=instant,
        actual=actual,
        sparsity=float(result.get("sparsity", 0.0)),
        evaluation=result.get("evaluation"),
        per_layer=result.get("per_layer", []),
        warnings=warnings,
    )
