"""Verified conversions with the real converter on real data, checked by TFLM."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SAMPLES, run_cli
from workbench.core.analysis import analyze
from workbench.core.errors import WorkbenchError
from workbench.core.loading import load_model
from workbench.core.tflite_file import parse_tflite
from workbench.optimize.convert import optimize_model
from workbench.optimize.data import load_dataset
from workbench.optimize.plan import Plan

DIGITS = SAMPLES / "digits.keras"


@pytest.fixture(scope="module")
def digits() -> tuple:  # type: ignore[type-arg]
    model = load_model(DIGITS)
    return model, analyze(model)


def _data(digits_data: dict[str, Path], name: str):  # type: ignore[no-untyped-def]
    return load_dataset(digits_data[name], [1, 8, 8, 1], 10)


def test_int8_keeps_accuracy_runs_on_tflm_and_matches_the_estimate(digits, digits_data) -> None:  # type: ignore[no-untyped-def]
    model, analysis = digits
    variant = optimize_model(
        model,
        analysis,
        Plan(quant="int8"),
        calibration=_data(digits_data, "calib"),
        evaluation=_data(digits_data, "eval"),
    )
    assert variant.evaluation is not None and variant.evaluation.accuracy is not None
    accuracy = variant.evaluation.accuracy
    assert accuracy.float_accuracy - accuracy.optimized_accuracy <= 0.01
    assert accuracy.samples == 450 and accuracy.change in accuracy.change_interval
    assert variant.verdict.level == "good"  # kept accuracy on 450 samples, calibrated on data, runs on TFLM
    assert variant.analysis.tflm is not None and variant.analysis.tflm.compatible
    assert abs(variant.flash_error_pct) <= 3.0
    assert variant.actual.flash_bytes == len(variant.tflite) < analysis.size_bytes / 2
    assert variant.evaluation.confusion is not None and len(variant.evaluation.confusion["optimized"]) == 10
    snr = [layer["snr_db"] for layer in variant.per_layer]
    assert [layer["index"] for layer in variant.per_layer] == list(range(len(variant.analysis.layers)))
    assert all(s is None or s > 10 for s in snr)


def test_int16x8_runs_on_tflm(digits, digits_data) -> None:  # type: ignore[no-untyped-def]
    model, analysis = digits
    variant = optimize_model(model, analysis, Plan(quant="int16x8"), calibration=_data(digits_data, "calib"))
    assert variant.analysis.tflm is not None and variant.analysis.tflm.compatible
    assert {layer.dtype for layer in variant.analysis.layers} == {"INT16"}
    assert abs(variant.flash_error_pct) <= 3.0


@pytest.mark.slow
def test_dynamic_range_is_flagged_for_tflm(digits) -> None:  # type: ignore[no-untyped-def]
    model, analysis = digits
    variant = optimize_model(model, analysis, Plan(quant="dynamic"))
    assert variant.analysis.tflm is not None and not variant.analysis.tflm.compatible
    assert abs(variant.flash_error_pct) <= 3.0


def test_per_tensor_dense_and_strip_shrink_the_int8_model(digits, digits_data) -> None:  # type: ignore[no-untyped-def]
    model, analysis = digits
    calib = _data(digits_data, "calib")
    plain = optimize_model(model, analysis, Plan(quant="int8"), calibration=calib)
    lean = optimize_model(model, analysis, Plan(quant="int8", per_tensor_dense=True, strip=True), calibration=calib)
    assert lean.actual.flash_bytes < plain.actual.flash_bytes
    breakdown = lean.analysis.flash_breakdown
    assert breakdown["tensor_names"] == 0 and breakdown["signatures_metadata"] == 0
    assert breakdown["quantization"] < plain.analysis.flash_breakdown["quantization"]
    assert lean.analysis.tflm is not None and lean.analysis.tflm.compatible
    assert abs(lean.flash_error_pct) <= 3.0
    graph = parse_tflite(lean.tflite).main  # stripping keeps constant data 16-byte aligned
    assert all(t.data_offset % 16 == 0 for t in graph.tensors if t.data_offset is not None)


def test_pruning_with_fine_tuning_keeps_accuracy_and_shrinks_the_compressed_size(digits, digits_data) -> None:  # type: ignore[no-untyped-def]
    model, analysis = digits
    calib, evaluation = _data(digits_data, "calib"), _data(digits_data, "eval")
    plain = optimize_model(model, analysis, Plan(quant="int8"), calibration=calib, evaluation=evaluation)
    pruned = optimize_model(
        model,
        analysis,
        Plan(quant="int8", sparsity=0.5, epochs=3),
        calibration=calib,
        evaluation=evaluation,
        train=_data(digits_data, "train"),
    )
    assert abs(pruned.sparsity - 0.5) < 0.02
    loss_plain = -plain.evaluation.accuracy.change  # type: ignore[union-attr]
    loss_pruned = -pruned.evaluation.accuracy.change  # type: ignore[union-attr]
    assert loss_pruned <= loss_plain + 0.01
    # TFLM stores tensors dense: flash stays, what a zip or an OTA update carries shrinks.
    assert abs(pruned.actual.flash_bytes - plain.actual.flash_bytes) < 0.02 * plain.actual.flash_bytes
    assert pruned.actual.compressed_bytes < 0.85 * plain.actual.compressed_bytes


@pytest.mark.slow
def test_without_calibration_data_the_warning_is_given(digits) -> None:  # type: ignore[no-untyped-def]
    model, analysis = digits
    variant = optimize_model(model, analysis, Plan(quant="int8", calibration_samples=20))
    assert any("random inputs" in w for w in variant.warnings)
    assert variant.verdict.level == "tight" and variant.data == {"calibration": "random inputs (20)"}


@pytest.mark.slow
def test_saving_writes_atomically(tmp_path: Path, digits) -> None:  # type: ignore[no-untyped-def]
    model, analysis = digits
    variant = optimize_model(model, analysis, Plan(quant="float32", strip=True))
    target = variant.save(tmp_path / "out" / "model")
    assert target.suffix == ".tflite" and target.read_bytes() == variant.tflite
    assert not list(tmp_path.rglob("*.partial"))
    blocked = tmp_path / "file"
    blocked.write_text("x")
    with pytest.raises(WorkbenchError, match="cannot be written"):
        variant.save(blocked / "inside.tflite")


@pytest.mark.slow
def test_optimize_cli_json_on_the_shipped_sample_data(tmp_path: Path) -> None:
    out = tmp_path / "digits_int8.tflite"
    done = run_cli(
        "optimize",
        str(DIGITS),
        "--quant",
        "int8",
        "--calib",
        str(SAMPLES / "digits_calib.npz"),
        "--eval",
        str(SAMPLES / "digits_eval.npz"),
        "-o",
        str(out),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["output"] == str(out) and out.exists()
    for key in ("flash_bytes", "arena_bytes", "compressed_bytes"):
        assert key in data["estimate"] and key in data["actual"]
    assert data["actual"]["flash_bytes"] == out.stat().st_size
    assert data["tflm"]["compatible"] is True and data["sparsity"] == 0.0
    assert 0.9 < data["accuracy"]["optimized"] <= 1.0 and data["kind"] == "classification" and data["samples"] == 450
    low, high = data["accuracy"]["optimized_interval"]
    assert low < data["accuracy"]["optimized"] < high
    assert (
        data["accuracy"]["change_interval"][0] <= data["accuracy"]["change"] <= data["accuracy"]["change_interval"][1]
    )
    assert {"fidelity", "confusion"} <= set(data) and data["verdict"]["level"] == "good"
    assert data["summary"].startswith("Accuracy on 450 labelled samples: float 99.3%, optimized")
    assert data["data"] == {"calibration": "digits_calib.npz (200 of 300)", "evaluation": "digits_eval.npz (450)"}


def test_optimize_cli_rejects_bad_data_before_converting(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((3, 10), dtype="float32"))
    done = run_cli("optimize", str(DIGITS), "--calib", str(bad), "-o", str(tmp_path / "x.tflite"))
    assert done.returncode == 2 and "needs 64" in done.stderr
    assert not (tmp_path / "x.tflite").exists()
    done = run_cli(
        "optimize",
        str(SAMPLES / "digits_int8.tflite"),
        "--sparsity",
        "0.5",
        "--quant",
        "float32",
        "-o",
        str(tmp_path / "y.tflite"),
    )
    assert done.returncode == 2 and "pruning needs the Keras model" in done.stderr


@pytest.mark.slow
def test_estimate_cli_json() -> None:
    done = run_cli("estimate", str(DIGITS), "--quant", "int8", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert {"flash_bytes", "arena_bytes", "compressed_bytes"} <= set(data)
    assert data["flash_bytes"] < 40408 / 2
