"""optimize_model(model, plan, ...) -> Variant: the verified conversion, run in a child process."""

from __future__ import annotations

import base64
import tempfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench.core.analysis import Analysis, analyze
from workbench.core.child import run_in_child
from workbench.core.errors import WorkbenchError
from workbench.core.files import write_whole
from workbench.core.model import Model
from workbench.core.tflite_file import parse_tflite
from workbench.optimize.data import Dataset, synthetic_dataset
from workbench.optimize.estimate import Estimate, Figures, estimate
from workbench.optimize.evaluation import Evaluation, Verdict, result_verdict
from workbench.optimize.plan import NEEDS_CALIBRATION, Plan, calibration_warnings, data_roles, plan_problems
from workbench.tasks import Task, null_task


def compressed_bytes(data: bytes) -> int:
    """What a zip, an OTA update or a compressed flash image would carry (zlib, level 9)."""
    return len(zlib.compress(data, 9))


OPTIMIZE_TIMEOUT_S = 4 * 3600.0  # quantization-aware fine-tuning of a large model on a CPU
_MODEL_SUFFIXES = (".tfl", ".lite", ".bin", ".h5", ".hdf5", ".keras", ".pb", ".onnx")


def tflite_path(path: Path) -> Path:
    """`path` ending in .tflite: another model file suffix is replaced ("m.bin"), any other dot is
    part of the name and kept ("resnet.v2" -> "resnet.v2.tflite")."""
    if path.suffix.lower() == ".tflite":
        return path
    if path.suffix.lower() in _MODEL_SUFFIXES:
        return path.with_suffix(".tflite")
    return path.with_name(path.name + ".tflite")


@dataclass
class Variant:
    """One optimized model: the plan, the .tflite bytes, what was estimated and what was measured."""

    plan: Plan
    tflite: bytes
    analysis: Analysis
    estimate: Estimate
    actual: Figures
    sparsity: float
    evaluation: Evaluation | None = None
    per_layer: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    source_format: str = "keras"
    data: dict[str, str] = field(default_factory=dict)  # role -> the data used, e.g. "digits_eval.npz (450)"
    saved_to: Path | None = None  # where it was last saved; None while only in memory

    @property
    def label(self) -> str:
        """The settings in a few words, e.g. 'int8, stripped' ('as converted' for a .tflite source)."""
        return self.plan.describe(self.source_format)

    @property
    def verdict(self) -> Verdict:
        """Good, tight, bad or unknown, and why: accuracy lost, calibration, whether TFLM runs it."""
        return result_verdict(self.evaluation, *self.analysis.runs_on_tflm, self.warnings)

    @property
    def flash_error_pct(self) -> float:
        """How far the instant estimate was from the verified flash size, in percent."""
        return round(100.0 * (self.estimate.flash_bytes - self.actual.flash_bytes) / self.actual.flash_bytes, 2)

    def save(self, path: str | Path) -> Path:
        """Write the .tflite atomically: a failed write leaves no half-written file behind."""
        target = write_whole(tflite_path(Path(path).expanduser()), self.tflite)
        self.saved_to = target
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
            "data": self.data,
            "verdict": {"level": self.verdict.level, "reasons": self.verdict.reasons},
        }
        if self.evaluation is not None:
            data.update(self.evaluation.to_json())
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


def _check(plan: Plan, fmt: str, train: Dataset | None) -> None:
    problems = plan_problems(plan, fmt)
    if problems:
        raise WorkbenchError(problems[0], "; ".join(problems[1:]))
    if plan.epochs and (train is None or not train.labelled):
        raise WorkbenchError("fine-tuning needs labelled training data (--train with x and y)")


def _calibration(plan: Plan, input_shape: list[int], given: Dataset | None, warnings: list[str]) -> Dataset | None:
    if plan.quant not in NEEDS_CALIBRATION:
        return given
    warnings += calibration_warnings(plan, None if given is None else len(given))
    return given if given is not None else synthetic_dataset(input_shape, plan.calibration_samples)


def data_used(plan: Plan, data: dict[str, Dataset | None]) -> dict[str, str]:
    """What each role's data was, for telling variants apart: 'digits_calib.npz (200 of 300)'."""
    used = {}
    for role in data_roles(plan):
        dataset = data.get(role)
        if dataset is None:
            continue
        count = len(dataset)
        if role == "calibration" and count > plan.calibration_samples:
            used[role] = f"{dataset.name} ({plan.calibration_samples} of {count})"
        else:
            used[role] = f"{dataset.name} ({count})"
    return used


def _convert_in_child(
    source: Path,
    fmt: str,
    plan: Plan,
    data: dict[str, Dataset | None],
    *,
    want_float: bool,
    allow_unsafe: bool,
    task: Task,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="workbench-optimize-") as tmp:
        folder = Path(tmp)
        request = {
            "source": str(source.resolve()),
            "format": fmt,
            "allow_unsafe": allow_unsafe,
            "plan": plan.to_json(),
            "want_float": want_float,
            **{name: _save_npz(folder, name, value) for name, value in data.items()},
        }
        return run_in_child(
            "workbench.optimize.convert_worker:optimize_job",
            request,
            task.span(0.0, 0.9),
            f"Optimizing {source.name}",
            timeout_s=OPTIMIZE_TIMEOUT_S,
        )


def _variant(
    source: Model,
    plan: Plan,
    tflite: bytes,
    instant: Estimate,
    result: dict[str, Any],
    warnings: list[str],
    task: Task,
) -> Variant:
    task.progress(0.9, "Measuring the result in TFLM")
    measured = analyze(_optimized_model(source, plan, tflite), task.span(0.9, 1.0))
    return _measured_variant(
        plan,
        tflite,
        measured,
        instant,
        sparsity=float(result.get("sparsity", 0.0)),
        evaluation=Evaluation.from_json(result["evaluation"]) if result.get("evaluation") else None,
        per_layer=result.get("per_layer", []),
        warnings=warnings,
        source_format=source.format,
    )


def _measured_variant(plan: Plan, tflite: bytes, measured: Analysis, estimate: Estimate, **details: Any) -> Variant:
    """The variant of `tflite` as TFLM measured it (`measured`), beside what was estimated."""
    actual = Figures(len(tflite), measured.arena_bytes, compressed_bytes(tflite))
    return Variant(plan=plan, tflite=tflite, analysis=measured, estimate=estimate, actual=actual, **details)


def _optimized_model(source: Model, plan: Plan, tflite: bytes) -> Model:
    return Model(
        path=source.path.with_name(plan.file_name(source.path.stem)),
        format="tflite",
        tflite=tflite,
        graph=parse_tflite(tflite),
        layer_names=[],
        notes=[f"Optimized: {plan.describe(source.format)}"],
    )


def variant_record(variant: Variant) -> dict[str, Any]:
    """Everything a project file keeps of `variant`: its figures (`to_json()`), its evaluation, and
    the .tflite itself (zlib, base64), so that it reopens without converting again."""
    return {
        **variant.to_json(),
        "evaluation": variant.evaluation.to_json() if variant.evaluation is not None else None,
        "source_format": variant.source_format,
        "saved_to": str(variant.saved_to) if variant.saved_to else None,
        "tflite_zlib_base64": base64.b64encode(zlib.compress(variant.tflite, 9)).decode("ascii"),
    }


def variant_from_record(record: dict[str, Any], source: Model, task: Task | None = None) -> Variant:
    """The variant of `source` that `variant_record` wrote, measured in TFLM again (its figures as
    they were verified, the analysis as this version makes it). WorkbenchError for a damaged record."""
    try:
        plan = Plan(**record["plan"])
        tflite = zlib.decompress(base64.b64decode(record["tflite_zlib_base64"], validate=True))
        estimate = Estimate(**record["estimate"])
        evaluation = Evaluation.from_json(record["evaluation"]) if record.get("evaluation") else None
        graph_model = _optimized_model(source, plan, tflite)
    except (KeyError, TypeError, ValueError, zlib.error) as error:
        raise WorkbenchError(
            f"an optimized variant in the project is damaged ({type(error).__name__}: {error})"
        ) from None
    measured = analyze(graph_model, task or null_task())
    saved_to = record.get("saved_to")
    return _measured_variant(
        plan,
        tflite,
        measured,
        estimate,
        sparsity=float(record.get("sparsity", 0.0)),
        evaluation=evaluation,
        per_layer=list(record.get("per_layer", [])),
        warnings=[str(w) for w in record.get("warnings", [])],
        source_format=str(record.get("source_format", source.format)),
        data={str(k): str(v) for k, v in (record.get("data") or {}).items()},
        saved_to=Path(saved_to) if saved_to else None,
    )


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
    """Carry out `plan` on a loaded model, then measure the result with TFLM.

    `analysis` is the float model's analysis (for the estimate). Raises WorkbenchError when
    the plan cannot apply to this model or the converter fails; Cancelled when cancelled.
    """
    task = task or null_task()
    _check(plan, model.format, train)
    warnings: list[str] = []
    instant = estimate(model, analysis, plan)
    if model.format == "tflite":
        from workbench.optimize.strip import strip_model

        task.progress(0.3, "Stripping names and metadata")
        tflite = strip_model(model.tflite) if plan.strip else model.tflite
        return _variant(model, plan, tflite, instant, {}, warnings, task)
    input_shape = model.graph.main.tensors[model.graph.main.inputs[0]].shape
    data = {
        "calibration": _calibration(plan, input_shape, calibration, warnings),
        "evaluation": evaluation,
        "train": train,
    }
    result = _convert_in_child(
        model.path, model.format, plan, data, want_float=False, allow_unsafe=allow_unsafe, task=task
    )
    variant = _variant(model, plan, result["_files"]["optimized"], instant, result, warnings, task)
    variant.data = data_used(plan, data)
    return variant


def optimize_file(
    path: str | Path,
    plan: Plan,
    *,
    calibration: str | Path | None = None,
    evaluation: str | Path | None = None,
    train: str | Path | None = None,
    allow_unsafe: bool = False,
    task: Task | None = None,
) -> Variant:
    """Optimize a model file, paying for TensorFlow's start-up once (the command line's path).

    The data is read and checked against the model's input before TensorFlow starts; one child
    process converts both the float baseline (for the estimate) and the optimized model.
    """
    from workbench.core.keras_config import keras_io_shapes
    from workbench.core.loading import detect_format, load_model
    from workbench.optimize.data import load_dataset

    task = task or null_task()
    path = Path(path).expanduser()
    fmt = detect_format(path) if path.exists() else "tflite"
    shapes = keras_io_shapes(path, fmt) if fmt in ("keras", "h5") else None
    model = None
    if shapes is None:  # .tflite, SavedModel or an unusual Keras config: load it the usual way
        model = load_model(path, allow_unsafe=allow_unsafe, task=task)
        graph = model.graph.main
        shapes = graph.tensors[graph.inputs[0]].shape, graph.tensors[graph.outputs[0]].elements
    input_shape, output_size = shapes
    data = {
        name: load_dataset(p, input_shape, output_size) if p else None
        for name, p in (("calibration", calibration), ("evaluation", evaluation), ("train", train))
    }
    if model is not None:
        return optimize_model(
            model,
            analyze(model, task),
            plan,
            calibration=data["calibration"],
            evaluation=data["evaluation"],
            train=data["train"],
            allow_unsafe=allow_unsafe,
            task=task,
        )
    _check(plan, fmt, data["train"])
    warnings: list[str] = []
    data["calibration"] = _calibration(plan, input_shape, data["calibration"], warnings)
    result = _convert_in_child(path, fmt, plan, data, want_float=True, allow_unsafe=allow_unsafe, task=task)
    float_tflite = result["_files"]["float"]
    source = Model(
        path=path,
        format=fmt,
        tflite=float_tflite,
        graph=parse_tflite(float_tflite),
        layer_names=result.get("layer_names", []),
    )
    # TFLM measures the float baseline (for the estimate) while this thread measures the result.
    with ThreadPoolExecutor(max_workers=1) as pool:
        baseline = pool.submit(analyze, source, task.quiet())
        variant = _variant(source, plan, result["_files"]["optimized"], Estimate(0, None, 0), result, warnings, task)
        variant.estimate = estimate(source, baseline.result(), plan)
    variant.data = data_used(plan, data)
    return variant
