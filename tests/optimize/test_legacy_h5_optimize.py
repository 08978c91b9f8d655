"""Legacy Keras 2 .h5 models optimize like .keras models: int8 and 16x8 through `optimize_file`,
pruning and fine-tuning with the model's own Keras (tf_keras), the same accuracy bars, TFLM runs
the result, and the lean int8 is no larger than what TensorFlow's converter writes by itself."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.legacy_h5 import BENCHMARK_MODELS, RESOURCE_OR_UNFOLDED, facts
from workbench.optimize.convert import Variant, optimize_file
from workbench.optimize.plan import Plan


@pytest.fixture(scope="module")
def variants(legacy: Path) -> dict[str, Variant]:
    """The optimizations, two at a time (each is a TensorFlow child plus TFLM children)."""
    jobs: dict[str, tuple[str, Plan, dict[str, Any]]] = {
        "resnet8 lean int8": (
            "resnet8",
            Plan(quant="int8", per_tensor_dense=True, strip=True),
            {"calibration": legacy / "resnet8_calibration.npy", "evaluation": legacy / "digits_eval.npz"},
        ),
        "mobilenet_v1 pruned 16x8": (
            "mobilenet_v1",
            Plan(quant="int16x8", sparsity=0.5, epochs=1),
            {"calibration": legacy / "mobilenet_v1_calibration.npy", "train": legacy / "mobilenet_v1_train.npz"},
        ),
    }

    def run(job: tuple[str, Plan, dict[str, Any]]) -> Variant:
        name, plan, data = job
        return optimize_file(legacy / f"{name}.h5", plan, **data)

    for name in ("autoencoder", "mobilenet_v1", "ds_cnn"):  # the other benchmark models, lean int8
        jobs[f"{name} lean int8"] = (
            name,
            Plan(quant="int8", per_tensor_dense=True, strip=True),
            {"calibration": legacy / f"{name}_calibration.npy"},
        )
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(jobs, pool.map(run, jobs.values()), strict=True))


def _runs_on_tflm(variant: Variant) -> bool:
    return variant.analysis.tflm is not None and variant.analysis.tflm.compatible


@pytest.mark.slow
def test_keras2_h5_int8_keeps_accuracy_runs_on_tflm_and_matches_the_estimate(
    legacy: Path, variants: dict[str, Variant]
) -> None:
    """The bars of the .keras int8 test, on a ResNet-8 trained with tf_keras and saved as .h5; the
    float baseline scores what tf_keras itself scored."""
    variant = variants["resnet8 lean int8"]
    accuracy = variant.to_json()["accuracy"]
    assert abs(accuracy["float"] - facts(legacy)["resnet8"]["eval_accuracy"]) <= 0.005
    assert accuracy["float"] - accuracy["optimized"] <= 0.01
    assert _runs_on_tflm(variant), variant.analysis.tflm
    assert abs(variant.flash_error_pct) <= 3.0
    assert not RESOURCE_OR_UNFOLDED & {layer.op for layer in variant.analysis.layers}
    assert {layer.dtype for layer in variant.analysis.layers} == {"INT8"}
    assert all(layer["snr_db"] is None or layer["snr_db"] > 10 for layer in variant.per_layer)


@pytest.mark.slow
@pytest.mark.parametrize("name", BENCHMARK_MODELS)
def test_every_keras2_benchmark_h5_goes_to_int8_that_runs_on_tflm_and_is_no_larger_than_tensorflows_own(
    legacy: Path, variants: dict[str, Variant], name: str
) -> None:
    """Full int8 failed on every one of these files in calibration (READ_VARIABLE). Now each converts;
    per-tensor dense quantization and stripping, calibrated on the same samples, give a file no larger
    than tf_keras + TFLiteConverter's plain int8 conversion of the same model; TFLM runs it."""
    variant = variants[f"{name} lean int8"]
    direct = (legacy / f"{name}_direct_int8.tflite").read_bytes()
    assert len(variant.tflite) <= len(direct)
    assert _runs_on_tflm(variant), variant.analysis.tflm
    assert not RESOURCE_OR_UNFOLDED & {layer.op for layer in variant.analysis.layers}
    assert variant.analysis.flash_breakdown["tensor_names"] == 0


@pytest.mark.slow
def test_keras2_h5_prunes_fine_tunes_with_tf_keras_and_runs_16x8_on_tflm(variants: dict[str, Variant]) -> None:
    """Pruning and a fine-tuning epoch use tf_keras' own losses, optimizer and callbacks; the 16x8
    result keeps the pruned weights and runs on TFLM."""
    variant = variants["mobilenet_v1 pruned 16x8"]
    assert variant.sparsity == pytest.approx(0.5, abs=0.02)
    assert _runs_on_tflm(variant), variant.analysis.tflm
    assert {layer.dtype for layer in variant.analysis.layers} == {"INT16"}
    assert abs(variant.flash_error_pct) <= 3.0
